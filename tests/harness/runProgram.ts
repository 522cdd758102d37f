// Runs a Pulumi program once under RealMocks in a fresh node process: one call
// is one `pulumi up` (or `pulumi preview`) against the state in stateDir.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RemoteEnvironment } from "./exec";
import type { ResourceRecord } from "./realMocks";

export interface RunOptions {
  /** Path to the program's .ts (or .js) entry, e.g. /work/main/stack/index.ts. */
  program: string;
  /** Stack config, keys "project:key", e.g. {"redis-tls:hosts": "[...]"}. */
  config?: Record<string, string>;
  /** Config keys ("project:key") that are secret, as `pulumi config set --secret`. */
  secretKeys?: string[];
  /** Holds state.json (0600) between runs; created 0700 if missing. */
  stateDir: string;
  /** Run as `pulumi preview`: nothing is performed, state is untouched. @default false */
  preview?: boolean;
  /** Verify ssh host keys against this known_hosts file. @default ignore host keys, as the provider does */
  knownHostsFile?: string;
  /**
   * How remote commands get `environment`: "export" sets it in the remote shell;
   * "setenv" sends it as the provider does, so sshd's AcceptEnv decides. @default "export"
   */
  remoteEnvironment?: RemoteEnvironment;
  /** Working directory of the program (local commands run here). @default the project's (nearest Pulumi.yaml above the program), as `pulumi up` runs it */
  cwd?: string;
  /** The run is killed after this long. @default 600000 */
  timeoutMs?: number;
  /** Moves the program's clock (Date.now, for the whole run; the effects keep the real one) by this much, e.g. into the next renewal slot. @default 0 */
  clockOffsetMs?: number;
}

export interface RunResult {
  /** False if any resource failed, the program threw, or the run did not finish. */
  ok: boolean;
  error?: string;
  /** Stack outputs, resolved, secrets unwrapped; "<unknown>" where a preview cannot know them. */
  outputs: Record<string, unknown>;
  /** Names of stack outputs that were secret. */
  secretOutputs: string[];
  /** Every resource registered, in registration order, with inputs and outputs. */
  resources: ResourceRecord[];
  /** Commands' stdout/stderr as Pulumi would log them, then the program's own console output. */
  log: string;
}

/** @internal what runProgram hands to child.ts */
export interface ChildRequest {
  program: string;
  config: Record<string, string>;
  secretKeys: string[];
  stateFile: string;
  preview: boolean;
  knownHostsFile?: string;
  remoteEnvironment?: RemoteEnvironment;
  resultFile: string;
  clockOffsetMs?: number;
}

export async function runProgram(opts: RunOptions): Promise<RunResult> {
  const program = path.resolve(opts.program);
  fs.mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  // Config may hold secrets: it travels in a 0600 file in a 0700 dir, not in argv or env.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "harness-run-"));
  try {
    const request: ChildRequest = {
      program, config: opts.config ?? {}, secretKeys: opts.secretKeys ?? [], preview: opts.preview ?? false,
      stateFile: path.join(path.resolve(opts.stateDir), "state.json"), knownHostsFile: opts.knownHostsFile,
      remoteEnvironment: opts.remoteEnvironment, resultFile: path.join(tmp, "result.json"), clockOffsetMs: opts.clockOffsetMs,
    };
    const requestFile = path.join(tmp, "request.json");
    fs.writeFileSync(requestFile, JSON.stringify(request), { mode: 0o600 });
    const child = spawn(
      process.execPath,
      ["-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, `child${path.extname(__filename)}`), requestFile],
      // Its own process group, so a timeout also ends the ssh and shell processes it started.
      {
        cwd: opts.cwd ?? projectDir(program),
        // ts-node would look for a tsconfig from cwd; the program is compiled with the repo's.
        env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, "..", "..", "tsconfig.json") },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      },
    );
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    }, opts.timeoutMs ?? 600_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c, s) => resolve([c, s]));
    }).finally(() => clearTimeout(timer));
    const programOutput = Buffer.concat(chunks).toString().trimEnd();
    const programLog = programOutput ? programOutput.split("\n").map((l) => `[program] ${l}`).join("\n") : "";
    if (!fs.existsSync(request.resultFile)) {
      const why = timedOut ? `timed out after ${opts.timeoutMs ?? 600_000} ms` : `exited with ${code ?? signal}`;
      return { ok: false, error: `the program run ${why} without a result:\n${programOutput}`, outputs: {}, secretOutputs: [], resources: [], log: programLog };
    }
    const result: RunResult = JSON.parse(fs.readFileSync(request.resultFile, "utf8"));
    result.log = [result.log, programLog].filter(Boolean).join("\n");
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Where a string occurs in a run: resource inputs/outputs/errors, stack outputs, the log, the error. */
export function whereAppears(result: RunResult, needle: string): string[] {
  const hits: string[] = [];
  const visit = (v: unknown, at: string): void => {
    if (typeof v === "string") {
      if (v.includes(needle)) hits.push(at);
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) visit(x, `${at}.${k}`);
    }
  };
  for (const r of result.resources) {
    visit(r.inputs, `${r.type} ${r.name} inputs`);
    visit(r.outputs, `${r.type} ${r.name} outputs`);
    visit(r.error, `${r.type} ${r.name} error`);
  }
  visit(result.outputs, "stack outputs");
  visit(result.log, "log");
  visit(result.error, "error");
  return hits;
}

/** The directory `pulumi up` runs the program in: the nearest one above it holding Pulumi.yaml. */
function projectDir(program: string): string {
    for (let dir = path.dirname(program); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        if (path.dirname(dir) === dir) return path.dirname(program);
    }
}
