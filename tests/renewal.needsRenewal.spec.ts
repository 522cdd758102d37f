import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderNeedsRenewal } from "../components";
import { check, run } from "./support/run";

// The ExecCondition of cert-renewer@.service, run for real against certificates openssl makes with
// known lifetimes: exit 0 means renew now, exit 1 means skip this run.
describe("needs-renewal decides like smallstep's renewer: after two thirds of the lifetime", () => {
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

    it("RENEW_AFTER_PERCENT from the unit's environment overrides the rendered percentage", async () => {
        const fresh = await cert("fresh", 1, 30);
        assert.equal((await run(script, [fresh], { env: { ...process.env, RENEW_AFTER_PERCENT: "0" } })).code, 0);
        assert.equal((await run(script, [fresh], { env: { ...process.env, RENEW_AFTER_PERCENT: "66" } })).code, 1);
    });
});
