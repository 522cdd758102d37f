import * as net from "node:net";
import * as tls from "node:tls";

/** What `redis-tls check` checks, and against what. */
export interface PostureCheckArgs {
    host: string;
    port: number;
    /** The name the server's certificate must carry (SNI and hostname check). */
    serverName: string;
    /** The root(s) to verify the server against, PEM. */
    caPem: string;
    /** A client certificate chain and key, PEM: then the server must also refuse a client without one. */
    certPem?: string;
    keyPem?: string;
    /** Fail when the served certificate expires in fewer days than this. @default 7 */
    minDaysLeft?: number;
    /**
     * Other ports of the host that must not answer Redis in plaintext.
     * @default [6379], unless that is the TLS port
     */
    plainPorts?: number[];
    /** How long to wait for each answer. @default 3000 */
    timeoutMs?: number;
}

export interface PostureFinding {
    check: string;
    ok: boolean;
    detail: string;
}

const RESP_REPLY = /^[+\-:$*_#,(=%~>!|]/;

/**
 * Writes `payload` and reads the answer until it is `complete` (given the CRLF-ended lines so far),
 * the peer closed, or the time is up; "" when nothing came.
 */
function exchange(socket: net.Socket, payload: string, complete: (lines: string[]) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
        let got = "";
        const done = () => {
            clearTimeout(timer);
            socket.destroy();
            resolve(got);
        };
        const timer = setTimeout(done, timeoutMs);
        socket.on("data", (d: Buffer) => {
            got += d.toString("latin1");
            if (complete(got.split("\r\n").slice(0, -1))) done();
        });
        socket.on("error", done);
        socket.on("close", done);
        socket.write(payload);
    });
}

const pingOver = (socket: net.Socket, timeoutMs: number) => exchange(socket, "PING\r\n", (l) => l.length >= 1, timeoutMs);
/** PING's reply, then ACL WHOAMI's: one line for an error, two for a bulk string. */
const pingAndWhoami = (l: string[]) => l.length >= 3 || (l.length === 2 && !l[1].startsWith("$"));

/** A plaintext PING to `port`: the answer, or why there was none. */
function plainPing(host: string, port: number, timeoutMs: number): Promise<{ answer: string; error?: string }> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port });
        s.once("connect", () => pingOver(s, timeoutMs).then((answer) => resolve({ answer })));
        s.once("error", (e: Error) => resolve({ answer: "", error: reason(e) }));
    });
}

/** A failed old-TLS handshake is a refusal only when the server said so (an alert) or hung up. */
const REFUSED_BY_SERVER = /alert|ECONNRESET|socket hang up|disconnected before secure TLS connection/i;

/** An error as one short line: OpenSSL's reason rather than its whole record. */
function reason(e: Error): string {
    return /SSL routines:[^:]*:([^:\n]+)/.exec(e.message)?.[1] ?? e.message.split("\n")[0];
}

type TlsOutcome = { ok: true; socket: tls.TLSSocket } | { ok: false; error: string };

function handshake(opts: tls.ConnectionOptions, timeoutMs: number): Promise<TlsOutcome> {
    return new Promise((resolve) => {
        const socket = tls.connect(opts);
        const timer = setTimeout(() => {
            socket.destroy();
            resolve({ ok: false, error: `no TLS handshake within ${timeoutMs} ms` });
        }, timeoutMs);
        socket.once("secureConnect", () => {
            clearTimeout(timer);
            resolve({ ok: true, socket });
        });
        socket.once("error", (e: Error) => {
            clearTimeout(timer);
            resolve({ ok: false, error: reason(e) });
        });
    });
}

/**
 * Checks what `redis-cli` does not: that the server's certificate verifies against the CA for
 * `serverName`, that no session exists before a login (only certificate login may make one), that
 * the server itself refuses TLS below 1.2, that plaintext gets no answer on the port (nor on
 * `plainPorts`), that a client without a certificate gets none either (when a client certificate is
 * given), and how long the served certificate has left. Every finding is returned; the posture holds when all are ok.
 */
export async function checkPosture(a: PostureCheckArgs): Promise<PostureFinding[]> {
    const timeoutMs = a.timeoutMs ?? 3000;
    const minDaysLeft = a.minDaysLeft ?? 7;
    const base: tls.ConnectionOptions = { host: a.host, port: a.port, servername: a.serverName, ca: a.caPem, minVersion: "TLSv1.2" };
    const withCert: tls.ConnectionOptions = a.certPem === undefined ? base : { ...base, cert: a.certPem, key: a.keyPem };
    const findings: PostureFinding[] = [];

    const main = await handshake(withCert, timeoutMs);
    if (!main.ok) {
        findings.push({ check: "verified TLS", ok: false, detail: `${a.host}:${a.port} as ${a.serverName}: ${main.error}` });
    } else {
        const peer = main.socket.getPeerCertificate();
        const protocol = main.socket.getProtocol();
        // PING before any AUTH, then who the session is: a login the server made without AUTH is
        // only acceptable from the client certificate (certificate login), never the default user.
        const answer = await exchange(main.socket, "PING\r\nACL WHOAMI\r\n", pingAndWhoami, timeoutMs);
        const [pong, whoHead, whoName] = answer.split("\r\n");
        findings.push({
            check: "verified TLS",
            ok: RESP_REPLY.test(answer),
            detail: `${protocol}, ${peer.subject?.CN ?? "?"} (serial ${peer.serialNumber}) verified as ${a.serverName}; PING answered ${JSON.stringify(pong || "nothing")}`,
        });
        const whoami = whoHead?.startsWith("$") ? whoName : undefined;
        const anonymousOk = !pong?.startsWith("+") || (a.certPem !== undefined && whoami !== undefined && whoami !== "default");
        findings.push({
            check: "no session without a login",
            ok: RESP_REPLY.test(answer) && anonymousOk,
            detail: !pong?.startsWith("+")
                ? `before AUTH the server answered ${JSON.stringify(pong || "nothing")}`
                : `before AUTH PING got ${JSON.stringify(pong)} as ${whoami === undefined ? `an unknown user (${JSON.stringify(whoHead ?? "")})` : JSON.stringify(whoami)}${anonymousOk ? " (certificate login)" : ""}`,
        });
        const daysLeft = Math.floor((Date.parse(peer.valid_to) - Date.now()) / 86_400_000);
        findings.push({ check: "certificate lifetime", ok: daysLeft >= minDaysLeft, detail: `expires ${new Date(peer.valid_to).toISOString()} (${daysLeft} days left; at least ${minDaysLeft} wanted)` });
    }

    // TLS 1.0 and 1.1 offered with every cipher the client has: the server must refuse both.
    for (const version of ["TLSv1", "TLSv1.1"] as const) {
        const old = await handshake({ ...withCert, minVersion: version, maxVersion: version, ciphers: "DEFAULT:@SECLEVEL=0", rejectUnauthorized: false }, timeoutMs);
        if (old.ok) old.socket.destroy();
        const refused = !old.ok && REFUSED_BY_SERVER.test(old.error);
        findings.push({
            check: `${version} refused`,
            ok: refused,
            detail: old.ok ? `the server accepted ${version}` : refused ? `the server refused it (${old.error})` : `the handshake failed without the server refusing ${version} (${old.error}), so nothing was learnt`,
        });
    }

    const plainPorts = [a.port, ...(a.plainPorts ?? (a.port === 6379 ? [] : [6379])).filter((p) => p !== a.port)];
    const plainAnswers = await Promise.all(plainPorts.map(async (port) => ({ port, ...(await plainPing(a.host, port, timeoutMs)) })));
    const served = plainAnswers.filter((p) => RESP_REPLY.test(p.answer));
    findings.push({
        check: "plaintext refused",
        ok: served.length === 0,
        detail: served.length > 0
            ? served.map((p) => `PING in plaintext on port ${p.port} answered ${JSON.stringify(p.answer.split("\r\n")[0])}`).join("; ")
            : plainAnswers.map((p) => `port ${p.port}: no RESP answer${p.error ? ` (${p.error})` : ""}`).join("; "),
    });

    if (a.certPem !== undefined) {
        const bare = await handshake(base, timeoutMs);
        const answer = bare.ok ? await pingOver(bare.socket, timeoutMs) : "";
        const served = RESP_REPLY.test(answer);
        findings.push({
            check: "client certificate required",
            ok: !served,
            detail: served ? `a client without a certificate got ${JSON.stringify(answer.split("\r\n")[0])}` : `a client without a certificate got no answer${bare.ok ? "" : ` (${bare.error})`}`,
        });
    }
    return findings;
}
