import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import {
    validateAcmeCertificateArgs,
    validateCaDistributionArgs,
    validateCertRenewerArgs,
    validateRedisTlsConfigArgs,
    validateServerCertificateArgs,
    validateStepBootstrapArgs,
    validateStepCaArgs,
    validateStepCertificateArgs,
} from "../components";
import { runProgram } from "./harness/runProgram";
import { pems } from "./support/pems";

const connection = { host: "10.0.0.5", privateKey: "k" };
const { root, intermediate } = pems();
const cert = { connection, dnsNames: ["redis-1.test"], caCertPem: intermediate, caPrivateKeyPem: "k", chainPem: intermediate, rootCertPem: root };
const acme = { connection, directoryUrl: "https://ca.test/dir", email: "ops@example.test", dnsNames: ["redis-1.test"], rootCertPem: root, clientCaPem: root };

// Each plain field that a host script or redis.conf carries, and the validator that gates it.
const FIELDS: Array<[string, (v: string) => string[]]> = [
    ["dnsNames", (v) => validateServerCertificateArgs({ ...cert, dnsNames: [v] })],
    ["ipAddresses", (v) => validateServerCertificateArgs({ ...cert, ipAddresses: [v] })],
    ["tlsDir", (v) => validateServerCertificateArgs({ ...cert, tlsDir: v })],
    ["redisGroup", (v) => validateServerCertificateArgs({ ...cert, redisGroup: v })],
    ["reloadSocket", (v) => validateServerCertificateArgs({ ...cert, reloadSocket: v })],
    ["reloadUser", (v) => validateServerCertificateArgs({ ...cert, reloadUser: v })],
    ["bind", (v) => validateRedisTlsConfigArgs({ connection, bind: [v] })],
    ["adminUser", (v) => validateRedisTlsConfigArgs({ connection, adminUser: v })],
    ["redisConfPath", (v) => validateRedisTlsConfigArgs({ connection, redisConfPath: v })],
    ["serviceName", (v) => validateRedisTlsConfigArgs({ connection, serviceName: v })],
    ["email", (v) => validateAcmeCertificateArgs({ ...acme, email: v })],
    ["directoryUrl", (v) => validateAcmeCertificateArgs({ ...acme, directoryUrl: v })],
    ["legoPath", (v) => validateAcmeCertificateArgs({ ...acme, legoPath: v })],
    ["stepPath", (v) => validateCertRenewerArgs({ connection, renewScript: "", stepPath: v })],
    ["onCalendar", (v) => validateCertRenewerArgs({ connection, renewScript: "", onCalendar: v })],
    ["randomizedDelaySec", (v) => validateCertRenewerArgs({ connection, renewScript: "", randomizedDelaySec: v })],
    ["anchorName", (v) => validateCaDistributionArgs({ rootCertPem: root, anchorName: v })],
    ["issuer.provisioner", (v) => validateStepCertificateArgs({ connection, dnsNames: ["r.test"], clientCaPem: root, issuer: { caUrl: "https://ca.test", rootFingerprint: "a".repeat(64), provisionerPassword: "p", provisioner: v } })],
    ["stepPath", (v) => validateStepBootstrapArgs({ connection, caUrl: "https://ca.test", rootFingerprint: "a".repeat(64), stepPath: v })],
    ["name", (v) => validateStepCaArgs({ connection, ipAddresses: ["10.0.0.9"], name: v })],
    ["appPath", (v) => validateCaDistributionArgs({ rootCertPem: root, appPath: v })],
    ["hosts[].name", (v) => validateCaDistributionArgs({ rootCertPem: root, hosts: [{ name: v, connection }] })],
];

// What could end a quote or a here-document, start a command, or split a redis.conf line.
const DANGEROUS = ["'", '"', "`", "$", "\\", "\n", "\r", ";", "&", "|", "<", ">", "(", ")", "#", "\0", "\t"];
const SAFE = "abcz09.-_/:@+%*~,=[]";
const SPACED = ["onCalendar", "name"];
const hostile = fc.array(fc.constantFrom(...DANGEROUS, ...SAFE.split(""), " ", "REDIS_TLS_SCRIPT"), { maxLength: 12 }).map((parts) => parts.join(""));

describe("hostile values never reach a host as script text", () => {
    it("every validator accepts only values with no character a shell or redis.conf treats specially (plain values, at preview)", () => {
        for (const [field, validate] of FIELDS) {
            fc.assert(
                fc.property(hostile, (value) => {
                    if (validate(value).length > 0) return;
                    // Spaces are data in a calendar spec (a unit file line) and a CA name (a quoted shell value).
                    const bad = DANGEROUS.filter((c) => value.includes(c)).concat(value.includes(" ") && !SPACED.includes(field) ? [" "] : []);
                    assert.deepEqual(bad, [], `${field} accepted ${JSON.stringify(value)}`);
                }),
                { numRuns: 300 },
            );
        }
    });

    it("each plain hostile value is refused naming its field", () => {
        for (const [field, validate] of FIELDS) {
            const problems = validate(`x'; touch /tmp/pwned #`);
            assert.ok(problems.some((p) => p.startsWith(`[${field.split("[")[0]}`)), `${field}: ${problems.join(" | ")}`);
        }
    });

    it("Output values are checked when they resolve: each hostile one fails its step, naming the field, and no command carries it", async function () {
        this.timeout(120_000);
        const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-hostile-"));
        try {
            const r = await runProgram({
                program: path.join(__dirname, "harness", "fixtures", "hostile.ts"),
                config: { "redis-tls:root": root, "redis-tls:intermediate": intermediate },
                stateDir,
                preview: true,
            });
            assert.equal(r.ok, false);
            const expected = [
                "RedisServerCertificate cert-keyFilePass: invalid arguments:\n  [keyFilePass] must be a non-empty single line",
                "RedisServerCertificate cert-rootCertPem: invalid arguments:\n  [rootCertPem] has text outside PEM blocks",
                "RedisServerCertificate cert-chainPem: invalid arguments:\n  [chainPem] has text outside PEM blocks",
                "RedisServerCertificate cert-clientCaPem: invalid arguments:\n  [clientCaPem] has text outside PEM blocks",
                "connection: invalid arguments:\n  [connection.hostKey] \"ssh-ed25519 AAAA\\nREDIS_TLS_SCRIPT",
                "RedisTlsConfig config-keyFilePass: invalid arguments:\n  [keyFilePass] must be a non-empty single line",
                "AcmeCertificate acme-directoryUrl: invalid arguments:\n  [directoryUrl]",
                "AcmeCertificate acme-rootCertPem: invalid arguments:\n  [rootCertPem] certificate 1 does not parse",
                "AcmeCertificate acme-clientCaPem: invalid arguments:\n  [clientCaPem] has text outside PEM blocks",
                "AcmeCertificate acme-serverCaPem: invalid arguments:\n  [serverCaPem] has text outside PEM blocks",
                `contains the line "REDIS_TLS_FILE_5", which would end its here-document`,
                "CaDistribution trust-rootCertPem: invalid arguments:\n  [rootCertPem] has text outside PEM blocks",
                "StepCertificate step-caUrl: invalid arguments:\n  [issuer.caUrl]",
                "StepCertificate step-rootFingerprint: invalid arguments:\n  [issuer.rootFingerprint]",
                "StepBootstrap bootstrap-caUrl: invalid arguments:\n  [caUrl]",
                "StepBootstrap bootstrap-rootFingerprint: invalid arguments:\n  [rootFingerprint]",
            ];
            for (const message of expected) assert.ok(r.error!.includes(message), `${message}\nnot in\n${r.error}`);
            // Components record their args as inputs (data in state, which policies read); no step may carry the value.
            const carriers = r.resources.filter((x) => !x.type.startsWith("redis-tls:") && JSON.stringify(x.inputs).includes("/tmp/pwned")).map((x) => x.name);
            assert.deepEqual(carriers, []);
        } finally {
            fs.rmSync(stateDir, { recursive: true, force: true });
        }
    });
});
