import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DockerEngine, startDockerEngine } from "./docker/engine";
import { runProgram, RunResult } from "./harness/runProgram";
import { freePort } from "./support/redisProcess";
import { check } from "./support/run";

// The harness's docker:* resources, performed against the run's own engine as the provider does:
// what a change does (nothing, an in-place update, a replacement), autonamed names, deleteBeforeReplace,
// healthcheck waits, uploads, and deletes of what the program no longer declares.
describe("harness: docker:* resources on a real engine", function () {
    this.timeout(600_000);
    let engine: DockerEngine;
    let image: string;
    let stateDir: string;
    let port: number;
    const program = path.join(__dirname, "harness", "fixtures", "docker.ts");
    const up = (cfg: Record<string, string> = {}) =>
        runProgram({ program, stateDir, config: { "docker:host": engine.host, "redis-tls:image": image, "redis-tls:port": String(port), ...cfg } });
    const ok = (r: RunResult) => assert.ok(r.ok, `${r.error}\n${r.log.slice(-2000)}`);
    const inspect = async (name: string) => JSON.parse((await engine.docker(["inspect", name])).stdout)[0];
    const steps = (r: RunResult) => r.resources.filter((x) => x.type.startsWith("docker:")).map((x) => `${x.name} ${x.step}${x.performed ? "" : " (not performed)"}`).sort();

    before(async () => {
        engine = await startDockerEngine();
        image = await engine.importImage();
        stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-docker-state-"));
        port = await freePort();
    });
    after(async () => {
        await engine?.stop();
        if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    });

    let first: RunResult;
    it("creates a network, a volume and a container that is healthy before the run goes on, with autonamed names and the upload in place", async () => {
        first = await up();
        ok(first);
        assert.deepEqual(steps(first), ["data create", "net create", "redis create"]);
        const name = first.outputs.containerName as string;
        assert.match(name, /^redis-[0-9a-f]{7}$/);
        const c = await inspect(name);
        assert.equal(c.State.Health.Status, "healthy", "wait: the provider waited for the healthcheck");
        assert.deepEqual(Object.keys(c.NetworkSettings.Networks), [first.outputs.networkName]);
        assert.deepEqual(c.HostConfig.PortBindings, { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
        assert.equal((await engine.docker(["exec", name, "stat", "-c", "%a %U %s", "/etc/fixture.txt"])).stdout.trim(), "644 root 3");
        assert.equal((await check("redis-cli", ["-p", String(port), "PING"])).trim(), "PONG");
    });

    it("a second run with the same inputs performs nothing and keeps the names", async () => {
        const again = await up();
        ok(again);
        assert.deepEqual(steps(again), ["data same (not performed)", "net same (not performed)", "redis same (not performed)"]);
        assert.equal(again.outputs.containerName, first.outputs.containerName);
    });

    it("restart changes in place: the same container, its restart policy updated", async () => {
        const before = (await inspect(first.outputs.containerName as string)).Id;
        const r = await up({ "redis-tls:restart": "unless-stopped" });
        ok(r);
        assert.deepEqual(steps(r), ["data same (not performed)", "net same (not performed)", "redis update"]);
        const c = await inspect(first.outputs.containerName as string);
        assert.equal(c.Id, before);
        assert.equal(c.HostConfig.RestartPolicy.Name, "unless-stopped");
    });

    it("a changed command replaces, the old container deleted first (the provider's DeleteBeforeReplace), the new one under a new name", async () => {
        const r = await up({ "redis-tls:restart": "unless-stopped", "redis-tls:extra": "--appendonly" });
        ok(r);
        assert.deepEqual(steps(r), ["data same (not performed)", "net same (not performed)", "redis replace"]);
        assert.notEqual(r.outputs.containerName, first.outputs.containerName);
        assert.equal((await engine.docker(["inspect", first.outputs.containerName as string])).code, 1, "the old container is gone");
        assert.equal((await check("redis-cli", ["-p", String(port), "CONFIG", "GET", "appendonly"])).trim(), "appendonly\nyes");
    });

    it("a program that sets deleteBeforeReplace false gets create-before-delete: the new container cannot take the port, and is left as the provider leaves it", async () => {
        const serving = (await up({ "redis-tls:restart": "unless-stopped", "redis-tls:extra": "--appendonly" })).outputs.containerName as string;
        const r = await up({ "redis-tls:restart": "unless-stopped", "redis-tls:extra": "--appendonly", "redis-tls:upload": "two", "redis-tls:deleteBeforeReplace": "false" });
        assert.equal(r.ok, false);
        assert.match(r.error!, /port is already allocated|address already in use/);
        assert.equal((await check("redis-cli", ["-p", String(port), "PING"])).trim(), "PONG", "the old container still serves");
        const left = (await engine.docker(["ps", "-a", "--format", "{{.Names}} {{.State}}"])).stdout.split("\n").filter((l) => l && !l.startsWith(`${serving} `));
        assert.equal(left.length, 1, left.join("\n"));
        assert.match(left[0], /^redis-[0-9a-f]{7} created$/);
        await engine.docker(["rm", "-f", left[0].split(" ")[0]]);
    });

    it("an upload change replaces too (uploads are ForceNew)", async () => {
        const r = await up({ "redis-tls:restart": "unless-stopped", "redis-tls:extra": "--appendonly", "redis-tls:upload": "two" });
        ok(r);
        assert.deepEqual(steps(r).filter((x) => x.startsWith("redis")), ["redis replace"]);
        assert.equal((await engine.docker(["exec", r.outputs.containerName as string, "cat", "/etc/fixture.txt"])).stdout, "two");
    });

    it("a container value the provider refuses fails its create before the engine is asked for a container", async () => {
        const badState = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-docker-bad-"));
        const config = { "docker:host": engine.host, "redis-tls:image": image, "redis-tls:port": String(await freePort()) };
        const containers = async () => (await engine.docker(["ps", "-aq"])).stdout.split("\n").filter(Boolean).length;
        const before = await containers();
        const r = await runProgram({ program, stateDir: badState, config: { ...config, "redis-tls:emptyArg": "true" } });
        assert.equal(r.ok, false);
        assert.match(r.error!, /values for command may not be empty/);
        assert.equal(await containers(), before);
        ok(await runProgram({ program, stateDir: badState, config: { ...config, "redis-tls:present": "false" } }));
        fs.rmSync(badState, { recursive: true, force: true });
    });

    it("what the program no longer declares is deleted at the end, dependents first", async () => {
        const gone = await up({ "redis-tls:present": "false" });
        ok(gone);
        assert.deepEqual(steps(gone), ["data delete", "net delete", "redis delete"]);
        assert.equal((await engine.docker(["ps", "-aq"])).stdout.trim(), "");
        assert.equal((await engine.docker(["volume", "ls", "-q"])).stdout.trim(), "");
        assert.equal((await engine.docker(["network", "ls", "-q", "--filter", "type=custom"])).stdout.trim(), "");
    });
});
