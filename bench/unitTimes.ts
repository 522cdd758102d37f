// A systemd unit's monotonic timestamps on a test host, by name (systemctl prints properties in its
// own order, not in the order asked for, so they are read as NAME=VALUE, never by position).
import type { TestHost } from "../tests/hosts";

/** Each named property of `unit` (e.g. "ActiveEnterTimestampMonotonic"), in µs of CLOCK_MONOTONIC. */
export async function unitTimes<K extends string>(host: TestHost, unit: string, names: K[]): Promise<Record<K, bigint>> {
    const r = await host.exec(`systemctl show ${names.map((n) => `-p ${n}`).join(" ")} ${unit}`);
    if (r.code !== 0) throw new Error(`systemctl show ${unit}: ${r.stderr}`);
    const values = new Map(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const));
    return Object.fromEntries(
        names.map((n) => {
            const v = values.get(n);
            if (v === undefined || !/^\d+$/.test(v)) throw new Error(`systemctl show ${unit}: ${n} is ${JSON.stringify(v)}`);
            return [n, BigInt(v)];
        }),
    ) as Record<K, bigint>;
}
