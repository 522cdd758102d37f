import { strict as assert } from "node:assert";
import {
    AcmeCertificateArgs,
    CertRenewerArgs,
    validateAcmeCertificateArgs,
    validateCertRenewerArgs,
    CaDistributionArgs,
    CertificateAuthorityArgs,
    RedisServerCertificateArgs,
    RedisTlsConfigArgs,
    RedisTlsServerArgs,
    validateCaDistributionArgs,
    validateCertificateAuthorityArgs,
    validateRedisTlsConfigArgs,
    validateRedisTlsServerArgs,
    validateServerCertificateArgs,
} from "../components";

const connection = { host: "10.0.0.5", privateKey: "k" };
const pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
const cert = (o: Partial<RedisServerCertificateArgs>): RedisServerCertificateArgs => ({
    connection, dnsNames: ["redis-1.example.internal"], caCertPem: pem, caPrivateKeyPem: "k", chainPem: pem, rootCertPem: pem, ...o,
});
const conf = (o: Partial<RedisTlsConfigArgs>): RedisTlsConfigArgs => ({ connection, ...o });
const dist = (o: Partial<CaDistributionArgs>): CaDistributionArgs => ({ rootCertPem: pem, ...o });
const server = (o: Partial<RedisTlsServerArgs>): RedisTlsServerArgs => ({ ...cert({}), ...o });
const ca = (o: CertificateAuthorityArgs) => o;
const acme = (o: Partial<AcmeCertificateArgs>): AcmeCertificateArgs => ({
    connection, directoryUrl: "https://ca.internal/acme/acme/directory", email: "ops@example.com", dnsNames: ["redis-1.internal"], rootCertPem: pem, ...o,
});
const renewer = (o: Partial<CertRenewerArgs>): CertRenewerArgs => ({ connection, renewScript: "#!/bin/bash\n", ...o });

// Each row: one plausible mistake, the validator that must catch it, and the exact message.
const cases: Array<[string, () => string[], string]> = [
    ["underscore in a DNS name", () => validateServerCertificateArgs(cert({ dnsNames: ["redis_1"] })),
        `[dnsNames] "redis_1" is not a valid DNS name; use letters, digits and hyphens, with no hyphen at either end of a label`],
    ["wildcard SAN", () => validateServerCertificateArgs(cert({ dnsNames: ["*.example.internal"] })),
        `[dnsNames] "*.example.internal" is a wildcard; a Redis server certificate names its own host, so list each name`],
    ["trailing dot", () => validateServerCertificateArgs(cert({ dnsNames: ["redis.example.internal."] })),
        `[dnsNames] "redis.example.internal." ends with a dot; drop the trailing dot`],
    ["empty DNS name", () => validateServerCertificateArgs(cert({ dnsNames: [""] })),
        `[dnsNames] "" is empty; give a host name such as "redis-1.example.internal"`],
    ["IP in dnsNames", () => validateServerCertificateArgs(cert({ dnsNames: ["10.0.0.5"] })),
        `[dnsNames] "10.0.0.5" is an IP address; put it in ipAddresses`],
    ["label over 63", () => validateServerCertificateArgs(cert({ dnsNames: [`${"a".repeat(64)}.internal`] })),
        `[dnsNames] "${"a".repeat(64)}.internal" has a label of 64 characters; a DNS label has at most 63`],
    ["name over 253", () => validateServerCertificateArgs(cert({ dnsNames: [Array(64).fill("abc").join(".")] })),
        `[dnsNames] "abc.abc.abc.abc.abc...." is 255 characters long; a DNS name has at most 253`],
    ["hyphen at label start", () => validateServerCertificateArgs(cert({ dnsNames: ["-redis.internal"] })),
        `[dnsNames] "-redis.internal" is not a valid DNS name; use letters, digits and hyphens, with no hyphen at either end of a label`],
    ["duplicate DNS name", () => validateServerCertificateArgs(cert({ dnsNames: ["redis.internal", "REDIS.internal"] })),
        `[dnsNames] "REDIS.internal" is listed twice; list each value once`],
    ["bad IPv4", () => validateServerCertificateArgs(cert({ ipAddresses: ["10.0.0.256"] })),
        `[ipAddresses] "10.0.0.256" is not an IP address; use dotted IPv4 such as "10.0.0.5" or IPv6 such as "fd00::5"`],
    ["CIDR as IP", () => validateServerCertificateArgs(cert({ ipAddresses: ["10.0.0.0/24"] })),
        `[ipAddresses] "10.0.0.0/24" is a network; give the host's own address without a prefix length`],
    ["unspecified IP", () => validateServerCertificateArgs(cert({ ipAddresses: ["0.0.0.0"] })),
        `[ipAddresses] "0.0.0.0" is the unspecified address; clients cannot connect to it, give the host's real address`],
    ["duplicate IP", () => validateServerCertificateArgs(cert({ ipAddresses: ["fd00::5", "fd00::5"] })),
        `[ipAddresses] "fd00::5" is listed twice; list each value once`],
    ["no SANs at all", () => validateServerCertificateArgs(cert({ dnsNames: [], ipAddresses: [] })),
        `[dnsNames] [] and [ipAddresses] [] are both empty; give at least one name or address clients use`],
    ["unknown key algorithm", () => validateServerCertificateArgs(cert({ keyAlgorithm: "DSA_1024" })),
        `[keyAlgorithm] "DSA_1024" is not supported; use one of "ECDSA_P256", "ECDSA_P384", "RSA_2048", "RSA_3072", "RSA_4096"`],
    ["relative cert path", () => validateServerCertificateArgs(cert({ certPath: "tls/redis.crt" })),
        `[certPath] "tls/redis.crt" is a relative path; give an absolute path such as "/etc/redis/tls/redis.crt"`],
    ["space in key path", () => validateServerCertificateArgs(cert({ keyPath: "/etc/redis/my key.pem" })),
        `[keyPath] "/etc/redis/my key.pem" has characters redis.conf and the host scripts cannot carry safely; use letters, digits and . _ - + @ /`],
    [".. in CA path", () => validateServerCertificateArgs(cert({ caPath: "/etc/redis/../ca.crt" })),
        `[caPath] "/etc/redis/../ca.crt" contains ".."; give the resolved absolute path`],
    ["key and cert in one file", () => validateServerCertificateArgs(cert({ certPath: "/etc/redis/tls/redis.pem", keyPath: "/etc/redis/tls/redis.pem" })),
        `[certPath] ["/etc/redis/tls/redis.pem","/etc/redis/tls/redis.pem","/etc/redis/tls/ca.crt"] name the same file twice; give certPath, keyPath and caPath distinct files`],
    ["zero validity", () => validateServerCertificateArgs(cert({ validityHours: 0 })),
        `[validityHours] 0 is not a positive whole number of hours; use e.g. 720 for 30 days`],
    ["fractional validity", () => validateServerCertificateArgs(cert({ validityHours: 72.5 })),
        `[validityHours] 72.5 is not a positive whole number of hours; use e.g. 720 for 30 days`],
    ["lifetime too short to renew", () => validateServerCertificateArgs(cert({ validityHours: 12 })),
        `[validityHours] 12 is too short to renew by pulumi up; use at least 24`],
    ["renewal window longer than the lifetime", () => validateServerCertificateArgs(cert({ validityHours: 720, renewBeforeHours: 720 })),
        `[renewBeforeHours] 720 leaves no time between issue and renewal of a 720h certificate; make it less than validityHours, e.g. 240`],
    ["bad key owner", () => validateServerCertificateArgs(cert({ keyOwner: "Redis Server" })),
        `[keyOwner] "Redis Server" is not a valid user or group name; use lower-case letters, digits, "_" and "-", starting with a letter`],
    ["SSH port out of range", () => validateServerCertificateArgs(cert({ connection: { ...connection, port: 0 } })),
        `[connection.port] 0 is not a TCP port; use a whole number from 1 to 65535`],
    ["SSH host with a space", () => validateServerCertificateArgs(cert({ connection: { ...connection, host: "redis 1" } })),
        `[connection.host] "redis 1" is not a host name or address; give e.g. "10.0.0.5" or "redis-1.example.internal"`],
    ["tls-port out of range", () => validateRedisTlsConfigArgs(conf({ tlsPort: 70000 })),
        `[tlsPort] 70000 is not a TCP port; use a whole number from 1 to 65535`],
    ["tls-port equal to plaintext port", () => validateRedisTlsConfigArgs(conf({ tlsPort: 6380, plaintextPort: 6380 })),
        `[plaintextPort] 6380 is also tlsPort; use another port, or 0 to turn plaintext off`],
    ["plaintext port out of range", () => validateRedisTlsConfigArgs(conf({ plaintextPort: -1 })),
        `[plaintextPort] -1 is not a TCP port; use a whole number from 1 to 65535`],
    ["no room for the cluster bus", () => validateRedisTlsConfigArgs(conf({ tlsPort: 60000 })),
        `[tlsPort] 60000 leaves no room for the cluster bus port (tlsPort + 10000); use a port up to 55535 or set cluster false`],
    ["unknown tls-auth-clients", () => validateRedisTlsConfigArgs(conf({ authClients: "required" })),
        `[authClients] "required" is not supported; use one of "yes", "optional", "no"`],
    ["TLS 1.1", () => validateRedisTlsConfigArgs(conf({ protocols: ["TLSv1.1", "TLSv1.2"] })),
        `[protocols] "TLSv1.1" is not supported; use one of "TLSv1.2", "TLSv1.3"`],
    ["no protocols", () => validateRedisTlsConfigArgs(conf({ protocols: [] })),
        `[protocols] [] allows no TLS version; use ["TLSv1.2", "TLSv1.3"] or ["TLSv1.3"]`],
    ["no bind address", () => validateRedisTlsConfigArgs(conf({ bind: [] })),
        `[bind] [] listens nowhere; give addresses such as ["*", "-::*"]`],
    ["bind with a URL", () => validateRedisTlsConfigArgs(conf({ bind: ["tcp://10.0.0.5"] })),
        `[bind] "tcp://10.0.0.5" is not an address Redis can bind; use an IP, "*" or "-::*"`],
    ["relative admin socket", () => validateRedisTlsConfigArgs(conf({ adminSocket: "redis.sock" })),
        `[adminSocket] "redis.sock" is a relative path; give an absolute path such as "/etc/redis/tls/redis.sock"`],
    ["multi-line key pass", () => validateRedisTlsConfigArgs(conf({ keyFilePass: "a\nb" })),
        `[keyFilePass] must be a non-empty single line; leave it unset for an unencrypted key`],
    ["service name with suffix", () => validateRedisTlsConfigArgs(conf({ serviceName: "redis-server.service" })),
        `[serviceName] "redis-server.service" includes ".service"; give the unit name without it, e.g. "redis-server"`],
    ["service name with a space", () => validateRedisTlsConfigArgs(conf({ serviceName: "redis server" })),
        `[serviceName] "redis server" is not a valid systemd unit name; use letters, digits and ":-_.@"`],
    ["relative tlsDir", () => validateRedisTlsServerArgs(server({ tlsDir: "tls" })),
        `[tlsDir] "tls" is a relative path; give an absolute path such as "/etc/redis/tls/tls"`],
    ["intermediate outliving root", () => validateCertificateAuthorityArgs(ca({ rootValidityHours: 100, intermediateValidityHours: 200 })),
        `[intermediateValidityHours] 200 outlives the root's 100; make it at most rootValidityHours`],
    ["empty CA name", () => validateCertificateAuthorityArgs(ca({ commonName: " " })),
        `[commonName] " " must be 1 to 64 characters; give a name such as "Acme Redis Root CA"`],
    ["existing CA root that is a key", () => validateCertificateAuthorityArgs(ca({ existing: { rootCertPem: "-----BEGIN EC PRIVATE KEY-----\nAA\n-----END EC PRIVATE KEY-----", issuerPrivateKeyPem: "-----BEGIN PRIVATE KEY-----" } })),
        `[existing.rootCertPem] contains a private key; give only certificates here`],
    ["existing CA key that is not PEM", () => validateCertificateAuthorityArgs(ca({ existing: { rootCertPem: pem, issuerPrivateKeyPem: "MIIEvQ..." } })),
        `[existing.issuerPrivateKeyPem] is not PEM; give the private key as "-----BEGIN PRIVATE KEY-----" text`],
    ["unknown OS family", () => validateCaDistributionArgs(dist({ hosts: [{ name: "app-1", connection, osFamily: "windows" }] })),
        `[hosts[0].osFamily] "windows" is not supported; use one of "auto", "debian", "rhel"`],
    ["duplicate client names", () => validateCaDistributionArgs(dist({ hosts: [{ name: "app", connection }, { name: "app", connection }] })),
        `[hosts[].name] "app" is listed twice; list each value once`],
    ["client name with capitals", () => validateCaDistributionArgs(dist({ hosts: [{ name: "App_1", connection }] })),
        `[hosts[0].name] "App_1" is not a short name; use lower-case letters, digits and hyphens`],
    ["relative app path", () => validateCaDistributionArgs(dist({ appPath: "ca.pem" })),
        `[appPath] "ca.pem" is a relative path; give an absolute path such as "/etc/redis/tls/ca.pem"`],
    ["anchor name with a slash", () => validateCaDistributionArgs(dist({ anchorName: "../evil" })),
        `[anchorName] "../evil" is not a plain file name; use letters, digits, ".", "_" and "-"`],
    ["ACME directory over http", () => validateAcmeCertificateArgs(acme({ directoryUrl: "http://ca.internal/directory" })),
        `[directoryUrl] "http://ca.internal/directory" is not an https URL; give the ACME directory, e.g. "https://ca.internal/acme/acme/directory"`],
    ["ACME e-mail without a domain", () => validateAcmeCertificateArgs(acme({ email: "ops" })),
        `[email] "ops" is not an e-mail address; give the account contact, e.g. "ops@example.com"`],
    ["ACME without DNS names", () => validateAcmeCertificateArgs(acme({ dnsNames: [] })),
        `[dnsNames] [] is empty; an ACME certificate needs at least one DNS name (lego cannot order IP SANs)`],
    ["ACME HTTP-01 port out of range", () => validateAcmeCertificateArgs(acme({ httpPort: 0 })),
        `[httpPort] 0 is not a TCP port; use a whole number from 1 to 65535`],
    ["timer calendar with a quote", () => validateCertRenewerArgs(renewer({ onCalendar: "*:0/5'" })),
        `[onCalendar] "*:0/5'" is not a systemd calendar expression; use e.g. "*:1/5" for every 5 minutes`],
    ["jitter without a unit systemd knows", () => validateCertRenewerArgs(renewer({ randomizedDelaySec: "5 minutes" })),
        `[randomizedDelaySec] "5 minutes" is not a systemd time span; use e.g. "5m" or "30s"`],
    ["renewal at 100% of the lifetime", () => validateCertRenewerArgs(renewer({ renewAfterPercent: 100 })),
        `[renewAfterPercent] 100 is not a whole percentage of the lifetime from 1 to 99; use 66 for two thirds`],
    ["server with neither a CA nor ACME", () => validateRedisTlsServerArgs({ connection, dnsNames: ["redis-1.internal"] }),
        `[caCertPem, caPrivateKeyPem, chainPem, rootCertPem] not given; pass the CertificateAuthority's outputs, or set acme to issue from an ACME directory`],
    ["ACME server with an IP SAN", () => validateRedisTlsServerArgs({ connection, dnsNames: ["redis-1.internal"], ipAddresses: ["10.0.0.5"], acme: { directoryUrl: "https://ca.internal/d", email: "ops@example.com", rootCertPem: pem } }),
        `[ipAddresses] ["10.0.0.5"] cannot be ordered over ACME with lego; use DNS names only, or the CA in Pulumi state`],
];

describe("bad input is refused before anything is created, naming the field, the value and the fix", () => {
    it("has at least 30 distinct cases", () => {
        assert.ok(new Set(cases.map(([, , m]) => m)).size >= 30);
    });
    for (const [what, validate, message] of cases) {
        it(what, () => {
            assert.deepEqual(validate(), [message]);
        });
    }
    it("accepts the defaults", () => {
        assert.deepEqual(
            [
                validateServerCertificateArgs(cert({})), validateRedisTlsConfigArgs(conf({})), validateCertificateAuthorityArgs({}),
                validateCaDistributionArgs(dist({})), validateAcmeCertificateArgs(acme({})), validateCertRenewerArgs(renewer({})),
            ],
            [[], [], [], [], [], []],
        );
    });
});
