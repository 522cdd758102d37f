import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { check } from "./support/run";

// The package as a new user gets it: packed from a clean checkout (every file git tracks or would
// track, nothing built, no node_modules), then installed into a fresh project, from the tarball and
// from git. The consumer (tests/package/consumer) type-checks against the shipped declarations and
// constructs every component under mocks.
const ROOT = path.join(__dirname, "..");
const CONSUMER = path.join(__dirname, "package", "consumer");
const NPM = "npm --prefer-offline --no-audit --no-fund --loglevel=error";
const sh = (dir: string, script: string) => check("bash", ["-c", `set -euo pipefail; cd ${JSON.stringify(dir)}; ${script}`], { timeoutMs: 300_000 });

describe("the npm package, from a clean checkout", function () {
    this.timeout(600_000);
    let work: string;
    let tarball: string;
    const components = getPulumiComponents(require(path.join(ROOT, "index.ts"))).map((c) => c.name).sort();

    before(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-package-"));
        const src = path.join(work, "src");
        fs.mkdirSync(src);
        // What a clone of this tree holds: tracked files and new ones git does not ignore.
        await sh(ROOT, `git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && cp --parents -- "$f" ${JSON.stringify(src)}/; done`);
        await sh(src, `git init -q && git add -A && git -c user.email=ci@redis-tls -c user.name=ci commit -qm checkout`);
        await sh(src, `${NPM} ci`);
        tarball = path.join(work, (await sh(src, `${NPM} pack --pack-destination ${JSON.stringify(work)} 2>/dev/null | tail -1`)).trim());
    });
    after(() => work && fs.rmSync(work, { recursive: true, force: true }));

    it("ships the built library with its declarations, and no tests, benches, stack program or sources", async () => {
        const files = (await check("tar", ["tzf", tarball])).split("\n").filter((f) => f !== "" && !f.endsWith("/"));
        for (const f of ["package/bin/index.js", "package/bin/index.d.ts", "package/bin/components/index.d.ts", "package/package.json", "package/README.md"]) {
            assert.ok(files.includes(f), `${f} in the package`);
        }
        assert.deepEqual(files.filter((f) => /^package\/(tests|bench|stack)\//.test(f) || /(?<!\.d)\.ts$/.test(f) || /Pulumi(Plugin)?\.yaml$/.test(f)), []);
        const pkg = JSON.parse(await check("tar", ["xzOf", tarball, "package/package.json"]));
        assert.equal(pkg.main, "bin/index.js");
        assert.equal(pkg.types, "bin/index.d.ts");
    });

    for (const from of ["the tarball", "git"] as const) {
        it(`installed from ${from} into a fresh project: it type-checks and constructs every component under mocks`, async () => {
            const project = path.join(work, from === "git" ? "from-git" : "from-tarball");
            fs.mkdirSync(project);
            fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
            for (const f of ["index.ts", "tsconfig.json"]) fs.copyFileSync(path.join(CONSUMER, f), path.join(project, f));
            const spec = from === "git" ? `git+file://${path.join(work, "src")}` : tarball;
            await sh(project, `${NPM} install ${JSON.stringify(spec)} @types/node@^20.19.0 typescript@~5.9.3`);
            assert.ok(fs.existsSync(path.join(project, "node_modules/redis-tls/bin/index.js")), "built on install (prepare)");
            // The repository's mocks, compiled into the project so they share its @pulumi/pulumi.
            await sh(project, `${path.join(ROOT, "node_modules/.bin/tsc")} --outDir mocks --rootDir ${path.join(ROOT, "tests")} --module commonjs --target ES2022 --esModuleInterop --skipLibCheck --types node --typeRoots node_modules/@types ${path.join(ROOT, "tests/support/mocks.ts")}`);
            // The project's own TypeScript, against the shipped .d.ts files (skipLibCheck off).
            await sh(project, "node_modules/.bin/tsc -p .");
            const out = JSON.parse((await sh(project, "node index.js")).trim().split("\n").pop()!);
            assert.deepEqual(out.exported, components);
            assert.deepEqual(out.constructed, components);
            const usage = await check("bash", ["-c", `cd ${JSON.stringify(project)} && npx --no-install redis-tls check; echo "exit $?"`]);
            assert.match(usage, /exit 2$/m, "npx redis-tls is the package's check command");
            for (const r of ["command:remote:Command redis-1-cert-csr", "command:remote:Command redis-1-config-install", "tls:index/locallySignedCert:LocallySignedCert cert-2-signed",
                "command:local:Command orders-password", "command:remote:Command step-4-sign", "command:remote:Command trust-app-1",
                "docker:index/container:Container local", "command:local:Command local-reload", "docker:index/image:Image app-image-image"]) {
                assert.ok(out.resources.includes(r), `${r} registered`);
            }
        });
    }
});
