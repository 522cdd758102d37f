import { strict as assert } from "node:assert";
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { renderRedisTlsConf } from "../components";
import { dockerRedisTlsOnly, elastiCacheTransitEncryption, redisTlsComponentsStrict, redisTlsPolicies, remoteCommandPlaintextPort } from "../policy/policies";
import { recordResources, settle } from "./support/mocks";
import { RedisTlsContainer, RedisTlsServer, CertificateAuthority } from "../components";
import { plain } from "./support/mocks";

const connection = { host: "10.0.0.5", privateKey: "k", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown" };

// Each policy's validateResource, called offline with hand-built resources, from the module that
// defines the policies (policy/index.ts, which constructs the pack, starts a gRPC server).
function violations(policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>, name = "r"): string[] {
    const found: string[] = [];
    const args = { type, props, urn: `urn:pulumi:dev::p::${type}::${name}`, name, opts: {}, getConfig: () => ({}), notApplicable: () => undefined } as unknown as ResourceValidationArgs;
    const validate = policy.validateResource!;
    for (const v of Array.isArray(validate) ? validate : [validate]) v(args, (m) => found.push(m));
    return found;
}

describe("the policy pack, offline", () => {
    it("holds the four policies, each mandatory", () => {
        assert.deepEqual(redisTlsPolicies.map((p) => [p.name, p.enforcementLevel]), [
            ["redis-docker-tls-only", "mandatory"],
            ["redis-elasticache-transit-encryption", "mandatory"],
            ["redis-remote-command-plaintext-port", "mandatory"],
            ["redis-tls-components-strict", "mandatory"],
        ]);
    });

    it("Docker: a redis or valkey container without --tls-port, or with a plaintext port, is flagged; TLS-only passes", () => {
        const c = (image: string, command?: string[]) => violations(dockerRedisTlsOnly, "docker:index/container:Container", { image, command });
        assert.equal(c("redis:7.4").length, 2);
        assert.match(c("docker.io/library/redis:7", ["redis-server", "--tls-port", "6379"])[0], /serves plaintext \(--port defaults to 6379\); add --port 0/);
        assert.match(c("valkey/valkey:9", ["valkey-server", "--tls-port", "6380", "--port", "6379"])[0], /--port 6379/);
        assert.deepEqual(c("redis:7.4", ["redis-server", "--tls-port", "6379", "--port", "0", "--tls-cert-file", "/tls/redis.crt"]), []);
        assert.deepEqual(c("registry.internal/valkey@sha256:abc", ["--tls-port=6379", "--port=0"]), []);
        assert.deepEqual(c("nginx:1.27"), [], "not Redis");
        // Redis applies options in order: the last --port wins.
        assert.match(c("redis:7", ["redis-server", "--tls-port", "6380", "--port", "0", "--port", "6379"])[0], /--port 6379/);
        assert.deepEqual(c("redis:7", ["sh", "-c", "exec redis-server --tls-port 6379 --port 0 --tls-cert-file /tls/c"]), [], "a shell's command line read word by word");
        assert.equal(c("sha256:0123abcd", ["valkey-server", "--port", "6379"]).length, 2, "an image by ID, recognised by the server it runs");
        assert.equal(c("redis/redis-stack:7.4.0-v1").length, 2);
        assert.deepEqual(c("redis-commander:latest"), [], "a Redis tool, not a server");
    });

    it("Docker: this library's own RedisTlsContainer passes, by its command line alone", async () => {
        const recorded = recordResources();
        new RedisTlsContainer("own", { ca: new CertificateAuthority("ca").issuer, tlsPort: 6380 });
        await settle(recorded);
        const container = plain(recorded.find((x) => x.type === "docker:index/container:Container")!.inputs);
        assert.deepEqual(violations(dockerRedisTlsOnly, "docker:index/container:Container", container), []);
        assert.deepEqual(violations(dockerRedisTlsOnly, "docker:index/container:Container", { ...container, image: "redis:7.4" }), []);
        const withoutFlags = { ...container, image: "redis:7.4", command: container.command.filter((_: string, i: number) => i < 2) };
        assert.equal(violations(dockerRedisTlsOnly, "docker:index/container:Container", withoutFlags).length, 2, "the flags are what the policy reads");
    });

    it("ElastiCache: transit encryption off or preferred is flagged; required passes", () => {
        const g = (props: Record<string, unknown>) => violations(elastiCacheTransitEncryption, "aws:elasticache/replicationGroup:ReplicationGroup", props);
        assert.match(g({})[0], /transitEncryptionEnabled is not true/);
        assert.match(g({ transitEncryptionEnabled: true, transitEncryptionMode: "preferred" })[0], /"preferred", which still accepts plaintext/);
        assert.deepEqual(g({ transitEncryptionEnabled: true, transitEncryptionMode: "required" }), []);
        assert.deepEqual(g({ transitEncryptionEnabled: true }), [], "required is the default mode once enabled");
        const cluster = (props: Record<string, unknown>) => violations(elastiCacheTransitEncryption, "aws:elasticache/cluster:Cluster", props);
        assert.match(cluster({ engine: "redis" })[0], /transitEncryptionEnabled is not true/);
        assert.deepEqual(cluster({ engine: "valkey", transitEncryptionEnabled: true }), []);
        assert.deepEqual(cluster({ engine: "memcached" }), [], "not Redis");
        assert.deepEqual(cluster({ engine: "redis", replicationGroupId: "g" }), [], "a member: its replication group is checked");
    });

    it("remote commands: writing port <non-zero> into a Redis config is flagged; this library's own steps are not", async () => {
        const r = (create: string) => violations(remoteCommandPlaintextPort, "command:remote:Command", { create });
        assert.match(r(`echo "port 6379" >> /etc/redis/redis.conf`)[0], /port 6379, a plaintext listener/);
        assert.match(r(`printf 'tls-port 6380\\nport 6379\\n' > /etc/valkey/valkey.conf`)[0], /port 6379/);
        assert.match(r(`redis-server --port 7000 --daemonize yes`)[0], /port 7000/);
        assert.deepEqual(r(`echo "port 0" >> /etc/redis/redis.conf; echo "tls-port 6379" >> /etc/redis/redis.conf`), []);
        assert.deepEqual(r(`sed -i 's/^Port 22/Port 2222/' /etc/ssh/sshd_config`), [], "not Redis");
        assert.match(r(`cat > /etc/redis/redis.conf <<EOF\nPort 6379\nEOF`)[0], /port 6379/, "Redis reads directives in any case");
        assert.deepEqual(r(`apt-get install -y redis-server && ufw allow from 10.0.0.0/8 to any port 6379`), [], "a firewall rule is not a listener");
        const stdin = violations(remoteCommandPlaintextPort, "command:remote:Command", { create: "cat > /etc/redis/redis.conf", stdin: "bind 0.0.0.0\nport 6379\n" });
        assert.match(stdin[0], /its stdin configures Redis with port 6379/);
        const dropIn = renderRedisTlsConf({ tlsPort: 6379, plaintextPort: 0, bind: [], tlsDir: "/etc/redis-tls", authClients: "yes", replication: true, cluster: false, protocols: ["TLSv1.2", "TLSv1.3"], adminSocket: "/run/redis/redis-server.sock" });
        assert.deepEqual(r(dropIn), []);
        const recorded = recordResources();
        new RedisTlsServer("own", { connection, dnsNames: ["redis-1.internal"], ca: new CertificateAuthority("ca").issuer });
        await settle(recorded);
        const steps = recorded.filter((x) => x.type === "command:remote:Command");
        assert.equal(steps.length, 3);
        for (const step of steps) assert.deepEqual(r(step.inputs.create), [], step.name);
    });

    it("redis-tls components: authClients \"no\" and a plaintext port are flagged, from the args the components register", async () => {
        assert.match(violations(redisTlsComponentsStrict, "redis-tls:index:RedisTlsConfig", { authClients: "no" })[0], /authClients "no"/);
        assert.match(violations(redisTlsComponentsStrict, "redis-tls:index:RedisTlsConfig", { plaintextPort: 6379 })[0], /plaintextPort 6379/);
        assert.deepEqual(violations(redisTlsComponentsStrict, "redis-tls:index:RedisTlsServer", { authClients: "yes", tlsPort: 6379 }), []);
        assert.match(violations(redisTlsComponentsStrict, "redis-tls:index:RedisTlsContainer", { authClients: "no" })[0], /authClients "no"/);
        // What the policy engine would see: the component's registered inputs.
        const recorded = recordResources();
        const ca = new CertificateAuthority("ca");
        new RedisTlsServer("open", { connection, dnsNames: ["redis-1.internal"], ca: ca.issuer, authClients: "no" });
        await settle(recorded);
        const server = recorded.find((r) => r.type === "redis-tls:index:RedisTlsServer")!;
        assert.match(violations(redisTlsComponentsStrict, server.type, server.inputs, "open")[0], /open: authClients "no"/);
        assert.equal(server.inputs.connection.privateKey, undefined, "secret args are not registered");
        assert.equal(server.inputs.ca, undefined);
    });
});
