import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureImage, resolveImageSpec, type ImageSpec } from "./image";
import { claimSlot, cleanupStale, MAX_HOSTS, PREFIX, routeBetween, RUN_ROOT, setUpNetwork, tearDownSlot, tidyMachine, type Slot } from "./machine";
import { check, removeTree, run, type RunResult } from "./run";

export interface HostSpec extends ImageSpec {
  /**
   * Run nspawn with SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 (cgroup v2 inside the host). Debian sid
   * (systemd 262) refuses this machine's hybrid cgroup layout without it; bookworm and trixie
   * boot either way, and hybrid is the layout their tests were measured on.
   * @default true for sid/unstable, false otherwise
   */
  unifiedCgroupHierarchy?: boolean;
  /**
   * Files copied into every host's root (into the shared read-only tree, so the cached image stays
   * as built), e.g. binaries the Debian archive does not ship: `{ source, path, mode }`.
   */
  files?: Array<{ source: string; path: string; mode?: number }>;
}

export interface ExecOptions {
  /** Sent to the command's standard input. @default "" */
  stdin?: string;
  /** @default 60000 */
  timeoutMs?: number;
}

/**
 * A booted Debian host (systemd as PID 1) in its own network namespace, reached as root over SSH.
 * It reaches the other hosts of its run and the run's gateways, and nothing else (no default route).
 */
export interface TestHost {
  /** The name given to startHosts; also the host's hostname. */
  name: string;
  /** The fixture's name for it: its nspawn machine, netns and cgroup name (e.g. `rtls0`). */
  machine: string;
  address: string;
  /**
   * The machine-side address of this host's veth. Every host of the run reaches every host's
   * gateway, so a server for all the hosts can listen on any one of them.
   */
  gateway: string;
  user: "root";
  /** The private key in OpenSSH's PEM-armoured format, as @pulumi/command connections take it. */
  privateKeyPem: string;
  sshKeyFile: string;
  /** known_hosts pinning the image's host keys for this host's address. */
  knownHostsFile: string;
  /** The host's ed25519 key as `ssh-keyscan -t ed25519` prints it without the host name (for `connection.hostKey`). */
  hostKey: string;
  /** ssh options (key, pinned host keys, batch mode) to put before `root@address`, e.g. for scp. */
  sshOptions: string[];
  /** Runs `command` through the host's login shell; never rejects on a non-zero exit. */
  exec(command: string, opts?: ExecOptions): Promise<RunResult>;
  /**
   * `systemctl reboot`, then resolves once the host is back (a fresh /run) and `systemctl
   * is-system-running --wait` says running. Files outside /run and /tmp survive, as on a disk.
   */
  reboot(): Promise<void>;
}

export interface TestHosts {
  /** In the order of the names given. */
  hosts: TestHost[];
  /** This run's 0700 directory: key, known_hosts, extracted image, one nspawn log per host. */
  runDir: string;
  /** Tears down every host and removes the run directory; safe to call twice. */
  stop(): Promise<void>;
}

const LAUNCH = path.join(__dirname, "launch.sh");
const BOOT_TIMEOUT_MS = 120_000;

export function validateHostNames(names: string[]): void {
  if (names.length < 1 || names.length > MAX_HOSTS) {
    throw new Error(`[names] ${names.length} hosts requested; ask for 1 to ${MAX_HOSTS}`);
  }
  for (const n of names) {
    if (!/^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/.test(n)) {
      throw new Error(`[names] "${n}" is not a valid host name; use lower-case letters, digits and inner hyphens`);
    }
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`[names] "${dup}" is given twice; give each host its own name`);
}

/**
 * Boots one host per name from the image for `spec`, concurrently, and resolves once every
 * host answers SSH and `systemctl is-system-running --wait` says "running". On failure
 * everything started so far is torn down before the promise rejects.
 */
export async function startHosts(names: string[], spec: HostSpec = {}): Promise<TestHosts> {
  validateHostNames(names);
  const { suite } = resolveImageSpec(spec);
  const unified = spec.unifiedCgroupHierarchy ?? ["sid", "unstable"].includes(suite);
  await cleanupStale();
  const tarball = await ensureImage(spec);

  fs.mkdirSync(RUN_ROOT, { recursive: true });
  // The pid in the name lets cleanupStale tell a crashed run's directory from a live one.
  const runDir = fs.mkdtempSync(path.join(RUN_ROOT, `run-${process.pid}-`));
  const started: Array<{ slot: Slot; nspawn?: ChildProcess }> = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // Every step runs even when one fails, so a failed test still leaves the machine clean.
      const errors: unknown[] = [];
      const attempt = (p: Promise<void>) => p.catch((e: unknown) => void errors.push(e));
      await Promise.all(started.map((h) => attempt(tearDownSlot(h.slot, h.nspawn))));
      await attempt(removeTree(runDir));
      await attempt(tidyMachine());
      if (errors.length > 0) throw new AggregateError(errors, `[stop] ${errors.map(String).join("; ")}`);
    })());

  try {
    const keyFile = path.join(runDir, "id_ed25519");
    await check("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "redis-tls-test", "-f", keyFile]);
    // One extracted tree serves every host, read-only under an overlay of its own per host, so a
    // host keeps its changes across a reboot and never changes the others. It lives on a tmpfs
    // because this machine's disk takes 8 s for the image's 10k files where tmpfs takes 0.4 s;
    // removeTree unmounts it all.
    const rootfs = path.join(runDir, "rootfs");
    const overlays = path.join(runDir, "overlays");
    fs.mkdirSync(rootfs);
    fs.mkdirSync(overlays);
    await check("mount", ["-t", "tmpfs", "-o", "mode=0755,size=2g", `${PREFIX}-rootfs`, rootfs]);
    await check("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd", "-xf", tarball, "-C", rootfs]);
    await check("mount", ["-t", "tmpfs", "-o", "mode=0700,size=2g", `${PREFIX}-overlays`, overlays]);
    for (const f of spec.files ?? []) {
      const dest = path.join(rootfs, f.path);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(f.source, dest);
      fs.chmodSync(dest, f.mode ?? 0o755);
    }

    for (let i = 0; i < names.length; i++) {
      started.push({ slot: claimSlot() });
      await setUpNetwork(started[i].slot);
    }
    const slots = started.map((h) => h.slot);
    await Promise.all(slots.map((s) => routeBetween(s, slots)));
    const sshDir = path.join(rootfs, "etc/ssh");
    const hostKeys = fs.readdirSync(sshDir).filter((f) => /^ssh_host_\w+_key\.pub$/.test(f))
      .map((f) => fs.readFileSync(path.join(sshDir, f), "utf8").split(" ").slice(0, 2).join(" "));
    const knownHostsFile = path.join(runDir, "known_hosts");
    fs.writeFileSync(knownHostsFile, started.flatMap((h) => hostKeys.map((k) => `${h.slot.address} ${k}\n`)).join(""));

    const env = { ...process.env, ...(unified ? { SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: "1" } : {}) };
    for (const [i, h] of started.entries()) {
      const dir = path.join(overlays, h.slot.machine);
      for (const d of ["upper", "work", "root"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
      await check("mount", ["-t", "overlay", `${PREFIX}-${h.slot.machine}`, "-o", `lowerdir=${rootfs},upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/root`]);
      h.nspawn = launch(names[i], h.slot, runDir, `${dir}/root`, `${keyFile}.pub`, env);
    }

    const privateKeyPem = fs.readFileSync(keyFile, "utf8");
    const sshOptions = [
      "-F", "/dev/null", "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
      "-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
    ];
    const hosts = started.map(({ slot: s }, i): TestHost => {
      const host: TestHost = {
        name: names[i], machine: s.machine, address: s.address, gateway: s.gateway, user: "root",
        privateKeyPem, sshKeyFile: keyFile, knownHostsFile, sshOptions, hostKey: hostKeys.find((k) => k.startsWith("ssh-ed25519 "))!,
        exec: (command, opts = {}) => run("ssh", [...sshOptions, `root@${s.address}`, command], opts),
        reboot: async () => {
          await host.exec("touch /run/redis-tls-test-before-reboot && systemctl reboot");
          const deadline = Date.now() + BOOT_TIMEOUT_MS;
          while ((await host.exec("test ! -e /run/redis-tls-test-before-reboot", { timeoutMs: 10_000 })).code !== 0) {
            if (Date.now() > deadline) throw new Error(`[reboot] host "${host.name}" did not come back within ${BOOT_TIMEOUT_MS} ms`);
            await new Promise((r) => setTimeout(r, 200));
          }
          await waitUntilUp(host, started[i].nspawn!, path.join(runDir, `${s.machine}.log`));
        },
      };
      return host;
    });
    await Promise.all(hosts.map((h, i) => waitUntilUp(h, started[i].nspawn!, path.join(runDir, `${h.machine}.log`))));
    return { hosts, runDir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function launch(name: string, s: Slot, runDir: string, rootfs: string, pubKey: string, env: NodeJS.ProcessEnv): ChildProcess {
  const log = fs.openSync(path.join(runDir, `${s.machine}.log`), "w");
  const args = [
    "--boot", `--directory=${rootfs}`,
    `--machine=${s.machine}`, `--hostname=${name}`,
    // No systemd runs on this machine, so nspawn must neither make a scope unit nor call machined.
    "--keep-unit", "--register=no",
    "--settings=no", "--link-journal=no",
    `--network-namespace-path=/run/netns/${s.machine}`,
    `--bind-ro=${pubKey}:/root/.ssh/authorized_keys`,
    // Never hand the container one of the machine's device nodes as its console: its systemd
    // once chmod'ed the machine's /dev/null to 0620 that way. passive needs no tty.
    "--console=passive",
  ];
  // detached: Ctrl-C on the test run must not half-kill hosts; stop() or the next run's
  // cleanupStale() ends them. unref: a forgotten stop() must not hang mocha.
  const child = spawn("bash", [LAUNCH, s.machine, "systemd-nspawn", ...args], { stdio: ["ignore", log, log], env, detached: true });
  child.unref();
  fs.closeSync(log);
  return child;
}

async function waitUntilUp(host: TestHost, nspawn: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  const fail = (why: string) => {
    const log = fs.readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n");
    return new Error(`[startHosts] host "${host.name}" (${host.machine}) ${why}; last lines of ${logFile}:\n${log}`);
  };
  for (;;) {
    if (nspawn.exitCode !== null || nspawn.signalCode !== null) throw fail(`exited while booting (${nspawn.exitCode ?? nspawn.signalCode})`);
    if ((await host.exec("true", { timeoutMs: 10_000 })).code === 0) break;
    if (Date.now() > deadline) throw fail(`did not answer SSH within ${BOOT_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const state = await host.exec("systemctl is-system-running --wait", { timeoutMs: Math.max(deadline - Date.now(), 10_000) });
  if (state.stdout.trim() !== "running") {
    const failed = await host.exec("systemctl --failed --no-legend --plain");
    throw fail(`is "${state.stdout.trim()}", not running; failed units: ${failed.stdout.trim()}`);
  }
}
