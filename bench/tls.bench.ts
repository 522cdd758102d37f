// npm run bench:tls: what TLS costs a Redis server set up as the components set up a host (the
// host's key-and-CSR and install scripts, the rendered drop-in), on loopback: pipelined throughput
// over TLS and without it, server CPU per new connection (ECDSA P-256, the default, against
// RSA-2048; with client certificates, the default, and without; full handshakes against resumed
// sessions), and whether resumption survives a hot reload. Server CPU is read from the server's own
// threads (/proc/<pid>/task/*/schedstat), so a busy client does not change it. Needs redis-server,
// redis-benchmark and openssl (bash tests/install-deps.sh). Traffic: loopback only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import * as net from "node:net";
import { LocalRedis } from "../tests/support/localRedis";
import { run } from "../tests/support/run";

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 3000);
const REQUESTS = Number(process.env.REQUESTS ?? 2_000_000);
const IN_FLIGHT = 8;

/** Nanoseconds the process's threads have run so far. */
function serverCpuNs(pid: number): number {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
    }
    return ns;
}

interface Connect {
    port: number;
    /** TLS options; none for plaintext. */
    tls?: tls.ConnectionOptions;
}

/** One connection: handshake (resuming `session` if given), PING, QUIT. Resolves with whether the session was resumed and the session to resume next. */
function pingOnce(c: Connect, session?: Buffer): Promise<{ resumed: boolean; session?: Buffer }> {
    return new Promise((resolve, reject) => {
        let next: Buffer | undefined;
        let resumed = false;
        let reply = "";
        const socket: net.Socket = c.tls
            ? tls.connect({ ...c.tls, host: "127.0.0.1", port: c.port, session }, () => {
                  resumed = (socket as tls.TLSSocket).isSessionReused();
                  socket.write("PING\r\nQUIT\r\n");
              })
            : net.connect({ host: "127.0.0.1", port: c.port }, () => socket.write("PING\r\nQUIT\r\n"));
        // TLS 1.3 tickets arrive after the handshake; TLS 1.2 sessions are known at its end.
        if (c.tls) (socket as tls.TLSSocket).on("session", (s: Buffer) => (next = s));
        socket.on("data", (d) => (reply += d));
        socket.setTimeout(5000, () => socket.destroy(new Error("timeout")));
        socket.on("error", reject);
        socket.on("close", () => (reply.startsWith("+PONG") ? resolve({ resumed, session: next }) : reject(new Error(`no PONG: ${JSON.stringify(reply)}`))));
    });
}

interface PerConnection {
    label: string;
    connections: number;
    resumed: number;
    serverUs: number;
    perSecond: number;
}

/** CONNECTIONS connections, IN_FLIGHT at a time, each resuming the session its loop got last (when `resume`). */
async function perConnection(label: string, server: LocalRedis, c: Connect, resume: boolean): Promise<PerConnection> {
    // Warm up, and the first sessions to resume.
    const sessions: (Buffer | undefined)[] = await Promise.all(Array.from({ length: IN_FLIGHT }, async () => (await pingOnce(c)).session));
    let resumed = 0;
    let left = CONNECTIONS;
    const cpu0 = serverCpuNs(server.redis.pid);
    const t0 = performance.now();
    await Promise.all(
        sessions.map(async (_, i) => {
            while (left-- > 0) {
                const r = await pingOnce(c, resume ? sessions[i] : undefined);
                if (r.resumed) resumed++;
                if (r.session) sessions[i] = r.session;
            }
        }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { label, connections: CONNECTIONS, resumed, serverUs: (serverCpuNs(server.redis.pid) - cpu0) / 1000 / CONNECTIONS, perSecond: CONNECTIONS / seconds };
}

interface Throughput {
    label: string;
    rps: number;
    /** Requests per second of the server's own CPU time. */
    perServerCpuS: number;
    /** The server's CPU use during the run, of one core. */
    serverBusy: number;
}

/** redis-benchmark, two threads, 50 connections, 16 pipelined requests each: SET and GET. */
async function throughput(label: string, server: LocalRedis, port: number, tlsArgs: string[]): Promise<Throughput> {
    const args = ["-h", "127.0.0.1", "-p", String(port), ...tlsArgs, "--threads", "2", "-c", "50", "-P", "16", "-n", String(REQUESTS), "-t", "set,get", "-r", "100000", "--csv"];
    const cpu0 = serverCpuNs(server.redis.pid);
    const t0 = performance.now();
    const r = await run("redis-benchmark", args);
    const seconds = (performance.now() - t0) / 1000;
    const cpuS = (serverCpuNs(server.redis.pid) - cpu0) / 1e9;
    if (r.code !== 0 || /error/i.test(r.stdout + r.stderr)) throw new Error(`redis-benchmark: ${r.stderr}${r.stdout}`);
    const rows = r.stdout.trim().split("\n").slice(1).map((l) => Number(JSON.parse(`[${l}]`)[1]));
    const requests = 2 * REQUESTS;
    return { label, rps: rows.reduce((a, b) => a + b, 0) / rows.length, perServerCpuS: requests / cpuS, serverBusy: cpuS / seconds };
}

/** Whether a session from before a hot reload resumes after it, and whether new sessions resume again. */
async function acrossReload(server: LocalRedis, c: Connect): Promise<{ before: boolean; oldAfter: boolean; newAfter: boolean }> {
    const first = await pingOnce(c);
    const before = await pingOnce(c, first.session);
    // The install script's verified hot reload of a new certificate: CONFIG SET over the root-only socket.
    const installed = await server.install(await server.issue());
    if (installed.code !== 0) throw new Error(`install: ${installed.stderr}`);
    const oldAfter = await pingOnce(c, before.session ?? first.session);
    const fresh = await pingOnce(c);
    const newAfter = await pingOnce(c, fresh.session);
    return { before: before.resumed, oldAfter: oldAfter.resumed, newAfter: newAfter.resumed };
}

async function main(): Promise<void> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-bench-tls-"));
    const servers: LocalRedis[] = [];
    try {
        const start = async (o: Parameters<typeof LocalRedis.start>[0]) => {
            const s = await LocalRedis.start(o);
            servers.push(s);
            // For the comparison only: connections need no AUTH (the same on every port), and may run
            // only what the benchmark sends: the server runs as root on loopback, where any local
            // user could reach it while this runs.
            const r = await s.cli(["ACL", "SETUSER", "default", "on", "nopass", "~*", "resetchannels", "-@all", "+ping", "+set", "+get", "+quit"]);
            if (r.code !== 0 || !/OK/.test(r.stdout)) throw new Error(`ACL SETUSER: ${r.stderr}${r.stdout}`);
            return s;
        };
        const ecdsa = await start({ plaintext: true });
        const ecdsaNoCert = await start({ authClients: "no" });
        const rsa = await start({ keyAlgorithm: "RSA_2048" });
        const rsaNoCert = await start({ keyAlgorithm: "RSA_2048", authClients: "no" });
        const conn = (s: LocalRedis, withCert: boolean, extra: tls.ConnectionOptions = {}): Connect => ({
            port: s.port,
            tls: { ca: s.ca.rootCert, servername: s.name, ...(withCert ? s.client : {}), ...extra },
        });

        // Files for redis-benchmark (0600 in a 0700 directory).
        const f = (name: string, text: string) => (fs.writeFileSync(path.join(work, name), text, { mode: 0o600 }), path.join(work, name));
        const tlsArgs = ["--tls", "--sni", ecdsa.name, "--cacert", f("ca.crt", ecdsa.ca.rootCert), "--cert", f("client.crt", ecdsa.client.cert), "--key", f("client.key", ecdsa.client.key)];
        const plain = await throughput("plaintext", ecdsa, ecdsa.plaintextPort, []);
        const overTls = await throughput("TLS (ECDSA P-256, client certificate)", ecdsa, ecdsa.port, tlsArgs);

        const rows: PerConnection[] = [];
        rows.push(await perConnection("plaintext", ecdsa, { port: ecdsa.plaintextPort }, false));
        for (const [label, s, cert] of [
            ["ECDSA P-256, client certificate (default)", ecdsa, true],
            ["ECDSA P-256, no client certificate", ecdsaNoCert, false],
            ["RSA-2048, client certificate", rsa, true],
            ["RSA-2048, no client certificate", rsaNoCert, false],
        ] as const) {
            rows.push(await perConnection(`${label}: full handshake`, s, conn(s, cert), false));
            rows.push(await perConnection(`${label}: resumed`, s, conn(s, cert), true));
        }
        rows.push(await perConnection("ECDSA P-256, client certificate, TLS 1.2: full handshake", ecdsa, conn(ecdsa, true, { maxVersion: "TLSv1.2" }), false));
        rows.push(await perConnection("ECDSA P-256, client certificate, TLS 1.2: resumed", ecdsa, conn(ecdsa, true, { maxVersion: "TLSv1.2" }), true));
        const reload13 = await acrossReload(ecdsa, conn(ecdsa, true));
        const reload12 = await acrossReload(ecdsa, conn(ecdsa, true, { maxVersion: "TLSv1.2" }));

        const version = (await run("redis-server", ["--version"])).stdout.trim();
        console.log(`${version}; ${os.cpus().length} cores; server and clients on loopback. Server CPU from its own threads.\n`);
        console.log(`Pipelined: redis-benchmark, 2 threads, 50 connections, 16 requests pipelined, SET and GET, ${REQUESTS} each.\n`);
        console.log("| transport | requests/s | requests per server CPU-second | server busy (of one core) |");
        console.log("|---|---:|---:|---:|");
        for (const t of [plain, overTls]) console.log(`| ${t.label} | ${t.rps.toFixed(0)} | ${t.perServerCpuS.toFixed(0)} | ${(100 * t.serverBusy).toFixed(0)}% |`);
        console.log(`| **TLS / plaintext** | **${(overTls.rps / plain.rps).toFixed(2)}** | **${(overTls.perServerCpuS / plain.perServerCpuS).toFixed(2)}** | |`);

        console.log(`\nNew connections: ${CONNECTIONS} each (TLS 1.3 unless named), ${IN_FLIGHT} at a time, handshake then PING and QUIT; a resumed one offers the session (ticket) its loop got last.\n`);
        const base = rows[1].serverUs;
        console.log("| connection | resumed | server CPU per connection (µs) | / ECDSA default full | / plaintext | connections/s (Node client) |");
        console.log("|---|---:|---:|---:|---:|---:|");
        for (const r of rows) {
            console.log(`| ${r.label} | ${r.resumed}/${r.connections} | ${r.serverUs.toFixed(0)} | ${(r.serverUs / base).toFixed(2)} | ${(r.serverUs / rows[0].serverUs).toFixed(1)} | ${r.perSecond.toFixed(0)} |`);
        }
        const yn = (b: boolean) => (b ? "yes" : "no");
        console.log("\nSession resumption across a hot reload of a new certificate (the install script's CONFIG SET):\n");
        console.log("| protocol | resumed before | a session from before, after | a new session, after |");
        console.log("|---|---|---|---|");
        console.log(`| TLS 1.3 | ${yn(reload13.before)} | ${yn(reload13.oldAfter)} | ${yn(reload13.newAfter)} |`);
        console.log(`| TLS 1.2 | ${yn(reload12.before)} | ${yn(reload12.oldAfter)} | ${yn(reload12.newAfter)} |`);
    } finally {
        for (const s of servers) await s.stop();
        fs.rmSync(work, { recursive: true, force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
