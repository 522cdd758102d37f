export { DEFAULT_PACKAGES, DEFAULT_SUITE, IMAGE_CACHE_DIR, debianMirror, ensureImage, imagePath, resolveImageSpec, type ImageSpec } from "./image";
export { startHosts, validateHostNames, type ExecOptions, type HostSpec, type TestHost, type TestHosts } from "./hosts";
export { MAX_HOSTS, PREFIX, RUN_ROOT, SUBNET, cleanupStale, leftovers } from "./machine";
export type { RunResult } from "./run";
