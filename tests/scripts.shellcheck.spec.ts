import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "./support/run";
import { DOCKERFILES, HOST_SCRIPTS, LOCAL_COMMANDS } from "./support/renderedScripts";

const ROOT = path.join(__dirname, "..");

/** The project's own shell files: .ci/run and every *.sh outside node_modules. */
function repoShellFiles(): string[] {
    const found: string[] = [path.join(ROOT, ".ci", "run")];
    const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            if (e.name === "node_modules" || e.name === ".git" || e.name === "golden") continue;
            const p = path.join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(".sh")) found.push(p);
        }
    };
    walk(ROOT);
    return found;
}

describe("shellcheck passes on every script", () => {
    for (const [name, script] of Object.entries(HOST_SCRIPTS)) {
        it(`host script ${name}`, async () => {
            const r = await run("shellcheck", ["--shell=bash", "--severity=style", "-"], { stdin: script });
            assert.equal(r.code, 0, r.stdout + r.stderr);
        });
    }
    for (const [name, script] of Object.entries(LOCAL_COMMANDS)) {
        it(`local command ${name}`, async () => {
            const r = await run("shellcheck", ["--shell=sh", "--severity=style", "-"], { stdin: script });
            assert.equal(r.code, 0, r.stdout + r.stderr);
        });
    }
    // Docker runs each RUN line with /bin/sh -c (dash, ash or bash, by family): POSIX sh, with the build args set.
    for (const [name, dockerfile] of Object.entries(DOCKERFILES)) {
        it(`RUN lines of ${name}`, async () => {
            const runs = dockerfile.split("\n").filter((l) => l.startsWith("RUN ")).map((l) => l.slice(4));
            assert.ok(runs.length > 0);
            const args = dockerfile.split("\n").filter((l) => l.startsWith("ARG ")).map((l) => `export ${l.slice(4)}=x`);
            const r = await run("shellcheck", ["--shell=sh", "--severity=style", "-"], { stdin: [...args, ...runs].join("\n") + "\n" });
            assert.equal(r.code, 0, r.stdout + r.stderr);
        });
    }
    for (const file of repoShellFiles()) {
        it(path.relative(ROOT, file), async () => {
            const r = await run("shellcheck", ["--severity=style", "-x", file]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
        });
    }
});
