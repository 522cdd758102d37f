import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, RedisClientCertificate, serviceBindingSecret } from "../components";
import { check } from "./support/run";
import { isSecretInput, plain, recordResources, Recorded, settle, valueOf } from "./support/mocks";

describe("serviceBindingSecret with @pulumi/kubernetes, an optional peer dependency (mocks)", () => {
    let recorded: Recorded[];
    beforeEach(() => {
        recorded = recordResources();
    });

    it("registers a Kubernetes Secret of type servicebinding.io/redis whose entries are the application's connection, all secret", async () => {
        const ca = new CertificateAuthority("ca");
        const app = new RedisClientCertificate("orders", { username: "orders", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }], ca: ca.issuer });
        serviceBindingSecret("orders-redis", app.connection, { namespace: "shop" });
        const conn = await valueOf(app.connection);
        await settle(recorded);
        const secret = recorded.find((r) => r.type === "kubernetes:core/v1:Secret")!;
        assert.equal(secret.name, "orders-redis");
        assert.equal(plain(secret.inputs.type), "servicebinding.io/redis");
        assert.equal(plain(secret.inputs.metadata).namespace, "shop");
        assert.ok(isSecretInput(secret.inputs.stringData), "the entries are a secret");
        const data = plain(secret.inputs.stringData);
        assert.deepEqual(
            { uri: data.uri, password: data.password, key: data["tls.key"], ca: data["ca.crt"], host: data.host, name: data["server-name"] },
            { uri: conn.url, password: conn.password, key: conn.keyPem, ca: conn.caPem, host: "10.0.0.5", name: "redis-1.internal" },
        );
        assert.equal(await pulumi.isSecret(app.connection), true);
    });

    it("the library never loads @pulumi/kubernetes by itself", async () => {
        const loaded = await check("node", ["-r", "ts-node/register/transpile-only", "-e",
            "require('./index.ts'); console.log(Object.keys(require.cache).some((k) => k.includes('@pulumi/kubernetes')))"]);
        assert.equal(loaded.trim(), "false");
    });
});
