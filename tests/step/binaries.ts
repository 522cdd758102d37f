import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { debianMirror } from "../hosts/image";
import { check, removeTree } from "../hosts/run";

/** Outside the repository so the binaries survive a fresh work tree. */
export const STEP_CACHE_DIR = "/var/cache/redis-tls-test/step";

const BUILD_SCRIPT = path.join(__dirname, "build.sh");
/** What build.sh reads from tests/step besides itself: mains, added files, patches. */
const SOURCE_DIRS = ["cmd", "overlay", "patches"].map((d) => path.join(__dirname, d));
// A build killed by SIGKILL skips its trap; anything this old is no longer being written.
const STALE_BUILD_MS = 60 * 60_000;

/** Files under `dir`, recursively, as paths relative to tests/step, sorted. */
function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : [path.relative(__dirname, p)];
  }).sort();
}

/** Where the binaries live; the key covers build.sh and every source it uses, so changing either rebuilds. */
export function stepBinariesDir(): string {
  const hash = createHash("sha256");
  for (const rel of ["build.sh", ...SOURCE_DIRS.flatMap(listFiles)]) {
    hash.update(`${rel}\0`).update(fs.readFileSync(path.join(__dirname, rel))).update("\0");
  }
  return path.join(STEP_CACHE_DIR, hash.digest("hex").slice(0, 16));
}

/**
 * Returns the paths of smallstep's `step` 0.15.16 and `step-ca` 0.19.0, built from Debian
 * bookworm's Go sources by build.sh (about a minute, plus the package install) when not cached.
 */
export async function ensureStepBinaries(): Promise<{ step: string; stepCa: string; dir: string }> {
  const dir = stepBinariesDir();
  const step = path.join(dir, "step");
  const stepCa = path.join(dir, "step-ca");
  if (!fs.existsSync(step) || !fs.existsSync(stepCa)) {
    await removeStaleBuilds();
    await check("bash", [BUILD_SCRIPT, dir, debianMirror()], { timeoutMs: 1_200_000 });
  }
  return { step, stepCa, dir };
}

async function removeStaleBuilds(): Promise<void> {
  if (!fs.existsSync(STEP_CACHE_DIR)) return;
  for (const entry of fs.readdirSync(STEP_CACHE_DIR)) {
    const p = path.join(STEP_CACHE_DIR, entry);
    if (entry.startsWith(".build.") && Date.now() - fs.statSync(p).mtimeMs > STALE_BUILD_MS) await removeTree(p);
  }
}
