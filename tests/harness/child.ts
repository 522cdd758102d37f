// One run of a Pulumi program under RealMocks, in its own process so that
// each run starts from a fresh SDK, like one `pulumi up`. Started by runProgram.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RealMocks } from "./realMocks";
import type { ChildRequest, RunResult } from "./runProgram";

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function main(): Promise<boolean> {
  const req: ChildRequest = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  // The request holds config secrets; nothing else needs it once read.
  fs.rmSync(process.argv[2]);
  const errors: string[] = [];
  process.on("unhandledRejection", (e) => errors.push(message(e)));

  const mocks = new RealMocks(req);
  pulumi.runtime.setMocks(mocks, "redis-tls", "test", req.preview);
  pulumi.runtime.setAllConfig(req.config, req.secretKeys);

  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  const run = async (): Promise<true> => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      let exported = require(path.resolve(req.program));
      // Pulumi also accepts a program whose export is an (async) function returning the outputs.
      if (typeof exported === "function") exported = await exported();
      else if (typeof exported?.default === "function") exported = await exported.default();
      for (const [k, v] of Object.entries(exported ?? {})) {
        if (k === "__esModule") continue;
        const o = pulumi.output(v) as pulumi.Output<unknown> & { isKnown: Promise<boolean>; promise(): Promise<unknown> };
        const [known, secret, value] = await Promise.all([o.isKnown, pulumi.isSecret(o), o.promise()]);
        outputs[k] = known ? value : "<unknown>";
        if (secret) secretOutputs.push(k);
      }
    } catch (e) {
      errors.push(message(e));
    }
    // Registrations started from apply callbacks may still be in flight.
    await pulumi.runtime.disconnect();
    return true;
  };
  // A resource whose inputs failed never settles its registration; when
  // nothing is left to run, the event loop empties and the run ends there.
  const idle = new Promise<false>((resolve) => process.once("beforeExit", () => resolve(false)));
  const settled = await Promise.race([run(), idle]);

  // A failed resource also rejects every output built on it; report it once.
  const failures = mocks.resources.map((r) => r.error).filter((e): e is string => e !== undefined);
  const extra = [...new Set(errors)].filter((e) => !failures.some((f) => e.includes(f)));
  const all = [...mocks.errors, ...extra];
  if (!settled && all.length === 0) all.push("the program ended with resource registrations that never settled (Pulumi reports leaked promises)");
  mocks.finish(all.length === 0);
  const result: RunResult = {
    ok: all.length === 0, error: all.length ? all.join("\n") : undefined,
    outputs, secretOutputs, resources: mocks.resources, log: mocks.log,
  };
  fs.writeFileSync(req.resultFile, JSON.stringify(result), { mode: 0o600 });
  return result.ok;
}

// A failed run exits non-zero, which also keeps the SDK from adding its leaked-promises notice.
main().then(
  (ok) => process.exit(ok ? 0 : 2),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
