import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { plain, recordResources, Recorded, settle, valueOf } from "./support/mocks";
import { componentProvider } from "./support/schema";

// Each component as a Python or Go program reaches it: the engine calls the plugin's construct()
// with the inputs the SDK sent (plain values, and Outputs for secrets and other resources' outputs),
// and gets back the component's outputs by the schema's names.
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc3No\n-----END OPENSSH PRIVATE KEY-----\n";
const connection = { host: "10.0.0.5", privateKey: pulumi.secret(SSH_KEY), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown" };

describe("construct() through the component provider, as other languages reach the components (mocks)", function () {
    this.timeout(120_000);
    let provider: ComponentProvider;
    let recorded: Recorded[];
    before(async () => {
        provider = componentProvider();
        await provider.getSchema();
    });
    beforeEach(() => {
        recorded = recordResources();
    });

    const construct = (type: string, name: string, inputs: Record<string, unknown>) => provider.construct(name, `redis-tls:index:${type}`, inputs as any, {});

    it("CertificateAuthority: the issuer comes back as one secret value, its key secret", async () => {
        const { state, urn } = await construct("CertificateAuthority", "ca", { keyAlgorithm: "ECDSA_P384" });
        assert.match(await valueOf(urn as pulumi.Output<string>), /redis-tls:index:CertificateAuthority::ca$/);
        assert.equal(await pulumi.isSecret(state.issuerPrivateKeyPem as pulumi.Output<string>), true);
        assert.equal(await pulumi.isSecret(state.issuer as pulumi.Output<unknown>), true);
        assert.equal(await pulumi.isSecret(state.rootCertPem as pulumi.Output<string>), false);
        const issuer = await valueOf(state.issuer as pulumi.Output<any>);
        assert.deepEqual(Object.keys(issuer).sort(), ["chainPem", "issuerCertPem", "issuerPrivateKeyPem", "rootCertPem"]);
        await settle(recorded);
        assert.deepEqual(recorded.find((r) => r.name === "ca-root-key")?.inputs, { algorithm: "ECDSA", ecdsaCurve: "P384" }, "the enum's value reaches the provider");
    });

    it("a server and an application from CertificateAuthority.issuer as ca: SSH key, application key and password stay secret", async () => {
        const ca = await construct("CertificateAuthority", "ca", {});
        const app = await construct("RedisClientCertificate", "orders", {
            username: "orders", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }], ca: ca.state.issuer,
        });
        for (const k of ["keyPem", "password", "url"]) assert.equal(await pulumi.isSecret(app.state[k] as pulumi.Output<string>), true, `${k} secret`);
        assert.equal(await pulumi.isSecret(app.state.certPem as pulumi.Output<string>), false, "the certificate is public");
        assert.match(await valueOf(app.state.url as pulumi.Output<string>), /^rediss:\/\/orders:[0-9a-f]{64}@10\.0\.0\.5:6379$/);

        const server = await construct("RedisTlsServer", "redis-1", {
            connection, dnsNames: ["redis-1.internal"], ca: ca.state.issuer, authClients: "yes",
            users: [{ name: "orders", rules: "~orders:* +@read", passwordHash: app.state.passwordHash }],
        });
        assert.equal(await valueOf(server.state.serverName as pulumi.Output<string>), "redis-1.internal");
        await settle(recorded);
        const commands = recorded.filter((r) => r.type === "command:remote:Command" && r.name.startsWith("redis-1"));
        assert.deepEqual(commands.map((r) => r.name).sort(), ["redis-1-cert-csr", "redis-1-cert-install", "redis-1-config-install"]);
        for (const c of commands) assert.ok("4dabf18193072939515e22adb298388d" in c.inputs.connection, `${c.name}: the connection (with the SSH key) is secret`);
        assert.equal(plain(commands[0].inputs.connection).privateKey, SSH_KEY);
        const signed = recorded.find((r) => r.name === "redis-1-cert-signed")!;
        assert.ok("4dabf18193072939515e22adb298388d" in signed.inputs.caPrivateKeyPem, "the issuing key from ca stays secret");
        assert.equal(signed.inputs.caCertPem, await valueOf(ca.state.issuerCertPem as pulumi.Output<string>));
    });

    it("bad input from another language fails construct() with the field, the value and the fix, before anything registers", async () => {
        await assert.rejects(
            construct("RedisTlsServer", "bad", { connection, dnsNames: ["redis-1.internal"], keyAlgorithm: "DSA_1024", rootCertPem: "x", caCertPem: "x", caPrivateKeyPem: "x", chainPem: "" }),
            /\[keyAlgorithm\] "DSA_1024" is not supported; use one of "ECDSA_P256", "ECDSA_P384", "RSA_2048", "RSA_3072", "RSA_4096"/,
        );
        await settle(recorded);
        assert.deepEqual(recorded.filter((r) => r.name.startsWith("bad")), []);
    });
});
