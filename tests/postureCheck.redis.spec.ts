import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalRedis } from "./support/localRedis";
import { freePort, RedisProcess } from "./support/redisProcess";
import { run } from "./support/run";

// `redis-tls check`, the command users run, against real redis-server: it passes only a TLS-only
// server that verifies for the name, refuses old TLS, plaintext and certificate-less clients, and
// whose certificate has time left; each broken posture fails its own check.
const CLI = path.join(__dirname, "..", "components", "check", "cli.ts");
const checkCmd = (args: string[]) => run("node", ["-r", "ts-node/register/transpile-only", CLI, "check", ...args], { timeoutMs: 60_000 });
const failed = (out: string) => out.split("\n").filter((l) => l.startsWith("FAIL")).map((l) => l.replace(/:.*$/, "").slice(5));

describe("redis-tls check against real redis-server", function () {
    this.timeout(120_000);
    let local: LocalRedis;
    let files: { ca: string; cert: string; key: string };
    let closedPort: number;
    // --plain-port: a port nothing listens on, so that a Redis someone runs on 6379 here cannot fail these.
    const args = (port: number, extra: string[] = [], serverName = local.name) =>
        ["--host", "127.0.0.1", "--port", String(port), "--server-name", serverName, "--ca", files.ca, "--plain-port", String(closedPort), ...extra];
    const withCert = () => ["--cert", files.cert, "--key", files.key];

    before(async () => {
        local = await LocalRedis.start();
        closedPort = await freePort();
        files = { ca: path.join(local.dir, "check-ca.crt"), cert: path.join(local.dir, "check.crt"), key: path.join(local.dir, "check.key") };
        fs.writeFileSync(files.ca, local.ca.rootCert);
        fs.writeFileSync(files.cert, local.client.cert);
        fs.writeFileSync(files.key, local.client.key, { mode: 0o600 });
    });
    after(() => local?.stop());

    it("passes the server as the components set it up, and says what it saw", async () => {
        const r = await checkCmd(args(local.port, withCert()));
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(r.stdout.split("\n").filter(Boolean).map((l) => l.replace(/:.*$/, "")), [
            "PASS verified TLS", "PASS no session without a login", "PASS certificate lifetime", "PASS TLSv1 refused", "PASS TLSv1.1 refused", "PASS plaintext refused", "PASS client certificate required",
        ]);
        assert.match(r.stdout, /PASS verified TLS: TLSv1\.3, redis-1\.test \(serial [0-9A-F]+\) verified as redis-1\.test; PING answered "-NOAUTH/);
    });

    it("fails a name the certificate does not carry, and a certificate with fewer days left than asked", async () => {
        const wrong = await checkCmd(args(local.port, withCert(), "redis-2.test"));
        assert.equal(wrong.code, 1);
        assert.deepEqual(failed(wrong.stdout), ["verified TLS"]);
        assert.match(wrong.stdout, /FAIL verified TLS: .*Hostname\/IP does not match certificate's altnames/);
        const short = await checkCmd(args(local.port, [...withCert(), "--min-days", "45"]));
        assert.equal(short.code, 1);
        assert.deepEqual(failed(short.stdout), ["certificate lifetime"]);
    });

    it("fails a server that accepts TLS 1.1, and one that serves clients without a certificate", async () => {
        const conf = path.join(local.dir, "tls.conf");
        const good = fs.readFileSync(conf, "utf8");
        try {
            fs.writeFileSync(conf, good.replace(/^tls-protocols .*$/m, 'tls-protocols "TLSv1.1 TLSv1.2 TLSv1.3"') + "tls-ciphers DEFAULT:@SECLEVEL=0\n");
            await local.restart();
            const old = await checkCmd(args(local.port, withCert()));
            assert.equal(old.code, 1);
            assert.deepEqual(failed(old.stdout), ["TLSv1.1 refused"], old.stdout);
            fs.writeFileSync(conf, good.replace(/^tls-auth-clients .*$/m, "tls-auth-clients optional"));
            await local.restart();
            const optional = await checkCmd(args(local.port, withCert()));
            assert.equal(optional.code, 1);
            assert.deepEqual(failed(optional.stdout), ["client certificate required"], optional.stdout);
        } finally {
            fs.writeFileSync(conf, good);
            await local.restart();
        }
    });

    it("fails a plaintext server on the port", async () => {
        const port = await freePort();
        const dir = fs.mkdtempSync(path.join(local.dir, "plain-"));
        const sock = path.join(dir, "s.sock");
        fs.writeFileSync(path.join(dir, "redis.conf"), `daemonize no\ndir ${dir}\nsave ""\nappendonly no\nbind 127.0.0.1\nport ${port}\nunixsocket ${sock}\n`);
        const plain = await RedisProcess.startConf(path.join(dir, "redis.conf"), sock);
        try {
            const r = await checkCmd(args(port));
            assert.equal(r.code, 1);
            assert.deepEqual(failed(r.stdout), ["verified TLS", "TLSv1 refused", "TLSv1.1 refused", "plaintext refused"], r.stdout);
            assert.match(r.stdout, /FAIL plaintext refused: PING in plaintext on port \d+ answered "\+PONG"/);
        } finally {
            await plain.stop();
        }
    });

    it("fails a server with TLS on its port but plaintext on another, no client certificates and the default user on", async () => {
        const [tlsPort, plainPort] = [await freePort(), await freePort()];
        const dir = fs.mkdtempSync(path.join(local.dir, "open-"));
        const sock = path.join(dir, "s.sock");
        fs.writeFileSync(path.join(dir, "redis.conf"), [
            "daemonize no", `dir ${dir}`, 'save ""', "appendonly no", "bind 127.0.0.1", `unixsocket ${sock}`, `port ${plainPort}`, `tls-port ${tlsPort}`,
            `tls-cert-file ${local.files.certPath}`, `tls-key-file ${local.files.keyPath}`, `tls-ca-cert-file ${local.files.caPath}`, "tls-auth-clients no", "",
        ].join("\n"));
        const open = await RedisProcess.startConf(path.join(dir, "redis.conf"), sock);
        try {
            const r = await checkCmd(["--host", "127.0.0.1", "--port", String(tlsPort), "--server-name", local.name, "--ca", files.ca, "--plain-port", String(plainPort)]);
            assert.equal(r.code, 1, r.stdout);
            assert.deepEqual(failed(r.stdout), ["no session without a login", "plaintext refused"], r.stdout);
            assert.match(r.stdout, /FAIL no session without a login: before AUTH PING got "\+PONG" as "default"/);
            assert.match(r.stdout, new RegExp(`FAIL plaintext refused: PING in plaintext on port ${plainPort} answered "\\+PONG"`));
        } finally {
            await open.stop();
        }
    });

    it("refuses bad usage with exit 2 and says how to call it", async () => {
        for (const bad of [[], ["--port", "6379"], ["--host", "h", "--port", "0", "--server-name", "n", "--ca", files.ca], ["--host", "h", "--port", "1", "--server-name", "n", "--ca", files.ca, "--cert", files.cert]]) {
            const r = await checkCmd(bad);
            assert.equal(r.code, 2, bad.join(" "));
            assert.match(r.stderr, /usage: redis-tls check --host H --port P --server-name N --ca ca\.crt/);
        }
    });
});
