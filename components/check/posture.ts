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
    /** How long to wait for each answer. @default 3000 */
    timeoutMs?: number;
}

export interface PostureFinding {
    check: string;
    ok: boolean;
    detail: string;
}

const RESP_REPLY = /^[+\-:$*_#,(=%~>!|]/;

/** Writes PING and reads the first bytes of an answer; "" when the peer closes or says nothing in time. */
function pingOver(socket: net.Socket, timeoutMs: number): Promise<string> {
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
            if (got.includes("\r\n")) done();
        });
        socket.on("error", done);
        socket.on("close", done);
        socket.write("PING\r\n");
    });
}

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
 * `serverName`, that TLS below 1.2 is refused, that plaintext gets no answer on the port, that a
 * client without a certificate gets none either (when a client certificate is given), and how long
 * the served certificate has left. Every finding is returned; the posture holds when all are ok.
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
        const answer = await pingOver(main.socket, timeoutMs);
        findings.push({
            check: "verified TLS",
            ok: RESP_REPLY.test(answer),
            detail: `${protocol}, ${peer.subject?.CN ?? "?"} (serial ${peer.serialNumber}) verified as ${a.serverName}; PING answered ${JSON.stringify(answer.split("\r\n")[0] || "nothing")}`,
        });
        const daysLeft = Math.floor((Date.parse(peer.valid_to) - Date.now()) / 86_400_000);
        findings.push({ check: "certificate lifetime", ok: daysLeft >= minDaysLeft, detail: `expires ${new Date(peer.valid_to).toISOString()} (${daysLeft} days left; at least ${minDaysLeft} wanted)` });
    }

    // TLS 1.0 and 1.1 offered with every cipher the client has: the server must refuse both.
    for (const version of ["TLSv1", "TLSv1.1"] as const) {
        const old = await handshake({ ...withCert, minVersion: version, maxVersion: version, ciphers: "DEFAULT:@SECLEVEL=0", rejectUnauthorized: false }, timeoutMs);
        if (old.ok) old.socket.destroy();
        findings.push({ check: `${version} refused`, ok: !old.ok, detail: old.ok ? `the server accepted ${version}` : `handshake failed (${old.error})` });
    }

    const plain = await new Promise<{ answer: string; error?: string }>((resolve) => {
        const s = net.connect({ host: a.host, port: a.port });
        s.once("connect", () => pingOver(s, timeoutMs).then((answer) => resolve({ answer })));
        s.once("error", (e: Error) => resolve({ answer: "", error: reason(e) }));
    });
    const plainServed = RESP_REPLY.test(plain.answer);
    findings.push({
        check: "plaintext refused",
        ok: !plainServed,
        detail: plainServed ? `PING in plaintext answered ${JSON.stringify(plain.answer.split("\r\n")[0])}` : `no RESP answer to PING in plaintext${plain.error ? ` (${plain.error})` : ""}`,
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
