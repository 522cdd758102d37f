import * as net from "node:net";
import * as tls from "node:tls";

export interface PingOptions {
    port: number;
    ca: string;
    servername: string;
    cert?: string;
    key?: string;
    /** Sent as AUTH before anything else (the default user is off). */
    auth?: { user: string; pass: string };
}

/** Opens a verified TLS connection to Redis on loopback and returns the socket once it is secure. */
export function connectTls(o: PingOptions): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port: o.port, ca: o.ca, servername: o.servername, cert: o.cert, key: o.key });
        socket.once("secureConnect", () => resolve(socket));
        socket.once("error", reject);
    });
}

/** Sends one inline command and resolves with the first reply line; rejects if the server hangs up. */
export function command(socket: net.Socket, line: string): Promise<string> {
    return new Promise((resolve, reject) => {
        let buf = "";
        const onData = (d: Buffer) => {
            buf += d.toString();
            const end = buf.indexOf("\r\n");
            if (end >= 0) {
                cleanup();
                resolve(buf.slice(0, end));
            }
        };
        const onEnd = () => {
            cleanup();
            reject(new Error(`connection closed before a reply${buf ? `: ${buf}` : ""}`));
        };
        const onError = (e: Error) => {
            cleanup();
            reject(e);
        };
        const cleanup = () => {
            socket.off("data", onData);
            socket.off("close", onEnd);
            socket.off("error", onError);
        };
        socket.on("data", onData);
        socket.once("close", onEnd);
        socket.once("error", onError);
        socket.write(`${line}\r\n`);
    });
}

/** Connects (authenticating when `o.auth` is given), sends each line and returns the first line of each reply. */
export async function commands(o: PingOptions, lines: string[]): Promise<string[]> {
    const socket = await connectTls(o);
    try {
        if (o.auth !== undefined) {
            const ok = await command(socket, `AUTH ${o.auth.user} ${o.auth.pass}`);
            if (ok !== "+OK") throw new Error(`AUTH as ${o.auth.user}: ${ok}`);
        }
        const replies: string[] = [];
        for (const line of lines) replies.push(await command(socket, line));
        return replies;
    } finally {
        socket.destroy();
    }
}

/** Connects, sends PING and returns the reply, closing the connection. */
export async function ping(o: PingOptions): Promise<string> {
    return (await commands(o, ["PING"]))[0];
}

/** The serial of the certificate the server presents, as upper-case hex. */
export async function servedSerial(o: PingOptions): Promise<string> {
    const socket = await connectTls(o);
    try {
        return socket.getPeerCertificate().serialNumber.toUpperCase();
    } finally {
        socket.destroy();
    }
}
