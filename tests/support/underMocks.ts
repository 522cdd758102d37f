// Runs one Pulumi program under the recording mocks in this process and prints, as one JSON line,
// every resource it registered: `node -r ts-node/register/transpile-only underMocks.ts <program> <config JSON>`.
// "redis-tls" resolves to this repository's library, as it does for a project that installed it.
import Module = require("module");
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { recordResources, settle } from "./mocks";

const LIBRARY = path.join(__dirname, "..", "..", "index.ts");
const resolve = (Module as any)._resolveFilename;
(Module as any)._resolveFilename = function (request: string, ...rest: unknown[]) {
    return resolve.call(this, request === "redis-tls" ? LIBRARY : request, ...rest);
};

async function main(): Promise<void> {
    const [program, configJson] = process.argv.slice(2);
    const config: Record<string, string> = JSON.parse(configJson ?? "{}");
    pulumi.runtime.setAllConfig(config, Object.keys(config).filter((k) => /key|password/i.test(k)));
    const recorded = recordResources();
    const exports = require(path.resolve(program));
    await settle(recorded);
    const outputs = await Promise.all(Object.entries(exports).map(async ([k, v]) => [k, pulumi.Output.isInstance(v) ? await pulumi.isSecret(v as pulumi.Output<unknown>) : false] as const));
    console.log(JSON.stringify({ resources: recorded.map((r) => `${r.type} ${r.name}`).sort(), secretOutputs: Object.fromEntries(outputs) }));
}

process.on("unhandledRejection", (e) => {
    console.error(e);
    process.exit(1);
});
main().then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
});
