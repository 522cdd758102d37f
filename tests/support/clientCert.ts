import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RunResult } from "../harness/runProgram";
import type { TestHost } from "../hosts";
import { check } from "./run";

/**
 * A client certificate from the CA the default program keeps in state, its key made on `host` (in
 * /etc/app): the CSR comes back, the intermediate from the run's state signs it for clientAuth, and
 * the chain goes back. Returns what a client on this machine presents.
 */
export async function clientCertFromRun(run: RunResult, host: TestHost, commonName: string): Promise<{ cert: string; key: string }> {
    const out = (name: string) => run.resources.find((r) => r.name === name)!.outputs as Record<string, string>;
    const sh = async (command: string, stdin?: string) => {
        const r = await host.exec(command, { stdin });
        if (r.code !== 0) throw new Error(`${command}: ${r.stderr}`);
        return r.stdout.trim();
    };
    const csr = await sh(`umask 077; mkdir -p /etc/app && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /etc/app/client.key -subj /CN=${commonName}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-client-"));
    try {
        const p = (f: string) => path.join(dir, f);
        fs.writeFileSync(p("int.crt"), out("redis-ca-intermediate").certPem);
        fs.writeFileSync(p("int.key"), out("redis-ca-intermediate-key").privateKeyPem, { mode: 0o600 });
        fs.writeFileSync(p("client.csr"), csr);
        fs.writeFileSync(p("ext"), "extendedKeyUsage=clientAuth\n");
        const leaf = await check("openssl", ["x509", "-req", "-in", p("client.csr"), "-CA", p("int.crt"), "-CAkey", p("int.key"), "-CAcreateserial", "-days", "1", "-extfile", p("ext")]);
        const chain = leaf + out("redis-ca-intermediate").certPem;
        await sh("cat > /etc/app/client.crt", chain);
        return { cert: chain, key: await sh("cat /etc/app/client.key") };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
