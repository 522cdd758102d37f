import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { DockerEngine, startDockerEngine } from "./docker/engine";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { freePort } from "./support/redisProcess";
import { run } from "./support/run";
import { command, commands, connectTls } from "./support/tlsClient";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const CA_TRUST_PROGRAM = path.join(__dirname, "harness", "fixtures", "caTrust.ts");
const HOUR = 3_600_000;

// The default program with no hosts, through the harness, on the run's own Docker engine: one
// TLS-only Redis container, answering verified TLS on loopback only, its key made in its volume.
describe("container: the default program with no hosts, on a real Docker engine", function () {
    this.timeout(900_000);
    let engine: DockerEngine;
    let image: string;
    let stateDir: string;
    let port: number;
    const up = (opts: { clockOffsetMs?: number } = {}) =>
        runProgram({
            program: PROGRAM,
            stateDir,
            clockOffsetMs: opts.clockOffsetMs,
            config: { "docker:host": engine.host, "redis-tls:container": JSON.stringify({ image, publishPort: port }) },
        });
    const ok = (r: RunResult) => assert.ok(r.ok, `${r.error}\n${r.log.slice(-3000)}`);
    const inspect = async (id: string) => JSON.parse((await engine.docker(["inspect", id])).stdout)[0];
    const exec = (id: string, user: string, args: string[]) => engine.docker(["exec", "-u", user, id, ...args]);
    const performed = (r: RunResult) => r.resources.filter((x) => x.performed).map((x) => `${x.name} ${x.step}`).sort();
    const app = () => first.outputs.apps as Record<string, any>;
    const servedSerial = async (): Promise<string> => {
        const socket = await connectTls({ port, ca: first.outputs.rootCertPem as string, servername: "localhost", cert: app().app.certPem, key: app().app.keyPem });
        const serial = socket.getPeerX509Certificate()!.serialNumber;
        socket.destroy();
        return serial;
    };

    let first: RunResult;
    let containerId: string;
    before(async () => {
        engine = await startDockerEngine();
        image = await engine.importImage();
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-container-state-"));
        port = await freePort();
        first = await up();
        ok(first);
        containerId = (first.resources.find((x) => x.type === "docker:index/container:Container")!.outputs as any).name;
    });
    after(async () => {
        await engine?.stop();
        if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it("exports the root, the loopback endpoint and the name to verify; an application logs in over verified TLS and gets PONG", async () => {
        assert.deepEqual(first.outputs.servers, { container: { endpoint: `127.0.0.1:${port}`, serverName: "localhost", renewsAfter: (first.outputs.servers as any).container.renewsAfter } });
        const a = app().app;
        assert.equal(a.serverName, "localhost");
        const replies = await commands(
            { port, ca: first.outputs.rootCertPem as string, servername: "localhost", cert: a.certPem, key: a.keyPem, auth: { user: a.username, pass: a.password } },
            ["PING"],
        );
        assert.deepEqual(replies, ["+PONG"]);
        await assert.rejects(connectTls({ port, ca: first.outputs.rootCertPem as string, servername: "other.example", cert: a.certPem, key: a.keyPem }), /ERR_TLS_CERT_ALTNAME_INVALID|does not match/);
    });

    it("answers the recipe's redis-cli --tls --cacert ca.crt ping (with the app's certificate and user)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-cli-"));
        try {
            const a = app().app;
            fs.writeFileSync(path.join(dir, "ca.crt"), first.outputs.rootCertPem as string);
            fs.writeFileSync(path.join(dir, "app.crt"), a.certPem);
            fs.writeFileSync(path.join(dir, "app.key"), a.keyPem, { mode: 0o600 });
            const at = (f: string) => path.join(dir, f);
            const r = await run("redis-cli", ["--tls", "--cacert", at("ca.crt"), "--cert", at("app.crt"), "--key", at("app.key"), "-p", String(port), "--user", a.username, "ping"], {
                env: { ...process.env, REDISCLI_AUTH: a.password },
            });
            assert.equal(r.stdout.trim(), "PONG", r.stderr);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("publishes only the TLS port, on loopback, and refuses plaintext on it", async () => {
        const c = await inspect(containerId);
        assert.deepEqual(c.HostConfig.PortBindings, { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
        const reply = await new Promise<string>((resolve) => {
            const s = net.connect({ host: "127.0.0.1", port }, () => s.write("PING\r\n"));
            let got = "";
            s.on("data", (d) => (got += d));
            s.on("close", () => resolve(got));
            s.on("error", () => resolve(got));
            setTimeout(() => s.destroy(), 3000);
        });
        assert.doesNotMatch(reply, /PONG|NOAUTH/);
        const conf = (await exec(containerId, "0", ["cat", "/etc/redis-tls/redis-tls.conf"])).stdout;
        assert.match(conf, /^port 0$/m);
        assert.match(conf, /^tls-port 6379$/m);
    });

    it("keeps the key where only the server's user can read it, and nowhere in state or the log", async () => {
        const key = await exec(containerId, "0", ["cat", "/etc/redis-tls/live/redis.key"]);
        assert.equal(key.code, 0);
        assert.match(key.stdout, /PRIVATE KEY/);
        assert.equal((await exec(containerId, "0", ["stat", "-L", "-c", "%a %U:%G", "/etc/redis-tls/live/redis.key"])).stdout.trim(), "640 root:redis");
        assert.equal((await exec(containerId, "redis", ["test", "-r", "/etc/redis-tls/live/redis.key"])).code, 0, "the server reads it");
        const other = await exec(containerId, "nobody", ["cat", "/etc/redis-tls/live/redis.key"]);
        assert.notEqual(other.code, 0);
        assert.match(other.stderr, /Permission denied/);
        const body = key.stdout.split("\n").filter((l) => l && !l.startsWith("-----"))[1];
        assert.deepEqual(whereAppears(first, body), []);
        assert.equal((await inspect(containerId)).Config.User, "redis");
    });

    it("is healthy, and its health check passes only when verified TLS works (the server name and the CA both checked)", async () => {
        const c = await inspect(containerId);
        assert.equal(c.State.Health.Status, "healthy");
        const [kind, shell, flag, script] = c.Config.Healthcheck.Test as string[];
        assert.deepEqual([kind, shell, flag], ["CMD", "/bin/bash", "-c"]);
        assert.equal((await exec(containerId, "redis", ["/bin/bash", "-c", script])).code, 0);
        const wrongName = script.replaceAll("'localhost'", "'other.example'");
        assert.notEqual(wrongName, script);
        assert.equal((await exec(containerId, "redis", ["/bin/bash", "-c", wrongName])).code, 1, "another name fails the check");
        const wrongCa = script.replace("-CAfile /etc/redis-tls/live/ca.crt", "-CAfile /etc/ssl/certs/ca-certificates.crt");
        assert.notEqual(wrongCa, script);
        assert.equal((await exec(containerId, "redis", ["/bin/bash", "-c", wrongCa])).code, 1, "a store without the root fails the check");
    });

    it("turns unhealthy while verified TLS with its certificate fails, and healthy again when it works", async () => {
        const health = async () => (await inspect(containerId)).State.Health.Status as string;
        const until = async (status: string) => {
            for (let i = 0; i < 60 && (await health()) !== status; i++) await new Promise((r) => setTimeout(r, 1000));
            return health();
        };
        // The admin, over the root-only socket: the server now trusts another CA for client certificates.
        const setCa = (file: string) =>
            exec(containerId, "0:redis", ["bash", "-c", `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) redis-cli -s /data/redis-server.sock --user redis-tls-admin CONFIG SET tls-ca-cert-file ${file}`]);
        assert.equal((await setCa("/etc/ssl/certs/ca-certificates.crt")).stdout.trim(), "OK");
        try {
            assert.equal(await until("unhealthy"), "unhealthy");
        } finally {
            assert.equal((await setCa("/etc/redis-tls/live/ca.crt")).stdout.trim(), "OK");
        }
        assert.equal(await until("healthy"), "healthy");
    });

    it("a second pulumi up changes nothing", async () => {
        const again = await up();
        ok(again);
        assert.deepEqual(performed(again), []);
    });

    it("a renewal slot later, the running container serves a new certificate without being recreated, and an open connection keeps answering", async () => {
        const a = app().app;
        const before = await inspect(containerId);
        const serialBefore = await servedSerial();
        const open = await connectTls({ port, ca: first.outputs.rootCertPem as string, servername: "localhost", cert: a.certPem, key: a.keyPem });
        assert.equal(await command(open, `AUTH ${a.username} ${a.password}`), "+OK");
        const renewAt = Date.parse((first.outputs.servers as any).container.renewsAfter) - Date.now() + HOUR;
        const r = await up({ clockOffsetMs: renewAt });
        ok(r);
        assert.deepEqual(
            performed(r).filter((s) => !s.startsWith("redis-app-")),
            ["redis-container-csr replace", "redis-container-install update", "redis-container-reload replace", "redis-container-signed replace"],
        );
        const after = await inspect(containerId);
        assert.equal(after.Id, before.Id);
        assert.equal(after.State.StartedAt, before.State.StartedAt, "the same process, not restarted");
        const serialAfter = await servedSerial();
        assert.notEqual(serialAfter, serialBefore);
        assert.equal(new X509Certificate(r.outputs.rootCertPem as string).serialNumber, new X509Certificate(first.outputs.rootCertPem as string).serialNumber);
        assert.equal(await command(open, "PING"), "+PONG");
        open.destroy();
    });

    it("CaTrustImage: a Debian-family image derived with the root in its system store verifies the server's chain, as the base's own user; the base image does not", async () => {
        const stateCa = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-ca-image-state-"));
        try {
            // An application image that runs as its own user.
            const base = "redis-tls-test/app-base:1";
            const built = await engine.docker(["build", "-t", base, "-"], { stdin: `FROM ${image}\nUSER nobody\n` });
            assert.equal(built.code, 0, built.stderr);
            const r = await runProgram({
                program: CA_TRUST_PROGRAM,
                stateDir: stateCa,
                config: { "docker:host": engine.host, "redis-tls:base": base, "redis-tls:rootCertPem": first.outputs.rootCertPem as string },
            });
            ok(r);
            assert.equal((await inspect(r.outputs.imageId as string)).Config.User, "nobody", "the base's user, not root");
            const chain = (await exec(containerId, "0", ["cat", "/etc/redis-tls/live/redis.crt"])).stdout;
            const verify = (img: string) =>
                engine.docker(["run", "--rm", "-i", "--network", "none", img, "sh", "-c", "cat > /tmp/chain.pem && openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt -untrusted /tmp/chain.pem /tmp/chain.pem"], { stdin: chain });
            const derived = await verify(r.outputs.imageId as string);
            assert.equal(derived.code, 0, derived.stderr);
            assert.match(derived.stdout, /OK/);
            assert.notEqual((await verify(base)).code, 0);
        } finally {
            fs.rmSync(stateCa, { recursive: true, force: true });
        }
    });
});
