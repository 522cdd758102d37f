// A Docker engine of the test run's own: Debian's dockerd started with its own data root, exec root,
// socket and pidfile, touching none of the machine's firewall or sysctls, and stopped by its PID.
// No registry is reachable, so images come from the test hosts' debootstrap root filesystems.
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureImage, ImageSpec } from "../hosts";
import { check, run, RunResult } from "../hosts/run";

/** Debian's docker client (the machine may have another on PATH, speaking a newer API). */
export const DOCKER_CLI = "/usr/bin/docker";

export interface DockerEngine {
    /** `unix://…` of the engine's socket, as DOCKER_HOST and @pulumi/docker's `host` take it. */
    host: string;
    /** Runs the docker CLI against this engine. */
    docker(args: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<RunResult>;
    /** The test-host image for `spec` as a Docker image; returns its tag (made once per engine). */
    importImage(spec?: ImageSpec): Promise<string>;
    /** Removes every container and network it made, then stops the engine and removes its files. */
    stop(): Promise<void>;
}

/**
 * Starts dockerd: no iptables rules, no default bridge, no ip_forward change (--ip-forward=false),
 * vfs storage (no overlay mounts left behind). Published ports go through docker-proxy on the
 * machine, user-defined networks are bridges of the engine's own, removed again by stop().
 */
export async function startDockerEngine(): Promise<DockerEngine> {
    const root = fs.mkdtempSync("/tmp/rtls-docker-");
    const socket = path.join(root, "docker.sock");
    const host = `unix://${socket}`;
    const child: ChildProcess = spawn("dockerd", [
        "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--bridge=none", "--storage-driver=vfs",
        `--data-root=${root}/data`, `--exec-root=${root}/exec`, `--host=${host}`, `--pidfile=${root}/docker.pid`,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
    const env = { ...process.env, DOCKER_HOST: host };
    const docker = (args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) => run(DOCKER_CLI, args, { env, stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 120_000 });
    const deadline = Date.now() + 30_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`dockerd exited ${child.exitCode}:\n${log.slice(-2000)}`);
        if (fs.existsSync(socket) && (await docker(["version", "--format", "{{.Server.Version}}"])).code === 0) break;
        if (Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(`dockerd did not answer within 30 s:\n${log.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
    const imported = new Map<string, string>();
    return {
        host,
        docker,
        async importImage(spec: ImageSpec = {}) {
            const tarball = await ensureImage(spec);
            const tag = `redis-tls-test/${path.basename(tarball, ".tar.zst")}:latest`;
            if (!imported.has(tag)) {
                await check("bash", ["-c", `set -o pipefail; zstd -dc ${JSON.stringify(tarball)} | DOCKER_HOST=${host} ${DOCKER_CLI} import - ${tag}`], { timeoutMs: 300_000 });
                imported.set(tag, tag);
            }
            return tag;
        },
        async stop() {
            if (child.exitCode === null) {
                const ids = (await docker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
                if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids]);
                const nets = (await docker(["network", "ls", "-q", "--filter", "type=custom"])).stdout.split("\n").filter(Boolean);
                if (nets.length > 0) await docker(["network", "rm", ...nets]);
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
                if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
            }
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}
