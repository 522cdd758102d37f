import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { check, run, runScript } from "./support/run";
import { LocalRedis, USERS } from "./support/localRedis";
import { TestCa } from "./support/testCa";
import { command, connectTls, ping, servedSerial } from "./support/tlsClient";

// The host scripts and the rendered drop-in, run for real on this machine against Debian's
// redis-server on loopback: key and CSR made by the script, chain installed by the script,
// Redis started from the drop-in, and clients proving what TLS-only means.
describe("TLS-only Redis from the rendered drop-in and host scripts (real redis-server)", function () {
    this.timeout(60_000);
    let local: LocalRedis;
    const admin = () => ({ user: USERS.admin, pass: local.pass("admin") });
    const conn = (extra: Parameters<LocalRedis["conn"]>[0] = {}) => ({ ...local.conn(extra), auth: admin() });
    const onDisk = () => fs.readFileSync(local.files.certPath, "utf8");

    before(async () => {
        local = await LocalRedis.start();
    });
    after(() => local?.stop());

    it("answers PING over TLS to a client that verifies the server name and logs in as an ACL user", async () => {
        assert.equal(await ping(conn()), "+PONG");
    });

    it("serves the key from a root-owned generation: root:redis 0640, nothing left pending", () => {
        const redisGid = Number(fs.readFileSync("/etc/group", "utf8").match(/^redis:x:(\d+):/m)![1]);
        const key = fs.statSync(local.files.keyPath);
        assert.deepEqual([key.mode & 0o777, key.uid, key.gid], [0o640, 0, redisGid]);
        for (const dir of [local.files.tlsDir, path.dirname(fs.realpathSync(local.files.keyPath))]) {
            const st = fs.statSync(dir);
            assert.deepEqual([st.mode & 0o777, st.uid, st.gid], [0o750, 0, redisGid], dir);
        }
        assert.equal(fs.readlinkSync(local.files.live).startsWith("gen/"), true);
        // A pending key left behind is the live one, which the next CSR step replaces.
        const pending = path.join(local.files.tlsDir, "pending/redis.key");
        if (fs.existsSync(pending)) assert.equal(fs.readFileSync(pending, "utf8"), fs.readFileSync(local.files.keyPath, "utf8"));
    });

    it("refuses plaintext: nothing answers PING without TLS", async () => {
        const plain = net.connect(local.port, "127.0.0.1");
        await new Promise((r) => plain.once("connect", r));
        await assert.rejects(command(plain, "PING"), /closed|ECONNRESET/);
        plain.destroy();
    });

    it("refuses a client without a certificate (tls-auth-clients yes)", async () => {
        await assert.rejects(ping(conn({ cert: null })), /closed|certificate|alert|ECONNRESET/);
    });

    it("fails verification for a name that is not in the certificate's SANs", async () => {
        await assert.rejects(ping(conn({ servername: "other.test" })), (e: NodeJS.ErrnoException) => e.code === "ERR_TLS_CERT_ALTNAME_INVALID");
    });

    it("hot-loads a renewed certificate with one CONFIG SET: new serial, same PID, open connections keep working", async () => {
        const before = await servedSerial(conn());
        const open = await connectTls(conn());
        assert.equal(await command(open, `AUTH ${USERS.admin} ${local.pass("admin")}`), "+OK");
        const result = await local.install(await local.issue());
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^reloaded serial=\w+ through /m);
        assert.notEqual(await servedSerial(conn()), before);
        assert.equal(await command(open, "PING"), "+PONG");
        open.destroy();
        assert.equal(local.redis.child.exitCode, null);
        assert.equal((await local.cli(["INFO", "server"])).stdout.match(/process_id:(\d+)/)![1], String(local.redis.pid));
    });

    it("reloads as a user allowed only CONFIG SET, whose password is root-only and only hashed in Redis's config", async () => {
        const pass = local.pass("reload");
        assert.equal(fs.statSync(local.files.reloadPass).mode & 0o777, 0o600);
        assert.doesNotMatch(fs.readFileSync(local.files.usersAcl, "utf8"), new RegExp(pass));
        const as = (...cmd: string[]) => local.cli(cmd, { user: USERS.reload, pass });
        assert.equal((await as("CONFIG", "SET", "tls-protocols", "TLSv1.2 TLSv1.3")).stdout.trim(), "OK");
        for (const cmd of [["FLUSHALL"], ["CONFIG", "GET", "dir"], ["SET", "k", "v"], ["ACL", "LIST"], ["CONFIG", "REWRITE"]]) {
            assert.match((await as(...cmd)).stdout, /NOPERM/, cmd.join(" "));
        }
        const wrong = await run("redis-cli", ["-s", local.socket, "--user", USERS.reload, "--pass", "wrong", "CONFIG", "SET", "maxclients", "10"]);
        assert.match(wrong.stderr + wrong.stdout, /WRONGPASS/);
    });

    it("cannot narrow the reload user to the TLS settings: this Redis refuses per-parameter CONFIG SET rules", async () => {
        // The README says why the reload user keeps +config|set; this is the fact behind it.
        const r = await local.cli(["ACL", "SETUSER", "probe", "+config|set|tls-cert-file"]);
        assert.match(r.stdout, /Allowing first-arg of a subcommand is not supported/);
    });

    it("is idempotent: installing the same chain again changes nothing", async () => {
        const liveChain = onDisk();
        const leaf = liveChain.slice(0, liveChain.indexOf("-----END CERTIFICATE-----") + 26);
        const result = await local.install(leaf);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^unchanged /);
    });

    /** Installs `stdin` and proves it was refused with `reason` while the served certificate and files stayed. */
    async function refused(install: () => Promise<{ code: number; stderr: string }>, reason: RegExp): Promise<void> {
        const served = await servedSerial(conn());
        const files = onDisk();
        const live = fs.readlinkSync(local.files.live);
        const result = await install();
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, reason);
        assert.equal(onDisk(), files);
        assert.equal(fs.readlinkSync(local.files.live), live);
        assert.equal(await servedSerial(conn()), served);
        assert.equal(await ping(conn()), "+PONG");
    }

    it("refuses an expired certificate", async () => {
        const leaf = await local.issue({ expired: true });
        await refused(() => local.install(leaf), /not valid now/);
    });

    it("refuses a certificate for another name", async () => {
        const leaf = await local.issue({ name: "other.test" });
        await refused(() => local.install(leaf), /does not name redis-1\.test/);
    });

    it("refuses a chain cut after the leaf", async () => {
        const leaf = await local.issue();
        await refused(() => local.install(leaf, { chain: leaf }), /not signed by the next one/);
    });

    it("refuses a chain from another CA, even one whose root has the same name: only the pinned root counts", async () => {
        const impostor = await TestCa.create(path.join(local.dir, "impostor"), "Test");
        const csr = await runScript(local.csrScript());
        const leaf = await impostor.sign(csr.stdout);
        await refused(() => local.install(leaf, { chain: leaf + impostor.intermediateCert, root: impostor.rootCert, clientCa: impostor.rootCert }),
            /is not the pinned root/);
    });

    it("refuses to trust any client CA but the pinned one", async () => {
        const other = await TestCa.create(path.join(local.dir, "other"), "Other");
        const leaf = await local.issue();
        await refused(() => local.install(leaf, { clientCa: other.rootCert }), /client CA .* is not the pinned one/);
    });

    it("refuses a leaf that is itself a CA", async () => {
        const csr = await runScript(local.csrScript());
        const leaf = await local.ca.sign(csr.stdout, { ext: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=serverAuth\n" });
        await refused(() => local.install(leaf), /the leaf is a CA certificate/);
    });

    it("refuses a leaf that may sign certificates though it says CA:FALSE", async () => {
        const csr = await runScript(local.csrScript());
        const leaf = await local.ca.sign(csr.stdout, { ext: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=serverAuth\n" });
        assert.match(await check("openssl", ["x509", "-noout", "-ext", "basicConstraints,keyUsage"], { stdin: leaf }), /CA:FALSE[\s\S]*Certificate Sign/);
        await refused(() => local.install(leaf), /the leaf is a CA certificate/);
    });

    it("refuses a name carried only in the subject CN, not in the SANs", async () => {
        await runScript(local.csrScript());
        const csr = await check("openssl", ["req", "-new", "-key", path.join(local.files.tlsDir, "pending/redis.key"), "-subj", "/CN=redis-1.test",
            "-addext", "subjectAltName=IP:127.0.0.1"]);
        const leaf = await local.ca.sign(csr);
        await refused(() => local.install(leaf), /has no DNS name in its SANs/);
    });

    it("refuses a name forged in another kind of SAN, which would make openssl fall back to the CN", async () => {
        await runScript(local.csrScript());
        const conf = path.join(local.dir, "forged.cnf");
        fs.writeFileSync(conf, "[req]\ndistinguished_name = dn\n[dn]\n[ext]\nsubjectAltName = @alt\n[alt]\nURI.1 = http://x/?q=a, DNS:redis-1.test\nIP.1 = 127.0.0.1\n");
        const csr = await check("openssl", ["req", "-new", "-key", path.join(local.files.tlsDir, "pending/redis.key"), "-subj", "/CN=redis-1.test",
            "-config", conf, "-reqexts", "ext"]);
        const leaf = await local.ca.sign(csr);
        assert.match(await check("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { stdin: leaf }), /URI:http:\/\/x\/\?q=a, DNS:redis-1\.test/);
        await refused(() => local.install(leaf), /has no DNS name in its SANs/);
    });

    it("refuses anything in the bundle that is not a certificate of the chain: stray text, a private key, an extra certificate", async () => {
        const leaf = await local.issue();
        const chain = leaf + local.ca.intermediateCert;
        const key = fs.readFileSync(path.join(local.files.tlsDir, "pending/redis.key"), "utf8");
        await refused(() => local.install(leaf, { chain: `echo pwned\n${chain}` }), /expected only PEM certificates/);
        await refused(() => local.install(leaf, { chain: chain + key }), /expected only PEM certificates/);
        const stranger = await TestCa.create(path.join(local.dir, "stranger"), "Stranger");
        await refused(() => local.install(leaf, { chain: chain + stranger.rootCert }), /not signed by the next one/);
        assert.equal(fs.readdirSync(path.dirname(local.files.certPath)).some((f) => fs.readFileSync(path.join(path.dirname(local.files.certPath), f), "utf8").includes("PRIVATE KEY") && f !== "redis.key"), false);
    });

    it("refuses a certificate whose key is not on the host", async () => {
        const csr = await check("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
            "-subj", "/CN=redis-1.test", "-addext", "subjectAltName=DNS:redis-1.test,IP:127.0.0.1"]);
        const leaf = await local.ca.sign(csr);
        await refused(() => local.install(leaf), /no key on this host matches/);
    });

    it("fails visibly and serves the previous generation again when Redis refuses the reload", async () => {
        const served = await servedSerial(conn());
        const before = { cert: onDisk(), live: fs.readlinkSync(local.files.live) };
        const leaf = await local.issue();
        // The pending key still matches its recorded public key, but Redis cannot load it.
        fs.writeFileSync(path.join(local.files.tlsDir, "pending/redis.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        const result = await local.install(leaf);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /redis refused the new certificate, previous files restored: .*ERR/);
        assert.deepEqual({ cert: onDisk(), live: fs.readlinkSync(local.files.live) }, before);
        assert.equal(await servedSerial(conn()), served);
        assert.equal(await ping(conn()), "+PONG");
        // The next run starts over: the CSR step replaces a pending key that does not load.
        const next = await local.install(await local.issue());
        assert.equal(next.code, 0, next.stderr);
        assert.notEqual(await servedSerial(conn()), served);
    });
});

describe("an encrypted host key (tls-key-file-pass) with real redis-server", function () {
    this.timeout(60_000);
    const pass = 'correct "horse" battery \\ staple';
    let local: LocalRedis;
    const conn = () => ({ ...local.conn(), auth: { user: USERS.admin, pass: local.pass("admin") } });

    before(async () => {
        local = await LocalRedis.start({ name: "redis-2.test", keyFilePass: pass, protocols: ["TLSv1.3"] });
    });
    after(() => local?.stop());

    it("keeps the key encrypted on disk and serves TLS with it", async () => {
        assert.match(fs.readFileSync(local.files.keyPath, "utf8"), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
        assert.equal(await ping(conn()), "+PONG");
    });

    it("hot-loads a renewed encrypted key with the pass phrase from the config", async () => {
        const before = await servedSerial(conn());
        const installed = await local.install(await local.issue());
        assert.equal(installed.code, 0, installed.stderr);
        assert.match(installed.stdout, /^reloaded serial=/m);
        assert.notEqual(await servedSerial(conn()), before);
        assert.equal(await ping(conn()), "+PONG");
    });
});
