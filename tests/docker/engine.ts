// A Docker engine of the test run's own: Debian's dockerd started with its own data root, exec root,
// socket and pidfile, touching none of the machine's firewall or sysctls, and stopped by its PID.
// No registry is reachable, so images come from the test hosts' debootstrap root filesystems.
import { ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
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

/** Every engine's files live in a directory named so (root's, 0700); one whose owner is gone is a crashed run's. */
const ROOT_PREFIX = "/tmp/rtls-docker-";

/**
 * A live process's start time (field 22 of /proc/PID/stat), so a reused PID is not taken for the
 * process; undefined when it is gone or a zombie (killed, not yet waited for).
 */
function startTime(pid: number): string | undefined {
    try {
        const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const rest = fields.slice(fields.lastIndexOf(")") + 2).split(" ");
        return rest[0] === "Z" || rest[0] === "X" ? undefined : rest[19];
    } catch {
        return undefined;
    }
}

const kill = (pid: number, signal: NodeJS.Signals) => {
    try {
        process.kill(pid, signal);
    } catch {
        /* already gone */
    }
};

/** The file in an engine's root naming the test process that owns it: "PID START". */
const OWNER_FILE = "owner";
/** Present when the engine made /run/containerd (its containerd's shim directory). */
const MADE_CONTAINERD_DIR = "made-run-containerd";

/**
 * What a test run that crashed (killed before its after hook) left: its dockerd, containerd, shims
 * and container processes (dockerd outlives the node process that spawned it), their mounts, the
 * engine's files, the default bridge and /run/containerd if it made it. Only roots this user's
 * engines make are considered (root-owned, 0700, not a link), and only those whose owning test
 * process is gone: an engine another run is using is left alone. Processes are found again before
 * every signal: by a command line naming the root, or a cgroup naming one of its containers.
 */
export async function reapStaleEngines(): Promise<string[]> {
    const reaped: string[] = [];
    for (const entry of fs.readdirSync(path.dirname(ROOT_PREFIX))) {
        const root = path.join(path.dirname(ROOT_PREFIX), entry);
        if (!root.startsWith(ROOT_PREFIX)) continue;
        const st = fs.lstatSync(root);
        if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o777) !== 0o700) continue;
        const owner = fs.existsSync(path.join(root, OWNER_FILE)) ? fs.readFileSync(path.join(root, OWNER_FILE), "utf8").trim().split(" ") : undefined;
        // No owner yet: a run between mkdtemp and writing it, unless that was long ago.
        if (owner === undefined ? Date.now() - st.mtimeMs < 60_000 : startTime(Number(owner[0])) === owner[1]) continue;
        const containers = (() => {
            try {
                return fs.readdirSync(path.join(root, "data", "containers")).filter((id) => /^[0-9a-f]{64}$/.test(id));
            } catch {
                return [];
            }
        })();
        const read = (pid: number, file: string) => {
            try {
                return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
            } catch {
                return "";
            }
        };
        const find = (only?: (cmdline: string) => boolean) =>
            fs.readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p)).map(Number).filter((pid) => {
                const cmdline = read(pid, "cmdline");
                if (only !== undefined) return only(cmdline) && cmdline.includes(root + "/");
                const cgroup = read(pid, "cgroup");
                return cmdline.includes(root + "/") || containers.some((id) => cgroup.includes(id));
            });
        // dockerd first, alone: on SIGTERM it stops its containers, docker-proxy processes and containerd.
        for (const which of [(c: string) => c.startsWith("/usr/sbin/dockerd\0"), undefined]) {
            for (const signal of ["SIGTERM", "SIGKILL"] as const) {
                find(which).forEach((pid) => kill(pid, signal));
                for (let i = 0; i < 200 && find(which).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
            }
        }
        // Longest first: a container's shm inside the data root, netns files inside the exec root.
        const mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1]).filter((m) => m?.startsWith(root + "/"));
        for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync("umount", ["-l", m]);
        if (fs.existsSync(path.join(root, MADE_CONTAINERD_DIR)) && !fs.existsSync("/run/containerd/containerd.sock")) {
            fs.rmSync("/run/containerd", { recursive: true, force: true });
        }
        fs.rmSync(root, { recursive: true, force: true });
        reaped.push(root);
    }
    if (reaped.length > 0) spawnSync("ip", ["link", "delete", BRIDGE.name]);
    return reaped;
}

/** The default bridge's interface and subnet: a name and a /24 nothing else on the machine uses. */
const BRIDGE = { name: "rtlsdocker0", cidr: "172.31.254.1/24" };

/**
 * Starts dockerd as a user's engine is, with a default bridge and user-defined networks, but
 * touching nothing of the machine's own: no iptables rules, no ip_forward change
 * (--ip-forward=false), no /etc/docker (its own empty config file and key path), vfs storage (no
 * overlay mounts left behind). Published ports go through docker-proxy. stop() removes the bridges
 * and containerd's shim directory it made.
 */
export async function startDockerEngine(): Promise<DockerEngine> {
    await reapStaleEngines();
    if (fs.existsSync("/run/containerd/containerd.sock")) {
        throw new Error("a containerd of the machine's own is running (/run/containerd/containerd.sock); dockerd 20.10 would use it instead of its own");
    }
    const hadContainerdDir = fs.existsSync("/run/containerd");
    const root = fs.mkdtempSync(ROOT_PREFIX);
    fs.writeFileSync(path.join(root, OWNER_FILE), `${process.pid} ${startTime(process.pid)}\n`);
    if (!hadContainerdDir) fs.writeFileSync(path.join(root, MADE_CONTAINERD_DIR), "");
    const socket = path.join(root, "docker.sock");
    const host = `unix://${socket}`;
    // Its own config file, so /etc/docker/daemon.json is not read; the trust key (key.json) in its root, not /etc/docker.
    fs.writeFileSync(path.join(root, "daemon.json"), JSON.stringify({ "deprecated-key-path": path.join(root, "key.json") }) + "\n");
    execFileSync("ip", ["link", "add", BRIDGE.name, "type", "bridge"]);
    execFileSync("ip", ["addr", "add", BRIDGE.cidr, "dev", BRIDGE.name]);
    execFileSync("ip", ["link", "set", BRIDGE.name, "up"]);
    const child: ChildProcess = spawn("/usr/sbin/dockerd", [
        "--iptables=false", "--ip6tables=false", "--ip-forward=false", `--bridge=${BRIDGE.name}`, "--storage-driver=vfs",
        `--config-file=${root}/daemon.json`,
        `--data-root=${root}/data`, `--exec-root=${root}/exec`, `--host=${host}`, `--pidfile=${root}/docker.pid`,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise((r) => child.once("exit", r));
    /** Ends dockerd (SIGTERM, then SIGKILL), waits for it, and removes what it made on the machine. */
    const end = async () => {
        if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
            if (child.exitCode === null && child.signalCode === null) {
                child.kill("SIGKILL");
                await exited;
            }
        }
        spawnSync("ip", ["link", "delete", BRIDGE.name]);
        if (!hadContainerdDir) fs.rmSync("/run/containerd", { recursive: true, force: true });
        fs.rmSync(root, { recursive: true, force: true });
    };
    let log = "";
    child.stdout!.on("data", (d) => (log += d));
    child.stderr!.on("data", (d) => (log += d));
    const env = { ...process.env, DOCKER_HOST: host };
    const docker = (args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) => run(DOCKER_CLI, args, { env, stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 120_000 });
    const deadline = Date.now() + 30_000;
    for (;;) {
        if (child.exitCode !== null || Date.now() > deadline) {
            await end();
            throw new Error(`dockerd ${child.exitCode !== null ? `exited ${child.exitCode}` : "did not answer within 30 s"}:\n${log.slice(-2000)}`);
        }
        if (fs.existsSync(socket) && (await docker(["version", "--format", "{{.Server.Version}}"])).code === 0) break;
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
            if (child.exitCode === null && child.signalCode === null) {
                // dockerd leaves user-defined networks' bridges behind when it stops: remove them first.
                const ids = (await docker(["ps", "-aq"])).stdout.split("\n").filter(Boolean);
                if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids]);
                const nets = (await docker(["network", "ls", "-q", "--filter", "type=custom"])).stdout.split("\n").filter(Boolean);
                if (nets.length > 0) await docker(["network", "rm", ...nets]);
            }
            await end();
        },
    };
}
