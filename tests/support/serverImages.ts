import { DEFAULT_PACKAGES, HostSpec } from "../hosts";

const WITHOUT_REDIS = DEFAULT_PACKAGES.filter((p) => p !== "redis-server");

/** The three servers the end-to-end suites run against, as Debian ships them (one cached image each). */
export const IDENTITY_IMAGES: { label: string; spec: HostSpec; flavor: "redis" | "valkey"; login: "password" | "certificate"; version: RegExp }[] = [
    { label: "bookworm, Redis 7.0", spec: { packages: [...DEFAULT_PACKAGES, "lego", "python3-redis"] }, flavor: "redis", login: "password", version: /^Redis server v=7\.0\./ },
    { label: "trixie, Redis 8.0", spec: { suite: "trixie", packages: [...DEFAULT_PACKAGES, "python3-redis"] }, flavor: "redis", login: "password", version: /^Redis server v=8\.0\./ },
    { label: "sid, Valkey 9", spec: { suite: "sid", packages: [...WITHOUT_REDIS, "valkey-server", "python3-redis"] }, flavor: "valkey", login: "certificate", version: /^Valkey server v=9\./ },
];

