// npm run bench:fresh: how long a new host takes to serve verified TLS. `pulumi up` of the default
// program through the harness (every resource's real effect: SSH, openssl, systemd, Redis) against
// fresh test hosts (Redis installed as the package leaves it), first for one host, then for ten in
// one run, and then the first verified PING (CA, server name, the application's certificate and ACL
// login). Prints each phase: the program's startup, each step, the first PING. Needs root and the
// test tools (bash tests/install-deps.sh). Traffic: the test hosts only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { runProgram, RunResult } from "../tests/harness/runProgram";
import { PREFIX, startHosts, TestHost } from "../tests/hosts";
import { unitTimes } from "./unitTimes";

const FLEET = 10;

interface Measured {
    hosts: number;
    /** From spawning the run to its first resource reaching the harness: node, the SDK, the program. */
    startupMs: number;
    /** Each performed step, host names folded to <host>: when it started (from the spawn) and its duration, per host. */
    steps: Map<string, { startMs: number[]; durationMs: number[] }>;
    /** From the spawn to the run's end. */
    upMs: number;
    /** From the spawn to the last host's first verified PONG. */
    pongMs: number;
    /** Each host's first PING alone (after the run). */
    pingMs: number[];
    /** Each host's Redis restart (inside the config step): from its stop's start to active again, as systemd timed it. */
    restartMs: number[];
    /** CPU time the whole machine spent during the run (every host, ssh and the program), from /proc/stat. */
    cpuS: number;
    /** The part of it spent inside the test hosts (sshd, the scripts, systemd, Redis): on real hosts, their own CPUs. */
    hostCpuS: number;
}

/**
 * CPU seconds used so far inside every test host: each live process of the hosts' cgroups with what
 * it reaped, which covers every process since each host booted (a dead one's time is in its reaper's).
 */
function hostsCpuS(): number {
    let ticks = 0;
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"));
            if (!cgroup?.startsWith(`0::/${PREFIX}`) || cgroup.endsWith("/supervisor")) continue;
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
            // utime, stime, cutime, cstime: fields 14-17 of proc(5), 11-14 after the name and state.
            ticks += fields.slice(11, 15).map(Number).reduce((a, b) => a + b, 0);
        } catch {
            // gone meanwhile
        }
    }
    return ticks / 100;
}

/** Busy CPU seconds of the whole machine so far (user, nice, system, irq, softirq, steal). */
function busyCpuS(): number {
    const [, ...f] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = f.map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
}

async function restartMs(host: TestHost): Promise<number> {
    const t = await unitTimes(host, "redis-server", ["ActiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic"]);
    return Number(t.ActiveEnterTimestampMonotonic - t.ActiveExitTimestampMonotonic) / 1000;
}

async function ping(run: RunResult, host: string, serverName: string): Promise<number> {
    const app = (run.outputs.apps as Record<string, any>).app;
    const t0 = performance.now();
    const redis = new Redis({
        host, port: app.port, username: app.username, password: app.password, lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false,
        tls: { ca: app.caPem, cert: app.certPem, key: app.keyPem, servername: serverName },
    });
    try {
        await redis.connect();
        if ((await redis.ping()) !== "PONG") throw new Error(`${host}: no PONG`);
    } finally {
        redis.disconnect();
    }
    return performance.now() - t0;
}

async function freshUp(hosts: TestHost[], names: string[], work: string): Promise<Measured> {
    const stateDir = fs.mkdtempSync(path.join(work, "state-"));
    const cpu0 = busyCpuS();
    const hostCpu0 = hostsCpuS();
    const t0 = performance.timeOrigin + performance.now();
    const run = await runProgram({
        program: path.join(__dirname, "..", "stack", "index.ts"),
        stateDir,
        remoteEnvironment: "setenv",
        secretKeys: ["redis-tls:sshPrivateKey"],
        config: {
            "redis-tls:hosts": JSON.stringify(hosts.map((h, i) => ({ name: names[i], address: h.address, hostKey: h.hostKey, dnsNames: [`${names[i]}.test`] }))),
            "redis-tls:sshPrivateKey": hosts[0].privateKeyPem,
        },
    });
    const upMs = performance.timeOrigin + performance.now() - t0;
    const cpuS = busyCpuS() - cpu0;
    const hostCpuS = hostsCpuS() - hostCpu0;
    if (!run.ok) throw new Error(run.error);
    // Every host serves the same application user, each under its own name.
    const pingMs = await Promise.all(hosts.map((h, i) => ping(run, h.address, `${names[i]}.test`)));
    const pongMs = performance.timeOrigin + performance.now() - t0;
    const steps = new Map<string, { startMs: number[]; durationMs: number[] }>();
    const performed = run.resources.filter((r) => r.performed && r.startedMs !== undefined);
    for (const r of performed) {
        let key = `${r.type.split(":").pop()} ${r.name}`;
        for (const n of names) key = key.replace(new RegExp(`\\b${n}\\b`), "<host>");
        const s = steps.get(key) ?? { startMs: [], durationMs: [] };
        s.startMs.push(r.startedMs! - t0);
        s.durationMs.push(r.endedMs! - r.startedMs!);
        steps.set(key, s);
    }
    const startupMs = Math.min(...run.resources.map((r) => r.startedMs ?? Infinity)) - t0;
    return { hosts: hosts.length, startupMs, steps, upMs, pongMs, pingMs, restartMs: await Promise.all(hosts.map(restartMs)), cpuS, hostCpuS };
}

const f = (ms: number) => (ms / 1000).toFixed(2);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

function print(one: Measured, fleet: Measured): void {
    console.log("Seconds from spawning the run (node, the SDK, the program, then each step; a step starts when its inputs are known).");
    console.log(`Steps of ${fleet.hosts} hosts: median and slowest host.\n`);
    console.log(`| phase | 1 host: start | 1 host: takes | ${fleet.hosts} hosts: start (median / last) | ${fleet.hosts} hosts: takes (median / slowest) |`);
    console.log("|---|---:|---:|---:|---:|");
    console.log(`| startup (to the first resource) | 0.00 | ${f(one.startupMs)} | 0.00 | ${f(fleet.startupMs)} |`);
    const keys = [...new Set([...one.steps.keys(), ...fleet.steps.keys()])].sort((a, b) => median(one.steps.get(a)?.startMs ?? [0]) - median(one.steps.get(b)?.startMs ?? [0]));
    for (const k of keys) {
        const a = one.steps.get(k);
        const b = fleet.steps.get(k);
        const cell = (v: number[] | undefined, g: (x: number[]) => string) => (v === undefined ? "-" : g(v));
        console.log(
            `| ${k} | ${cell(a?.startMs, (v) => f(v[0]))} | ${cell(a?.durationMs, (v) => f(v[0]))} | ${cell(b?.startMs, (v) => `${f(median(v))} / ${f(Math.max(...v))}`)} | ${cell(b?.durationMs, (v) => `${f(median(v))} / ${f(Math.max(...v))}`)} |`,
        );
    }
    console.log(`| within config-install: Redis restart (systemd) | | ${f(one.restartMs[0])} | | ${f(median(fleet.restartMs))} / ${f(Math.max(...fleet.restartMs))} |`);
    console.log(`| up ends | | ${f(one.upMs)} | | ${f(fleet.upMs)} |`);
    console.log(`| first verified PING (after up) | | ${f(one.pingMs[0])} | | ${f(median(fleet.pingMs))} / ${f(Math.max(...fleet.pingMs))} |`);
    console.log(`| **fresh host to verified PONG** | | **${f(one.pongMs)}** | | **${f(fleet.pongMs)}** |`);
    console.log(`| machine CPU during up (s, of ${os.cpus().length} cores) | | ${one.cpuS.toFixed(2)} | | ${fleet.cpuS.toFixed(2)} |`);
    console.log(`| of which inside the hosts (their own CPUs on real hosts) | | ${one.hostCpuS.toFixed(2)} | | ${fleet.hostCpuS.toFixed(2)} |`);
    console.log(`\n${fleet.hosts} hosts / 1 host: ${(fleet.pongMs / one.pongMs).toFixed(2)} (goal: at most 2); 1 host: ${f(one.pongMs)} s (goal: at most 5).`);
}

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-bench-fresh-"));
    const names = Array.from({ length: FLEET + 1 }, (_, i) => `fresh${i}`);
    const fixture = await startHosts(names);
    try {
        const one = await freshUp(fixture.hosts.slice(0, 1), names.slice(0, 1), work);
        const fleet = await freshUp(fixture.hosts.slice(1), names.slice(1), work);
        print(one, fleet);
    } finally {
        await fixture.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
