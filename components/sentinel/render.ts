/**
 * Redis Sentinel over TLS, beside each member of a replica set. A sentinel listens on its TLS port
 * only, serves the host's certificate (the same `live` files Redis serves) and, with
 * `tls-replication yes`, speaks TLS presenting that certificate to the data nodes and to the other
 * sentinels. What each one may do is an ACL user's, not the certificate's:
 * - on the data nodes, sentinels log in as the sentinel identity: INFO, ROLE, PING, the hello
 *   channel, and what a failover sends (SLAVEOF, CONFIG REWRITE, CLIENT KILL, SCRIPT KILL in MULTI);
 * - on a sentinel, the other sentinels log in as that same identity, which may PING, publish hellos
 *   and ask for a vote (SENTINEL IS-MASTER-DOWN-BY-ADDR), nothing else;
 * - anyone else with a certificate of the CA (applications) is the default user, which may only
 *   find the primary (SENTINEL GET-MASTER-ADDR-BY-NAME, SENTINELS, REPLICAS, +switch-master): no
 *   SENTINEL SET, MONITOR, REMOVE, RESET or FAILOVER, no ACL, no DEBUG.
 * Sentinel rewrites its own config file as it learns (replicas, peers, epochs), so that file belongs
 * to the server's user in a directory of its own; root writes it (as that user) only when what
 * redis-tls renders changed. A new certificate restarts the sentinel (the shared reload does it,
 * after Redis's hot reload), since Sentinel has no CONFIG SET to hot-load one; what it learned
 * survives in that file.
 */
import { createHash } from "node:crypto";
import { tlsLayout } from "../host/layout";
import { shellLib, shellQuote } from "../host/shell";
import { confQuote } from "../config/render";
import { checkAclUser, checkPort, checkServerAddress, Problem, show } from "../validation/fields";
import { checkReplicationPassword } from "../replication/replicaSet";

export const SENTINEL_DEFAULTS = {
    port: 26379,
    masterName: "redis-tls",
    user: "redis-tls-sentinel",
    quorum: 2,
    downAfterMs: 5000,
    failoverTimeoutMs: 60000,
} as const;

/** Where the sentinel's own, self-rewritten config lives (owned by the server's user). */
export const SENTINEL_STATE_DIR = "/var/lib/redis-tls-sentinel";
export const SENTINEL_UNIT = "redis-tls-sentinel";
/** The sentinel's unit file, whose presence tells the shared reload to restart it. */
export const SENTINEL_UNIT_FILE = `/etc/systemd/system/${SENTINEL_UNIT}.service`;

/**
 * The sentinel identity on the data nodes: what Sentinel sends to watch a primary and its replicas
 * and to carry out a failover (in MULTI, where one refused command would abort the whole failover).
 */
export const SENTINEL_DATA_RULES =
    "resetchannels &__sentinel__:hello -@all +ping +info +role +subscribe +publish +multi +exec +slaveof +replicaof +config|rewrite +client|setname +client|kill +script|kill";
/** The same identity on a sentinel, as its peers use it. */
export const SENTINEL_PEER_RULES = "resetchannels &__sentinel__:hello -@all +ping +publish +sentinel|is-master-down-by-addr +client|setname";
/** Everyone else with a certificate of the CA: finding the primary, and being told when it moves. */
export const SENTINEL_CLIENT_RULES =
    "resetchannels &+switch-master -@all +ping +sentinel|get-master-addr-by-name +sentinel|sentinels +sentinel|replicas +sentinel|slaves +subscribe";

/** Sentinel beside a replica set member (ReplicaSetArgs.sentinel). */
export interface SentinelArgs {
    /**
     * The sentinels' password (secret; `makeAclPassword` makes one), the same on every member: they log
     * in with it to the data nodes and to each other. Stored as its SHA-256 in every users.acl and
     * sentinel ACL; in plain text only in each sentinel's own config (the server's user, 0600).
     */
    password: import("@pulumi/pulumi").Input<string>;
    /**
     * The ACL user sentinels log in as, on data nodes and on sentinels.
     * @default "redis-tls-sentinel"
     */
    user?: string;
    /**
     * The name clients ask Sentinel for (`SENTINEL GET-MASTER-ADDR-BY-NAME`).
     * @default "redis-tls"
     */
    masterName?: string;
    /**
     * The sentinel's TLS port.
     * @default 26379
     */
    port?: number;
    /**
     * How many sentinels must agree the primary is down: a majority of the replica set's sentinels.
     * @default 2
     */
    quorum?: number;
    /**
     * Milliseconds without a valid reply before a sentinel calls the primary down.
     * @default 5000
     */
    downAfterMs?: number;
    /**
     * `failover-timeout` in milliseconds.
     * @default 60000
     */
    failoverTimeoutMs?: number;
}

/** Everything a sentinel's config says, resolved. */
export interface SentinelConfValues {
    tlsDir: string;
    port: number;
    bind: string[];
    authClients: string;
    protocols: string[];
    masterName: string;
    /** The primary as Pulumi declared it: where the sentinel starts watching. */
    primary: { host: string; port: number };
    quorum: number;
    downAfterMs: number;
    failoverTimeoutMs: number;
    user: string;
    password: string;
}

/** The plain parts of `sentinel`; `self` is this server's TLS port and the ports it must not take. */
export function checkSentinel(field: string, s: SentinelArgs, self: { tlsPort: number; sshPort: number }): Problem[] {
    const port = s.port ?? SENTINEL_DEFAULTS.port;
    const problems: Problem[] = [checkAclUser(`${field}.user`, s.user ?? SENTINEL_DEFAULTS.user), checkPort(`${field}.port`, port)];
    if (port === self.tlsPort || port === self.tlsPort + 10000 || port === self.sshPort) {
        problems.push(`[${field}.port] ${port} is also this server's ${port === self.tlsPort ? "TLS port" : port === self.sshPort ? "SSH port" : "cluster bus port"}; give Sentinel a port of its own, such as 26379`);
    }
    const name = s.masterName ?? SENTINEL_DEFAULTS.masterName;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
        problems.push(`[${field}.masterName] ${show(name)} is not a name Sentinel can carry; use letters, digits, ".", "_" and "-"`);
    }
    const whole = (f: string, v: number, min: number, max: number, fix: string) =>
        Number.isInteger(v) && v >= min && v <= max ? undefined : `[${field}.${f}] ${show(v)} is not a whole number from ${min} to ${max}; ${fix}`;
    problems.push(
        whole("quorum", s.quorum ?? SENTINEL_DEFAULTS.quorum, 1, 100, "use a majority of the replica set's sentinels, 2 for three members"),
        whole("downAfterMs", s.downAfterMs ?? SENTINEL_DEFAULTS.downAfterMs, 100, 3_600_000, "use a few seconds, such as 5000"),
        whole("failoverTimeoutMs", s.failoverTimeoutMs ?? SENTINEL_DEFAULTS.failoverTimeoutMs, 1000, 86_400_000, "use a minute or more, such as 60000"),
    );
    if (typeof s.password === "string") problems.push(checkReplicationPassword(`${field}.password`, s.password));
    return problems;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The sentinel identity's users.acl line on a data node. */
export function renderSentinelDataUser(user: string, password: string): string {
    return `user ${user} reset on #${sha256(password)} ${SENTINEL_DATA_RULES}\n`;
}

/** The sentinel's config as redis-tls renders it; Sentinel adds what it learns below. */
export function renderSentinelConf(v: SentinelConfValues): string {
    const problem = checkServerAddress("replicaSet.primary.host", v.primary.host);
    if (problem !== undefined) throw new Error(problem);
    const files = tlsLayout(v.tlsDir);
    const m = v.masterName;
    return [
        "# Managed by redis-tls (Pulumi); Sentinel appends what it learns. Rewritten when redis-tls's part changes.",
        "port 0",
        `tls-port ${v.port}`,
        `bind ${v.bind.join(" ")}`,
        `tls-cert-file ${files.certPath}`,
        `tls-key-file ${files.keyPath}`,
        `tls-ca-cert-file ${files.caPath}`,
        `tls-ca-cert-dir ""`,
        `tls-auth-clients ${v.authClients}`,
        // Sentinel's links to the data nodes and to the other sentinels are TLS, with this certificate.
        "tls-replication yes",
        `tls-protocols ${confQuote(v.protocols.join(" "))}`,
        "daemonize no",
        `logfile ""`,
        `dir ${SENTINEL_STATE_DIR}`,
        "sentinel resolve-hostnames yes",
        "sentinel deny-scripts-reconfig yes",
        `sentinel monitor ${m} ${v.primary.host} ${v.primary.port} ${v.quorum}`,
        `sentinel down-after-milliseconds ${m} ${v.downAfterMs}`,
        `sentinel failover-timeout ${m} ${v.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${m} 1`,
        `sentinel auth-user ${m} ${v.user}`,
        `sentinel auth-pass ${m} ${confQuote(v.password)}`,
        `sentinel sentinel-user ${v.user}`,
        `sentinel sentinel-pass ${confQuote(v.password)}`,
        `user default on nopass ${SENTINEL_CLIENT_RULES}`,
        `user ${v.user} on #${sha256(v.password)} ${SENTINEL_PEER_RULES}`,
    ].join("\n") + "\n";
}

export interface SentinelUnitArgs {
    /** The server binary (`redis-server`, `valkey-server`), run with --sentinel. */
    server: string;
    /** The user and group the server runs as. */
    user: string;
}

/** The sentinel's service: the server's user, nothing writable but its own directory. */
export function renderSentinelService(a: SentinelUnitArgs): string {
    return `[Unit]
Description=Sentinel over TLS (redis-tls)
After=network-online.target
Wants=network-online.target

[Service]
User=${a.user}
Group=${a.user}
ExecStart=/usr/bin/${a.server} ${SENTINEL_STATE_DIR}/sentinel.conf --sentinel
Restart=always
RestartSec=1
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=${SENTINEL_STATE_DIR}
CapabilityBoundingSet=
UMask=0077

[Install]
WantedBy=multi-user.target
`;
}

/**
 * Installs the unit and the config (stdin sections `conf` and `service`) and
 * starts the sentinel. The config is written only when redis-tls's part of it changed (its SHA-256 is
 * kept root-only in the TLS directory), so a re-run keeps what the sentinel learned.
 */
export function renderSentinelInstallScript(a: { tlsDir: string; user: string }): string {
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "read_sections", "put")}tls=${shellQuote(a.tlsDir)} user=${shellQuote(a.user)} state=${SENTINEL_STATE_DIR} unit=${SENTINEL_UNIT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
root_dir "$tls"
root_dir /etc/systemd/system
changed=no
put "$work/service" "/etc/systemd/system/$unit.service" 644 root:root && changed=yes
# The sentinel's directory is its user's (Sentinel rewrites its file there), so root writes nothing
# in it itself: the file is written as that user, who can plant nothing root would follow.
root_dir /var/lib keep
if [ -L "$state" ] || { [ -e "$state" ] && [ ! -d "$state" ]; }; then echo "$state is not a directory" >&2; exit 1; fi
if [ ! -d "$state" ]; then mkdir -m 0700 "$state"; chown "$user:$user" "$state"; fi
sha256sum < "$work/conf" | cut -d' ' -f1 > "$work/conf.sha256"
if ! cmp -s "$work/conf.sha256" "$tls/sentinel.sha256" || ! runuser -u "$user" -- test -s "$state/sentinel.conf"; then
  # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
  runuser -u "$user" -- bash -c 'umask 077; cat > "$1.new" && mv -f "$1.new" "$1"' _ "$state/sentinel.conf" < "$work/conf"
  put "$work/conf.sha256" "$tls/sentinel.sha256" 600 root:root || true
  changed=yes
fi
if [ "$changed" = yes ]; then
  systemctl daemon-reload
  systemctl enable --quiet "$unit.service"
  systemctl restart "$unit.service"
  echo "sentinel (re)started"
else
  systemctl enable --quiet --now "$unit.service"
  echo "sentinel unchanged"
fi
`;
}

/** Stops the sentinel and removes what the install placed (run when the sentinel is dropped). */
export function renderSentinelRemoveScript(a: { tlsDir: string }): string {
    return `set -euo pipefail
tls=${shellQuote(a.tlsDir)} state=${SENTINEL_STATE_DIR} unit=${SENTINEL_UNIT}
systemctl disable --quiet --now "$unit.service" 2> /dev/null || true
rm -f "/etc/systemd/system/$unit.service"
# rm never follows a link inside the directory it removes.
rm -rf --one-file-system "$state"
if [ -d "$tls" ] && [ ! -L "$tls" ]; then rm -f "$tls/sentinel.sha256"; fi
systemctl daemon-reload
echo "sentinel removed"
`;
}
