import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { startHosts, TestHost, TestHosts } from "./hosts";
import { check } from "./support/run";

const PROGRAM = path.join(__dirname, "..", "index.ts");
const SERVER_NAME = "redis1.test";

// `pulumi up` of the default program (index.ts) against two real Debian hosts booted with systemd:
// every resource performs its real effect (SSH, openssl, systemd, Redis); only the engine is mocked.
describe("the default program end to end on real hosts", function () {
    this.timeout(10 * 60_000);
    let fixture: TestHosts;
    let server: TestHost;
    let client: TestHost;
    let stateDir: string;
    let first: RunResult;
    let clientCert: { cert: string; key: string };

    const config = (dnsNames = [SERVER_NAME]) => ({
        "redis-tls:hosts": JSON.stringify([{ name: "redis1", address: server.address, dnsNames, ipAddresses: [server.address] }]),
        "redis-tls:clients": JSON.stringify([{ name: "client1", address: client.address }]),
        "redis-tls:sshPrivateKey": server.privateKeyPem,
    });
    const up = (cfg = config()) =>
        runProgram({ program: PROGRAM, config: cfg, secretKeys: ["redis-tls:sshPrivateKey"], stateDir, knownHostsFile: server.knownHostsFile, remoteEnvironment: "setenv" });
    const sh = async (host: TestHost, command: string, stdin?: string) => {
        const r = await host.exec(command, { stdin });
        assert.equal(r.code, 0, `${command}: ${r.stderr}`);
        return r.stdout.trim();
    };
    const output = <T>(r: RunResult, name: string) => r.resources.find((x) => x.name === name)!.outputs as T;

    before(async function () {
        fixture = await startHosts(["redis1", "client1"]);
        [server, client] = fixture.hosts;
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-state-"));
        first = await up();
        assert.ok(first.ok, first.error);
        // A client certificate from the same CA, its key made on the client host.
        const csr = await sh(client, "umask 077; mkdir -p /etc/app && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /etc/app/client.key -subj /CN=client1");
        const ca = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-client-"));
        fs.writeFileSync(path.join(ca, "int.crt"), output<{ certPem: string }>(first, "redis-ca-intermediate").certPem);
        fs.writeFileSync(path.join(ca, "int.key"), output<{ privateKeyPem: string }>(first, "redis-ca-intermediate-key").privateKeyPem, { mode: 0o600 });
        fs.writeFileSync(path.join(ca, "client.csr"), csr);
        fs.writeFileSync(path.join(ca, "ext"), "extendedKeyUsage=clientAuth\n");
        const leaf = await check("openssl", ["x509", "-req", "-in", path.join(ca, "client.csr"), "-CA", path.join(ca, "int.crt"), "-CAkey", path.join(ca, "int.key"),
            "-CAcreateserial", "-days", "1", "-extfile", path.join(ca, "ext")]);
        fs.rmSync(ca, { recursive: true, force: true });
        const chain = leaf + output<{ certPem: string }>(first, "redis-ca-intermediate").certPem;
        await sh(client, "cat > /etc/app/client.crt", chain);
        clientCert = { cert: chain, key: await sh(client, "cat /etc/app/client.key") };
    });

    after(async () => {
        await fixture?.stop();
        if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    });

    it("runs redis-server with the rendered drop-in, listening only on the TLS port", async () => {
        assert.equal(await sh(server, "systemctl is-active redis-server.service"), "active");
        assert.equal(await sh(server, "tail -n 1 /etc/redis/redis.conf"), "include /etc/redis/tls.conf");
        assert.match(await sh(server, "cat /etc/redis/tls.conf"), /^port 0\ntls-port 6379$/m);
        const listening = await sh(server, "ss -Hltnp | grep redis-server | awk '{print $4}' | sort -u");
        assert.deepEqual(listening.split("\n").map((a) => a.replace(/^.*:/, "")).filter((p, i, all) => all.indexOf(p) === i), ["6379"]);
    });

    it("refuses plaintext on the TLS port", async () => {
        const r = await client.exec(`redis-cli -h ${server.address} -p 6379 PING`);
        assert.doesNotMatch(r.stdout, /PONG/);
    });

    it("keeps the server key on the host only: owned by redis, 0600, in no resource input, output or log", async () => {
        assert.equal(await sh(server, "stat -c '%U %G %a' /etc/redis/tls/redis.key"), "redis redis 600");
        // /etc/redis is setgid on Debian, so the new directory inherits the bit.
        assert.match(await sh(server, "stat -c '%U %G %a' /etc/redis/tls"), /^root redis 2?750$/);
        const key = await sh(server, "cat /etc/redis/tls/redis.key");
        assert.match(key, /PRIVATE KEY/);
        assert.deepEqual(whereAppears(first, key), []);
        const keyBody = key.split("\n")[1];
        assert.deepEqual(whereAppears(first, keyBody), []);
        assert.equal(fs.readFileSync(path.join(stateDir, "state.json"), "utf8").includes(keyBody), false);
    });

    it("the client host trusts the root through its system store: openssl verifies the name, redis-cli --tls answers", async () => {
        assert.match(await sh(client, "ls /etc/ssl/certs/redis-tls-root.pem"), /redis-tls-root\.pem/);
        // -cert_chain: s_client sends only the leaf of -cert, and the server trusts only the root.
        const verified = await client.exec(
            `openssl s_client -connect ${server.address}:6379 -servername ${SERVER_NAME} -verify_hostname ${SERVER_NAME} -verify_return_error -cert /etc/app/client.crt -cert_chain /etc/app/client.crt -key /etc/app/client.key -quiet`,
            { stdin: "PING\r\nQUIT\r\n" },
        );
        assert.equal(verified.code, 0, verified.stderr);
        assert.match(verified.stderr, /verify return:1/);
        assert.match(verified.stdout, /^\+PONG\r?$/m);
        const pong = await sh(client, `redis-cli --tls -h ${server.address} -p 6379 --sni ${SERVER_NAME} --cert /etc/app/client.crt --key /etc/app/client.key PING`);
        assert.equal(pong, "PONG");
    });

    it("a Node client (ioredis) verifying servername gets PONG", async () => {
        const redis = new Redis({
            host: server.address,
            port: 6379,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            tls: { ca: String(first.outputs.rootCertPem), servername: SERVER_NAME, ...clientCert },
        });
        try {
            await redis.connect();
            assert.equal(await redis.ping(), "PONG");
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

    it("a second run changes nothing on the hosts: no resource performed, same serial, same redis PID", async () => {
        const serial = await sh(server, "openssl x509 -in /etc/redis/tls/redis.crt -noout -serial");
        const pid = await sh(server, "systemctl show -p MainPID --value redis-server");
        const again = await up();
        assert.ok(again.ok, again.error);
        assert.deepEqual(again.resources.filter((r) => r.performed).map((r) => r.name), []);
        assert.equal(await sh(server, "openssl x509 -in /etc/redis/tls/redis.crt -noout -serial"), serial);
        assert.equal(await sh(server, "systemctl show -p MainPID --value redis-server"), pid);
    });

    it("the drop-in's install step run again reports unchanged and does not restart Redis", async () => {
        const step = first.resources.find((r) => r.name === "redis-redis1-config-install")!.inputs;
        const pid = await sh(server, "systemctl show -p MainPID --value redis-server");
        assert.equal(await sh(server, String(step.create), String(step.stdin)), "unchanged");
        assert.equal(await sh(server, "systemctl show -p MainPID --value redis-server"), pid);
    });

    it("a bad config fails before any host is touched", async () => {
        const snapshot = () => sh(server, "find /etc/redis -type f -exec sha256sum {} + | sort; systemctl show -p MainPID --value redis-server");
        const before = await snapshot();
        const bad = await up(config(["redis_1.test"]));
        assert.equal(bad.ok, false);
        assert.match(bad.error ?? "", /\[dnsNames\] "redis_1\.test" is not a valid DNS name/);
        assert.deepEqual(bad.resources.filter((r) => r.type.startsWith("command:")), []);
        assert.equal(await snapshot(), before);
    });

    it("pulumi destroy's delete step takes the root out of the client's trust store", async () => {
        await sh(client, String(first.resources.find((r) => r.name === "redis-ca-clients-client1")!.inputs.delete));
        assert.equal(await sh(client, "ls -la /usr/local/share/ca-certificates /etc/ssl/certs | grep redis-tls-root || true"), "");
        assert.equal(await sh(client, "grep -c \"$(sed -n 2p /dev/stdin)\" /etc/ssl/certs/ca-certificates.crt || true", String(first.outputs.rootCertPem)), "0");
        const r = await client.exec(`openssl s_client -connect ${server.address}:6379 -verify_hostname ${SERVER_NAME} -verify_return_error </dev/null`);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, /unable to get local issuer certificate/);
    });
});
