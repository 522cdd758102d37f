import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { AppConnection, asRoot, fingerprint, renderTrustInstallScript, renderTrustRemoveScript } from "../components";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { startHosts, TestHost, TestHosts } from "./hosts";
import { clientCertFromRun } from "./support/clientCert";
import { pems } from "./support/pems";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const SERVER_NAME = "redis1.test";
const SLOT_MS = 480 * 3_600_000;


// `pulumi up` of the default program (stack/index.ts) against real Debian hosts booted with systemd:
// every resource performs its real effect (SSH, openssl, systemd, Redis); only the engine is mocked.
describe("the default program end to end on real hosts", function () {
    this.timeout(10 * 60_000);
    let fixture: TestHosts;
    let server: TestHost;
    let client: TestHost;
    let gone: TestHost;
    let stateDir: string;
    let first: RunResult;
    let clientCert: { cert: string; key: string };

    interface Names { server?: string; client?: string; gone?: string | null; goneDecommissioned?: boolean; serverKey?: string }
    const config = (n: Names = {}, dnsNames = [SERVER_NAME]) => ({
        "redis-tls:hosts": JSON.stringify([{ name: n.server ?? "redis1", address: server.address, hostKey: n.serverKey ?? server.hostKey, dnsNames, ipAddresses: [server.address] }]),
        "redis-tls:clients": JSON.stringify([
            { name: n.client ?? "client1", address: client.address, hostKey: client.hostKey },
            ...(n.gone === null ? [] : [{ name: n.gone ?? "client2", address: gone.address, hostKey: gone.hostKey, ...(n.goneDecommissioned ? { decommissioned: true } : {}) }]),
        ]),
        "redis-tls:sshPrivateKey": server.privateKeyPem,
    });
    const up = (cfg = config(), clockOffsetMs?: number) =>
        runProgram({ program: PROGRAM, config: cfg, secretKeys: ["redis-tls:sshPrivateKey"], stateDir, remoteEnvironment: "setenv", clockOffsetMs });
    const sh = async (host: TestHost, command: string, stdin?: string) => {
        const r = await host.exec(command, { stdin });
        assert.equal(r.code, 0, `${command}: ${r.stderr}`);
        return r.stdout.trim();
    };
    const output = <T>(r: RunResult, name: string) => r.resources.find((x) => x.name === name)!.outputs as T;
    const serial = () => sh(server, "openssl x509 -in /etc/redis-tls/live/redis.crt -noout -serial");
    const pid = () => sh(server, "systemctl show -p MainPID --value redis-server");
    const adminPass = () => sh(server, "cat /etc/redis-tls/admin.pass");
    /** redis-cli on the client host over verified TLS with the client certificate, as the admin when `admin`. */
    const cli = async (admin: boolean, ...args: string[]) => {
        const login = admin ? `IFS= read -r REDISCLI_AUTH; export REDISCLI_AUTH; ` : "";
        const r = await client.exec(
            `${login}redis-cli --tls -h ${server.address} -p 6379 --sni ${SERVER_NAME} --cacert /etc/ssl/certs/ca-certificates.crt --cert /etc/app/client.crt --key /etc/app/client.key ${admin ? "--user redis-tls-admin" : ""} ${args.join(" ")}`,
            { stdin: admin ? `${await adminPass()}\n` : undefined },
        );
        return r.stdout.trim() + r.stderr.trim();
    };

    before(async function () {
        fixture = await startHosts(["redis1", "client1", "client2"]);
        [server, client, gone] = fixture.hosts;
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-state-"));
        first = await up();
        assert.ok(first.ok, first.error);
        clientCert = await clientCertFromRun(first, client, "client1");
    });

    after(async () => {
        await fixture?.stop();
        if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it("runs redis-server with the rendered drop-in, listening only on the TLS port, redis.conf checked before every start", async () => {
        assert.equal(await sh(server, "systemctl is-active redis-server.service"), "active");
        assert.equal(await sh(server, "tail -n 1 /etc/redis/redis.conf"), "include /etc/redis-tls/redis-tls.conf");
        assert.match(await sh(server, "cat /etc/redis-tls/redis-tls.conf"), /^port 0\ntls-port 6379$/m);
        assert.match(await sh(server, "systemctl show -p ExecStartPre --value redis-server"), /redis-conf-redis-server/);
        const listening = await sh(server, "ss -Hltnp | grep redis-server | awk '{print $4}' | sort -u");
        assert.deepEqual(listening.split("\n").map((a) => a.replace(/^.*:/, "")).filter((p, i, all) => all.indexOf(p) === i), ["6379"]);
    });

    it("refuses plaintext on the TLS port", async () => {
        const r = await client.exec(`redis-cli -h ${server.address} -p 6379 PING`);
        assert.doesNotMatch(r.stdout, /PONG/);
    });

    it("keeps the server key on the host only: root:redis 0640 in a root-owned directory, in no resource input, output or log", async () => {
        assert.equal(await sh(server, "stat -L -c '%U %G %a' /etc/redis-tls/live/redis.key"), "root redis 640");
        assert.equal(await sh(server, "stat -c '%U %G %a' /etc/redis-tls"), "root redis 750");
        // Debian's /etc/redis belongs to the redis user, which is why nothing of root's lives there.
        assert.match(await sh(server, "stat -c '%U %G %a' /etc/redis"), /^redis redis 2770$/);
        const key = await sh(server, "cat /etc/redis-tls/live/redis.key");
        assert.match(key, /PRIVATE KEY/);
        assert.deepEqual(whereAppears(first, key), []);
        const keyBody = key.split("\n")[1];
        assert.deepEqual(whereAppears(first, keyBody), []);
        assert.equal(fs.readFileSync(path.join(stateDir, "state.json"), "utf8").includes(keyBody), false);
    });

    it("the client host trusts the root through its system store; with a CA certificate alone Redis answers NOAUTH, as the admin PONG", async () => {
        assert.match(await sh(client, "ls /etc/ssl/certs/"), /^redis-tls-[0-9a-f]{16}\.pem$/m);
        // -cert_chain: s_client sends only the leaf of -cert, and the server trusts only the root.
        const verified = await client.exec(
            `openssl s_client -connect ${server.address}:6379 -servername ${SERVER_NAME} -verify_hostname ${SERVER_NAME} -verify_return_error -cert /etc/app/client.crt -cert_chain /etc/app/client.crt -key /etc/app/client.key -quiet`,
            { stdin: "PING\r\nCONFIG SET tls-auth-clients no\r\nQUIT\r\n" },
        );
        assert.equal(verified.code, 0, verified.stderr);
        assert.match(verified.stderr, /verify return:1/);
        assert.match(verified.stdout, /^-NOAUTH Authentication required\.\r?\n-NOAUTH/);
        assert.equal(await cli(true, "PING"), "PONG");
    });

    it("a Node client (ioredis) verifying servername and logging in as an ACL user gets PONG", async () => {
        const redis = new Redis({
            host: server.address, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, username: "redis-tls-admin", password: await adminPass(),
            tls: { ca: String(first.outputs.rootCertPem), servername: SERVER_NAME, ...clientCert },
        });
        try {
            await redis.connect();
            assert.equal(await redis.ping(), "PONG");
        } finally {
            redis.disconnect();
        }
    });

    it("a first up gives a working least-privilege client: the default application's outputs get PONG and its own keys, NOPERM on others", async () => {
        const app = (first.outputs.apps as Record<string, AppConnection>).app;
        assert.ok(first.secretOutputs.includes("apps"));
        const redis = new Redis({
            host: app.host, port: app.port, username: app.username, password: app.password, lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false,
            tls: { ca: app.caPem, cert: app.certPem, key: app.keyPem, servername: app.serverName },
        });
        try {
            await redis.connect();
            assert.equal(await redis.ping(), "PONG");
            assert.equal(await redis.set("app:greeting", "hello"), "OK");
            await assert.rejects(redis.get("other:greeting"), /NOPERM/);
            await assert.rejects(redis.call("FLUSHALL"), /NOPERM/);
        } finally {
            redis.disconnect();
        }
    });

    it("fails hostname verification for a name the certificate does not carry", async () => {
        const r = await client.exec(
            `openssl s_client -connect ${server.address}:6379 -verify_hostname other.test -verify_return_error -cert /etc/app/client.crt -key /etc/app/client.key -brief </dev/null`,
        );
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /hostname mismatch/i);
    });

    it("refuses a client without a certificate (tls-auth-clients yes)", async () => {
        const r = await client.exec(`redis-cli --tls -h ${server.address} -p 6379 --sni ${SERVER_NAME} PING`);
        assert.doesNotMatch(r.stdout, /PONG/);
    });

    it("redis-tls check passes the deployed host with the application's certificate, and fails it for a name it does not carry", async () => {
        const app = (first.outputs.apps as Record<string, AppConnection>).app;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-check-"));
        try {
            for (const [f, v] of [["ca.crt", first.outputs.rootCertPem as string], ["app.crt", app.certPem!], ["app.key", app.keyPem!]]) fs.writeFileSync(path.join(dir, f), v, { mode: 0o600 });
            const check = (name: string) =>
                execFileSync("node", ["-r", "ts-node/register/transpile-only", path.join(__dirname, "..", "components", "check", "cli.ts"), "check",
                    "--host", server.address, "--port", "6379", "--server-name", name, "--ca", path.join(dir, "ca.crt"), "--cert", path.join(dir, "app.crt"), "--key", path.join(dir, "app.key")],
                { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            const ok = check(SERVER_NAME);
            assert.deepEqual(ok.split("\n").filter((l) => l.startsWith("FAIL")), [], ok);
            assert.equal(ok.split("\n").filter((l) => l.startsWith("PASS")).length, 7, ok);
            assert.throws(() => check("other.test"), (e: { status: number; stdout: string }) => e.status === 1 && /FAIL verified TLS/.test(e.stdout));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a second run changes nothing on the hosts: no resource performed, same serial, same redis PID", async () => {
        const before = [await serial(), await pid()];
        const again = await up();
        assert.ok(again.ok, again.error);
        assert.deepEqual(again.resources.filter((r) => r.performed).map((r) => r.name), []);
        assert.deepEqual([await serial(), await pid()], before);
    });

    it("the drop-in's install step run again reports unchanged and does not restart Redis", async () => {
        const step = first.resources.find((r) => r.name === "redis-redis1-config-install")!.inputs;
        const before = await pid();
        assert.equal(await sh(server, String(step.create), String(step.stdin)), "unchanged");
        assert.equal(await pid(), before);
    });

    it("a bad config fails before any host is touched", async () => {
        const snapshot = () => sh(server, "find /etc/redis /etc/redis-tls -type f -exec sha256sum {} + | sort; systemctl show -p MainPID --value redis-server");
        const before = await snapshot();
        const bad = await up(config({}, ["redis_1.test"]));
        assert.equal(bad.ok, false);
        assert.match(bad.error ?? "", /\[dnsNames\] "redis_1\.test" is not a valid DNS name/);
        assert.deepEqual(bad.resources.filter((r) => r.type.startsWith("command:")), []);
        assert.equal(await snapshot(), before);
    });

    it("a machine answering with another SSH host key gets nothing: the run fails at the dial and the host is unchanged", async () => {
        const snapshot = () => sh(server, "find /etc/redis-tls -type f -exec sha256sum {} + | sort");
        const before = await snapshot();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-key-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
        const impostor = fs.readFileSync(path.join(dir, "k.pub"), "utf8").split(" ").slice(0, 2).join(" ");
        fs.rmSync(dir, { recursive: true, force: true });
        const r = await up(config({ serverKey: impostor }));
        assert.equal(r.ok, false);
        assert.match(r.error ?? "", /ssh: handshake failed: ssh: host key mismatch/);
        assert.equal(await snapshot(), before);
    });

    it("a host whose shell prints a banner still gets a new certificate, hot-loaded, in the next renewal slot", async () => {
        await sh(server, "sed -i '1i echo Welcome to redis1' /root/.bashrc");
        try {
            assert.match((await server.exec("true")).stdout, /Welcome to redis1/);
            const before = [await serial(), await pid()];
            const renewed = await up(config(), SLOT_MS);
            assert.ok(renewed.ok, renewed.error);
            assert.match(String(output<{ stdout: string }>(renewed, "redis-redis1-cert-csr").stdout), /^Welcome to redis1\n-----BEGIN CERTIFICATE REQUEST-----/);
            assert.notEqual(await serial(), before[0]);
            assert.equal(await pid(), before[1]);
        } finally {
            await sh(server, "sed -i '/^echo Welcome to redis1$/d' /root/.bashrc");
        }
        assert.equal(await cli(true, "PING"), "PONG");
    });

    it("after a reboot Redis is back serving TLS with the same certificate", async () => {
        const before = await serial();
        await server.reboot();
        assert.equal(await sh(server, "systemctl is-active redis-server"), "active");
        assert.equal(await serial(), before);
        assert.match(await sh(server, "journalctl -b -u redis-server -o cat"), /redis\.conf unchanged/);
        assert.equal(await cli(true, "PING"), "PONG");
    });

    it("renaming the Redis host and a client: new resources are created before the old ones' deletes, and the root stays trusted", async () => {
        const renamed = await up(config({ server: "redis1b", client: "client1b" }));
        assert.ok(renamed.ok, renamed.error);
        assert.deepEqual(renamed.resources.filter((r) => r.step === "delete" && r.performed).map((r) => r.name), ["redis-ca-clients-client1"]);
        assert.match(renamed.log, /\[redis-ca-clients-client1\] command:remote:Command ran delete on /);
        assert.match(await sh(client, "ls /etc/ssl/certs/"), /^redis-tls-[0-9a-f]{16}\.pem$/m);
        assert.equal(await cli(true, "PING"), "PONG");
    });

    it("a client host that is gone: its delete fails on the dial until it is marked decommissioned, then it leaves without one", async () => {
        await sh(gone, "systemctl stop ssh.socket ssh.service 2>/dev/null || systemctl stop ssh");
        const names = { server: "redis1b", client: "client1b" };
        const stuck = await up(config({ ...names, gone: null }));
        assert.equal(stuck.ok, false);
        assert.match(stuck.error ?? "", /redis-ca-clients-client2 \(delete\): after 10 failed attempts: dial tcp .*:22: connect: connection refused/);
        const marked = await up(config({ ...names, goneDecommissioned: true }));
        assert.ok(marked.ok, marked.error);
        assert.deepEqual(marked.resources.filter((r) => r.performed).map((r) => r.name), []);
        const removed = await up(config({ ...names, gone: null }));
        assert.ok(removed.ok, removed.error);
        assert.deepEqual(removed.resources.filter((r) => r.step === "delete").map((r) => [r.name, r.performed]), [["redis-ca-clients-client2", false]]);
    });

    it("no password or key made on a host appears in any resource input, output, the log or state", async () => {
        const state = fs.readFileSync(path.join(stateDir, "state.json"), "utf8");
        for (const file of ["admin.pass", "reload.pass", "live/redis.key"]) {
            const secret = (await sh(server, `cat /etc/redis-tls/${file}`)).split("\n").find((l) => l.length > 40 && !l.startsWith("-----"))!;
            assert.deepEqual(whereAppears(first, secret), [], file);
            assert.equal(state.includes(secret), false, file);
        }
    });

    it("trust anchors: another stack's CA is kept beside ours; its name taken by yet another CA, or a file someone else wrote, is refused; a removal leaves a file changed since", async () => {
        const other = pems().root;
        const ours = String(first.outputs.rootCertPem);
        const anchor = (pem: string) => `redis-tls-${fingerprint(new X509Certificate(pem)).slice(0, 16)}`;
        const script = (o: { anchorName: string; owner: string; appPath?: string }, remove = false) =>
            asRoot((remove ? renderTrustRemoveScript : renderTrustInstallScript)({ osFamily: "auto", ...o }), "root");
        await sh(client, script({ anchorName: anchor(other), owner: "2222222222222222" }), other);
        const listed = await sh(client, "ls /etc/ssl/certs/");
        assert.ok(listed.includes(`${anchor(ours)}.pem`) && listed.includes(`${anchor(other)}.pem`), listed);
        const taken = await client.exec(script({ anchorName: anchor(ours), owner: "3333333333333333" }), { stdin: other });
        assert.notEqual(taken.code, 0);
        assert.match(taken.stderr, /holds what redis-tls did not put there for this resource; refusing to replace it/);
        await sh(client, "mkdir -p /etc/someapp && echo 'not ours' > /etc/someapp/ca.pem");
        const foreign = await client.exec(script({ anchorName: anchor(other), owner: "2222222222222222", appPath: "/etc/someapp/ca.pem" }), { stdin: other });
        assert.notEqual(foreign.code, 0);
        assert.equal(await sh(client, "cat /etc/someapp/ca.pem"), "not ours");
        // A copy redis-tls placed that someone has since changed is theirs now: the removal keeps it.
        const placed = { anchorName: anchor(other), owner: "2222222222222222", appPath: "/etc/otherapp/ca.pem" };
        await sh(client, script(placed), other);
        await sh(client, "echo 'edited since' > /etc/otherapp/ca.pem");
        await sh(client, script(placed, true), other);
        assert.equal(await sh(client, "cat /etc/otherapp/ca.pem"), "edited since");
        const after = await sh(client, "ls /etc/ssl/certs/");
        assert.ok(after.includes(`${anchor(ours)}.pem`) && !after.includes(`${anchor(other)}.pem`), after);
        assert.equal(await cli(true, "PING"), "PONG");
    });

    it("pulumi destroy's delete step takes the root out of the client's trust store", async () => {
        const step = (await up(config({ server: "redis1b", client: "client1b", gone: null }))).resources.find((r) => r.name === "redis-ca-clients-client1b")!;
        await sh(client, String(step.inputs.delete));
        assert.equal(await sh(client, "ls -la /usr/local/share/ca-certificates /etc/ssl/certs | grep redis-tls- || true"), "");
        assert.equal(await sh(client, "grep -c \"$(sed -n 2p /dev/stdin)\" /etc/ssl/certs/ca-certificates.crt || true", String(first.outputs.rootCertPem)), "0");
        const r = await client.exec(`openssl s_client -connect ${server.address}:6379 -verify_hostname ${SERVER_NAME} -verify_return_error </dev/null`);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /unable to get local issuer certificate/);
    });
});
