import { spawn } from "node:child_process";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's standard input, which is then closed. @default "" */
  stdin?: string;
  /** Kill the command (SIGKILL) after this long; it then reports code 124. @default 60000 */
  timeoutMs?: number;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Runs a command without a shell and collects its output; never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === null) {
        resolve({ code: 124, stdout, stderr: `${stderr}[run] ${cmd} killed by ${signal} (timeout ${timeoutMs} ms)\n` });
      } else {
        resolve({ code, stdout, stderr });
      }
    });
    // A command that exits without reading stdin makes the write fail with EPIPE; that is not our error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.stdin ?? "");
  });
}

/** Like `run`, but rejects unless the command exits 0, with its stderr in the message; resolves to stdout. */
export async function check(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`[run] ${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/**
 * Removes a directory tree that may still hold mounts (a killed debootstrap leaves /proc and
 * /sys mounted in its target): unmount what is below it, then never cross into another file system.
 */
export async function removeTree(dir: string): Promise<void> {
  const mounts = (await check("findmnt", ["-rn", "-o", "TARGET"]))
    .split("\n")
    .filter((m) => m.startsWith(`${dir}/`))
    .sort()
    .reverse();
  for (const m of mounts) await run("umount", ["-l", m]);
  await run("rm", ["-rf", "--one-file-system", dir]);
}
