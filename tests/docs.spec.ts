import { strict as assert } from "node:assert";
import { run } from "./support/run";

// The API reference (`npm run docs`, TypeDoc over the library's JSDoc) builds with no warning:
// treatWarningsAsErrors, and every {@link} resolves.
describe("the API reference", function () {
    this.timeout(120_000);
    it("builds from the JSDoc without a warning", async () => {
        const r = await run("npx", ["typedoc", "--emit", "none"], { timeoutMs: 120_000 });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal((r.stdout + r.stderr).trim(), "", "no warnings");
    });
});
