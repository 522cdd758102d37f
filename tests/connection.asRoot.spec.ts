import { strict as assert } from "node:assert";
import { asRoot } from "../components";
import { run } from "./support/run";

// The provider hands `create` to the login shell; on Debian that may be dash.
describe("host scripts reach bash intact through the login shell", () => {
    const script = `set -euo pipefail
word='it'"'"'s' dollar='$HOME'
printf '%s|%s|' "$word" "$dollar"
tr a-z A-Z`;

    for (const shell of ["/bin/sh", "/bin/bash"]) {
        it(`${shell}: quotes, dollars and pipefail survive, and stdin still carries the data`, async () => {
            const r = await run(shell, ["-c", asRoot(script, "root")], { stdin: "secret-data\n" });
            assert.equal(r.stderr, "");
            assert.equal(r.stdout, "it's|$HOME|SECRET-DATA\n");
        });
    }

    it("a failing step fails the command", async () => {
        const r = await run("/bin/sh", ["-c", asRoot("set -euo pipefail\nfalse | cat\necho unreachable", "root")]);
        assert.notEqual(r.code, 0);
        assert.equal(r.stdout, "");
    });
});
