// One evaluation of the default program (stack/index.ts) under mocks for N hosts; prints one JSON line.
// Run by program.bench.ts in a fresh process per N, so peak memory is that N's alone.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { recordResources, settle, valueOf } from "../tests/support/mocks";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench";

async function main(hosts: number): Promise<void> {
    const recorded = recordResources();
    pulumi.runtime.setAllConfig(
        {
            "redis-tls:hosts": JSON.stringify(
                Array.from({ length: hosts }, (_, i) => ({ name: `r${i}`, address: `10.1.${i >> 8}.${i & 255}`, hostKey: HOST_KEY, dnsNames: [`redis-${i}.internal`] })),
            ),
            "redis-tls:clients": JSON.stringify([{ name: "app", address: "10.2.0.1", hostKey: HOST_KEY }]),
            "redis-tls:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nYmVuY2g=\n-----END OPENSSH PRIVATE KEY-----\n",
        },
        ["redis-tls:sshPrivateKey"],
    );
    const start = process.hrtime.bigint();
    const program = require(path.join(__dirname, "..", "stack", "index.ts"));
    await valueOf(program.servers);
    await settle(recorded);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(JSON.stringify({ hosts, resources: recorded.length, ms, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

main(Number(process.argv[2])).catch((e) => {
    console.error(e);
    process.exit(1);
});
