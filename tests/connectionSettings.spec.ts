import { strict as assert } from "node:assert";
import * as yaml from "js-yaml";
import { RedisConnection, renderEscEnvironment, renderServiceBindingSecret, validateClientCertificateArgs } from "../components";
import { pems } from "./support/pems";

// What the renderers refuse or escape, so that a value can only ever be data in the shape rendered.
describe("connection renderers take values as data", () => {
    const { root, leaf, key } = pems();
    const conn: RedisConnection = { url: "rediss://app:pw@10.0.0.5:6379", host: "10.0.0.5", port: 6379, serverName: "redis-1.internal", caPem: root, username: "app", password: "pw", certPem: leaf, keyPem: key };

    it("ESC: every $ is doubled, so no value is read as an interpolation; the YAML reads back every value", () => {
        const password = "a${environmentVariables.AWS_SECRET_ACCESS_KEY}b$$c";
        const doc = yaml.load(renderEscEnvironment({ ...conn, password, url: `rediss://app:${encodeURIComponent(password)}@10.0.0.5:6379` })) as any;
        assert.deepEqual(doc.values.environmentVariables.REDIS_PASSWORD, { "fn::secret": "a$${environmentVariables.AWS_SECRET_ACCESS_KEY}b$$$$c" });
        assert.equal(doc.values.files.REDIS_CA_FILE, root);
        assert.deepEqual(doc.values.files.REDIS_KEY_FILE, { "fn::secret": key });
        assert.deepEqual(Object.keys(doc), ["values"]);
        assert.deepEqual(Object.keys(doc.values), ["environmentVariables", "files"]);
    });

    it("refuses a host or server name that is not a name or address, and control characters (a carriage return would end a YAML block)", () => {
        assert.throws(() => renderEscEnvironment({ ...conn, host: "${environmentVariables.AWS_SECRET_ACCESS_KEY}.x.attacker.example" }), /\[host\] "\$\{environmentVariables/);
        assert.throws(() => renderEscEnvironment({ ...conn, caPem: "line1\rREDIS_EVIL: injected" }), /\[caPem\] holds a control character/);
        assert.throws(() => renderServiceBindingSecret({ ...conn, serverName: "redis 1" }, { name: "x" }), /\[serverName\] "redis 1" is not a valid DNS name/);
        assert.throws(() => renderEscEnvironment({ ...conn, port: 0 }), /\[port\] 0 is not a TCP port/);
    });

    it("RedisClientCertificate refuses such a server host or name at preview", () => {
        const problems = validateClientCertificateArgs({
            username: "app", servers: [{ host: "${environmentVariables.X}.x.example", serverName: "redis_1" }],
            caCertPem: root, caPrivateKeyPem: key, chainPem: "", rootCertPem: root,
        });
        assert.deepEqual(problems, [
            `[servers[0].host] "\${environmentVariables.X}.x.example" is not a valid DNS name; use letters, digits and hyphens, with no hyphen at either end of a label`,
            `[servers[0].serverName] "redis_1" is not a valid DNS name; use letters, digits and hyphens, with no hyphen at either end of a label`,
        ]);
    });
});
