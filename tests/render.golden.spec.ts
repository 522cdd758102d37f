import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { CONF_FILES, DOCKERFILES, HOST_SCRIPTS, LOCAL_COMMANDS, UNIT_FILES } from "./support/renderedScripts";

// Rendered files are pinned: a change to what reaches a host shows up as a diff of tests/golden/.
// Regenerate deliberately with UPDATE_GOLDEN=1 npm test, then review the diff.
const GOLDEN = path.join(__dirname, "golden");

describe("rendered redis.conf drop-ins, host scripts, local commands, Dockerfiles and systemd units match their golden files", () => {
    for (const [name, text] of Object.entries({ ...CONF_FILES, ...HOST_SCRIPTS, ...LOCAL_COMMANDS, ...DOCKERFILES, ...UNIT_FILES })) {
        it(name, () => {
            const file = path.join(GOLDEN, name);
            if (process.env.UPDATE_GOLDEN === "1") fs.writeFileSync(file, text);
            assert.equal(text, fs.readFileSync(file, "utf8"));
        });
    }
});
