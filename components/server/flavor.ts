/**
 * The two servers redis-tls runs on. They read the same configuration and speak the same protocol;
 * what differs is where Debian puts them: package, unit, config file, user and CLI. Every renderer
 * takes these names from here, so one renderer serves both.
 */
export const FLAVORS = {
    redis: {
        serviceName: "redis-server",
        redisConfPath: "/etc/redis/redis.conf",
        group: "redis",
        adminSocket: "/run/redis/redis-server.sock",
        server: "redis-server",
        cli: "redis-cli",
    },
    valkey: {
        serviceName: "valkey-server",
        redisConfPath: "/etc/valkey/valkey.conf",
        group: "valkey",
        adminSocket: "/run/valkey/valkey-server.sock",
        server: "valkey-server",
        cli: "valkey-cli",
    },
} as const;

/** Which server: Redis, or Valkey (Debian's valkey-server). */
export const Flavor = { redis: "redis", valkey: "valkey" } as const;
export type Flavor = (typeof Flavor)[keyof typeof Flavor];
export const FLAVOR_NAMES = Object.values(Flavor);
export const DEFAULT_FLAVOR: Flavor = "redis";

/** The names of `flavor` (unknown names fall back to Redis; validators report them). */
export function flavorOf(flavor: string | undefined): (typeof FLAVORS)[Flavor] {
    return FLAVORS[(flavor ?? DEFAULT_FLAVOR) as Flavor] ?? FLAVORS.redis;
}
