import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderInstallConfScript, renderKeyAndCsrScript } from "../components";
import { check, run, runScript } from "./support/run";
import { LocalRedis } from "./support/localRedis";

// The redis user owns Debian's /etc/redis and everything Redis can write. As that user (runuser on
// this machine, which has Debian's redis account), plant what used to turn root's scripts into a
// copy of the key or an overwrite of another file, and show the scripts now give nothing.
describe("the redis user gets nothing from root's host scripts (real files, as the redis user)", function () {
    this.timeout(60_000);
    let local: LocalRedis;
    let redisDir: string;
    let canary: string;
    const asRedis = (command: string) => run("runuser", ["-u", "redis", "--", "sh", "-c", command]);
    const canaryState = async () => (await check("stat", ["-c", "%U:%G %a %s", canary])) + fs.readFileSync(canary, "utf8");

    before(async () => {
        local = await LocalRedis.start();
        redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "etc-redis-"));
        await check("chown", ["redis:redis", redisDir]);
        fs.chmodSync(redisDir, 0o2770);
        canary = path.join(local.dir, "root-secret");
        fs.writeFileSync(canary, "root only\n", { mode: 0o600 });
    });
    after(async () => {
        await local?.stop();
        fs.rmSync(redisDir, { recursive: true, force: true });
    });

    it("refuses a TLS directory inside a directory the redis user can write, whatever is planted there", async () => {
        const tlsDir = path.join(redisDir, "tls");
        // The old layout's predictable names, as links to a root-only file.
        for (const name of ["tls", "tls/redis.key", "tls/redis.key.pending", "tls/redis.crt.tmp"]) {
            await asRedis(`mkdir -p ${redisDir}/tls && ln -sfn ${canary} ${redisDir}/${name} 2>/dev/null || true`);
        }
        const before = await canaryState();
        const scripts = [
            renderKeyAndCsrScript({ tlsDir, group: "redis", keyAlgorithm: "ECDSA_P256", commonName: "r.test", dnsNames: ["r.test"], ipAddresses: [], encryptKey: false }),
            renderInstallConfScript({ tlsDir, group: "redis", redisConfPath: path.join(redisDir, "redis.conf"), serviceName: "redis-server", adminUser: "a", reloadUser: "r", server: "redis-server", cli: "redis-cli" }),
        ];
        for (const script of scripts) {
            const r = await runScript(script, "port 0\n");
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, new RegExp(`${redisDir} is owned by uid \\d+ with mode 2770, so another user could swap what root writes there`));
        }
        assert.equal(await canaryState(), before);
        assert.equal((await check("find", [redisDir, "-user", "root"])).trim(), "");
    });

    it("cannot change anything root wrote in the TLS directory, nor read its secrets", async () => {
        const tries = [
            `touch ${local.files.tlsDir}/x`,
            `ln -s ${canary} ${local.files.tlsDir}/live.new`,
            `mv ${local.files.live} ${local.files.tlsDir}/old`,
            `echo x >> ${local.files.keyPath}`,
            `touch ${path.dirname(fs.realpathSync(local.files.keyPath))}/redis.key.tmp`,
            `cat ${local.files.adminPass}`,
            `cat ${local.files.reloadPass}`,
            `ls ${local.files.tlsDir}/pending`,
        ];
        for (const attempt of tries) {
            const r = await asRedis(attempt);
            assert.notEqual(r.code, 0, attempt);
            assert.match(r.stderr, /Permission denied/, attempt);
        }
        // Redis itself (the redis group) may read what it serves.
        assert.equal((await asRedis(`head -c 10 ${local.files.keyPath}`)).code, 0);
    });

    it("an install after the attempts serves a new certificate and leaves every other file alone", async () => {
        const before = await canaryState();
        const r = await local.install(await local.issue());
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await canaryState(), before);
        assert.equal((await check("find", [local.files.tlsDir, "-not", "-user", "root"])).trim(), "");
    });
});
