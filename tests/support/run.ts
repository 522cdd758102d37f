import { run, RunResult } from "../hosts/run";

// One process runner for every suite: the test-host fixture's (timeouts, EPIPE-safe stdin).
export { check, run, type RunResult } from "../hosts/run";

/** Runs a rendered host script with bash, as the components' commands do. */
export function runScript(script: string, stdin?: string): Promise<RunResult> {
    return run("/bin/bash", ["-c", script], { stdin });
}
