import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { check, run, runScript } from "./support/run";
import { LocalRedis, USERS } from "./support/localRedis";
import { ping, servedSerial } from "./support/tlsClient";

/**
 * Runs a script with bash and kills its whole process group with SIGKILL at its `step`-th command
 * (a DEBUG trap, inherited by functions and subshells): a dropped SSH session or a cancelled pipeline
 * at that exact point. Resolves whether it was killed.
 */
function runKilledAt(script: string, stdin: string, step: number): Promise<boolean> {
    const wrapped = `set -o functrace\n__n=0\ntrap '__n=$((__n + 1)); if [ "$__n" -ge ${step} ]; then kill -KILL 0; fi' DEBUG\n${script}`;
    // A killed script runs no EXIT trap, so its scratch directory goes in one removed here.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-killed-"));
    return new Promise<boolean>((resolve, reject) => {
        const child = spawn("/bin/bash", ["-c", wrapped], { detached: true, stdio: ["pipe", "ignore", "ignore"], env: { ...process.env, TMPDIR: tmp } });
        child.stdin.on("error", () => undefined);
        child.stdin.end(stdin);
        child.on("error", reject);
        child.on("exit", (code, signal) => resolve(signal === "SIGKILL" || code === 137));
    }).finally(() => fs.rmSync(tmp, { recursive: true, force: true }));
}

/** Every entry under `dir` with its type, mode, owner, link target and content hash. */
function snapshot(dir: string): string {
    const lines: string[] = [];
    const walk = (p: string) => {
        const st = fs.lstatSync(p);
        const what = st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : st.isFile() ? createHash("sha256").update(fs.readFileSync(p)).digest("hex") : "dir";
        lines.push(`${path.relative(dir, p)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
        if (st.isDirectory()) fs.readdirSync(p).sort().forEach((e) => walk(path.join(p, e)));
    };
    walk(dir);
    return lines.join("\n");
}

// The install switches the whole set (certificate, key, client CA) with one rename of the `live` link,
// so an install stopped anywhere leaves a complete, matching pair for the next start of Redis.
describe("faults during the install leave a valid, matching pair on disk (real redis-server)", function () {
    this.timeout(20 * 60_000);
    let local: LocalRedis;
    const conn = () => ({ ...local.conn(), auth: { user: USERS.admin, pass: local.pass("admin") } });
    /** The serial in `live`, after checking that its key matches its certificate. */
    const liveSerial = async () => {
        const certKey = await check("openssl", ["x509", "-in", local.files.certPath, "-noout", "-pubkey"]);
        const key = await check("openssl", ["pkey", "-in", local.files.keyPath, "-pubout"]);
        assert.equal(key, certKey, "live key and certificate do not match");
        return (await check("openssl", ["x509", "-in", local.files.certPath, "-noout", "-serial"])).trim().replace("serial=", "");
    };

    before(async () => {
        local = await LocalRedis.start();
    });
    after(() => local?.stop());

    it("killed at every step and then Redis restarted: it serves the old or the new certificate, whole, and the next run completes", async () => {
        let changedRuns = 0;
        let leaf = await local.issue();
        for (let step = 1; ; step++) {
            const before = { serial: await liveSerial(), files: snapshot(local.files.tlsDir) };
            const killed = await runKilledAt(local.installScript(), local.sections(leaf), step);
            if (killed && snapshot(local.files.tlsDir) === before.files) continue; // stopped before anything moved: the verified state as it was
            await local.restart();
            const after = await liveSerial();
            const newSerial = (await check("openssl", ["x509", "-noout", "-serial"], { stdin: leaf })).trim().replace("serial=", "");
            assert.ok([before.serial, newSerial].includes(after), `step ${step}: live serial ${after} is neither ${before.serial} nor ${newSerial}`);
            assert.equal(await servedSerial(conn()), after, `step ${step}`);
            assert.equal(await ping(conn()), "+PONG", `step ${step}`);
            if (!killed) break;
            changedRuns++;
            // The interrupted install runs again, as the next `pulumi up` would, and finishes.
            const again = await local.install(leaf);
            assert.equal(again.code, 0, `step ${step}: ${again.stderr}`);
            assert.equal(await liveSerial(), newSerial, `step ${step}`);
            leaf = await local.issue();
        }
        assert.ok(changedRuns > 20, `only ${changedRuns} interrupted runs changed the TLS directory`);
        const gens = fs.readdirSync(path.join(local.files.tlsDir, "gen"));
        assert.ok(gens.length <= 2, `old generations are not cleaned up: ${gens.join(" ")}`);
    });

    it("an install while another holds the TLS directory (the renewal timer during a pulumi up) waits for it, then completes", async () => {
        const before = await liveSerial();
        const leaf = await local.issue();
        // Another install in progress: it holds the lock until this test lets it go.
        const release = `${local.files.tlsDir}.release`;
        fs.rmSync(release, { force: true });
        const holder = spawn("flock", [`${local.files.tlsDir}/.install.lock`, "sh", "-c", `while [ ! -e ${release} ]; do sleep 0.1; done`], { stdio: "ignore" });
        try {
            await new Promise((r) => setTimeout(r, 300));
            const install = runScript(local.installScript(), local.sections(leaf));
            await new Promise((r) => setTimeout(r, 2000));
            assert.equal(await liveSerial(), before, "the install did not wait for the lock");
            fs.writeFileSync(release, "");
            const result = await install;
            assert.equal(result.code, 0, result.stderr);
            assert.notEqual(await liveSerial(), before);
            assert.equal(await servedSerial(conn()), await liveSerial());
        } finally {
            fs.writeFileSync(release, "");
            holder.kill();
            fs.rmSync(release, { force: true });
        }
    });

    it("a full disk fails the install before the switch: nothing half-written, the previous pair still served", async () => {
        const tls = local.files.tlsDir;
        await local.redis.stop();
        // The TLS directory on a 1 MiB tmpfs, with its contents, then filled up.
        await check("cp", ["-a", tls, `${tls}.bak`]);
        await check("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0750", "redis-tls-full", tls]);
        try {
            await check("cp", ["-a", `${tls}.bak/.`, tls]);
            await check("chown", ["root:redis", tls]);
            await local.startRedis();
            const leaf = await local.issue();
            const before = { serial: await liveSerial(), gens: fs.readdirSync(path.join(tls, "gen")).sort(), live: fs.readlinkSync(local.files.live) };
            await run("dd", ["if=/dev/zero", `of=${tls}/filler`, "bs=4k"]);
            const result = await local.install(leaf);
            assert.notEqual(result.code, 0);
            assert.match(result.stderr, /No space left on device/);
            assert.deepEqual(
                { serial: await liveSerial(), gens: fs.readdirSync(path.join(tls, "gen")).sort(), live: fs.readlinkSync(local.files.live) },
                before,
            );
            await local.restart();
            assert.equal(await servedSerial(conn()), before.serial);
            // With room again, the same install goes through.
            fs.rmSync(`${tls}/filler`);
            const retry = await runScript(local.installScript(), local.sections(leaf));
            assert.equal(retry.code, 0, retry.stderr);
            assert.notEqual(await liveSerial(), before.serial);
        } finally {
            await local.redis.stop();
            await run("umount", [tls]);
        }
    });
});
