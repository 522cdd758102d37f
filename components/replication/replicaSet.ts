/**
 * A primary and its replicas. Replication runs over the primary's TLS port (`tls-replication yes`,
 * `port 0`): the replica presents its own server certificate as its client certificate and logs in
 * as a replication identity that may only replicate. What Redis (through 8.0) and Valkey (through
 * 9.1) do not do is check the primary's name: a replica accepts any server certificate that chains
 * to its CA. Give a replica set a CA of its own (the CA in state is one per stack), so that "any
 * server certificate of this CA" means "a member".
 */
import * as net from "node:net";
import { checkAclUser, checkPort, checkServerAddress, Problem, show } from "../validation/fields";
import type { SentinelArgs } from "../sentinel/render";

export const REPLICATION_DEFAULTS = { user: "redis-tls-replica" } as const;

/**
 * Rules of the replication identity: what a replica sends its primary before and during the sync
 * (PING, REPLCONF, PSYNC; AUTH is open to every user), and nothing else: no key, no channel.
 */
export const REPLICATION_RULES = "resetchannels -@all +ping +replconf +psync";

/** The primary a replica follows, as the replica reaches it. */
export interface ReplicaOfArgs {
    /** The primary's address (an IP or a DNS name the replica resolves). */
    host: import("@pulumi/pulumi").Input<string>;
    /**
     * The primary's TLS port.
     * @default 6379
     */
    port?: number;
}

/** One server's place in a replica set. */
export interface ReplicaSetArgs {
    /**
     * The replica set's replication password, the same on every member (secret; `makeAclPassword`
     * makes one). Each member's users.acl stores only its SHA-256, for `user`; each member's drop-in
     * (root:redis, 0640) carries it as `masterauth`, which Redis needs in plain text to log in.
     */
    password: import("@pulumi/pulumi").Input<string>;
    /**
     * The ACL user replicas log in to their primary as: PING, REPLCONF and PSYNC only.
     * @default "redis-tls-replica"
     */
    user?: string;
    /** The primary this server replicates from; unset: this server is the primary. */
    primary?: ReplicaOfArgs;
    /**
     * Run a Sentinel over TLS beside this member, watching the primary (`primary`, or this server
     * itself on the primary) and promoting a replica when it fails. Give it to every member, with the
     * same password. Every member's users.acl gets the sentinel identity.
     */
    sentinel?: SentinelArgs;
}

/** A replica set membership with every value resolved. */
export interface ResolvedReplicaSet {
    user: string;
    password: string;
    primary?: { host: string; port: number };
    /** The sentinel identity, when the replica set has Sentinel. */
    sentinel?: { user: string; password: string };
}

/** A replication password: what redis.conf and AUTH carry intact, long enough not to be guessed. */
export function checkReplicationPassword(field: string, password: string): Problem {
    if (password.length < 16 || !/^[\x21-\x7e]+$/.test(password)) {
        return `[${field}] is shorter than 16 characters or has white space or control characters; use a long random password (makeAclPassword makes one)`;
    }
    return undefined;
}

/** The plain parts of a membership; `self` is where this server is reached, to refuse a replica of itself. */
export function checkReplicaSet(field: string, rs: ReplicaSetArgs, self: { host: unknown; tlsPort: number }): Problem[] {
    const problems: Problem[] = [checkAclUser(`${field}.user`, rs.user ?? REPLICATION_DEFAULTS.user)];
    if (typeof rs.password === "string") problems.push(checkReplicationPassword(`${field}.password`, rs.password));
    if (rs.primary !== undefined) {
        const port = rs.primary.port ?? 6379;
        problems.push(checkPort(`${field}.primary.port`, port));
        if (typeof rs.primary.host === "string") {
            problems.push(checkServerAddress(`${field}.primary.host`, rs.primary.host));
            if (typeof self.host === "string" && sameHost(rs.primary.host, self.host) && port === self.tlsPort) {
                problems.push(`[${field}.primary] ${show(`${rs.primary.host}:${port}`)} is this server itself, which cannot replicate from itself; name the primary's address, or leave primary unset on the primary`);
            }
        }
    }
    return problems;
}

function sameHost(a: string, b: string): boolean {
    return net.isIP(a) !== 0 && net.isIP(b) !== 0 ? net.isIPv6(a) === net.isIPv6(b) && normaliseIp(a) === normaliseIp(b) : a.toLowerCase() === b.toLowerCase();
}

function normaliseIp(ip: string): string {
    return net.isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname : ip;
}

/** The users.acl line of the replication identity, with the password's SHA-256. */
export function renderReplicationUser(user: string, passwordHash: string): string {
    if (!/^[0-9a-f]{64}$/.test(passwordHash)) throw new Error("replication password hash is not a SHA-256 in hex");
    return `user ${user} reset on #${passwordHash} ${REPLICATION_RULES}\n`;
}
