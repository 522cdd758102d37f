import { strict as assert } from "node:assert";
import { createHash, X509Certificate } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { fingerprint, parseStackConfig } from "../components";
import { isSecretInput, plain, recordResources, sections, settle, valueOf } from "./support/mocks";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc3No\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown";

/** Loads the default program afresh with the given stack config, as `pulumi up` would. */
function loadProgram(config: Record<string, string>): Record<string, pulumi.Output<unknown>> {
    pulumi.runtime.setAllConfig(config, ["redis-tls:sshPrivateKey", "redis-tls:stepProvisionerPassword"]);
    delete require.cache[require.resolve(PROGRAM)];
    return require(PROGRAM);
}

const STACK_TRACE_LIMIT = Error.stackTraceLimit;

describe("the default program (stack/index.ts) under mocks", () => {
    afterEach(() => {
        pulumi.runtime.setAllConfig({});
        // The program turns stack capture off for its process; this one is mocha's.
        Error.stackTraceLimit = STACK_TRACE_LIMIT;
        delete process.env.REDIS_TLS_STACK_TRACES;
    });

    it("runs with stack capture off (REDIS_TLS_STACK_TRACES=1 keeps it), and bad input still fails with its whole message", () => {
        recordResources();
        const hosts = JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis_a"] }]);
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY }),
            (e: Error) => e.message.includes(`[dnsNames] "redis_a" is not a valid DNS name`) && !/\n\s+at /.test(e.stack ?? ""),
        );
        assert.equal(Error.stackTraceLimit, 0);
        Error.stackTraceLimit = STACK_TRACE_LIMIT;
        process.env.REDIS_TLS_STACK_TRACES = "1";
        assert.throws(() => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY }), (e: Error) => /\n\s+at /.test(e.stack ?? ""));
        assert.equal(Error.stackTraceLimit, STACK_TRACE_LIMIT);
    });

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
        // The default application: its user on every host, its connection a secret output.
        assert.equal(await pulumi.isSecret(out.apps), true);
        const app = ((await valueOf(out.apps)) as Record<string, { url: string; username: string; host: string; port: number; keyPem: string; password: string }>).app;
        assert.deepEqual([app.username, app.host, app.port], ["app", "10.0.0.5", 6390]);
        assert.equal(app.url, `rediss://app:${app.password}@10.0.0.5:6390`);
        assert.match(app.keyPem, /^-----BEGIN (EC )?PRIVATE KEY-----/);
        await settle(recorded);
        for (const host of ["a", "b"]) {
            const users = sections(recorded.find((r) => r.name === `redis-${host}-config-install`)!.inputs.stdin).users;
            assert.match(users, /^user app reset on #[0-9a-f]{64} ~app:\* resetchannels \+@connection \+@read \+@write -@dangerous -config\|rewrite/);
            assert.ok(!users.includes(app.password));
        }
        const components = recorded.filter((r) => r.type.startsWith("redis-tls:")).map((r) => `${r.type} ${r.name}`).sort();
        assert.deepEqual(components, [
            "redis-tls:index:CaDistribution redis-ca-clients",
            "redis-tls:index:CertificateAuthority redis-ca",
            "redis-tls:index:RedisClientCertificate redis-app-app",
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
        assert.match(sections(recorded.find((r) => r.name === "redis-b-config-install")!.inputs.stdin).dropin, /^tls-port 6390$/m);
    });

    it("stands step-ca up from stackConfig.stepCa and issues every host's certificate from it, signing on the CA host", async () => {
        const recorded = recordResources();
        const out = loadProgram({
            "redis-tls:hosts": JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis-a.internal"] }]),
            "redis-tls:stepCa": JSON.stringify({ address: "10.0.0.9", hostKey: HOST_KEY, ipAddresses: ["10.0.0.9"] }),
            "redis-tls:clients": JSON.stringify([
                { name: "app", address: "10.0.0.7", hostKey: HOST_KEY, stepBootstrap: true },
                { name: "web", address: "10.0.0.8", hostKey: HOST_KEY },
            ]),
            "redis-tls:sshPrivateKey": SSH_KEY,
        });
        assert.match(String(await valueOf(out.rootCertPem)), /BEGIN CERTIFICATE/);
        await settle(recorded);
        const names = recorded.map((r) => r.name);
        for (const n of ["redis-step-ca-init", "redis-a-step-bootstrap", "redis-a-step-sign", "redis-a-renewer-install"]) assert.ok(names.includes(n), n);
        assert.equal(recorded.find((r) => r.name === "redis-a-step-sign")!.inputs.connection.value.host, "10.0.0.9");
        // Only the client that asks for it is bootstrapped, from the stood-up CA, its root pinned.
        const boots = recorded.filter((r) => r.type === "command:remote:Command" && r.name.includes("bootstrap") && !r.name.startsWith("redis-a-"));
        assert.deepEqual(boots.map((r) => [r.name, r.inputs.connection.value.host]), [["redis-step-bootstrap-app", "10.0.0.7"]]);
        const fp = fingerprint(new X509Certificate(String(await valueOf(out.rootCertPem))));
        assert.match(boots[0].inputs.create, new RegExp(`steppath='/etc/redis-tls/step' url='https://10\\.0\\.0\\.9:9443' fp=${fp}`));
    });

    it("refuses stepBootstrap on a client without a step-ca, and switches that are not booleans, naming the field", () => {
        recordResources();
        const hosts = JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["a.internal"] }]);
        const clients = (v: unknown) => JSON.stringify([{ name: "app", address: "10.0.0.7", hostKey: HOST_KEY, stepBootstrap: v }]);
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:clients": clients(true) }),
            /^Error: \[redis-tls:clients\[0\]\.stepBootstrap\] is true but neither redis-tls:step nor redis-tls:stepCa is set/,
        );
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:clients": clients("yes") }),
            /^Error: \[redis-tls:clients\[0\]\.stepBootstrap\] "yes" is not true or false; set it with pulumi config set --path 'clients\[0\]\.stepBootstrap' true$/,
        );
        // "false" as a string would switch the CA's ACME provisioner on.
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:stepCa": JSON.stringify({ address: "10.0.0.9", hostKey: HOST_KEY, ipAddresses: ["10.0.0.9"], acme: "false" }) }),
            /^Error: \[redis-tls:stepCa\.acme\] "false" is not true or false; set it with pulumi config set --path 'stepCa\.acme' true$/,
        );
    });

    it("refuses two issuers at once, and an existing step-ca without its provisioner password, naming the keys", () => {
        recordResources();
        const hosts = JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["a.internal"] }]);
        const step = JSON.stringify({ caUrl: "https://ca.internal:9443", rootFingerprint: "a".repeat(64) });
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:step": step, "redis-tls:acme": JSON.stringify({ directoryUrl: "https://x/d", email: "a@b.c", rootCertPem: "x" }) }),
            /^Error: \[redis-tls:acme, redis-tls:step\] are all set; choose one issuer/,
        );
        assert.throws(() => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:step": step }), /\[redis-tls:stepProvisionerPassword\] is not set but step is/);
    });

    it("with no hosts runs one TLS-only container on the local engine: no SSH, the TLS port on loopback only, values reaching the docker CLI as environment", async () => {
        const recorded = recordResources();
        const out = loadProgram({ "redis-tls:container": JSON.stringify({ image: "redis:7.2", publishPort: 16379 }), "docker:host": "unix:///run/test-docker.sock" });
        assert.deepEqual(await valueOf(out.servers), {
            container: { endpoint: "127.0.0.1:16379", serverName: "localhost", renewsAfter: ((await valueOf(out.servers)) as any).container.renewsAfter },
        });
        const app = ((await valueOf(out.apps)) as Record<string, { url: string; host: string; port: number; serverName: string }>).app;
        assert.deepEqual([app.host, app.port, app.serverName], ["127.0.0.1", 16379, "localhost"]);
        await settle(recorded);
        assert.deepEqual(recorded.filter((r) => r.type.startsWith("command:remote")), []);
        const container = recorded.find((r) => r.type === "docker:index/container:Container")!;
        const c = plain(container.inputs);
        assert.deepEqual(c.ports, [{ internal: 6379, external: 16379, ip: "127.0.0.1" }]);
        assert.deepEqual(c.command, ["redis-server", "/etc/redis-tls/redis-tls.conf", "--port", "0", "--tls-port", "6379", "--dir", "/data"]);
        assert.equal(c.user, "redis");
        assert.equal(c.image, plain(recorded.find((r) => r.type === "docker:index/image:Image")!.state).repoDigest);
        const image = plain(recorded.find((r) => r.type === "docker:index/image:Image")!.inputs);
        assert.deepEqual(image.build.args, { BASE: "redis:7.2" });
        assert.equal(image.skipPush, true);
        for (const step of ["csr", "install", "config", "reload"]) {
            const cmd = plain(recorded.find((r) => r.name === `redis-container-${step}`)!.inputs);
            assert.equal(cmd.environment.DOCKER_HOST, "unix:///run/test-docker.sock");
            // The image, the volumes and the container are data: not one of them is in the command's text.
            for (const value of [cmd.environment.REDIS_TLS_IMAGE, cmd.environment.REDIS_TLS_VOLUME, cmd.environment.REDIS_TLS_CONTAINER].filter(Boolean)) {
                assert.ok(!cmd.create.includes(value), `${step}: ${value} in the command text`);
            }
        }
        const dropin = sections(plain(recorded.find((r) => r.name === "redis-container-config")!.inputs).stdin).dropin;
        assert.match(dropin, /^port 0$/m);
        assert.match(dropin, /^tls-auth-clients yes$/m);
    });

    it("a primary and its replicas: one replication password (made once, secret), the replication identity on each member, replicaof on the replicas only", async () => {
        const recorded = recordResources();
        const out = loadProgram({
            "redis-tls:hosts": JSON.stringify([
                { name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis-a.internal"] },
                { name: "b", address: "10.0.0.6", hostKey: HOST_KEY, dnsNames: ["redis-b.internal"], replicaOf: "a" },
                { name: "c", address: "10.0.0.7", hostKey: HOST_KEY, dnsNames: ["redis-c.internal"], replicaOf: "a" },
                { name: "d", address: "10.0.0.8", hostKey: HOST_KEY, dnsNames: ["redis-d.internal"] },
            ]),
            "redis-tls:sshPrivateKey": SSH_KEY,
        });
        const servers = (await valueOf(out.servers)) as Record<string, { replicaOf?: string }>;
        assert.deepEqual(Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.replicaOf])), { a: undefined, b: "a", c: "a", d: undefined });
        await settle(recorded);
        const made = recorded.filter((r) => r.type === "command:local:Command" && /^redis-replication-.*-password$/.test(r.name));
        assert.deepEqual(made.map((r) => [r.name, r.inputs.logging]), [["redis-replication-a-password", "none"]]);
        const install = (h: string) => recorded.find((r) => r.name === `redis-${h}-config-install`)!;
        const password = (h: string) => sections(plain(install(h).inputs.stdin)).dropin.match(/^masterauth "(.*)"$/m)?.[1];
        const hash = sections(plain(install("a").inputs.stdin)).users.match(/^user redis-tls-replica reset on #([0-9a-f]{64}) resetchannels -@all \+ping \+replconf \+psync$/m)?.[1];
        assert.ok(hash !== undefined, "the primary has the replication identity");
        for (const h of ["a", "b", "c"]) {
            assert.ok(isSecretInput(install(h).inputs.stdin), `${h}: the drop-in with masterauth is on stdin as a secret`);
            const { dropin, users } = sections(plain(install(h).inputs.stdin));
            assert.equal(password(h), password("a"));
            assert.equal(createHash("sha256").update(password(h)!).digest("hex"), hash);
            assert.ok(users.includes(`#${hash}`) && !users.includes(password(h)!), `${h} stores the hash only`);
            assert.match(dropin, /^masteruser redis-tls-replica$/m);
            assert.equal(dropin.match(/^replicaof .*$/m)?.[0], h === "a" ? undefined : "replicaof 10.0.0.5 6379");
            assert.ok(!install(h).inputs.create.includes(password(h)!), "never in the command text");
        }
        const { dropin, users } = sections(plain(install("d").inputs.stdin));
        assert.ok(!/master|replicaof/.test(dropin) && !users.includes("redis-tls-replica"), "a host outside the set has none of it");
    });

    it("with redis-tls:sentinel, a sentinel beside each member of a replica set: one secret password per set, its hash on every member, monitoring the primary", async () => {
        const recorded = recordResources();
        const out = loadProgram({
            "redis-tls:hosts": JSON.stringify([
                { name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis-a.internal"] },
                { name: "b", address: "10.0.0.6", hostKey: HOST_KEY, dnsNames: ["redis-b.internal"], replicaOf: "a" },
                { name: "c", address: "10.0.0.7", hostKey: HOST_KEY, dnsNames: ["redis-c.internal"], replicaOf: "a" },
                { name: "d", address: "10.0.0.8", hostKey: HOST_KEY, dnsNames: ["redis-d.internal"] },
            ]),
            "redis-tls:sentinel": "true",
            "redis-tls:sshPrivateKey": SSH_KEY,
        });
        const servers = (await valueOf(out.servers)) as Record<string, { sentinel?: string }>;
        assert.deepEqual(Object.fromEntries(Object.entries(servers).map(([k, v]) => [k, v.sentinel])), { a: "10.0.0.5:26379", b: "10.0.0.6:26379", c: "10.0.0.7:26379", d: undefined });
        await settle(recorded);
        const made = recorded.filter((r) => r.type === "command:local:Command" && /^redis-sentinel-.*-password$/.test(r.name));
        assert.deepEqual(made.map((r) => [r.name, r.inputs.logging]), [["redis-sentinel-a-password", "none"]]);
        assert.deepEqual(recorded.filter((r) => /-sentinel$/.test(r.name)).map((r) => r.name), ["redis-a-sentinel", "redis-b-sentinel", "redis-c-sentinel"]);
        const sentinel = (h: string) => recorded.find((r) => r.name === `redis-${h}-sentinel`)!;
        const conf = (h: string) => sections(plain(sentinel(h).inputs.stdin)).conf;
        const password = conf("a").match(/^sentinel auth-pass redis-tls "(.*)"$/m)![1];
        for (const h of ["a", "b", "c"]) {
            assert.ok(isSecretInput(sentinel(h).inputs.stdin), `${h}: the sentinel's config is on stdin as a secret`);
            assert.ok(!sentinel(h).inputs.create.includes(password) && !sentinel(h).inputs.delete.includes(password), "never in the command text");
            assert.match(conf(h), /^sentinel monitor redis-tls 10\.0\.0\.5 6379 2$/m, "both watch the primary");
            assert.equal(conf(h).match(/^sentinel sentinel-pass "(.*)"$/m)?.[1], password);
            const users = sections(plain(recorded.find((r) => r.name === `redis-${h}-config-install`)!.inputs.stdin)).users;
            assert.ok(users.includes(`user redis-tls-sentinel reset on #${createHash("sha256").update(password).digest("hex")} resetchannels &__sentinel__:hello -@all`) && !users.includes(password));
        }
        assert.ok(!sections(plain(recorded.find((r) => r.name === "redis-d-config-install")!.inputs.stdin)).users.includes("redis-tls-sentinel"), "a host outside the set has no sentinel identity");
    });

    it("refuses Sentinel for a replica set of two, which could not fail over once a host is lost", () => {
        recordResources();
        assert.throws(
            () => loadProgram({
                "redis-tls:hosts": JSON.stringify([
                    { name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["redis-a.internal"] },
                    { name: "b", address: "10.0.0.6", hostKey: HOST_KEY, dnsNames: ["redis-b.internal"], replicaOf: "a" },
                ]),
                "redis-tls:sentinel": "true",
                "redis-tls:sshPrivateKey": SSH_KEY,
            }),
            /^Error: \[redis-tls:sentinel\] true with the replica set of "a" at 2 members in service; its sentinels could not fail over once one host is lost \(a failover needs a majority of them\): add a replica, or set sentinel false$/,
        );
    });

    it("refuses topologies that cannot work, naming the host and the fix", () => {
        recordResources();
        const load = (hosts: object[]) => () => loadProgram({ "redis-tls:hosts": JSON.stringify(hosts.map((h, i) => ({ name: `h${i}`, address: `10.0.0.${i + 1}`, hostKey: HOST_KEY, ...h }))), "redis-tls:sshPrivateKey": SSH_KEY });
        assert.throws(load([{}, { replicaOf: "h1" }]), /^Error: \[redis-tls:hosts\[1\]\.replicaOf\] "h1" is this host itself, which cannot replicate from itself; name its primary, or drop replicaOf on the primary$/);
        assert.throws(load([{}, { replicaOf: "h9" }]), /^Error: \[redis-tls:hosts\[1\]\.replicaOf\] "h9" is not the name of an entry of redis-tls:hosts; name one of \["h0","h1"\]$/);
        assert.throws(load([{}, { replicaOf: "h0" }, { replicaOf: "h1" }]), /^Error: \[redis-tls:hosts\[2\]\.replicaOf\] "h1" is itself a replica \(of "h0"\); replicate from the primary: set replicaOf "h0"$/);
        assert.throws(load([{}, { address: "10.0.0.1", replicaOf: "h0" }]), /^Error: \[redis-tls:hosts\[1\]\.replicaOf\] "h0" is the same host \(10\.0\.0\.1\); a replica needs a host of its own$/);
        assert.throws(load([{}, { address: "10.0.0.1" }]), /^Error: \[redis-tls:hosts\] "h0" and "h1" are the same host \(10\.0\.0\.1, SSH port 22\); list each host once$/);
        assert.throws(load([{ decommissioned: true }, { replicaOf: "h0" }]), /^Error: \[redis-tls:hosts\[1\]\.replicaOf\] "h0" is decommissioned; name a primary in service, or decommission this host too$/);
        // The host that replaced a decommissioned one may have its address.
        assert.doesNotThrow(load([{ decommissioned: true, dnsNames: ["a.internal"] }, { address: "10.0.0.1", dnsNames: ["a.internal"] }]));
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": JSON.stringify([{ name: "a", address: "a.internal", hostKey: HOST_KEY, dnsNames: ["a.internal"] }, { name: "b", address: "b.internal", hostKey: HOST_KEY, dnsNames: ["b.internal"], replicaOf: "a" }]),
                "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:acme": JSON.stringify({ directoryUrl: "https://ca.internal/d", email: "ops@example.com", rootCertPem: "x" }) }),
            /\[replicaSet\] is set with acme/,
        );
    });

    it("refuses, naming the keys, an issuer that needs hosts without hosts, and container config beside hosts", () => {
        recordResources();
        assert.throws(
            () => loadProgram({ "redis-tls:acme": JSON.stringify({ directoryUrl: "https://x/d", email: "a@b.c", rootCertPem: "x" }) }),
            /^Error: \[redis-tls:acme\] is set but redis-tls:hosts is not; .*unset acme, or add hosts$/,
        );
        const hosts = JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["a.internal"] }]);
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": hosts, "redis-tls:sshPrivateKey": SSH_KEY, "redis-tls:container": "{}" }),
            /^Error: \[redis-tls:container\] is set but so is redis-tls:hosts/,
        );
        assert.throws(() => loadProgram({ "redis-tls:container": JSON.stringify({ publishAddress: "localhost" }) }), /\[publishAddress\] "localhost" is not an IP address/);
        assert.throws(() => loadProgram({ "redis-tls:container": JSON.stringify({ image: "Redis:7" }) }), /\[image\] "Redis:7" is not an image reference/);
    });

    it("fails naming the config key when the SSH key is not set", () => {
        recordResources();
        assert.throws(
            () => loadProgram({ "redis-tls:hosts": JSON.stringify([{ name: "a", address: "10.0.0.5", hostKey: HOST_KEY, dnsNames: ["a.internal"] }]) }),
            /^Error: \[redis-tls:sshPrivateKey\] is not set but hosts is; set it with pulumi config set --secret sshPrivateKey < ~\/\.ssh\/id_ed25519$/,
        );
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
        ["hosts is not JSON", { hosts: "redis-1" }, `[redis-tls:hosts] "redis-1" is not a list of objects; set entries with pulumi config set --path 'hosts[0].address' ...`],
        ["container is a list", { container: "[]" }, `[redis-tls:container] "[]" is not an object; give {"image": "redis:7.4", "publishPort": 6379}`],
        ["container field misspelt", { container: '{"port":6380}' },
            `[redis-tls:container] has unknown field "port"; the fields are image, imageFamily, imageName, publishAddress, publishPort, network, dnsNames, ipAddresses`],
        ["host without address", { hosts: '[{"name":"a"}]' }, `[redis-tls:hosts[0].address] is missing; set it with pulumi config set --path 'hosts[0].address' ...`],
        ["misspelt field", { hosts: '[{"name":"a","address":"h","dnsname":["x"]}]' }, `[redis-tls:hosts[0]] has unknown field "dnsname"; the fields are name, address, hostKey, user, port, dnsNames, ipAddresses, decommissioned, replicaOf`],
        ["replicaOf not a name", { hosts: '[{"name":"a","address":"h","hostKey":"k","replicaOf":["b"]}]' },
            `[redis-tls:hosts[0].replicaOf] ["b"] is not a string; give the name of the host to replicate from: pulumi config set --path 'hosts[0].replicaOf' redis1`],
        ["host key not pinned", { hosts: '[{"name":"a","address":"10.0.0.5"}]' },
            `[redis-tls:hosts[0].hostKey] is missing; pin the host's SSH key so no machine on the path can answer for it: pulumi config set --path 'hosts[0].hostKey' "$(ssh-keyscan -t ed25519 10.0.0.5 | cut -d' ' -f2-)"`],
        ["client is a string", { hosts: HOSTS, clients: '["app"]' }, `[redis-tls:clients[0]] "app" is not an object; give {"name": ..., "address": ...}`],
        ["step fingerprint not a string", { hosts: HOSTS, step: '{"caUrl":"https://ca.test","rootFingerprint":123}' },
            `[redis-tls:step.rootFingerprint] 123 is not a string; set it with pulumi config set --path 'step.rootFingerprint' ...`],
        ["stepCa with its flag as a string", { hosts: HOSTS, stepCa: '{"address":"10.0.0.9","hostKey":"k","acme":"false"}' },
            `[redis-tls:stepCa.acme] "false" is not true or false; set it with pulumi config set --path 'stepCa.acme' true`],
        ["validityHours not a number", { hosts: HOSTS, validityHours: "30d" }, `[redis-tls:validityHours] "30d" is not a whole number; set e.g. pulumi config set validityHours 720`],
        ["sentinel not true or false", { hosts: HOSTS, sentinel: "yes" }, `[redis-tls:sentinel] "yes" is not true or false; set pulumi config set sentinel true`],
    ];
    for (const [what, raw, message] of cases) {
        it(what, () => assert.throws(() => parseStackConfig(raw), (e: Error) => e.message === message));
    }
});
