import { X509Certificate } from "node:crypto";

interface Exec {
    (command: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * The certificates a TLS server on a test host presents, as `openssl s_client -showcerts` run on
 * that host prints them, each parsed. Two CI runs each saw one handshake right after a renewal
 * print no certificate or a cut-off one (never reproduced in a dozen runs of those suites), so a
 * handshake whose output holds no whole certificate is tried again, up to 3 times, and what
 * s_client printed is logged; a Redis that restarted still fails its suite's PID checks.
 */
export async function servedChain(exec: Exec, address: string, serverName: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
        const r = await exec(`openssl s_client -connect ${address} -servername ${serverName} -showcerts </dev/null`);
        const blocks = r.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
        let why = blocks.length === 0 ? "no certificate" : "";
        for (const b of blocks) {
            try {
                new X509Certificate(b);
            } catch (e) {
                why = `a certificate that does not parse (${(e as Error).message})`;
            }
        }
        if (why === "") return blocks.join("\n");
        console.warn(`servedChain ${address}: handshake ${attempt} showed ${why}; s_client printed:\n${r.stdout}${r.stderr}`);
        if (attempt === 3) throw new Error(`${address} presented ${why} in 3 handshakes`);
        await new Promise((res) => setTimeout(res, 500));
    }
}
