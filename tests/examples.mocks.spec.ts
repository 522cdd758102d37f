import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { run } from "./support/run";

// Every program in examples/ (type-checked with the rest by `tsc --noEmit`), each run in its own
// process under the recording mocks with the stack config it documents: it must register what its
// scenario says, and keep its secrets secret.
const EXAMPLES = path.join(__dirname, "..", "examples");
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown";

interface Expectation {
    config: Record<string, string>;
    resources: string[];
    secretOutputs: Record<string, boolean>;
}

/** An organisation's CA: a root that signs directly, and its key. */
function orgCa(): { root: string; key: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-org-ca-"));
    try {
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "k"), "-subj", "/CN=Org Root",
            "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign", "-out", path.join(dir, "c")], { stdio: "ignore" });
        return { root: fs.readFileSync(path.join(dir, "c"), "utf8"), key: fs.readFileSync(path.join(dir, "k"), "utf8") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
const { root, key } = orgCa();
const cfg = (extra: Record<string, string>) => ({ "redis-tls:sshPrivateKey": "k", ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`redis-tls:${k}`, v])) });

const EXPECTED: Record<string, Expectation> = {
    "state-ca-hosts": {
        config: cfg({ redisHostKey: HOST_KEY, appHostKey: HOST_KEY }),
        resources: ["command:remote:Command redis-1-cert-csr", "command:remote:Command redis-1-config-install", "command:remote:Command trust-app-1", "tls:index/locallySignedCert:LocallySignedCert orders-signed"],
        secretOutputs: { server: false, ordersConnection: true },
    },
    "organisation-ca": {
        config: cfg({ redisHostKey: HOST_KEY, caRootCertPem: root, caIssuerPrivateKeyPem: key }),
        resources: ["tls:index/locallySignedCert:LocallySignedCert redis-1-cert-signed", "command:remote:Command redis-1-config-install"],
        secretOutputs: { server: false },
    },
    acme: {
        config: cfg({ redisHostKey: HOST_KEY, acmeRootCertPem: root }),
        resources: ["command:remote:Command redis-1-acme-issue", "command:remote:Command redis-1-renewer-install", "command:remote:Command redis-1-config-install"],
        secretOutputs: { server: false },
    },
    "step-ca": {
        config: cfg({ redisHostKey: HOST_KEY, caHostKey: HOST_KEY }),
        resources: ["command:remote:Command step-init", "command:remote:Command redis-1-step-sign", "command:remote:Command redis-1-renewer-install"],
        secretOutputs: { caUrl: false, server: false },
    },
    "valkey-certificate-login": {
        config: cfg({ valkeyHostKey: HOST_KEY, appHostKey: HOST_KEY }),
        resources: ["command:remote:Command billing-csr", "command:remote:Command billing-install", "command:remote:Command valkey-1-config-install"],
        secretOutputs: { server: false, billingKeyPath: false },
    },
    docker: {
        config: cfg({}),
        resources: ["docker:index/container:Container redis", "command:local:Command redis-csr", "command:local:Command redis-reload", "docker:index/image:Image orders-image-image"],
        secretOutputs: { endpoint: false, ordersConnection: true, ordersImage: false },
    },
    replication: {
        config: cfg({ "redis-aHostKey": HOST_KEY, "redis-bHostKey": HOST_KEY, "redis-cHostKey": HOST_KEY }),
        resources: ["command:local:Command replication-password", "command:remote:Command redis-a-config-install", "command:remote:Command redis-c-config-install"],
        secretOutputs: { write: false, read: false, ordersConnection: true },
    },
    "kubernetes-binding": {
        config: cfg({ redisHostKey: HOST_KEY, keystorePassword: "changeit-0" }),
        resources: ["kubernetes:core/v1:Secret orders-redis", "command:local:Command orders-password"],
        secretOutputs: { escEnvironment: true, keystoreBase64: true },
    },
};

describe("examples/, each under mocks", function () {
    this.timeout(120_000);

    it("has an expectation for every example, and every example has a Pulumi.yaml", () => {
        const dirs = fs.readdirSync(EXAMPLES).filter((d) => fs.statSync(path.join(EXAMPLES, d)).isDirectory()).sort();
        assert.deepEqual(dirs, Object.keys(EXPECTED).sort());
        for (const d of dirs) assert.ok(fs.existsSync(path.join(EXAMPLES, d, "Pulumi.yaml")), d);
    });

    for (const [name, e] of Object.entries(EXPECTED)) {
        it(`${name}: registers its scenario's steps, secrets secret`, async () => {
            const r = await run("node", ["-r", "ts-node/register/transpile-only", path.join(__dirname, "support", "underMocks.ts"), path.join(EXAMPLES, name, "index.ts"), JSON.stringify(e.config)], { timeoutMs: 60_000 });
            assert.equal(r.code, 0, r.stderr);
            const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
            for (const res of e.resources) assert.ok(out.resources.includes(res), `${res} not in\n${out.resources.join("\n")}`);
            assert.deepEqual(out.secretOutputs, e.secretOutputs);
        });
    }
});
