import { spawn } from "node:child_process";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a program with optional stdin and returns its exit code and output; never throws on exit code. */
export function run(cmd: string, args: string[], stdin?: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env: env ?? process.env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        // A program that exits without reading its stdin makes the write fail with EPIPE; its exit
        // code, not the pipe, is the result.
        child.stdin.on("error", () => undefined);
        child.stdin.end(stdin ?? "");
    });
}

/** Runs a program and returns stdout, throwing with stderr on a non-zero exit. */
export async function check(cmd: string, args: string[], stdin?: string): Promise<string> {
    const r = await run(cmd, args, stdin);
    if (r.code !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout;
}

/** Runs a rendered host script with bash, as the components' commands do. */
export function runScript(script: string, stdin?: string): Promise<RunResult> {
    return run("/bin/bash", ["-c", script], stdin);
}
