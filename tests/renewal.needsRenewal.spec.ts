import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderNeedsRenewal, renewalFraction } from "../components";
import { check, run } from "./support/run";

// The ExecCondition of cert-renewer@.service, run for real against certificates openssl makes with
// known lifetimes: exit 0 means renew now, exit 1 means skip this run.
describe("needs-renewal decides when a host renews: at a given percentage of the lifetime (smallstep's two thirds), or at the host's own point", () => {
    let dir: string;
    let script: string;

    /** A self-signed certificate whose lifetime started `agoDays` ago and lasts `days` (`openssl ca` sets exact dates). */
    async function cert(name: string, agoDays: number, days: number): Promise<string> {
        const p = (ext: string) => path.join(dir, `${name}.${ext}`);
        const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
        await check("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("key")]);
        await check("openssl", ["req", "-new", "-key", p("key"), "-subj", `/CN=${name}`, "-out", p("csr")]);
        fs.writeFileSync(path.join(dir, "ca.cnf"), `[ca]\ndefault_ca=d\n[d]\ndatabase=${dir}/index.txt\nserial=${dir}/serial\nnew_certs_dir=${dir}\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`);
        fs.writeFileSync(path.join(dir, "index.txt"), "");
        fs.writeFileSync(path.join(dir, "serial"), "1000\n");
        await check("openssl", ["ca", "-batch", "-config", path.join(dir, "ca.cnf"), "-selfsign", "-keyfile", p("key"), "-in", p("csr"),
            "-startdate", day(-agoDays), "-enddate", day(days - agoDays), "-notext", "-out", p("crt")]);
        return p("crt");
    }

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "needs-renewal-"));
        script = path.join(dir, "needs-renewal");
        fs.writeFileSync(script, renderNeedsRenewal(66), { mode: 0o755 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: Array<[string, number, number, number]> = [
        ["a fresh 30-day certificate is skipped", 1, 30, 1],
        ["at 60% of its life it is still skipped", 18, 30, 1],
        ["at 70% of its life it is renewed", 21, 30, 0],
        ["an expired certificate is renewed", 40, 30, 0],
    ];
    for (const [what, ago, days, code] of cases) {
        it(what, async () => {
            const r = await run(script, [await cert(what.replace(/\W+/g, "-"), ago, days)]);
            assert.equal(r.code, code, r.stdout + r.stderr);
        });
    }

    it("a missing or unreadable certificate is renewed", async () => {
        fs.writeFileSync(path.join(dir, "garbage.crt"), "not a certificate\n");
        assert.equal((await run(script, [path.join(dir, "absent.crt")])).code, 0);
        assert.equal((await run(script, [path.join(dir, "garbage.crt")])).code, 0);
    });

    describe("by default, at the host's own point of 34-90% of the lifetime, from its machine ID", () => {
        let spread: string;
        // Two machine IDs whose points lie far apart: one due early in the window, one late.
        const ids = Array.from({ length: 200 }, (_, i) => `${i.toString(16).padStart(32, "0")}`);
        const early = ids.find((id) => renewalFraction(id) < 0.4)!;
        const late = ids.find((id) => renewalFraction(id) > 0.85)!;
        const machine = (id: string) => {
            const file = path.join(dir, `machine-id-${id}`);
            fs.writeFileSync(file, `${id}\n`);
            return { env: { ...process.env, MACHINE_ID_FILE: file } };
        };
        before(() => {
            spread = path.join(dir, "needs-renewal-spread");
            fs.writeFileSync(spread, renderNeedsRenewal(), { mode: 0o755 });
        });

        it("two hosts with one certificate age decide differently, each as renewalFraction says", async () => {
            // 60% of a 30-day life: past the early host's point, before the late host's.
            const crt = await cert("spread-60", 18, 30);
            assert.equal((await run(spread, [crt], machine(early))).code, 0, `due at ${renewalFraction(early)}`);
            assert.equal((await run(spread, [crt], machine(late))).code, 1, `due at ${renewalFraction(late)}`);
        });

        it("the point is the one renewalFraction computes, to the day of a 100-day certificate", async () => {
            const at = Math.round(renewalFraction(late) * 100);
            assert.equal((await run(spread, [await cert("spread-before", at - 1, 100)], machine(late))).code, 1);
            assert.equal((await run(spread, [await cert("spread-after", at + 1, 100)], machine(late))).code, 0);
        });

        it("no host renews before 34% or waits past 90%, and RENEW_AFTER_PERCENT still forces a point", async () => {
            for (const id of ids) assert.ok(renewalFraction(id) >= 0.34 && renewalFraction(id) < 0.9, id);
            assert.equal((await run(spread, [await cert("spread-fresh", 10, 30)], machine(early))).code, 1, "33% of the life is before every host's point");
            assert.equal((await run(spread, [await cert("spread-old", 27, 30)], machine(late))).code, 0, "90% of the life is past every host's point");
            const fresh = await cert("spread-forced", 1, 30);
            assert.equal((await run(spread, [fresh], { env: { ...machine(late).env, RENEW_AFTER_PERCENT: "0" } })).code, 0);
        });
    });

    it("RENEW_AFTER_PERCENT from the unit's environment overrides the rendered percentage", async () => {
        const fresh = await cert("fresh", 1, 30);
        assert.equal((await run(script, [fresh], { env: { ...process.env, RENEW_AFTER_PERCENT: "0" } })).code, 0);
        assert.equal((await run(script, [fresh], { env: { ...process.env, RENEW_AFTER_PERCENT: "66" } })).code, 1);
    });
});
