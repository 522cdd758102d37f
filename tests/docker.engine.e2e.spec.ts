import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startDockerEngine, DockerEngine } from "./docker/engine";
import { freePort } from "./support/redisProcess";
import { check } from "./support/run";
import { TestCa } from "./support/testCa";
import { ping } from "./support/tlsClient";

// The test run's own Docker engine (for the Docker target's suites): an image from the test hosts'
// root filesystem runs a TLS-only redis-server on a network of the engine's own, reached on loopback
// through a published port; stopping it leaves the machine as it was.
describe("the test run's Docker engine", function () {
    this.timeout(600_000);
    let engine: DockerEngine;
    let dir: string;
    const links = async () => (await check("ip", ["-br", "link"])).split("\n").map((l) => l.split(" ")[0]).filter(Boolean).sort();
    let initial: { links: string[]; forward: string; containerd: boolean; key: boolean };

    before(async () => {
        initial = {
            links: await links(), forward: fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"),
            containerd: fs.existsSync("/run/containerd"), key: fs.existsSync("/etc/docker/key.json"),
        };
        engine = await startDockerEngine();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-docker-"));
    });
    after(async () => {
        await engine?.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs a TLS-only redis-server from an imported test-host image, verified through a published port", async () => {
        const image = await engine.importImage();
        const ca = await TestCa.create(path.join(dir, "ca"));
        const key = path.join(dir, "redis.key");
        await check("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
        const csr = await check("openssl", ["req", "-new", "-key", key, "-subj", "/CN=redis.test", "-addext", "subjectAltName=DNS:redis.test"]);
        fs.writeFileSync(path.join(dir, "redis.crt"), (await ca.sign(csr)) + ca.intermediateCert);
        fs.writeFileSync(path.join(dir, "ca.crt"), ca.rootCert);
        fs.chmodSync(key, 0o644);
        assert.equal((await engine.docker(["network", "create", "rtls-test"])).code, 0);
        const port = await freePort();
        const r = await engine.docker(["run", "-d", "--name", "rtls-redis", "--network", "rtls-test", "-p", `127.0.0.1:${port}:6379`, "-v", `${dir}:/tls:ro`, image,
            "redis-server", "--port", "0", "--tls-port", "6379", "--tls-cert-file", "/tls/redis.crt", "--tls-key-file", "/tls/redis.key",
            "--tls-ca-cert-file", "/tls/ca.crt", "--tls-auth-clients", "no", "--protected-mode", "no", "--save", "", "--appendonly", "no"]);
        assert.equal(r.code, 0, r.stderr);
        let reply = "";
        for (let i = 0; i < 50 && reply !== "+PONG"; i++) {
            reply = await ping({ port, ca: ca.rootCert, servername: "redis.test" }).catch((e: Error) => e.message);
            if (reply !== "+PONG") await new Promise((res) => setTimeout(res, 200));
        }
        assert.equal(reply, "+PONG");
        await assert.rejects(ping({ port, ca: ca.rootCert, servername: "other.test" }), /altnames/);
        const net = await import("node:net");
        const plain = await new Promise<string>((resolve) => {
            const s = net.connect({ host: "127.0.0.1", port }, () => s.write("PING\r\n"));
            let got = "";
            s.on("data", (d) => (got += d));
            s.on("close", () => resolve(got));
            s.on("error", () => resolve(got));
            setTimeout(() => (s.destroy(), resolve(got)), 2000);
        });
        assert.doesNotMatch(plain, /PONG/);
    });

    it("stops by its PID and leaves no bridge, no process, no file outside its root and no sysctl changed", async () => {
        const pidFile = engine.host.replace(/^unix:\/\//, "").replace(/docker\.sock$/, "docker.pid");
        const pid = Number(fs.readFileSync(pidFile, "utf8"));
        await engine.stop();
        assert.equal(fs.existsSync(`/proc/${pid}`), false, "dockerd gone");
        assert.equal(fs.existsSync(path.dirname(pidFile)), false, "its files gone");
        assert.deepEqual(await links(), initial.links, "no interface left behind");
        assert.equal(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8"), initial.forward);
        assert.equal(fs.existsSync("/run/containerd"), initial.containerd, "containerd's shim directory as found");
        assert.equal(fs.existsSync("/etc/docker/key.json"), initial.key, "no trust key written to /etc/docker");
    });
});
