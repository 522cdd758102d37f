// npm run bench:rotation: client load while a server's certificate is rotated N times, on two
// targets: a real test host (this project's hot reload, then the unmodified cert-renewer template,
// systemctl try-reload-or-restart, which restarts Redis), and a container on the run's own Docker
// engine (renewed by `pulumi up` a renewal slot later each time and hot-loaded, then restarted
// instead, which is what recreating it would cost at least). Prints failed requests and latency
// side by side. Needs root and the test tools (bash tests/install-deps.sh). Traffic: the test host
// and loopback only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import Redis from "ioredis";
import { startPebble } from "../tests/acme";
import { startDockerEngine } from "../tests/docker/engine";
import { runProgram } from "../tests/harness/runProgram";
import { DEFAULT_PACKAGES, startHosts, TestHost } from "../tests/hosts";
import { ensureStepBinaries } from "../tests/step/binaries";
import { clientCertFromRun } from "../tests/support/clientCert";
import { unitTimes } from "./unitTimes";

const ROTATIONS = Number(process.env.ROTATIONS ?? 20);
/** Which targets to run: any of acme, step, container. @default all */
const TARGETS = new Set((process.env.TARGETS ?? "acme,step,container").split(","));
const CLIENTS = 4;
const NAME = "bench.test";
const UNIT = "cert-renewer@redis-server.service";

interface Result {
    target: string;
    mode: string;
    rotations: number;
    requests: number;
    failed: number;
    p99Ms: number;
    worstMs: number;
    /** Per rotation: from the renewal's start to the new serial being served. */
    renewalMs: number[];
    failures: string[];
}

interface Rotations {
    changed: number;
    renewalMs: number[];
    /** Renewals that failed (the renewer or `pulumi up` exited non-zero), with why. */
    failures: string[];
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;

async function sh(host: TestHost, command: string): Promise<string> {
    const r = await host.exec(command, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${command}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
}

/** Runs CLIENTS sequential PING loops until `rotate` finishes; counts failures and times each request. */
async function underLoad(at: { target: string; address: string; port: number }, login: object, mode: string, rotate: () => Promise<Rotations>): Promise<Result> {
    // No offline queue and no retries: a request that cannot be served fails and is counted.
    const clients = Array.from({ length: CLIENTS }, () => {
        const c = new Redis({ host: at.address, port: at.port, ...login, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 20 });
        c.on("error", () => undefined);
        return c;
    });
    await Promise.all(clients.map((c) => new Promise((r) => c.once("ready", r))));
    const latencies: number[] = [];
    let failed = 0;
    let running = true;
    const loops = clients.map(async (c) => {
        while (running) {
            const t0 = process.hrtime.bigint();
            try {
                await c.ping();
            } catch {
                failed++;
                await new Promise((r) => setTimeout(r, 5));
            }
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
    });
    const { changed: rotations, renewalMs, failures } = await rotate();
    running = false;
    await Promise.all(loops);
    clients.forEach((c) => c.disconnect());
    latencies.sort((a, b) => a - b);
    return {
        target: at.target,
        mode,
        rotations,
        requests: latencies.length,
        failed,
        p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
        worstMs: latencies[latencies.length - 1] ?? 0,
        renewalMs,
        failures,
    };
}

/** The serial a TLS server serves now, read from this process (a few milliseconds on loopback or the test host). */
function servedSerial(address: string, port: number, tlsOpts: tls.ConnectionOptions): Promise<string> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ ...tlsOpts, host: address, port }, () => {
            const serial = socket.getPeerCertificate().serialNumber;
            socket.destroy();
            resolve(serial);
        });
        socket.setTimeout(2000, () => socket.destroy(new Error("timeout")));
        socket.on("error", reject);
    });
}

/** The served serial, waiting up to 10 s for a server that does not answer yet. */
async function servingSerial(serial: () => Promise<string>): Promise<string> {
    for (let t = 0; ; t++) {
        try {
            return await serial();
        } catch (e) {
            if (t >= 100) throw e;
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}

/**
 * Rotates by `step` ROTATIONS times. While each runs, `serial` is polled (every 10 ms, up to 10 s
 * after the step) until it changes. Returns how many changed, and for each the time from the
 * renewal's start to the new serial: the step's own start, or the start it returns (CLOCK_MONOTONIC
 * in ns, which the test hosts share with this process) when the renewer starts later than the step.
 */
function rotating(serial: () => Promise<string>, step: (i: number) => Promise<bigint | void>, why: () => Promise<string> = async () => ""): () => Promise<Rotations> {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    return async () => {
        const out: Rotations = { changed: 0, renewalMs: [], failures: [] };
        for (let i = 0; i < ROTATIONS; i++) {
            await sleep(1000);
            let before: string;
            try {
                before = await servingSerial(serial);
            } catch (e) {
                out.failures.push(`before rotation ${i + 1}, the server is not serving: ${e instanceof Error ? e.message : String(e)}\n${await why()}`);
                continue;
            }
            const t0 = process.hrtime.bigint();
            let servedAt: bigint | undefined;
            let deadline = Infinity;
            const poller = (async () => {
                while (servedAt === undefined && Date.now() < deadline) {
                    if ((await serial().catch(() => before)) !== before) servedAt = process.hrtime.bigint();
                    else await sleep(10);
                }
            })();
            let started = t0;
            try {
                started = (await step(i)) ?? t0;
            } catch (e) {
                // Counted, and the next rotation tries again, as the timer would.
                deadline = 0;
                await poller;
                out.failures.push(`rotation ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
                continue;
            }
            if (started < t0 || started > process.hrtime.bigint()) throw new Error(`the renewer's start (${started} ns) is not within its step: the host does not share this clock`);
            deadline = Date.now() + 10_000;
            await poller;
            if (servedAt !== undefined) {
                out.changed++;
                out.renewalMs.push(Number(servedAt - started) / 1e6);
            }
        }
        await sleep(1000);
        return out;
    };
}

/** The container target: the default program with no hosts, renewed by `pulumi up` one renewal slot later each time. */
async function containerTarget(work: string): Promise<Result[]> {
    const engine = await startDockerEngine();
    try {
        const image = await engine.importImage();
        const port = 16379;
        const stateDir = path.join(work, "container-state");
        const up = (clockOffsetMs = 0) =>
            runProgram({
                program: path.join(__dirname, "..", "stack", "index.ts"),
                stateDir,
                clockOffsetMs,
                config: { "docker:host": engine.host, "redis-tls:container": JSON.stringify({ image, publishPort: port }) },
            });
        const first = await up();
        if (!first.ok) throw new Error(first.error);
        const app = (first.outputs.apps as Record<string, any>).app;
        const tlsOpts = { ca: first.outputs.rootCertPem as string, servername: "localhost", cert: app.certPem, key: app.keyPem };
        // The application may not run INFO, which ioredis's ready check sends.
        const login = { username: app.username, password: app.password, tls: tlsOpts, enableReadyCheck: false };
        const serial = () => servedSerial("127.0.0.1", port, tlsOpts);
        // 480 h: the default 720 h certificate's renewal slot.
        const slot = 480 * 3_600_000;
        const containerId = (first.resources.find((r) => r.type === "docker:index/container:Container")!.outputs as { name: string }).name;
        const at = { target: "container", address: "127.0.0.1", port };
        const ours = await underLoad(at, login, "redis-tls hot reload", rotating(serial, async (i) => {
            const r = await up((i + 1) * slot + 3_600_000);
            if (!r.ok) throw new Error(r.error);
        }));
        const restart = await underLoad(at, login, "restart (recreation)", rotating(serial, async () => {
            // The other of the last two generations made live, loaded only by the restart, as a recreated container would.
            const swap = "cd /etc/redis-tls && p=$(readlink previous) && l=$(readlink live) && ln -sfn \"$p\" live.new && mv -fT live.new live && ln -sfn \"$l\" previous.new && mv -fT previous.new previous";
            const r = await engine.docker(["exec", "-u", "0", containerId, "bash", "-c", swap]);
            if (r.code !== 0) throw new Error(r.stderr);
            const restarted = await engine.docker(["restart", "-t", "1", containerId]);
            if (restarted.code !== 0) throw new Error(restarted.stderr);
        }));
        return [ours, restart];
    } finally {
        await engine.stop();
    }
}

/** Host renewals whose renewer ran over 3 s, with the host's journal of it. */
const slow: string[] = [];

/**
 * A test host renewed on itself: `pulumi up` of the default program with `config`, then ROTATIONS
 * starts of the renewer (due at once), with this project's hot reload, then with the template's
 * restart instead.
 */
async function hostTarget(target: string, host: TestHost, work: string, config: Record<string, string>, serverCa: () => Promise<string>): Promise<Result[]> {
    const up = await runProgram({
        program: path.join(__dirname, "..", "stack", "index.ts"),
        stateDir: path.join(work, `state-${host.name}`),
        remoteEnvironment: "setenv",
        secretKeys: ["redis-tls:sshPrivateKey"],
        config: {
            "redis-tls:hosts": JSON.stringify([{ name: host.name, address: host.address, hostKey: host.hostKey, dnsNames: [NAME] }]),
            "redis-tls:sshPrivateKey": host.privateKeyPem,
            ...config,
        },
    });
    if (!up.ok) throw new Error(up.error);
    // A client certificate from the project's CA, and the admin's login: a certificate alone gets NOAUTH.
    const login = {
        username: "redis-tls-admin",
        password: await sh(host, "cat /etc/redis-tls/admin.pass"),
        tls: { ca: await serverCa(), servername: NAME, ...(await clientCertFromRun(up, host, "bench")) },
    };
    // Every start renews; the timer stays out of the way.
    await sh(host, `systemctl stop cert-renewer@redis-server.timer && mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nEnvironment=RENEW_AFTER_PERCENT=0\\n' > /etc/systemd/system/${UNIT}.d/zz-bench.conf && systemctl daemon-reload`);
    const at = { target, address: host.address, port: 6379 };
    const serial = () => servedSerial(host.address, 6379, login.tls);
    const renew = async () => {
        const since = (await sh(host, "date +%s.%N")).trim();
        const r = await host.exec(`systemctl start ${UNIT}`, { timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error((await host.exec(`journalctl -q -o cat -u ${UNIT} --since @${since} | tail -n 8`)).stdout.trim());
        // The renewer's own start (its ExecCondition), not the SSH session's that asked for it.
        const t = await unitTimes(host, UNIT, ["InactiveExitTimestampMonotonic", "InactiveEnterTimestampMonotonic"]);
        const [began, ended] = [t.InactiveExitTimestampMonotonic, t.InactiveEnterTimestampMonotonic];
        if (ended - began > 3_000_000n) slow.push(`${target}: the renewer took ${(Number(ended - began) / 1e6).toFixed(1)} s:\n${(await sh(host, `journalctl -q -o short-precise --since @${since} | grep -v sshd`)).replace(/^/gm, "  ")}`);
        return began * 1000n;
    };
    const why = async () => (await host.exec("journalctl -q -o short-precise -n 12")).stdout.trim();
    const ours = await underLoad(at, login, "redis-tls hot reload", rotating(serial, renew, why));
    // The seed's behaviour: the template's ExecStartPost, no override of it. Rotating every few
    // seconds, its restarts would meet systemd's start limit (5 in 10 s), which renewals days apart
    // never do: the count is reset before each.
    await sh(host, `sed -i '/^ExecStartPost/d' /etc/systemd/system/${UNIT}.d/override.conf && systemctl daemon-reload`);
    const restartRenew = async () => {
        await sh(host, "systemctl reset-failed redis-server.service");
        return renew();
    };
    const seed = await underLoad(at, login, "template restart (seed)", rotating(serial, restartRenew, why));
    return [ours, seed];
}

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-bench-"));
    const binaries = await ensureStepBinaries();
    const files = [
        { source: binaries.step, path: "/usr/local/bin/step" },
        { source: binaries.stepCa, path: "/usr/local/bin/step-ca" },
    ];
    const fixture = await startHosts(["bench1", "bench2", "benchca"], { packages: [...DEFAULT_PACKAGES, "lego", "python3-redis"], files });
    const [acmeHost, stepHost, ca] = fixture.hosts;
    const pebble = await startPebble({ listenAddress: acmeHost.gateway, workDir: path.join(work, "pebble") });
    try {
        const acme = !TARGETS.has("acme") ? [] : await hostTarget("host, ACME (lego, pebble)", acmeHost, work, {
            "redis-tls:acme": JSON.stringify({ directoryUrl: pebble.directoryUrl, email: "ops@example.test", rootCertPem: await pebble.rootPem(), serverCaPem: pebble.tlsCaPem, httpPort: 5002 }),
        }, () => pebble.rootPem());
        const step = !TARGETS.has("step") ? [] : await hostTarget("host, step-ca (step ca renew)", stepHost, work, {
            "redis-tls:stepCa": JSON.stringify({ address: ca.address, hostKey: ca.hostKey, ipAddresses: [ca.address] }),
        }, () => sh(ca, "cat /etc/step-ca/certs/root_ca.crt"));
        const container = TARGETS.has("container") ? await containerTarget(work) : [];

        console.log(`${CLIENTS} clients sending PING back to back over TLS; ${ROTATIONS} rotations each.`);
        console.log("Renewal: from the renewer's start (host: its cert-renewer unit's start, as systemd times it; container: pulumi up) to the new serial served, polled every 10 ms.\n");
        console.log("| target | mode | rotations (served / failed) | requests | failed | PING p99 (ms) | PING worst (ms) | renewal p50 (ms) | renewal p99 (ms) | renewal worst (ms) |");
        console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (const r of [...acme, ...step, ...container]) {
            const renewal = [...r.renewalMs].sort((a, b) => a - b);
            const f = (v: number) => (Number.isNaN(v) ? "-" : v.toFixed(0));
            console.log(
                `| ${r.target} | ${r.mode} | ${r.rotations} / ${r.failures.length} | ${r.requests} | ${r.failed} | ${r.p99Ms.toFixed(1)} | ${r.worstMs.toFixed(1)} | ${f(quantile(renewal, 0.5))} | ${f(quantile(renewal, 0.99))} | ${f(renewal[renewal.length - 1] ?? NaN)} |`,
            );
        }
        const failures = [...acme, ...step, ...container].flatMap((r) => r.failures.map((m) => `- ${r.target}, ${r.mode}, ${m.replace(/\n/g, "\n  ")}`));
        if (failures.length > 0) console.log(`\nFailed renewals:\n${failures.join("\n")}`);
        if (slow.length > 0) console.log(`\nSlow renewals:\n${slow.join("\n")}`);
    } finally {
        await pebble.stop();
        await fixture.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
