import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { reapStaleEngines, startDockerEngine, DockerEngine } from "./docker/engine";
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

    it("after a crashed run (killed with its engine and a container running), the next start removes what it left", async () => {
        // A test process that starts an engine, runs a container, and is killed before its after hook.
        const script = `const { startDockerEngine } = require(${JSON.stringify(path.join(__dirname, "docker", "engine"))});
(async () => {
  const e = await startDockerEngine();
  const image = await e.importImage();
  const r = await e.docker(["run", "-d", "--network", "none", image, "sleep", "600"]);
  if (r.code !== 0) throw new Error(r.stderr);
  console.log(e.host);
  setInterval(() => undefined, 1000);
})();`;
        const { spawn } = await import("node:child_process");
        const child = spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        const host = await new Promise<string>((resolve, reject) => {
            let out = "";
            child.stdout!.on("data", (d) => {
                out += d;
                if (out.includes("\n")) resolve(out.trim());
            });
            child.once("exit", (c) => reject(new Error(`the crashing run exited ${c} before its engine was up`)));
        });
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await gone;
        const root = path.dirname(host.replace(/^unix:\/\//, ""));
        const stalePid = Number(fs.readFileSync(path.join(root, "docker.pid"), "utf8"));
        assert.ok(fs.existsSync(`/proc/${stalePid}`), "the crashed run's dockerd outlived it");
        const next = await startDockerEngine();
        try {
            // Killed by the reaper; under load its exit (or its parent's reaping of it) can trail by a moment.
            const alive = () => fs.existsSync(`/proc/${stalePid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${stalePid}/status`, "utf8"));
            for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 200));
            assert.equal(alive(), false, "its dockerd is gone");
            assert.equal(fs.existsSync(root), false, "its files are gone");
            assert.equal((await next.docker(["ps", "-q"])).stdout.trim(), "", "the new engine runs nothing of the old one");
            assert.deepEqual(await reapStaleEngines(), [], "an engine whose run is alive is left alone");
            assert.equal((await next.docker(["version", "--format", "{{.Server.Version}}"])).code, 0);
        } finally {
            await next.stop();
        }
        assert.deepEqual(await links(), initial.links, "no interface left behind");
        assert.equal(fs.readFileSync("/proc/mounts", "utf8").includes(root), false, "no mount left under its root");
        assert.equal((await check("bash", ["-c", "pgrep -fx 'sleep 600' || true"])).trim(), "", "the crashed run's container stopped with its engine");
    });
});
