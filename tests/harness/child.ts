// One run of a Pulumi program under RealMocks, in its own process so that
// each run starts from a fresh SDK, like one `pulumi up`. Started by runProgram.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import { realNow } from "./clock";
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
  const monitor = getMonitor() as any;
  // The engine's URNs carry the whole chain of parent types; the mock monitor keeps only the last.
  monitor.newUrn = (parent: string, type: string, name: string) =>
    `urn:pulumi:test::redis-tls::${parent ? `${parent.split("::")[2]}$` : ""}${type}::${name}`;
  // The mock monitor hands mocks no resource options; the engine acts on them, so the harness does.
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (r: any, callback: unknown) => {
    mocks.nextOptions({
      urn: monitor.newUrn(r.getParent(), r.getType(), r.getName()),
      retainOnDelete: r.hasRetainondelete() ? r.getRetainondelete() : false,
      ignoreChanges: r.getIgnorechangesList(),
      replaceOnChanges: r.getReplaceonchangesList(),
      additionalSecretOutputs: r.getAdditionalsecretoutputsList(),
      deleteBeforeReplace: r.getDeletebeforereplace(),
      // The program's option counts only when set; otherwise the provider's answer decides.
      deleteBeforeReplaceDefined: r.getDeletebeforereplacedefined(),
      aliases: r.getAliasesList().length + r.getAliasurnsList().length,
    });
    return register(r, callback);
  };

  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  const run = async (): Promise<true> => {
    // The program's clock is moved for the whole run (components read it as they are constructed,
    // also in later turns of the event loop); the effects keep the real time (clock.ts), as the
    // hosts and the providers have it.
    if (req.clockOffsetMs) Date.now = () => realNow() + req.clockOffsetMs!;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      let exported: any = require(path.resolve(req.program));
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
    Date.now = realNow;
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
  await mocks.finish(all.length === 0);
  all.push(...mocks.errors.filter((e) => !all.includes(e)));
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
