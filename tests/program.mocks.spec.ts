import { strict as assert } from "node:assert";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../components";
import { recordResources, settle, valueOf } from "./support/mocks";

const PROGRAM = path.join(__dirname, "..", "index.ts");
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc3No\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown";

/** Loads the default program afresh with the given stack config, as `pulumi up` would. */
function loadProgram(config: Record<string, string>): Record<string, pulumi.Output<unknown>> {
    pulumi.runtime.setAllConfig(config, ["redis-tls:sshPrivateKey"]);
    delete require.cache[require.resolve(PROGRAM)];
    return require(PROGRAM);
}

describe("the default program (index.ts) under mocks", () => {
    afterEach(() => pulumi.runtime.setAllConfig({}));

    it("builds one CA, a TLS server per host and trust on every client, and exports endpoints and server names", async () => {
        const recorded = recordResources();
        const out = loadProgram({
            "redis-tls:hosts": JSON.stringify([
                { name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis-a.internal"] },
                { name: "b", address: "10.0.0.6", hostKey: HOST_KEY, user: "deploy", port: 2222, ipAddresses: ["10.0.0.6"] },
            ]),
            "redis-tls:clients": JSON.stringify([{ name: "app", address: "10.0.0.9", hostKey: HOST_KEY, osFamily: "debian" }]),
            "redis-tls:sshPrivateKey": SSH_KEY,
            "redis-tls:tlsPort": "6390",
        });
        const servers = (await valueOf(out.servers)) as Record<string, { endpoint: string; serverName: string; renewsAfter: string }>;
        assert.deepEqual(
            Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, [v.endpoint, v.serverName]])),
            { a: ["10.0.0.5:6390", "redis-a.internal"], b: ["10.0.0.6:6390", "10.0.0.6"] },
        );
        assert.ok(Date.parse(servers.a.renewsAfter) > Date.now());
        assert.match(String(await valueOf(out.rootCertPem)), /BEGIN CERTIFICATE/);
        await settle(recorded);
        const components = recorded.filter((r) => r.type.startsWith("redis-tls:")).map((r) => `${r.type} ${r.name}`).sort();
        assert.deepEqual(components, [
            "redis-tls:index:CaDistribution redis-ca-clients",
            "redis-tls:index:CertificateAuthority redis-ca",
            "redis-tls:index:RedisServerCertificate redis-a-cert",
            "redis-tls:index:RedisServerCertificate redis-b-cert",
            "redis-tls:index:RedisTlsConfig redis-a-config",
            "redis-tls:index:RedisTlsConfig redis-b-config",
            "redis-tls:index:RedisTlsServer redis-a",
            "redis-tls:index:RedisTlsServer redis-b",
        ]);
        const trust = recorded.find((r) => r.name === "redis-ca-clients-app")!;
        assert.match(trust.inputs.create, /family='debian'/);
        const bCsr = recorded.find((r) => r.name === "redis-b-cert-csr")!;
        const { host, port, user, hostKey } = bCsr.inputs.connection.value;
        assert.deepEqual({ host, port, user, hostKey }, { host: "10.0.0.6", port: 2222, user: "deploy", hostKey: HOST_KEY });
        assert.match(recorded.find((r) => r.name === "redis-b-config-install")!.inputs.stdin, /^tls-port 6390$/m);
    });

    it("fails naming the config key when hosts are not set", () => {
        recordResources();
        assert.throws(() => loadProgram({ "redis-tls:sshPrivateKey": SSH_KEY }), /^Error: \[redis-tls:hosts\] is not set; set it with: pulumi config set --path 'hosts\[0\]\.name'/);
    });

    it("fails naming the config key when the SSH key is not set", () => {
        recordResources();
        assert.throws(() => loadProgram({ "redis-tls:hosts": JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["a.internal"] }]) }), /redis-tls:sshPrivateKey/);
    });

    it("fails at preview, before any resource, on a bad DNS name in stack config", async () => {
        const recorded = recordResources(true);
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis_a"] }]), "redis-tls:sshPrivateKey": SSH_KEY }),
            /\[dnsNames\] "redis_a" is not a valid DNS name/,
        );
        await settle(recorded);
        assert.deepEqual(recorded.filter((r) => r.type.startsWith("command:")), []);
    });
});

describe("stack config parsing names the key, the value and the fix", () => {
    const HOSTS = JSON.stringify([{ name: "a", address: "h", hostKey: HOST_KEY }]);
    const cases: Array<[string, Record<string, string>, string]> = [
        ["hosts is not JSON", { hosts: "redis-1" }, `[redis-tls:hosts] "redis-1" is not a non-empty list of objects; set entries with pulumi config set --path 'hosts[0].address' ...`],
        ["hosts is empty", { hosts: "[]" }, `[redis-tls:hosts] "[]" is not a non-empty list of objects; set entries with pulumi config set --path 'hosts[0].address' ...`],
        ["host without address", { hosts: '[{"name":"a"}]' }, `[redis-tls:hosts[0].address] is missing; set it with pulumi config set --path 'hosts[0].address' ...`],
        ["misspelt field", { hosts: '[{"name":"a","address":"h","dnsname":["x"]}]' }, `[redis-tls:hosts[0]] has unknown field "dnsname"; the fields are name, address, hostKey, user, port, dnsNames, ipAddresses, decommissioned`],
        ["host key not pinned", { hosts: '[{"name":"a","address":"10.0.0.5"}]' },
            `[redis-tls:hosts[0].hostKey] is missing; pin the host's SSH key so no machine on the path can answer for it: pulumi config set --path 'hosts[0].hostKey' "$(ssh-keyscan -t ed25519 10.0.0.5 | cut -d' ' -f2-)"`],
        ["client is a string", { hosts: HOSTS, clients: '["app"]' }, `[redis-tls:clients[0]] "app" is not an object; give {"name": ..., "address": ...}`],
        ["validityHours not a number", { hosts: HOSTS, validityHours: "30d" }, `[redis-tls:validityHours] "30d" is not a whole number; set e.g. pulumi config set validityHours 720`],
    ];
    for (const [what, raw, message] of cases) {
        it(what, () => assert.throws(() => parseStackConfig(raw), (e: Error) => e.message === message));
    }
});
