// npm run bench: evaluates the default program under preview mocks for 1, 10, 100 and 1000 hosts,
// each in a fresh process, beside a bare program that declares as many resources (flat, one input
// each) in the same SDK, at once and a host's worth per turn, and prints wall time, peak resident
// memory and the ratios side by side; for 1000 hosts, also the default program with stack traces
// kept (REDIS_TLS_STACK_TRACES=1).
import { execFileSync } from "node:child_process";
import * as path from "node:path";

interface Row { hosts: number; mode: string; resources: number; ms: number; peakRssMiB: number }
const COUNTS = (process.env.HOSTS ?? "1,10,100,1000").split(",").map(Number);

function evaluate(args: string[], env: NodeJS.ProcessEnv = {}): Row {
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "evaluateProgram.ts"), ...args], {
        encoding: "utf8",
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, REDIS_TLS_STACK_TRACES: "", ...env },
    });
    return JSON.parse(out.trim().split("\n").pop()!) as Row;
}

console.log("bare: as many resources, one input each, declared at once; bare by host: the same, declared a host's worth per turn of the event loop, as the default program declares hosts.\n");
console.log("| hosts | resources | default (ms) | bare (ms) | default/bare | bare by host (ms) | default/bare by host | default RSS (MiB) | bare RSS (MiB) | bare by host RSS (MiB) |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const n of COUNTS) {
    const ours = evaluate([String(n), "default"]);
    const bare = evaluate([String(n), "bare", String(ours.resources)]);
    const turns = evaluate([String(n), "turns", String(ours.resources)]);
    const ms = (r: Row) => r.ms.toFixed(0);
    const mib = (r: Row) => r.peakRssMiB.toFixed(0);
    console.log(
        `| ${n} | ${ours.resources} | ${ms(ours)} | ${ms(bare)} | ${(ours.ms / bare.ms).toFixed(2)} | ${ms(turns)} | ${(ours.ms / turns.ms).toFixed(2)} | ${mib(ours)} | ${mib(bare)} | ${mib(turns)} |`,
    );
}
const last = COUNTS[COUNTS.length - 1];
const traced = evaluate([String(last), "default"], { REDIS_TLS_STACK_TRACES: "1" });
console.log(`\n${last} hosts with stack traces kept (REDIS_TLS_STACK_TRACES=1): ${traced.ms.toFixed(0)} ms, ${traced.peakRssMiB.toFixed(0)} MiB`);
