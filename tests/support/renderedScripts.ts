import {
    renderAcmeRenewScript,
    renderNeedsRenewal,
    renderRenewerInstallScript,
    renderRenewerOverride,
    renderRenewerRemoveScript,
    renderRenewerService,
    renderRenewerTimer,
    renderInstallCertScript,
    renderInstallConfScript,
    renderKeyAndCsrScript,
    renderRedisTlsConf,
    renderReloadScript,
    renderTrustInstallScript,
    renderTrustRemoveScript,
} from "../../components";

const files = { certPath: "/etc/redis/tls/redis.crt", keyPath: "/etc/redis/tls/redis.key", caPath: "/etc/redis/tls/ca.crt", keyOwner: "redis" };
const reloadUser = { user: "redis-tls-reload", passFile: "/etc/redis/tls/reload.pass" };
const sans = { dnsNames: ["redis-1.example.internal", "redis.example.internal"], ipAddresses: ["10.0.0.5", "fd00::5"] };

/** Every host script the components send, rendered with representative values, by golden file name. */
export const HOST_SCRIPTS: Record<string, string> = {
    "key-and-csr.sh": renderKeyAndCsrScript({ ...files, ...sans, keyAlgorithm: "ECDSA_P256", commonName: "redis-1.example.internal", encryptKey: false }),
    "key-and-csr.encrypted-rsa.sh": renderKeyAndCsrScript({ ...files, ...sans, keyAlgorithm: "RSA_3072", commonName: "redis-1.example.internal", encryptKey: true }),
    "install-cert.sh": renderInstallCertScript({ ...files, ...sans, reload: { socket: "/run/redis/redis-server.sock", ...reloadUser } }),
    "install-cert.no-reload.sh": renderInstallCertScript({ ...files, ...sans }),
    "install-conf.sh": renderInstallConfScript({
        dropInPath: "/etc/redis/tls.conf", redisConfPath: "/etc/redis/redis.conf", serviceName: "redis-server", group: "redis",
        reloadUser: { ...reloadUser, aclPath: "/etc/redis/tls/reload.acl", group: "redis" },
    }),
    "install-conf.no-reload-user.sh": renderInstallConfScript({ dropInPath: "/etc/redis/tls.conf", redisConfPath: "/etc/redis/redis.conf", serviceName: "redis-server", group: "redis" }),
    "reload.sh": renderReloadScript({ ...files, socket: "/run/redis/redis-server.sock", ...reloadUser }),
    "needs-renewal.sh": renderNeedsRenewal(66),
    "acme-renew.sh": renderAcmeRenewScript({
        ...files, directoryUrl: "https://ca.example.internal/acme/acme/directory", email: "ops@example.internal", dnsNames: sans.dnsNames,
        keyType: "ec256", httpPort: 80, legoPath: "/var/lib/redis-tls/acme", rootPath: "/etc/redis/tls/acme-root.crt", serverCaPath: "/etc/redis/tls/acme-server-ca.crt",
    }),
    "renewer-install.sh": renderRenewerInstallScript(
        [{ path: "/usr/local/libexec/redis-tls/renew-redis-server", mode: "0700", content: "#!/bin/bash\necho renew\n" }],
        "redis-server",
    ),
    "renewer-remove.sh": renderRenewerRemoveScript("redis-server", ["/usr/local/libexec/redis-tls/reload-redis-server", "/usr/local/libexec/redis-tls/renew-redis-server"]),
    "trust-install.sh": renderTrustInstallScript({ osFamily: "auto", anchorName: "redis-tls-root", appPath: "/etc/myapp/redis-ca.pem" }),
    "trust-remove.sh": renderTrustRemoveScript({ osFamily: "rhel", anchorName: "redis-tls-root", appPath: "/etc/myapp/redis-ca.pem" }),
};

const conf = {
    tlsPort: 6379, plaintextPort: 0, bind: ["*", "-::*"], ...files, authClients: "yes", replication: true, cluster: true,
    protocols: ["TLSv1.2", "TLSv1.3"], adminSocket: "/run/redis/redis-server.sock", reloadAclPath: "/etc/redis/tls/reload.acl",
};

/** Every systemd unit the renewer installs, by golden file name. */
export const UNIT_FILES: Record<string, string> = {
    "cert-renewer@.service": renderRenewerService(),
    "cert-renewer@.timer": renderRenewerTimer({ onCalendar: "*:1/5", randomizedDelaySec: "5m" }),
    "cert-renewer@redis-server.override.conf": renderRenewerOverride({ certPath: files.certPath, keyPath: files.keyPath, reloadCommand: "reload-redis-server" }),
    "cert-renewer@redis-server.step.override.conf": renderRenewerOverride({ certPath: files.certPath, keyPath: files.keyPath, stepPath: "/etc/step", reloadCommand: "reload-redis-server" }),
};

/** Every redis.conf drop-in variant, by golden file name. */
export const CONF_FILES: Record<string, string> = {
    "tls.conf": renderRedisTlsConf(conf),
    "tls.key-pass.optional-clients.conf": renderRedisTlsConf({
        ...conf, keyFilePass: 'pa"ss\\word', authClients: "optional", tlsPort: 6380, plaintextPort: 6379, adminSocket: undefined, cluster: false,
    }),
};
