// npm run bench:failover: a primary, two replicas and a sentinel beside each (the default program
// with redis-tls:sentinel), on real test hosts. Clients write in a loop while the primary's Redis is
// stopped, FAILOVERS times (each time the current primary): those that follow Sentinel over TLS
// against those pinned to the first primary's address. Prints failed and served requests, and the
// time from Redis's exit to the first write accepted after it, side by side. Needs root and the
// test tools (bash tests/install-deps.sh). Traffic: the test hosts only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import type { AppConnection } from "../components";
import { runProgram } from "../tests/harness/runProgram";
import { startHosts, TestHost } from "../tests/hosts";
import { IDENTITY_IMAGES } from "../tests/support/serverImages";

const FAILOVERS = Number(process.env.FAILOVERS ?? 3);
const CLIENTS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sh(host: TestHost, command: string): Promise<string> {
    const r = await host.exec(command, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${command}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
}

interface Load {
    mode: string;
    requests: number;
    failed: number;
    /** Writes accepted after the first stop. */
    acceptedAfter: number;
    /** Per failover: ms from the stop to this mode's first accepted write after it (Infinity: none). */
    recoveredMs: number[];
}

/** CLIENTS loops of SET, each request failing fast (no queue, one try), counted. */
function writeLoad(mode: string, make: () => Redis) {
    const clients = Array.from({ length: CLIENTS }, make);
    clients.forEach((c) => c.on("error", () => undefined));
    const load: Load = { mode, requests: 0, failed: 0, acceptedAfter: 0, recoveredMs: [] };
    let running = true;
    let lastOk = 0;
    let firstStop = Infinity;
    const loops = clients.map(async (c, i) => {
        let n = 0;
        while (running) {
            load.requests++;
            try {
                await c.set(`app:bench:${i}`, String(n++));
                lastOk = Date.now();
                if (lastOk > firstStop) load.acceptedAfter++;
            } catch {
                load.failed++;
                await sleep(5);
            }
        }
    });
    return {
        load,
        /** Resolves when a write is accepted after `since`, or after `ms`. */
        recovered: async (since: number, ms: number) => {
            firstStop = Math.min(firstStop, since);
            const end = since + ms;
            while (lastOk <= since && Date.now() < end) await sleep(20);
            load.recoveredMs.push(lastOk > since ? lastOk - since : Infinity);
        },
        stop: async () => {
            running = false;
            await Promise.all(loops);
            clients.forEach((c) => c.disconnect());
        },
    };
}

async function main(): Promise<void> {
    const image = IDENTITY_IMAGES[0];
    const names = ["fo0", "fo1", "fo2"];
    const fixture = await startHosts(names, image.spec);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-bench-"));
    try {
        const hosts = fixture.hosts;
        const up = await runProgram({
            program: path.join(__dirname, "..", "stack", "index.ts"),
            config: {
                "redis-tls:hosts": JSON.stringify(hosts.map((h, i) => ({ name: names[i], address: h.address, hostKey: h.hostKey, ipAddresses: [h.address], ...(i > 0 ? { replicaOf: names[0] } : {}) }))),
                "redis-tls:sentinel": "true",
                "redis-tls:sshPrivateKey": hosts[0].privateKeyPem,
            },
            secretKeys: ["redis-tls:sshPrivateKey"],
            stateDir,
            remoteEnvironment: "setenv",
        });
        if (!up.ok) throw new Error(up.error);
        const app = (up.outputs.apps as Record<string, AppConnection>).app;
        const tlsOpts = { ca: app.caPem, cert: app.certPem, key: app.keyPem };
        const login = { username: app.username, password: app.password, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false };
        const askSentinel = async (h: TestHost) => {
            const c = new Redis({ host: h.address, port: 26379, tls: tlsOpts, lazyConnect: true, retryStrategy: () => null });
            c.on("error", () => undefined);
            try {
                await c.connect();
                return ((await c.call("SENTINEL", "get-master-addr-by-name", "redis-tls")) as string[])[0];
            } finally {
                c.disconnect();
            }
        };
        // Every sentinel has found the others before the first failover.
        for (let t = 0; t < 100; t++) {
            const counts = await Promise.all(hosts.map(async (h) => sh(h, "grep -c '^sentinel known-sentinel' /var/lib/redis-tls-sentinel/sentinel.conf || true")));
            if (counts.every((c) => c === "2")) break;
            await sleep(200);
        }
        const viaSentinel = writeLoad("following Sentinel", () =>
            new Redis({ ...login, sentinels: hosts.map((h) => ({ host: h.address, port: 26379 })), name: "redis-tls", enableTLSForSentinelMode: true, sentinelTLS: tlsOpts, tls: tlsOpts, sentinelRetryStrategy: () => 50, retryStrategy: () => 50 }),
        );
        const pinned = writeLoad("pinned to the first primary", () => new Redis({ ...login, host: hosts[0].address, port: 6379, tls: tlsOpts, retryStrategy: () => 50 }));
        const server = `${image.flavor}-server`;
        for (let i = 0; i < FAILOVERS; i++) {
            await sleep(2000);
            const primaryAddress = await askSentinel(hosts[1]);
            const primary = hosts.find((h) => h.address === primaryAddress)!;
            await sh(primary, `systemctl stop ${server}`);
            // systemctl returns once Redis has exited: a write accepted from here on was accepted elsewhere.
            const stopped = Date.now();
            await Promise.all([viaSentinel.recovered(stopped, 90_000), pinned.recovered(stopped, 15_000)]);
            await sh(primary, `systemctl start ${server}`);
            // The old primary comes back as a replica of the new one before the next round.
            for (let t = 0; t < 300; t++) {
                const role = await sh(primary, `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) ${image.flavor}-cli -s /run/${image.flavor}/${server}.sock --user redis-tls-admin ROLE | head -1`).catch(() => "");
                if (role === "slave") break;
                await sleep(200);
            }
        }
        await Promise.all([viaSentinel.stop(), pinned.stop()]);
        const fmt = (ms: number[]) => ms.map((m) => (Number.isFinite(m) ? `${(m / 1000).toFixed(1)} s` : "never")).join(", ");
        console.log(`\nfailover of the primary's ${image.label}, ${FAILOVERS} times, ${CLIENTS} writing clients each way, down-after 5000 ms (the default)\n`);
        console.log("| clients | requests | failed | accepted after the first stop | first accepted write after each stop (within 15 s for pinned) |");
        console.log("|---|---|---|---|---|");
        for (const l of [viaSentinel.load, pinned.load]) console.log(`| ${l.mode} | ${l.requests} | ${l.failed} | ${l.acceptedAfter} | ${fmt(l.recoveredMs)} |`);
    } finally {
        await fixture.stop();
        fs.rmSync(stateDir, { recursive: true, force: true });
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
});
