#!/usr/bin/env node
// `redis-tls check`: the TLS posture of one Redis or Valkey endpoint, as a client sees it.
import * as fs from "node:fs";
import { checkPosture, PostureCheckArgs } from "./posture";

const USAGE = `usage: redis-tls check --host H --port P --server-name N --ca ca.crt [--cert client.crt --key client.key] [--min-days D] [--plain-port Q]
  Exits 0 only when every check passes: the certificate verifies against the CA for the server name,
  no session exists before a login (only a certificate login may make one), the server refuses
  TLS 1.0 and 1.1, plaintext gets no answer on the port nor on Q (default 6379, when it is not P), a
  client without a certificate gets none (with --cert), and the served certificate has at least D
  days left (default 7).`;

class UsageError extends Error {}

/** Parses argv (after the program name) into the check's args. */
export function parseCheckArgs(argv: string[]): PostureCheckArgs {
    if (argv[0] !== "check") throw new UsageError(argv[0] === undefined ? "no command given" : `unknown command ${JSON.stringify(argv[0])}`);
    const flags = new Map<string, string>();
    for (let i = 1; i < argv.length; i += 2) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (!/^--(host|port|server-name|ca|cert|key|min-days|plain-port)$/.test(flag)) throw new UsageError(`unknown option ${JSON.stringify(flag)}`);
        if (value === undefined) throw new UsageError(`${flag} needs a value`);
        flags.set(flag.slice(2), value);
    }
    for (const required of ["host", "port", "server-name", "ca"]) if (!flags.has(required)) throw new UsageError(`--${required} is required`);
    if (flags.has("cert") !== flags.has("key")) throw new UsageError("--cert and --key go together");
    const port = Number(flags.get("port"));
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port ${JSON.stringify(flags.get("port"))} is not a TCP port`);
    const minDays = flags.has("min-days") ? Number(flags.get("min-days")) : undefined;
    if (minDays !== undefined && !(Number.isInteger(minDays) && minDays >= 0)) throw new UsageError(`--min-days ${JSON.stringify(flags.get("min-days"))} is not a whole number of days`);
    const plainPort = flags.has("plain-port") ? Number(flags.get("plain-port")) : undefined;
    if (plainPort !== undefined && !(Number.isInteger(plainPort) && plainPort >= 1 && plainPort <= 65535)) throw new UsageError(`--plain-port ${JSON.stringify(flags.get("plain-port"))} is not a TCP port`);
    const read = (f: string) => {
        try {
            return fs.readFileSync(flags.get(f)!, "utf8");
        } catch (e) {
            throw new UsageError(`--${f} ${flags.get(f)}: ${(e as Error).message}`);
        }
    };
    return {
        host: flags.get("host")!,
        port,
        serverName: flags.get("server-name")!,
        caPem: read("ca"),
        certPem: flags.has("cert") ? read("cert") : undefined,
        keyPem: flags.has("key") ? read("key") : undefined,
        minDaysLeft: minDays,
        plainPorts: plainPort === undefined ? undefined : [plainPort],
    };
}

async function main(): Promise<number> {
    let args: PostureCheckArgs;
    try {
        args = parseCheckArgs(process.argv.slice(2));
    } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`redis-tls: ${e.message}\n${USAGE}\n`);
        return 2;
    }
    const findings = await checkPosture(args);
    for (const f of findings) process.stdout.write(`${f.ok ? "PASS" : "FAIL"} ${f.check}: ${f.detail}\n`);
    return findings.every((f) => f.ok) ? 0 : 1;
}

if (require.main === module) {
    main().then((code) => process.exit(code));
}
