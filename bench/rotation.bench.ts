// npm run bench:rotation: client load against a real test host while its certificate is rotated N
// times, once with this project's hot reload and once with the unmodified cert-renewer template
// (systemctl try-reload-or-restart, which restarts Redis). Prints failed requests and latency side
// by side. Needs root and the test tools (bash tests/install-deps.sh). Traffic: the test host only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { startPebble } from "../tests/acme";
import { runProgram } from "../tests/harness/runProgram";
import { DEFAULT_PACKAGES, startHosts, TestHost } from "../tests/hosts";
import { clientCertFromRun } from "../tests/support/clientCert";

const ROTATIONS = Number(process.env.ROTATIONS ?? 5);
const CLIENTS = 4;
const NAME = "bench1.test";
const UNIT = "cert-renewer@redis-server.service";

interface Result {
    mode: string;
    rotations: number;
    requests: number;
    failed: number;
    p99Ms: number;
    worstMs: number;
}

async function sh(host: TestHost, command: string): Promise<string> {
    const r = await host.exec(command, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`${command}: ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
}

/** Runs CLIENTS sequential PING loops until `rotate` finishes; counts failures and times each request. */
async function underLoad(host: TestHost, login: object, mode: string, rotate: () => Promise<number>): Promise<Result> {
    // No offline queue and no retries: a request that cannot be served fails and is counted.
    const clients = Array.from({ length: CLIENTS }, () => {
        const c = new Redis({ host: host.address, port: 6379, ...login, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 20 });
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
    const rotations = await rotate();
    running = false;
    await Promise.all(loops);
    clients.forEach((c) => c.disconnect());
    latencies.sort((a, b) => a - b);
    return {
        mode,
        rotations,
        requests: latencies.length,
        failed,
        p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
        worstMs: latencies[latencies.length - 1] ?? 0,
    };
}

/** Rotates the certificate ROTATIONS times through the renewer unit; returns how many new serials Redis served. */
function rotator(host: TestHost): () => Promise<number> {
    const serial = () => sh(host, `openssl s_client -connect 127.0.0.1:6379 -servername ${NAME} </dev/null 2>/dev/null | openssl x509 -noout -serial`);
    return async () => {
        let changed = 0;
        for (let i = 0; i < ROTATIONS; i++) {
            await new Promise((r) => setTimeout(r, 1000));
            const before = await serial();
            await sh(host, `systemctl start ${UNIT}`);
            // A restarted Redis needs a moment before it serves again.
            let after = before;
            for (let t = 0; t < 50 && after === before; t++) {
                after = await serial().catch(() => before);
                if (after === before) await new Promise((r) => setTimeout(r, 100));
            }
            if (after !== before) changed++;
        }
        await new Promise((r) => setTimeout(r, 1000));
        return changed;
    };
}

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-bench-"));
    const fixture = await startHosts(["bench1"], { packages: [...DEFAULT_PACKAGES, "lego", "python3-redis"] });
    const host = fixture.hosts[0];
    const pebble = await startPebble({ listenAddress: host.gateway, workDir: path.join(work, "pebble") });
    try {
        const up = await runProgram({
            program: path.join(__dirname, "..", "stack", "index.ts"),
            stateDir: path.join(work, "state"),
            remoteEnvironment: "setenv",
            secretKeys: ["redis-tls:sshPrivateKey"],
            config: {
                "redis-tls:hosts": JSON.stringify([{ name: "bench1", address: host.address, hostKey: host.hostKey, dnsNames: [NAME] }]),
                "redis-tls:sshPrivateKey": host.privateKeyPem,
                "redis-tls:acme": JSON.stringify({ directoryUrl: pebble.directoryUrl, email: "ops@example.test", rootCertPem: await pebble.rootPem(), serverCaPem: pebble.tlsCaPem, httpPort: 5002 }),
            },
        });
        if (!up.ok) throw new Error(up.error);
        // A client certificate from the project's CA, and the admin's login: a certificate alone gets NOAUTH.
        const login = {
            username: "redis-tls-admin",
            password: await sh(host, "cat /etc/redis-tls/admin.pass"),
            tls: { ca: await pebble.rootPem(), servername: NAME, ...(await clientCertFromRun(up, host, "bench")) },
        };
        // Every start renews; the timer stays out of the way.
        await sh(host, `systemctl stop cert-renewer@redis-server.timer && mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nEnvironment=RENEW_AFTER_PERCENT=0\\n' > /etc/systemd/system/${UNIT}.d/zz-bench.conf && systemctl daemon-reload`);
        const ours = await underLoad(host, login, "redis-tls hot reload", rotator(host));
        // The seed's behaviour: the template's ExecStartPost, no override of it.
        await sh(host, `sed -i '/^ExecStartPost/d' /etc/systemd/system/${UNIT}.d/override.conf && systemctl daemon-reload`);
        const seed = await underLoad(host, login, "template restart (seed)", rotator(host));

        console.log(`${CLIENTS} clients sending PING back to back over TLS; ${ROTATIONS} rotations each`);
        console.log("mode                       rotations  requests  failed  p99 (ms)  worst (ms)");
        for (const r of [ours, seed]) {
            console.log(
                `${r.mode.padEnd(25)}  ${String(r.rotations).padStart(9)}  ${String(r.requests).padStart(8)}  ${String(r.failed).padStart(6)}  ${r.p99Ms.toFixed(1).padStart(8)}  ${r.worstMs.toFixed(1).padStart(10)}`,
            );
        }
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
