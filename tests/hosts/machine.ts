// The machine-side resources of test hosts: slots (name + addresses), network namespaces,
// veth pairs and cgroups, and the cleanup that removes them, also after a crashed run.
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { check, removeTree, run } from "./run";

/** Prefix of every netns, link, cgroup and machine name the fixture creates. */
export const PREFIX = "rtls";
/**
 * Test hosts live in this /24 only: slot i is the /30 10.213.77.4i/30, machine side .4i+1, host
 * .4i+2. A host routes only to the /30s of the other hosts of its run (see routeBetween).
 */
export const SUBNET = "10.213.77.0/24";
export const MAX_HOSTS = 64;
/** Per-run directories (key, extracted image, logs) and slot claims; /var/tmp because the image is ~190 MB. */
export const RUN_ROOT = "/var/tmp/redis-tls-test";

const SLOTS_DIR = path.join(RUN_ROOT, "slots");
const CGROUP_ROOTS = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"];
const NSPAWN_RUN_DIR = "/run/systemd/nspawn";

export interface Slot {
  index: number;
  /** Name of the machine, its netns and its cgroups, e.g. `rtls0`. */
  machine: string;
  /** Machine end of the veth pair; the host end is `${machine}h` inside the netns. */
  veth: string;
  /** Machine-side address of the veth, reachable from the host. */
  gateway: string;
  /** The host's address. */
  address: string;
  /** The slot's /30, e.g. `10.213.77.4/30`. */
  subnet: string;
}

export function slot(index: number): Slot {
  const machine = `${PREFIX}${index}`;
  const base = SUBNET.split(".").slice(0, 3).join(".");
  return {
    index, machine, veth: `${machine}m`,
    gateway: `${base}.${4 * index + 1}`, address: `${base}.${4 * index + 2}`, subnet: `${base}.${4 * index}/30`,
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function claimPath(s: Slot): string {
  return path.join(SLOTS_DIR, s.machine);
}

/** Owner pid of a slot's claim, or undefined when unclaimed. */
function claimOwner(s: Slot): number | undefined {
  try {
    return Number(fs.readlinkSync(claimPath(s)));
  } catch {
    return undefined;
  }
}

/**
 * Claims a free slot for this process. A claim is a symlink whose target is our pid: creating
 * it is atomic and carries its content, so concurrent runs never share a slot and a reader
 * never sees a half-written claim.
 */
export function claimSlot(): Slot {
  fs.mkdirSync(SLOTS_DIR, { recursive: true });
  for (let i = 0; i < MAX_HOSTS; i++) {
    try {
      fs.symlinkSync(String(process.pid), claimPath(slot(i)));
      return slot(i);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  throw new Error(`[startHosts] all ${MAX_HOSTS} slots of ${SUBNET} are taken; stop other runs or call cleanupStale()`);
}

/** A netns with one veth pair and no default route; routeBetween adds the routes to the other hosts. */
export async function setUpNetwork(s: Slot): Promise<void> {
  const peer = `${s.machine}h`;
  await check("ip", ["netns", "add", s.machine]);
  await check("ip", ["link", "add", s.veth, "type", "veth", "peer", "name", peer, "netns", s.machine]);
  // Forwarding for packets received on this veth only: the machine's net.ipv4.ip_forward stays as
  // found, and the setting goes with the veth. Which destinations a host sends to is up to its routes.
  fs.writeFileSync(`/proc/sys/net/ipv4/conf/${s.veth}/forwarding`, "1");
  await check("ip", ["addr", "add", `${s.gateway}/30`, "dev", s.veth]);
  await check("ip", ["link", "set", s.veth, "up"]);
  await check("ip", ["-n", s.machine, "addr", "add", `${s.address}/30`, "dev", peer]);
  await check("ip", ["-n", s.machine, "link", "set", peer, "up"]);
  await check("ip", ["-n", s.machine, "link", "set", "lo", "up"]);
}

/**
 * Routes each other slot's /30 via this slot's gateway inside its netns, so the host reaches the
 * other hosts of its run and their gateways. Only those /30s: the machine has a link route for
 * each, so nothing a host sends is forwarded out of the machine (a route for all of SUBNET would
 * send traffic for unused addresses out of the machine's default route).
 */
export async function routeBetween(s: Slot, all: Slot[]): Promise<void> {
  const routes = all.filter((o) => o.index !== s.index).map((o) => `route add ${o.subnet} via ${s.gateway}\n`);
  if (routes.length > 0) await check("ip", ["-n", s.machine, "-batch", "-"], { stdin: routes.join("") });
}

function cgroupDirs(machine: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // the container's systemd removed it meanwhile
    }
    out.push(dir);
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  for (const root of CGROUP_ROOTS) if (fs.existsSync(path.join(root, machine))) walk(path.join(root, machine));
  return out;
}

function cgroupPids(machine: string): number[] {
  const read = (dir: string) => {
    try {
      return fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n");
    } catch {
      return []; // the container's systemd removed it meanwhile
    }
  };
  return [...new Set(cgroupDirs(machine).flatMap(read).filter(Boolean).map(Number))];
}

/** Removes an empty directory; a missing or non-empty one is left as it is. */
function tryRmdir(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // absent, or in use by someone else
  }
}

function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once("exit", () => (clearTimeout(timer), resolve()));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a slot's host and removes everything the slot made. SIGTERM makes nspawn halt the
 * container in order (about 0.3 s); whatever is left in the slot's cgroups is then killed, and the
 * cgroups are removed deepest first (rmdir refuses a cgroup that still has children).
 */
export async function tearDownSlot(s: Slot, nspawn?: ChildProcess): Promise<void> {
  if (nspawn && nspawn.exitCode === null && nspawn.signalCode === null) {
    nspawn.kill("SIGTERM");
    await exited(nspawn, 20_000);
  }
  for (let i = 0; i < 50 && cgroupPids(s.machine).length > 0; i++) {
    for (const pid of cgroupPids(s.machine)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    await sleep(100);
  }
  for (const dir of cgroupDirs(s.machine).sort().reverse()) {
    for (let i = 0; i < 20; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EBUSY" || i === 19) throw e;
        await sleep(100);
      }
    }
  }
  if (fs.existsSync(`/run/netns/${s.machine}`)) await check("ip", ["netns", "del", s.machine]);
  // Deleting the netns destroys the pair asynchronously, so the link may vanish under us.
  const link = await run("ip", ["link", "del", s.veth]);
  if (link.code !== 0 && fs.existsSync(`/sys/class/net/${s.veth}`)) throw new Error(`[stop] ip link del ${s.veth}: ${link.stderr.trim()}`);
  tryRmdir(path.join(NSPAWN_RUN_DIR, "propagate", s.machine));
  fs.rmSync(claimPath(s), { force: true });
}

/** Everything of the fixture's that exists on this machine, as "kind name" lines; empty when clean. */
export function leftovers(): string[] {
  const named = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith(PREFIX)) : []);
  const out = [
    ...named("/run/netns").map((n) => `netns ${n}`),
    ...named("/sys/class/net").map((n) => `link ${n}`),
    ...CGROUP_ROOTS.flatMap((r) => named(r).map((n) => `cgroup ${r}/${n}`)),
    ...named(SLOTS_DIR).map((n) => `claim ${SLOTS_DIR}/${n}`),
  ];
  if (fs.existsSync(RUN_ROOT)) {
    out.push(...fs.readdirSync(RUN_ROOT).filter((n) => n.startsWith("run-")).map((n) => `run dir ${RUN_ROOT}/${n}`));
  }
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const target = line.split(" ")[4];
    if (target?.startsWith(`${RUN_ROOT}/`)) out.push(`mount ${target}`);
  }
  for (const [pid, cmdline] of nspawnProcesses()) {
    if (cmdline.some((a) => a.startsWith(`--machine=${PREFIX}`))) out.push(`process ${pid} ${cmdline.join(" ").trim()}`);
  }
  return out;
}

/** Live (not zombie) systemd-nspawn processes on the machine, with their argv. */
function nspawnProcesses(): Array<[number, string[]]> {
  const out: Array<[number, string[]]> = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (cmdline[0]?.endsWith("systemd-nspawn")) out.push([Number(pid), cmdline]);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const nspawnRunning = (): boolean => nspawnProcesses().length > 0;

/**
 * Removes what a crashed run left: slots whose owner process is gone (or that have no claim
 * at all), and run directories named for a dead pid. Slots of live runs are left alone.
 */
export async function cleanupStale(): Promise<void> {
  for (let i = 0; i < MAX_HOSTS; i++) {
    const s = slot(i);
    const owner = claimOwner(s);
    if (owner !== undefined && isAlive(owner)) continue;
    const traces = [claimPath(s), `/run/netns/${s.machine}`, `/sys/class/net/${s.veth}`, ...CGROUP_ROOTS.map((r) => `${r}/${s.machine}`)];
    if (owner !== undefined || traces.some((t) => fs.existsSync(t))) await tearDownSlot(s);
  }
  if (fs.existsSync(RUN_ROOT)) {
    for (const name of fs.readdirSync(RUN_ROOT)) {
      const pid = /^run-(\d+)-/.exec(name)?.[1];
      if (pid && !isAlive(Number(pid))) await removeTree(path.join(RUN_ROOT, name));
    }
  }
  await tidyMachine();
}

/**
 * When no run holds a slot, removes the empty directories that `ip netns` and nspawn create
 * on first use (/run/netns is also a bind mount of itself), so the machine is left as found.
 */
export async function tidyMachine(): Promise<void> {
  if (fs.existsSync(SLOTS_DIR) && fs.readdirSync(SLOTS_DIR).length > 0) return;
  tryRmdir(SLOTS_DIR);
  tryRmdir(RUN_ROOT);
  if (fs.existsSync("/run/netns") && fs.readdirSync("/run/netns").length === 0) {
    await run("umount", ["/run/netns"]);
    tryRmdir("/run/netns");
  }
  // A SIGKILLed nspawn leaves its image lock file behind; with no nspawn running none is held.
  const locks = path.join(NSPAWN_RUN_DIR, "locks");
  if (fs.existsSync(locks) && !nspawnRunning()) {
    for (const f of fs.readdirSync(locks)) if (f.startsWith("inode-")) fs.rmSync(path.join(locks, f), { force: true });
  }
  for (const dir of ["locks", "propagate", ""]) tryRmdir(path.join(NSPAWN_RUN_DIR, dir));
}
