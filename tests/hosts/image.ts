import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { check, removeTree } from "./run";

/** Which Debian root file system the test hosts boot. */
export interface ImageSpec {
  /** Debian suite passed to debootstrap. @default "bookworm" */
  suite?: string;
  /** Packages installed on top of `--variant=minbase`. @default DEFAULT_PACKAGES */
  packages?: string[];
}

export const DEFAULT_SUITE = "bookworm";
export const DEFAULT_PACKAGES: readonly string[] = [
  "systemd", "systemd-sysv", "dbus", "openssh-server", "redis-server",
  "ca-certificates", "iproute2", "procps", "openssl",
];
/** Outside the repository so images survive a fresh work tree. */
export const IMAGE_CACHE_DIR = "/var/cache/redis-tls-test/images";

const BUILD_SCRIPT = path.join(__dirname, "build-image.sh");
const INSTALL_DEPS = path.join(__dirname, "..", "install-deps.sh");
// A build killed by SIGKILL skips its trap; anything this old is no longer being written.
const STALE_BUILD_MS = 60 * 60_000;

/** Applies defaults and validates; packages come back sorted and unique so equal sets share a cache key. */
export function resolveImageSpec(spec: ImageSpec = {}): { suite: string; packages: string[] } {
  const suite = spec.suite ?? DEFAULT_SUITE;
  const packages = [...new Set(spec.packages ?? DEFAULT_PACKAGES)].sort();
  if (!/^[a-z][a-z0-9-]*$/.test(suite)) {
    throw new Error(`[suite] "${suite}" is not a Debian suite name; use e.g. "bookworm" or "trixie"`);
  }
  for (const p of packages) {
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) {
      throw new Error(`[packages] "${p}" is not a Debian package name; use lower-case letters, digits and + - .`);
    }
  }
  return { suite, packages };
}

/** Where the tarball for `spec` lives; the key covers the build script, so changing how images are made rebuilds them. */
export function imagePath(spec: ImageSpec = {}): string {
  const { suite, packages } = resolveImageSpec(spec);
  const hash = createHash("sha256")
    .update(JSON.stringify({ suite, packages, script: fs.readFileSync(BUILD_SCRIPT, "utf8") }))
    .digest("hex")
    .slice(0, 16);
  return path.join(IMAGE_CACHE_DIR, `${suite}-${hash}.tar.zst`);
}

/**
 * The Debian mirror apt on this machine uses: the first `URIs:` (deb822) or `deb` line whose
 * path ends in /debian. It is the only package source the fixture may reach.
 */
export function debianMirror(aptDir = "/etc/apt"): string {
  const files = [path.join(aptDir, "sources.list")];
  const dir = path.join(aptDir, "sources.list.d");
  if (fs.existsSync(dir)) {
    files.push(...fs.readdirSync(dir).filter((f) => /\.(list|sources)$/.test(f)).sort().map((f) => path.join(dir, f)));
  }
  for (const file of files.filter((f) => fs.existsSync(f))) {
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
      const m = /^\s*URIs:\s*(.*)$/i.exec(line) ?? /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      const uri = m?.[1].split(/\s+/).find((u) => /^https?:\/\/.*\/debian\/?$/.test(u));
      if (uri) return uri;
    }
  }
  throw new Error(`[mirror] no Debian mirror found in ${aptDir}/sources.list*; configure apt with a .../debian mirror`);
}

/** Returns the path of the image tarball for `spec`, building it (about 45 s) when it is not cached. */
export async function ensureImage(spec: ImageSpec = {}): Promise<string> {
  await check("bash", [INSTALL_DEPS], { timeoutMs: 600_000 });
  const out = imagePath(spec);
  if (fs.existsSync(out)) return out;
  await removeStaleBuilds();
  const { suite, packages } = resolveImageSpec(spec);
  await check("bash", [BUILD_SCRIPT, suite, debianMirror(), packages.join(","), out], { timeoutMs: 900_000 });
  return out;
}

async function removeStaleBuilds(): Promise<void> {
  if (!fs.existsSync(IMAGE_CACHE_DIR)) return;
  for (const entry of fs.readdirSync(IMAGE_CACHE_DIR)) {
    const p = path.join(IMAGE_CACHE_DIR, entry);
    if (entry.startsWith(".build.") && Date.now() - fs.statSync(p).mtimeMs > STALE_BUILD_MS) await removeTree(p);
  }
}
