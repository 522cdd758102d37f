// One evaluation for N hosts under preview mocks; prints one JSON line. Run by program.bench.ts in a
// fresh process each time, so peak memory is that run's alone.
//   evaluateProgram.ts N default   the default program (stack/index.ts) as shipped
//   evaluateProgram.ts N bare R    a bare program: R custom resources, flat, with one input each
//   evaluateProgram.ts N turns R   the same, declared as the default program declares hosts: the
//                                  first host's worth at once, then one host's worth (R/N) per turn of
//                                  the event loop
// The mocks answer as a preview does: a resource's outputs are its inputs, and every other output
// is unknown, so no apply waiting on a step's result runs (the engine's providers do the real work,
// not the program). REDIS_TLS_STACK_TRACES=1 is passed through to the default program.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench";

async function main(hosts: number, mode: string, resources: number): Promise<void> {
    let count = 0;
    let last = Date.now();
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                count++;
                last = Date.now();
                return { id: args.custom ? `${args.name}-id` : undefined, state: args.inputs };
            },
            call() {
                throw new Error("no provider functions are used");
            },
        },
        "redis-tls",
        "bench",
        true,
    );
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
    if (mode === "default") {
        require(path.join(__dirname, "..", "stack", "index.ts"));
    } else {
        class Bare extends pulumi.CustomResource {
            constructor(name: string) {
                super("command:local:Command", name, { create: `echo ${name}` });
            }
        }
        // Run as the default program runs: stack capture off unless asked for.
        if (!process.env.REDIS_TLS_STACK_TRACES) Error.stackTraceLimit = 0;
        const perTurn = mode === "turns" ? Math.max(1, Math.round(resources / hosts)) : resources;
        for (let i = 0; i < resources; i++) {
            if (i > 0 && i % perTurn === 0) await new Promise((r) => setImmediate(r));
            new Bare(`bare-${i}`);
        }
    }
    // Done when no registration has come for 250 ms (not counted).
    while (count === 0 || Date.now() - last < 250) await new Promise((r) => setTimeout(r, 20));
    const ms = Number(process.hrtime.bigint() - start) / 1e6 - 250;
    console.log(JSON.stringify({ hosts, mode, resources: count, ms, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

main(Number(process.argv[2]), process.argv[3] ?? "default", Number(process.argv[4] ?? 0)).catch((e) => {
    console.error(e);
    process.exit(1);
});
