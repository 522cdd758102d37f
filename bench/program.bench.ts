// npm run bench: evaluates the default program under mocks for 1, 10, 100 and 1000 hosts, each in a
// fresh process, and prints wall time and peak resident memory side by side.
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const COUNTS = [1, 10, 100, 1000];
const rows = COUNTS.map((n) => {
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "evaluateProgram.ts"), String(n)], {
        encoding: "utf8",
        maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(out.trim().split("\n").pop()!) as { hosts: number; resources: number; ms: number; peakRssMiB: number };
});

console.log("hosts  resources  evaluate (ms)  peak RSS (MiB)");
for (const r of rows) {
    console.log(`${String(r.hosts).padStart(5)}  ${String(r.resources).padStart(9)}  ${r.ms.toFixed(0).padStart(13)}  ${r.peakRssMiB.toFixed(0).padStart(14)}`);
}
