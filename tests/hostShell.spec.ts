import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { encodeSections, shellLib, shellQuote } from "../components";
import { check, run, runScript } from "./support/run";

// The bash functions every host script shares, run for real: as root for the scripts, and as the
// machine's redis user for the attacker.
describe("the host scripts' shell library (real bash, real users)", function () {
    this.timeout(60_000);
    let dir: string;
    const sh = (body: string, stdin?: string) => runScript(`set -euo pipefail\n${shellLib("root_dir", "read_sections", "put", "own")}${body}`, stdin);
    const mode = (p: string) => check("stat", ["-c", "%U:%G %a", p]).then((s) => s.trim());
    const asRedis = (command: string) => run("runuser", ["-u", "redis", "--", "sh", "-c", command]);

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-shell-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("root_dir makes redis-tls's own directory with its group and mode, sets them again, and refuses it once others could write it", async () => {
        const own = path.join(dir, "a/b");
        assert.equal((await sh(`root_dir ${shellQuote(own)} redis 750`)).code, 0);
        assert.deepEqual([await mode(path.join(dir, "a")), await mode(own)], ["root:root 755", "root:redis 750"]);
        fs.chmodSync(own, 0o700);
        assert.equal((await sh(`root_dir ${shellQuote(own)} redis 750`)).code, 0);
        assert.equal(await mode(own), "root:redis 750");
        // Writable by others, it may already hold their files: refused, not repaired.
        fs.chmodSync(own, 0o777);
        assert.match((await sh(`root_dir ${shellQuote(own)} redis 750`)).stderr, /mode 777, so another user could swap/);
    });

    it("root_dir keep makes what is missing and leaves an existing directory as it is", async () => {
        const existing = path.join(dir, "private");
        fs.mkdirSync(existing, { mode: 0o710 });
        await check("chgrp", ["redis", existing]);
        assert.equal((await sh(`root_dir ${shellQuote(existing)} keep`)).code, 0);
        assert.equal(await mode(existing), "root:redis 710");
        assert.equal((await sh(`root_dir ${shellQuote(path.join(dir, "new/one"))} keep`)).code, 0);
        assert.equal(await mode(path.join(dir, "new/one")), "root:root 755");
    });

    it("root_dir refuses a directory another user made or can write, and a link, anywhere on the path", async () => {
        // Under sticky /tmp the redis user makes the directory first and plants a password file.
        const planted = path.join(os.tmpdir(), `redis-tls-planted-${process.pid}`);
        assert.equal((await asRedis(`mkdir ${planted} && echo attacker > ${planted}/admin.pass`)).code, 0);
        try {
            const r = await sh(`root_dir ${shellQuote(planted)} redis 750`);
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, /is owned by uid \d+ with mode 755, so another user could swap/);
            assert.notEqual((await mode(planted)).split(":")[0], "root");
        } finally {
            fs.rmSync(planted, { recursive: true, force: true });
        }
        const open = path.join(dir, "open");
        fs.mkdirSync(open, { mode: 0o777 });
        fs.chmodSync(open, 0o777);
        assert.match((await sh(`root_dir ${shellQuote(path.join(open, "x"))} keep`)).stderr, /mode 777, so another user could swap/);
        fs.symlinkSync("/etc", path.join(dir, "link"));
        assert.match((await sh(`root_dir ${shellQuote(path.join(dir, "link/x"))} keep`)).stderr, /is not a directory \(missing, a link or a file\)/);
    });

    it("put replaces a file with one rename only when content, mode or owner differ", async () => {
        const src = path.join(dir, "src");
        const dest = path.join(dir, "dest");
        fs.writeFileSync(src, "one\n");
        const put = () => sh(`if put ${shellQuote(src)} ${shellQuote(dest)} 640 root:redis; then echo changed; else echo same; fi`);
        assert.equal((await put()).stdout.trim(), "changed");
        const inode = fs.statSync(dest).ino;
        assert.equal((await put()).stdout.trim(), "same");
        assert.equal(fs.statSync(dest).ino, inode);
        fs.chmodSync(dest, 0o644);
        assert.equal((await put()).stdout.trim(), "changed");
        assert.deepEqual([await mode(dest), fs.readFileSync(dest, "utf8")], ["root:redis 640", "one\n"]);
    });

    it("read_sections writes each value as data and refuses anything but 'name base64' lines", async () => {
        const value = "'$(touch /tmp/redis-tls-pwned)'\nREDIS_TLS_SCRIPT\n\0x";
        const r = await sh(`read_sections ${shellQuote(dir)}`, encodeSections({ "a-value": value }));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(dir, "a-value"), "utf8"), value);
        assert.equal(fs.existsSync("/tmp/redis-tls-pwned"), false);
        const bad = await sh(`read_sections ${shellQuote(dir)}`, "../escape AAAA\n");
        assert.notEqual(bad.code, 0);
        assert.equal(fs.existsSync(path.join(dir, "..", "escape")), false);
    });

    it("own and disown: a file's last owner is told so, an earlier one is not", async () => {
        const kind = `test-${process.pid}`;
        try {
            const r = await sh(`lock_owners; own ${kind} aaaa; own ${kind} bbbb; disown ${kind} aaaa; disown ${kind} bbbb; disown ${kind} cccc`);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(r.stdout.trim().split("\n"), ["kept", "last", "last"]);
        } finally {
            fs.rmSync(`/var/lib/redis-tls/owners/${kind}`, { recursive: true, force: true });
        }
    });
});
