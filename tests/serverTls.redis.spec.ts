import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { renderInstallCertScript, renderKeyAndCsrScript, renderRedisTlsConf, renderReloadUserSetup } from "../components";
import { check, run, runScript } from "./support/run";
import { freePort, RedisProcess } from "./support/redisProcess";
import { TestCa } from "./support/testCa";
import { command, connectTls, ping, servedSerial } from "./support/tlsClient";

// The host scripts and the rendered drop-in, run for real on this machine against Debian's
// redis-server on loopback: key and CSR made by the script, chain installed by the script,
// Redis started from the drop-in, and clients proving what TLS-only means.
describe("TLS-only Redis from the rendered drop-in and host scripts (real redis-server)", function () {
    this.timeout(60_000);
    let dir: string;
    let ca: TestCa;
    let redis: RedisProcess;
    let port: number;
    let client: { cert: string; key: string };
    const files = () => ({ certPath: `${dir}/tls/redis.crt`, keyPath: `${dir}/tls/redis.key`, caPath: `${dir}/tls/ca.crt`, keyOwner: "redis" });
    const socket = () => `${dir}/redis.sock`;
    const csrScript = (name = "redis-1.test") =>
        renderKeyAndCsrScript({ ...files(), keyAlgorithm: "ECDSA_P256", commonName: name, dnsNames: [name], ipAddresses: ["127.0.0.1"], encryptKey: false });
    const reloadUser = () => ({ user: "redis-tls-reload", passFile: `${dir}/tls/reload.pass` });
    const installScript = () =>
        renderInstallCertScript({ ...files(), dnsNames: ["redis-1.test"], ipAddresses: ["127.0.0.1"], reload: { socket: socket(), ...reloadUser() } });
    const conn = (extra: { servername?: string; withCert?: boolean } = {}) => ({
        port,
        ca: ca.rootCert,
        servername: extra.servername ?? "redis-1.test",
        ...(extra.withCert === false ? {} : client),
    });

    async function issue(opts: { expired?: boolean; name?: string } = {}): Promise<string> {
        const csr = await runScript(csrScript(opts.name));
        assert.equal(csr.code, 0, csr.stderr);
        return ca.bundle(await ca.sign(csr.stdout, opts));
    }

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-"));
        fs.chmodSync(dir, 0o755);
        ca = await TestCa.create(path.join(dir, "ca"));
        client = await ca.client("app");
        const installed = await runScript(installScript(), await issue());
        assert.equal(installed.code, 0, installed.stderr);
        port = await freePort();
        const setup = await runScript(renderReloadUserSetup({ ...reloadUser(), aclPath: `${dir}/tls/reload.acl`, group: "redis" }));
        assert.equal(setup.code, 0, setup.stderr);
        fs.writeFileSync(`${dir}/tls.conf`, renderRedisTlsConf({
            tlsPort: port, plaintextPort: 0, bind: ["127.0.0.1"], ...files(), authClients: "yes", replication: true, cluster: false,
            protocols: ["TLSv1.2", "TLSv1.3"], adminSocket: socket(), reloadAclPath: `${dir}/tls/reload.acl`,
        }));
        redis = await RedisProcess.start(dir, `${dir}/tls.conf`, socket());
    });

    after(async () => {
        await redis?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("answers PING over TLS to a client that verifies the server name against the CA root", async () => {
        assert.equal(await ping(conn()), "+PONG");
    });

    it("leaves the key on the host owned by redis with mode 0600, in a root-owned 0750 directory", () => {
        const key = fs.statSync(files().keyPath);
        assert.equal(key.mode & 0o777, 0o600);
        assert.equal(key.uid, Number(fs.readFileSync("/etc/passwd", "utf8").match(/^redis:x:(\d+):/m)![1]));
        const tlsDir = fs.statSync(path.dirname(files().keyPath));
        assert.equal(tlsDir.mode & 0o777, 0o750);
        assert.equal(tlsDir.uid, 0);
    });

    it("refuses plaintext: nothing answers PING without TLS", async () => {
        const plain = net.connect(port, "127.0.0.1");
        await new Promise((r) => plain.once("connect", r));
        await assert.rejects(command(plain, "PING"), /closed|ECONNRESET/);
        plain.destroy();
    });

    it("refuses a client without a certificate (tls-auth-clients yes)", async () => {
        await assert.rejects(ping(conn({ withCert: false })), /closed|certificate|alert|ECONNRESET/);
    });

    it("fails verification for a name that is not in the certificate's SANs", async () => {
        await assert.rejects(ping(conn({ servername: "other.test" })), (e: NodeJS.ErrnoException) => e.code === "ERR_TLS_CERT_ALTNAME_INVALID");
    });

    it("hot-loads a renewed certificate with one CONFIG SET: new serial, same PID, open connections keep working", async () => {
        const before = await servedSerial(conn());
        const open = await connectTls(conn());
        const result = await runScript(installScript(), await issue());
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^reloaded serial=\w+ through /m);
        const after = await servedSerial(conn());
        assert.notEqual(after, before);
        assert.equal(await command(open, "PING"), "+PONG");
        open.destroy();
        assert.equal(redis.child.exitCode, null);
        assert.equal((await check("redis-cli", ["-s", socket(), "INFO", "server"])).match(/process_id:(\d+)/)![1], String(redis.pid));
    });

    it("reloads as a user allowed only CONFIG SET, whose password is root-only and only hashed in Redis's config", async () => {
        const pass = fs.readFileSync(`${dir}/tls/reload.pass`, "utf8").trim();
        assert.equal(fs.statSync(`${dir}/tls/reload.pass`).mode & 0o777, 0o600);
        assert.doesNotMatch(fs.readFileSync(`${dir}/tls/reload.acl`, "utf8"), new RegExp(pass));
        const env = { ...process.env, REDISCLI_AUTH: pass };
        const as = (...cmd: string[]) => run("redis-cli", ["-s", socket(), "--user", "redis-tls-reload", ...cmd], { env });
        assert.equal((await as("CONFIG", "SET", "tls-protocols", "TLSv1.2 TLSv1.3")).stdout.trim(), "OK");
        for (const cmd of [["FLUSHALL"], ["CONFIG", "GET", "dir"], ["SET", "k", "v"], ["ACL", "LIST"]]) {
            assert.match((await as(...cmd)).stdout, /NOPERM/, cmd.join(" "));
        }
        const wrong = await run("redis-cli", ["-s", socket(), "--user", "redis-tls-reload", "--pass", "wrong", "CONFIG", "SET", "maxclients", "10"]);
        assert.match(wrong.stderr + wrong.stdout, /WRONGPASS/);
    });

    it("is idempotent: installing the same chain again changes nothing", async () => {
        const chain = fs.readFileSync(files().certPath, "utf8");
        const bundle = [chain.trim(), ca.rootCert.trim()].join("\n") + "\n";
        const result = await runScript(installScript(), bundle);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^unchanged /);
    });

    for (const fault of ["expired", "wrong name", "cut after the leaf"] as const) {
        it(`refuses a certificate that is ${fault === "wrong name" ? "for another name" : fault} before touching the served one`, async () => {
            const served = await servedSerial(conn());
            const onDisk = fs.readFileSync(files().certPath, "utf8");
            let bundle: string;
            if (fault === "expired") bundle = await issue({ expired: true });
            else if (fault === "wrong name") bundle = await issue({ name: "other.test" });
            else bundle = (await issue()).split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n" + ca.rootCert;
            const result = await runScript(installScript(), bundle);
            assert.notEqual(result.code, 0);
            assert.equal(fs.readFileSync(files().certPath, "utf8"), onDisk);
            assert.equal(await servedSerial(conn()), served);
            assert.equal(await ping(conn()), "+PONG");
        });
    }

    it("refuses a certificate whose key is not on the host", async () => {
        const onDisk = fs.readFileSync(files().certPath, "utf8");
        const csr = await check("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
            "-subj", "/CN=redis-1.test", "-addext", "subjectAltName=DNS:redis-1.test,IP:127.0.0.1"]);
        const result = await runScript(installScript(), ca.bundle(await ca.sign(csr)));
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /no key on this host matches/);
        assert.equal(fs.readFileSync(files().certPath, "utf8"), onDisk);
    });

    it("fails visibly and restores the previous files when Redis refuses the reload", async () => {
        const served = await servedSerial(conn());
        const onDisk = { cert: fs.readFileSync(files().certPath, "utf8"), key: fs.readFileSync(files().keyPath, "utf8") };
        const bundle = await issue();
        // The pending key still matches its recorded public key, but Redis cannot load it.
        fs.writeFileSync(`${files().keyPath}.pending`, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        const result = await runScript(installScript(), bundle);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /redis refused the new certificate, previous files restored: .*ERR/);
        assert.deepEqual({ cert: fs.readFileSync(files().certPath, "utf8"), key: fs.readFileSync(files().keyPath, "utf8") }, onDisk);
        assert.equal(await servedSerial(conn()), served);
        assert.equal(await ping(conn()), "+PONG");
    });
});

describe("an encrypted host key (tls-key-file-pass) with real redis-server", function () {
    this.timeout(60_000);
    const pass = "correct horse battery staple";
    let dir: string;
    let ca: TestCa;
    let redis: RedisProcess;
    let port: number;
    let client: { cert: string; key: string };
    const files = () => ({ certPath: `${dir}/tls/redis.crt`, keyPath: `${dir}/tls/redis.key`, caPath: `${dir}/tls/ca.crt`, keyOwner: "redis" });
    const reload = () => ({ socket: `${dir}/redis.sock`, user: "redis-tls-reload", passFile: `${dir}/tls/reload.pass` });
    const san = { dnsNames: ["redis-2.test"], ipAddresses: [] };

    async function issueAndInstall(): Promise<string> {
        const csr = await runScript(renderKeyAndCsrScript({ ...files(), ...san, keyAlgorithm: "ECDSA_P256", commonName: "redis-2.test", encryptKey: true }), `${pass}\n`);
        assert.equal(csr.code, 0, csr.stderr);
        const installed = await runScript(renderInstallCertScript({ ...files(), ...san, reload: reload() }), ca.bundle(await ca.sign(csr.stdout)));
        assert.equal(installed.code, 0, installed.stderr);
        return installed.stdout;
    }

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-enc-"));
        fs.chmodSync(dir, 0o755);
        ca = await TestCa.create(path.join(dir, "ca"));
        client = await ca.client("app");
        await issueAndInstall();
        const setup = await runScript(renderReloadUserSetup({ ...reload(), aclPath: `${dir}/tls/reload.acl`, group: "redis" }));
        assert.equal(setup.code, 0, setup.stderr);
        port = await freePort();
        fs.writeFileSync(`${dir}/tls.conf`, renderRedisTlsConf({
            tlsPort: port, plaintextPort: 0, bind: ["127.0.0.1"], ...files(), keyFilePass: pass, authClients: "yes", replication: true, cluster: false,
            protocols: ["TLSv1.3"], adminSocket: reload().socket, reloadAclPath: `${dir}/tls/reload.acl`,
        }));
        redis = await RedisProcess.start(dir, `${dir}/tls.conf`, reload().socket);
    });

    after(async () => {
        await redis?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("keeps the key encrypted on disk and serves TLS with it", async () => {
        assert.match(fs.readFileSync(files().keyPath, "utf8"), /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
        assert.equal(await ping({ port, ca: ca.rootCert, servername: "redis-2.test", ...client }), "+PONG");
    });

    it("hot-loads a renewed encrypted key with the pass phrase from the config", async () => {
        const conn = { port, ca: ca.rootCert, servername: "redis-2.test", ...client };
        const before = await servedSerial(conn);
        assert.match(await issueAndInstall(), /^reloaded serial=/m);
        assert.notEqual(await servedSerial(conn), before);
        assert.equal(await ping(conn), "+PONG");
    });
});
