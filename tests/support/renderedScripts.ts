import {
    renderAcmeIssueScript,
    renderAcmeRenewScript,
    renderConfRepairScript,
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
    renderStepBootstrapScript,
    renderStepCaInitScript,
    renderStepRenewScript,
    renderStepSignLocalScript,
    renderStepSignOnCaScript,
    inHelperContainer,
    inServerContainer,
    renderContainerConfScript,
    renderDerivedDockerfile,
    renderHealthCheck,
    renderClusterJoinScript,
    renderSentinelConf,
    renderSentinelInstallScript,
    renderSentinelRemoveScript,
    renderSentinelService,
} from "../../components";

const dir = { tlsDir: "/etc/redis-tls", group: "redis" };
const reload = { tlsDir: dir.tlsDir, socket: "/run/redis/redis-server.sock", user: "redis-tls-reload" };
const sans = { dnsNames: ["redis-1.example.internal", "redis.example.internal"], ipAddresses: ["10.0.0.5", "fd00::5"] };
const pins = { rootFingerprint: "a".repeat(64), clientCaFingerprint: "b".repeat(64) };
const owner = "0123456789abcdef";
const acmeRenew = renderAcmeRenewScript({
    ...dir, ...pins, directoryUrl: "https://ca.example.internal/acme/acme/directory", email: "ops@example.internal", dnsNames: sans.dnsNames,
    keyType: "ec256", httpPort: 80, legoPath: "/var/lib/redis-tls/acme", serverCa: true,
});

/** Every host script the components send, rendered with representative values, by golden file name. */
export const HOST_SCRIPTS: Record<string, string> = {
    "key-and-csr.sh": renderKeyAndCsrScript({ ...dir, ...sans, keyAlgorithm: "ECDSA_P256", commonName: "redis-1.example.internal", encryptKey: false }),
    "key-and-csr.encrypted-rsa.sh": renderKeyAndCsrScript({ ...dir, ...sans, keyAlgorithm: "RSA_3072", commonName: "redis-1.example.internal", encryptKey: true }),
    "install-cert.sh": renderInstallCertScript({ ...dir, ...sans, ...pins, reload }),
    "install-cert.no-reload.sh": renderInstallCertScript({ ...dir, ...sans, ...pins }),
    "container-conf.sh": renderContainerConfScript({ ...dir, dataDir: "/data", adminUser: "redis-tls-admin", reloadUser: "redis-tls-reload", server: "redis-server", clientLogin: "password" }),
    "container-conf.valkey-certificate-login.sh": renderContainerConfScript({
        tlsDir: dir.tlsDir, group: "valkey", dataDir: "/data", adminUser: "redis-tls-admin", reloadUser: "redis-tls-reload", server: "valkey-server", clientLogin: "certificate",
    }),
    "container-health.sh": renderHealthCheck({ tlsPort: 6379, serverName: "localhost", serverNameIsIp: false, tlsDir: dir.tlsDir }) + "\n",
    "container-health.ip.sh": renderHealthCheck({ tlsPort: 6380, serverName: "fd00::5", serverNameIsIp: true, tlsDir: dir.tlsDir }) + "\n",
    "cluster-join.sh": renderClusterJoinScript({ tlsDir: dir.tlsDir, socket: "/run/redis/redis-server.sock", cli: "redis-cli", adminUser: "redis-tls-admin" }),
    "install-conf.sh": renderInstallConfScript({
        ...dir, redisConfPath: "/etc/redis/redis.conf", serviceName: "redis-server", adminUser: "redis-tls-admin", reloadUser: "redis-tls-reload",
        aclUser: "redis-tls-acl", socket: "/run/redis/redis-server.sock", server: "redis-server", cli: "redis-cli",
    }),
    "install-conf.valkey-certificate-login.sh": renderInstallConfScript({
        tlsDir: dir.tlsDir, group: "valkey", redisConfPath: "/etc/valkey/valkey.conf", serviceName: "valkey-server", adminUser: "redis-tls-admin",
        reloadUser: "redis-tls-reload", aclUser: "redis-tls-acl", socket: "/run/valkey/valkey-server.sock", server: "valkey-server", cli: "valkey-cli",
        clientLogin: "certificate",
    }),
    "install-conf.no-reload-user.sh": renderInstallConfScript({
        ...dir, redisConfPath: "/etc/redis/redis.conf", serviceName: "redis-server", adminUser: "redis-tls-admin", server: "redis-server", cli: "redis-cli",
    }),
    "redis-conf-check.sh": renderConfRepairScript({ redisConfPath: "/etc/redis/redis.conf", tlsDir: dir.tlsDir }),
    "reload.sh": renderReloadScript(reload),
    "sentinel-install.sh": renderSentinelInstallScript({ tlsDir: dir.tlsDir, user: "redis" }),
    "sentinel-remove.sh": renderSentinelRemoveScript({ tlsDir: dir.tlsDir }),
    "needs-renewal.sh": renderNeedsRenewal(66),
    "needs-renewal.spread.sh": renderNeedsRenewal(),
    "acme-renew.sh": acmeRenew,
    "acme-issue.sh": renderAcmeIssueScript({ ...dir, renewScript: "#!/bin/bash\necho renew\n", reload }),
    "renewer-install.sh": renderRenewerInstallScript(
        [{ path: "/usr/local/libexec/redis-tls/renew-redis-server", mode: "700", content: "#!/bin/bash\necho renew\n" }],
        "redis-server",
        owner,
    ),
    "renewer-remove.sh": renderRenewerRemoveScript("redis-server", owner),
    "step-ca-init.sh": renderStepCaInitScript({ stepPath: "/etc/step-ca", name: "Redis", dnsNames: ["ca.example.internal", "10.0.0.9"], port: 9443, provisioner: "redis", validityHours: 720, acme: true }),
    "step-bootstrap.sh": renderStepBootstrapScript({ stepPath: "/etc/redis-tls/step", caUrl: "https://ca.example.internal:9443", rootFingerprint: "c".repeat(64) }),
    "step-sign-on-ca.sh": renderStepSignOnCaScript({ stepPath: "/etc/step-ca", caUrl: "https://127.0.0.1:9443", provisioner: "redis", validityHours: 720, subject: "redis-1.example.internal", sans: ["redis-1.example.internal", "10.0.0.5"] }),
    "step-sign-local.sh": renderStepSignLocalScript({ caUrl: "https://ca.example.internal:9443", rootFingerprint: "c".repeat(64), provisioner: "redis", validityHours: 720, subject: "redis-1.example.internal", sans: ["redis-1.example.internal", "10.0.0.5"], stepCli: "step" }),
    "step-renew.sh": renderStepRenewScript({ ...dir, ...pins, dnsNames: sans.dnsNames, ipAddresses: sans.ipAddresses, stepPath: "/etc/redis-tls/step" }),
    "trust-install.sh": renderTrustInstallScript({ osFamily: "auto", anchorName: "redis-tls-0123456789abcdef", appPath: "/etc/myapp/redis-ca.pem", owner }),
    "trust-remove.sh": renderTrustRemoveScript({ osFamily: "rhel", anchorName: "redis-tls-0123456789abcdef", appPath: "/etc/myapp/redis-ca.pem", owner }),
};

const conf = {
    tlsPort: 6379, plaintextPort: 0, bind: ["*", "-::*"], tlsDir: dir.tlsDir, authClients: "yes", replication: true, cluster: true,
    protocols: ["TLSv1.2", "TLSv1.3"], adminSocket: "/run/redis/redis-server.sock",
};

/** The commands `pulumi up` runs where it runs (/bin/sh) to reach a container's files, by golden file name. */
export const LOCAL_COMMANDS: Record<string, string> = {
    "container-helper.local.sh": inHelperContainer("echo in the helper", { tlsDir: dir.tlsDir, dataDir: "/data" }),
    "container-exec.local.sh": inServerContainer("echo in the server", "redis"),
};

const toolsNeeded = [{ command: "bash", pkg: "bash" }, { command: "openssl", pkg: "openssl" }];

/** Every Dockerfile the container components build from, by golden file name. */
export const DOCKERFILES: Record<string, string> = {
    "server.debian.Dockerfile": renderDerivedDockerfile({ family: "debian", needs: toolsNeeded, trustRoot: false }),
    "server.alpine.Dockerfile": renderDerivedDockerfile({ family: "alpine", needs: toolsNeeded, trustRoot: false }),
    "trust.debian.Dockerfile": renderDerivedDockerfile({ family: "debian", needs: [], trustRoot: true }),
    "trust.alpine.Dockerfile": renderDerivedDockerfile({ family: "alpine", needs: [], trustRoot: true, user: "10001" }),
    "trust.rhel.Dockerfile": renderDerivedDockerfile({ family: "rhel", needs: [], trustRoot: true, user: "app:app" }),
};

/** Every systemd unit the renewer installs, by golden file name. */
export const UNIT_FILES: Record<string, string> = {
    "cert-renewer@.service": renderRenewerService(),
    "redis-tls-sentinel.service": renderSentinelService({ server: "valkey-server", user: "valkey" }),
    "cert-renewer@.timer": renderRenewerTimer({ onCalendar: "*:1/5", randomizedDelaySec: "5m" }),
    "cert-renewer@redis-server.override.conf": renderRenewerOverride({ certPath: "/etc/redis-tls/live/redis.crt", keyPath: "/etc/redis-tls/live/redis.key", reloadCommand: "reload-redis-server" }),
    "cert-renewer@redis-server.step.override.conf": renderRenewerOverride({
        certPath: "/etc/redis-tls/live/redis.crt", keyPath: "/etc/redis-tls/live/redis.key", stepPath: "/etc/step", reloadCommand: "reload-redis-server",
    }),
};

/** Every redis.conf drop-in variant, by golden file name. */
export const CONF_FILES: Record<string, string> = {
    "tls.conf": renderRedisTlsConf(conf),
    "tls.container.conf": renderRedisTlsConf({ ...conf, cluster: false, adminSocket: "/data/redis-server.sock", adminSocketGroup: true }),
    "tls.replica.conf": renderRedisTlsConf({
        ...conf, replicaSet: { user: "redis-tls-replica", password: 'pa"ss\\word-0123456789', primary: { host: "redis-a.internal", port: 6379 } },
    }),
    "tls.cluster-member.conf": renderRedisTlsConf({ ...conf, authClients: "optional", clusterNode: true, clusterAnnounceIp: "10.0.0.5", replicaSet: { user: "redis-tls-replica", password: "0123456789abcdef0123" } }),
    "sentinel.conf": renderSentinelConf({
        tlsDir: dir.tlsDir, port: 26379, bind: ["*", "-::*"], authClients: "yes", protocols: ["TLSv1.2", "TLSv1.3"], masterName: "redis-tls",
        primary: { host: "10.0.0.5", port: 6379 }, quorum: 2, downAfterMs: 5000, failoverTimeoutMs: 60000, user: "redis-tls-sentinel", password: 'pa"ss\\word-0123456789',
    }),
    "tls.key-pass.optional-clients.conf": renderRedisTlsConf({
        ...conf, keyFilePass: 'pa"ss\\word', authClients: "optional", tlsPort: 6380, plaintextPort: 6379, adminSocket: undefined, cluster: false,
    }),
};
