import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import Redis from "ioredis";
import { createClient } from "redis";
import type { AppConnection } from "../components";
import { run } from "./support/run";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { startHosts, TestHost, TestHosts } from "./hosts";
import { IDENTITY_IMAGES } from "./support/serverImages";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const SERVER_NAME = "redis1.test";
const SLOT_MS = 480 * 3_600_000;
const RULES = "~{app}:* resetchannels +@connection +@read +@write -@dangerous +acl|whoami";
const app = (name: string, extra: Record<string, string> = {}) => ({ name, rules: RULES.replace("{app}", name), ...extra });

for (const image of IDENTITY_IMAGES) {
    // `pulumi up` of the default program with application identities, against a real server of each
    // kind: one app's key kept in state, one made on a client host; every login checked for real.
    describe(`application identities and least privilege on ${image.label}`, function () {
        this.timeout(10 * 60_000);
        let fixture: TestHosts;
        let server: TestHost;
        let client: TestHost;
        let stateDir: string;
        let first: RunResult;
        const service = `${image.flavor}-server`;
        const cli = `${image.flavor}-cli`;

        const config = (apps: object[]) => ({
            "redis-tls:hosts": JSON.stringify([{ name: "redis1", address: server.address, hostKey: server.hostKey, dnsNames: [SERVER_NAME], ipAddresses: [server.address] }]),
            "redis-tls:clients": JSON.stringify([{ name: "client1", address: client.address, hostKey: client.hostKey }]),
            "redis-tls:apps": JSON.stringify(apps),
            "redis-tls:flavor": image.flavor,
            "redis-tls:clientLogin": image.login,
            "redis-tls:sshPrivateKey": server.privateKeyPem,
        });
        const up = (apps: object[], extra: Record<string, string> = {}, clockOffsetMs?: number) =>
            runProgram({ program: PROGRAM, config: { ...config(apps), ...extra }, secretKeys: ["redis-tls:sshPrivateKey"], stateDir, remoteEnvironment: "setenv", clockOffsetMs });
        const serial = (host: TestHost, file: string) => sh(host, `openssl x509 -in ${file} -noout -serial`);
        const sh = async (host: TestHost, command: string, stdin?: string) => {
            const r = await host.exec(command, { stdin });
            assert.equal(r.code, 0, `${command}: ${r.stderr}`);
            return r.stdout.trim();
        };
        const pid = () => sh(server, `systemctl show -p MainPID --value ${service}`);
        const conn = (r: RunResult, name: string) => (r.outputs.apps as Record<string, AppConnection>)[name];
        const password = (c: AppConnection) => (image.login === "password" ? { username: c.username, password: c.password } : {});
        const ioredis = (c: AppConnection, o: { servername?: string; login?: boolean } = {}) => {
            const r = new Redis({
                host: c.host, port: c.port, ...(o.login === false ? {} : password(c)),
                tls: { ca: c.caPem, cert: c.certPem, key: c.keyPem, servername: o.servername ?? c.serverName },
                enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true,
            });
            r.on("error", () => undefined);
            return r;
        };
        const reply = (p: Promise<unknown>) => p.then(String, (e: Error) => e.message);

        before(async function () {
            fixture = await startHosts(["idsrv", "idcli"], image.spec);
            [server, client] = fixture.hosts;
            assert.match(await sh(server, `${image.flavor}-server --version`), image.version);
            stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-state-"));
            first = await up([app("orders"), app("billing", { client: "client1" })]);
            assert.ok(first.ok, `${first.error}\n${first.log.slice(-3000)}`);
        });

        after(async () => {
            await fixture?.stop();
            if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
        });

        it("an application's certificate gets PONG and its own keys, and NOPERM on another's, through ioredis and node-redis verifying the server name", async () => {
            const orders = conn(first, "orders");
            assert.equal(orders.host, server.address);
            const io = ioredis(orders);
            try {
                await io.connect();
                assert.equal(await io.ping(), "PONG");
                assert.equal(await io.set("orders:1", "paid"), "OK");
                assert.match(await reply(io.get("billing:1")), /^NOPERM/);
                assert.match(await reply(io.call("CONFIG", "GET", "port")), /^NOPERM/);
                assert.equal(await io.call("ACL", "WHOAMI"), "orders");
            } finally {
                io.disconnect();
            }
            const node = createClient({
                socket: { host: orders.host, port: orders.port, tls: true, ca: orders.caPem, cert: orders.certPem, key: orders.keyPem, servername: orders.serverName, reconnectStrategy: false },
                ...password(orders),
            });
            node.on("error", () => undefined);
            await node.connect();
            try {
                assert.equal(await node.get("orders:1"), "paid");
                assert.match(await reply(node.set("billing:1", "x")), /^NOPERM/);
            } finally {
                await node.disconnect();
            }
            // The name is checked: the same server under another name is refused before any command.
            const refused = await new Promise<string>((resolve) => {
                const s = tls.connect({ host: orders.host, port: orders.port, servername: "other.test", ca: orders.caPem, cert: orders.certPem, key: orders.keyPem });
                s.on("secureConnect", () => (s.destroy(), resolve("connected")));
                s.on("error", (e: NodeJS.ErrnoException) => resolve(String(e.code)));
            });
            assert.equal(refused, "ERR_TLS_CERT_ALTNAME_INVALID");
        });

        it("redis-tls check passes the server with the application's certificate (a session before AUTH only by certificate login)", async () => {
            const orders = conn(first, "orders");
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-check-"));
            try {
                for (const [f, v] of [["ca.crt", orders.caPem], ["app.crt", orders.certPem!], ["app.key", orders.keyPem!]]) fs.writeFileSync(path.join(dir, f), v, { mode: 0o600 });
                const r = await run("node", ["-r", "ts-node/register/transpile-only", path.join(__dirname, "..", "components", "check", "cli.ts"), "check",
                    "--host", orders.host, "--port", String(orders.port), "--server-name", orders.serverName, "--ca", path.join(dir, "ca.crt"),
                    "--cert", path.join(dir, "app.crt"), "--key", path.join(dir, "app.key")], { timeoutMs: 60_000 });
                assert.equal(r.code, 0, r.stdout + r.stderr);
                assert.equal(r.stdout.split("\n").filter((l) => l.startsWith("PASS")).length, 7, r.stdout);
                assert.match(r.stdout, image.login === "certificate" ? /PASS no session without a login: before AUTH PING got "\+PONG" as "orders" \(certificate login\)/ : /PASS no session without a login: before AUTH the server answered "-NOAUTH/);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("redis-py on the client host, with the key made there, verifies the server's name and gets only its own keys", async () => {
            const billing = conn(first, "billing");
            assert.equal(billing.keyPem, undefined, "the host-made key is not an output");
            assert.equal(billing.keyPath, "/etc/redis-tls-client/billing/live/redis.key");
            assert.equal(await sh(client, `stat -c '%U:%G %a' ${billing.keyPath}`), "root:root 640");
            const py = `
import sys, redis
pw = sys.stdin.readline().strip() or None
r = redis.Redis(host=${JSON.stringify(server.address)}, port=6379, ssl=True, ssl_check_hostname=True,
    ssl_ca_certs="/etc/redis-tls-client/billing/live/ca.crt", ssl_certfile="/etc/redis-tls-client/billing/live/redis.crt",
    ssl_keyfile=${JSON.stringify(billing.keyPath)}, username=("billing" if pw else None), password=pw)
print(r.ping(), r.set("billing:1", "due"), r.get("billing:1").decode())
try:
    r.get("orders:1")
except redis.exceptions.NoPermissionError:
    print("NOPERM")
`;
            await sh(client, "cat > /root/identity.py", py);
            const out = await sh(client, "python3 /root/identity.py", `${billing.password ?? ""}\n`);
            assert.equal(out, "True True due\nNOPERM");
        });

        it(image.login === "certificate" ? "the certificate alone logs in as its user: no AUTH, ACL WHOAMI answers the user" : "the certificate alone gets nothing: data takes the application's password", async () => {
            const orders = conn(first, "orders");
            const bare = ioredis(orders, { login: false });
            try {
                await bare.connect();
                if (image.login === "certificate") {
                    assert.equal(await sh(server, `grep -c '^tls-auth-clients-user CN$' /etc/redis-tls/redis-tls.conf`), "1");
                    assert.equal(await bare.call("ACL", "WHOAMI"), "orders");
                    assert.equal(await bare.get("orders:1"), "paid");
                    assert.match(await sh(server, "grep '^user orders ' /etc/redis-tls/users.acl"), /^user orders reset on ~orders/);
                    assert.doesNotMatch(await sh(server, "grep '^user orders ' /etc/redis-tls/users.acl"), /nopass|#/);
                    // A user without a password cannot be reached by AUTH: no certificate login without the certificate.
                    assert.match(await reply(bare.call("AUTH", "orders", "anything")), /WRONGPASS/);
                } else {
                    assert.match(await reply(bare.ping()), /^NOAUTH/);
                    assert.match(await reply(bare.call("AUTH", "orders", "not-the-password")), /WRONGPASS/);
                    assert.equal(await bare.call("AUTH", "orders", orders.password!), "OK");
                    assert.equal(await bare.get("orders:1"), "paid");
                    assert.doesNotMatch(await sh(server, "cat /etc/redis-tls/users.acl"), new RegExp(orders.password!), "only the hash is on the host");
                }
            } finally {
                bare.disconnect();
            }
        });

        it("a certificate that maps to no user (the server's own) gets no data; no certificate, or one from another CA, is refused", async () => {
            const tls = `${cli} --tls -h ${server.address} -p 6379 --cacert /etc/redis-tls/live/ca.crt`;
            assert.match(await sh(server, `${tls} --cert /etc/redis-tls/live/redis.crt --key /etc/redis-tls/live/redis.key GET orders:1 2>&1`), /NOAUTH/);
            const bare = await sh(server, `${tls} GET orders:1 2>&1 || true`);
            assert.doesNotMatch(bare, /paid|NOAUTH/, "no certificate: not even a connection");
            assert.match(bare, /SSL|reset|closed|I\/O error/i);
            await sh(server, [
                "d=$(mktemp -d) && cd $d",
                "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout o.key -out o.crt -subj /CN=other -days 1 2>/dev/null",
                "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout c.key -out c.csr -subj /CN=orders 2>/dev/null",
                "openssl x509 -req -in c.csr -CA o.crt -CAkey o.key -CAcreateserial -days 1 -out c.crt 2>/dev/null",
                `{ ${tls} --cert c.crt --key c.key GET orders:1 2>&1 || true; }`,
            ].join(" && ")).then((out) => {
                assert.doesNotMatch(out, /paid|NOAUTH/, "another CA's certificate: not even a connection");
                assert.match(out, /SSL|reset|closed|I\/O error|alert/i);
            });
        });

        it("adding a user and changing rules on a second up takes effect without a restart, open connections still answer; removing a user revokes it", async () => {
            const before = await pid();
            const orders = ioredis(conn(first, "orders"));
            await orders.connect();
            const second = await up([{ name: "orders", rules: "~orders:* resetchannels +@connection +@read" }, app("billing", { client: "client1" }), app("audit")]);
            assert.ok(second.ok, second.error);
            assert.match(second.log, /users of [a-z]+-server applied without a restart/);
            assert.equal(await pid(), before);
            assert.equal(await orders.get("orders:1"), "paid", "the open connection still answers");
            assert.match(await reply(orders.set("orders:2", "x")), /^NOPERM/, "and has the new rules");
            const audit = ioredis(conn(second, "audit"));
            await audit.connect();
            assert.equal(await audit.set("audit:1", "seen"), "OK");

            const third = await up([app("orders"), app("billing", { client: "client1" })]);
            assert.ok(third.ok, third.error);
            assert.equal(await pid(), before);
            assert.match(await reply(audit.get("audit:1")), /closed|ECONNRESET|NOAUTH/i, "the removed user's connection is closed");
            const again = ioredis(conn(second, "audit"));
            await again.connect().catch(() => undefined);
            assert.match(await reply(again.get("audit:1")), /NOAUTH|WRONGPASS|closed/i);
            again.disconnect();
            assert.equal(await orders.set("orders:2", "x"), "OK");
            orders.disconnect();
            audit.disconnect();
        });

        it("no rules give an application user or config changes; a rule the server refuses is reported, and the server keeps its users, PID and file", async () => {
            const apps = [app("orders"), app("billing", { client: "client1" })];
            const granted = await up([...apps, { name: "ops", rules: "~* +@all" }]);
            assert.ok(granted.ok, granted.error);
            const ops = ioredis(conn(granted, "ops"));
            try {
                await ops.connect();
                assert.equal(await ops.get("orders:1"), "paid");
                assert.match(await reply(ops.call("ACL", "SETUSER", "default", "on", "nopass")), /^NOPERM/);
                assert.match(await reply(ops.call("CONFIG", "SET", "tls-auth-clients", "no")), /^NOPERM/);
            } finally {
                ops.disconnect();
            }
            const before = await sh(server, `sha256sum /etc/redis-tls/users.acl; systemctl show -p MainPID --value ${service}`);
            const refused = await up([...apps, { name: "ops", rules: "~* +@all" }, { name: "typo", rules: "~typo:* +nosuchcommand" }]);
            assert.equal(refused.ok, false);
            assert.match(refused.log + refused.error, /the server refused users\.acl: .*nosuchcommand/i);
            assert.match(refused.log + refused.error, /users\.acl was not applied: fix the rules the server refused/);
            assert.equal(await sh(server, `sha256sum /etc/redis-tls/users.acl; systemctl show -p MainPID --value ${service}`), before);
            const admin = `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) ${cli} -s /run/${image.flavor}/${image.flavor}-server.sock --user redis-tls-admin`;
            assert.doesNotMatch(await sh(server, `${admin} ACL USERS`), /^typo$/m);
            assert.equal(await sh(server, `systemctl is-active ${service}`), "active");
        });

        it("no client key made on a host appears in state or logs; a state-kept key is a secret in state and stack outputs", async () => {
            const hostKey = await sh(client, "cat /etc/redis-tls-client/billing/live/redis.key");
            assert.deepEqual(whereAppears(first, hostKey.split("\n")[1]), []);
            assert.doesNotMatch(fs.readFileSync(path.join(stateDir, "state.json"), "utf8"), new RegExp(hostKey.split("\n")[1].replace(/[+/]/g, "\\$&")));
            const ordersKey = conn(first, "orders").keyPem!;
            assert.ok(first.secretOutputs.includes("apps"), "apps is a secret stack output");
            const holders = first.resources.filter((r) => !r.type.startsWith("redis-tls:") && JSON.stringify(r.outputs).includes(ordersKey.split("\n")[1]));
            assert.deepEqual(holders.map((r) => r.type), ["tls:index/privateKey:PrivateKey", "tls:index/certRequest:CertRequest"]);
            for (const r of holders) {
                const at = Object.entries(r.outputs).filter(([, v]) => JSON.stringify(v).includes(ordersKey.split("\n")[1])).map(([k]) => k);
                assert.deepEqual(at.filter((k) => !r.secretOutputs.includes(k)), [], `${r.name} holds the key in a plain output`);
            }
            assert.deepEqual(whereAppears(first, ordersKey.split("\n")[1]).filter((w) => w.startsWith("log")), []);
        });

        it('authClients "optional": a client without a certificate logs in with its password, or gets nothing', async () => {
            const run = await up([app("orders"), app("billing", { client: "client1" })], { "redis-tls:authClients": "optional" });
            assert.ok(run.ok, run.error);
            const orders = conn(run, "orders");
            const certless = new Redis({
                host: orders.host, port: orders.port, tls: { ca: orders.caPem, servername: orders.serverName },
                enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true,
            });
            certless.on("error", () => undefined);
            try {
                await certless.connect();
                assert.match(await reply(certless.get("orders:1")), /^NOAUTH/);
                if (image.login === "password") {
                    assert.equal(await certless.call("AUTH", "orders", orders.password!), "OK");
                    assert.equal(await certless.get("orders:1"), "paid");
                } else {
                    // Certificate users have no password: without the certificate there is no way in.
                    assert.match(await reply(certless.call("AUTH", "orders", "")), /WRONGPASS/);
                }
            } finally {
                certless.disconnect();
            }
        });

        it("a server that does not know the ACL identity yet (installed by an older release) gets new users by a restart", async () => {
            const admin = `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) ${cli} -s /run/${image.flavor}/${image.flavor}-server.sock --user redis-tls-admin`;
            assert.equal(await sh(server, `${admin} ACL DELUSER redis-tls-acl`), "1");
            const before = await pid();
            const r = await up([app("orders"), app("billing", { client: "client1" }), app("late")], { "redis-tls:authClients": "optional" });
            assert.ok(r.ok, r.error);
            assert.match(r.log, /cannot list the server's users: .*WRONGPASS/);
            assert.match(r.log, /restarting [a-z]+-server to apply users\.acl/);
            assert.notEqual(await pid(), before);
            assert.match(await sh(server, `${admin} ACL USERS`), /^late$/m);
            assert.match(await sh(server, `${admin} ACL USERS`), /^redis-tls-acl$/m);
        });

        it("the next renewal slot re-issues the server's certificate, hot-loaded through the server's own CLI, and the host-made client key", async () => {
            const apps = [app("orders"), app("billing", { client: "client1" })];
            const optional = { "redis-tls:authClients": "optional" };
            const before = { pid: await pid(), server: await serial(server, "/etc/redis-tls/live/redis.crt"), client: await serial(client, "/etc/redis-tls-client/billing/live/redis.crt") };
            const clientKey = await sh(client, "openssl pkey -in /etc/redis-tls-client/billing/live/redis.key -pubout");
            const open = ioredis(conn(first, "orders"));
            await open.connect();
            const next = await up(apps, optional, SLOT_MS);
            assert.ok(next.ok, next.error);
            assert.match(next.log, new RegExp(`reloaded serial=[0-9A-F]+ through /run/${image.flavor}/${image.flavor}-server.sock`));
            assert.equal(await pid(), before.pid);
            assert.notEqual(await serial(server, "/etc/redis-tls/live/redis.crt"), before.server);
            assert.notEqual(await serial(client, "/etc/redis-tls-client/billing/live/redis.crt"), before.client);
            assert.notEqual(await sh(client, "openssl pkey -in /etc/redis-tls-client/billing/live/redis.key -pubout"), clientKey, "a new key, made on the host");
            assert.equal(await open.get("orders:1"), "paid", "a connection opened before still answers");
            open.disconnect();
        });

        if (image.login === "password") {
            it('clientLogin "certificate" on a server that cannot map certificates fails on the host, naming the field, and changes nothing', async () => {
                const files = () => sh(server, `sha256sum /etc/redis-tls/redis-tls.conf /etc/redis-tls/users.acl; systemctl show -p MainPID --value ${service}`);
                const before = await files();
                const r = await up([app("orders"), app("billing", { client: "client1" })], { "redis-tls:clientLogin": "certificate" }, SLOT_MS);
                assert.equal(r.ok, false);
                assert.match(r.log + r.error, /\[clientLogin\] 'certificate': this host's server \(Redis server v=[78]\.0\.[0-9]+ .*\) cannot log a client in by its certificate/);
                assert.equal(await files(), before);
            });
        }
    });
}
