import { DROP_IN_MARKER, LIBEXEC, tlsLayout } from "../host/layout";
import { assertNoMarkerLine, shellLib, shellQuote } from "../host/shell";
import { ClientLogin, renderApplyUsersFunction, renderUsersAcl, UsersArgs } from "./acl";
import { checkServerAddress } from "../validation/fields";
import type { ResolvedReplicaSet } from "../replication/replicaSet";
import { renderClusterConf } from "../cluster/scripts";

/** Everything the TLS drop-in for redis.conf says, as plain resolved values. */
export interface RedisTlsConfValues {
    tlsPort: number;
    /** 0 turns the plaintext listener off. */
    plaintextPort: number;
    bind: string[];
    /** The root-owned directory holding `live/`, `users.acl` and the drop-in itself. */
    tlsDir: string;
    keyFilePass?: string;
    authClients: string;
    replication: boolean;
    cluster: boolean;
    protocols: string[];
    /** Root-only unix socket used by the hot reload; omitted when undefined. */
    adminSocket?: string;
    /** "certificate": the client certificate's CN is the ACL user (`tls-auth-clients-user CN`). */
    clientLogin?: ClientLogin;
    /** The server's group may use the socket too (0770; in a container, root's reload joins it instead of needing a capability). */
    adminSocketGroup?: boolean;
    /** This server's replica set: the replication login and, on a replica, its primary. */
    replicaSet?: ResolvedReplicaSet;
    /** A Redis Cluster member (`cluster-enabled`, the bus on tlsPort + 10000). */
    clusterNode?: boolean;
    /** The address a cluster member announces (its certificate's IP). */
    clusterAnnounceIp?: string;
}

/** Quotes a value the way redis.conf parses double-quoted strings. */
export function confQuote(value: string): string {
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");

/**
 * Renders the drop-in that the distro's redis.conf includes last, so these lines win over the
 * distro's own `port 6379`. Paths are absolute because Redis resolves relative ones against its
 * working directory; they name the `live` link, so a new certificate set is one rename away.
 */
export function renderRedisTlsConf(v: RedisTlsConfValues): string {
    const files = tlsLayout(v.tlsDir);
    const lines = [
        DROP_IN_MARKER,
        `port ${v.plaintextPort}`,
        `tls-port ${v.tlsPort}`,
        `bind ${v.bind.join(" ")}`,
        `tls-cert-file ${files.certPath}`,
        `tls-key-file ${files.keyPath}`,
        ...(v.keyFilePass === undefined ? [] : [`tls-key-file-pass ${confQuote(v.keyFilePass)}`]),
        `tls-ca-cert-file ${files.caPath}`,
        // A CA directory set anywhere before this (say /etc/ssl/certs) would be trusted beside it.
        `tls-ca-cert-dir ""`,
        `tls-auth-clients ${v.authClients}`,
        ...(v.clientLogin === "certificate" ? ["tls-auth-clients-user CN"] : []),
        `tls-replication ${yesNo(v.replication)}`,
        `tls-cluster ${yesNo(v.cluster)}`,
        `tls-protocols ${confQuote(v.protocols.join(" "))}`,
        ...(v.replicaSet === undefined ? [] : renderReplicationConf(v.replicaSet)),
        ...(v.clusterNode ? renderClusterConf(v.tlsPort, v.clusterAnnounceIp) : []),
        "tls-prefer-server-ciphers yes",
        // Protected mode acts only while the default user has no password; it has none and is off
        // (users.acl), so this is a guard for the day someone turns it back on with nopass.
        "protected-mode yes",
        // Neither the network nor a local client may move dir/dbfilename, run DEBUG or load modules.
        "enable-protected-configs no",
        "enable-debug-command no",
        "enable-module-command no",
        ...(v.adminSocket === undefined ? [] : [`unixsocket ${v.adminSocket}`, `unixsocketperm ${v.adminSocketGroup ? "770" : "700"}`]),
        `include ${files.usersAcl}`,
    ];
    return lines.join("\n") + "\n";
}

/**
 * The drop-in's replication lines: the login every member uses when it replicates (so a member made
 * a replica later, by hand or by a failover, logs in too) and, on a replica, its primary. The
 * primary's address was checked at preview (or when it resolved); it is checked again here, since
 * it is written unquoted.
 */
export function renderReplicationConf(rs: ResolvedReplicaSet): string[] {
    const lines = [`masteruser ${rs.user}`, `masterauth ${confQuote(rs.password)}`];
    if (rs.primary !== undefined) {
        const problem = checkServerAddress("replicaSet.primary.host", rs.primary.host);
        if (problem !== undefined) throw new Error(problem);
        lines.push(`replicaof ${rs.primary.host} ${rs.primary.port}`, "replica-read-only yes");
    }
    return lines;
}

export interface ConfRepairArgs {
    /** The distro's redis.conf. */
    redisConfPath: string;
    tlsDir: string;
}

/**
 * Keeps redis.conf ending in the include of the drop-in, with nothing able to override it: every
 * line after that include goes (CONFIG REWRITE appends its block there, and a later `port` or
 * `tls-auth-clients` would win), and so do `user` and `aclfile` lines and includes of an older
 * redis-tls drop-in (a user defined twice stops Redis from starting). Runs as root before every
 * start of Redis and from the install step; redis.conf sits in a directory the redis user can
 * write, so it is read without following links and replaced by one rename from the root-owned
 * TLS directory. Prints "redis.conf unchanged" or what it did (counts only: lines may hold secrets).
 */
export function renderConfRepairScript(a: ConfRepairArgs): string {
    const files = tlsLayout(a.tlsDir);
    return `#!/bin/bash
set -euo pipefail
umask 077
${shellLib("root_dir")}conf=${shellQuote(a.redisConfPath)} tls=${shellQuote(a.tlsDir)} inc=${shellQuote(`include ${files.dropIn}`)}
marker=${shellQuote(DROP_IN_MARKER)}
root_dir "$tls"
if [ -L "$conf" ] || [ ! -f "$conf" ]; then
  echo "$conf is not a regular file; refusing to read or replace it" >&2
  exit 1
fi
if [ "$(stat -c %d "$tls")" != "$(stat -c %d "$(dirname "$conf")")" ]; then
  echo "$conf and $tls are on different file systems; keep them on one so redis.conf is replaced by a rename" >&2
  exit 1
fi
read -r inode owner mode <<< "$(stat -c '%i %u:%g %a' "$conf")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dd if="$conf" of="$work/old" iflag=nofollow,nonblock status=none
if [ -L "$conf" ] || [ "$(stat -c %i "$conf")" != "$inode" ]; then
  echo "$conf changed while it was read; refusing to replace it" >&2
  exit 1
fi
# An include of an older redis-tls drop-in is recognised by its first line; only regular files are
# opened (never a link, a FIFO or a device someone put in redis.conf), and never for long.
: > "$work/stale"
while read -r target; do
  if [ -f "$target" ] && [ ! -L "$target" ] &&
      [ "$(timeout 5 dd if="$target" iflag=nofollow,nonblock bs=512 count=1 status=none 2> /dev/null | head -n 1)" = "$marker" ]; then
    printf '%s\n' "$target" >> "$work/stale"
  fi
done < <(awk -v inc="$inc" '$0 != inc { d = tolower($1); t = $2; gsub(/^["\\047]|["\\047]$/, "", d); gsub(/^["\\047]|["\\047]$/, "", t); if (d == "include") print t }' "$work/old")
# Redis reads directive names in any case and quoted, so they are compared the same way.
awk -v inc="$inc" -v stale="$work/stale" '
  BEGIN { while ((getline s < stale) > 0) skip[s] = 1 }
  $0 == inc { exit }
  { d = tolower($1); t = $2; gsub(/^["\\047]|["\\047]$/, "", d); gsub(/^["\\047]|["\\047]$/, "", t) }
  /^# Generated by CONFIG REWRITE/ { rewrite = 1 }
  rewrite || d == "user" || d == "aclfile" || (d == "include" && (t in skip)) { next }
  { print }
  END { print inc }' "$work/old" > "$work/new"
if cmp -s "$work/old" "$work/new"; then
  echo "redis.conf unchanged"
  exit 0
fi
tmp=$(mktemp "$tls/.redis.conf.XXXXXX")
cat "$work/new" > "$tmp"
chown "$owner" "$tmp"
chmod "$(printf '%o' $((8#$mode & 8#640)))" "$tmp"
# -T: were redis.conf a link to a directory by now, mv would put the file inside that directory.
mv -fT "$tmp" "$conf"
echo "redis.conf repaired: it had $(wc -l < "$work/old") lines and now has $(wc -l < "$work/new"), ending in the redis-tls include"
`;
}

export interface InstallConfScriptArgs extends UsersArgs {
    redisConfPath: string;
    serviceName: string;
    /** Group of the Redis service, which may read the drop-in and users.acl. */
    group: string;
    /** The server's binary and CLI (FLAVORS[..]). */
    server: string;
    cli: string;
    /** Root-only socket users.acl is applied through without a restart; unset restarts instead. */
    socket?: string;
    /** "certificate" needs a server that maps certificates to users; the host's is checked first. */
    clientLogin?: ClientLogin;
}

/** Which servers map a client certificate's CN to an ACL user (`tls-auth-clients-user`). */
export const CERTIFICATE_LOGIN_SINCE = { Redis: "8.6", Valkey: "9.0" } as const;

/**
 * Shell lines that stop a script, before it changes anything, when this server cannot log a client
 * in by its certificate (`tls-auth-clients-user`, which clientLogin "certificate" needs: a server
 * without it would not start with the drop-in).
 */
export function renderCertificateLoginCheck(server: string): string {
    const since = CERTIFICATE_LOGIN_SINCE;
    return `# clientLogin "certificate" needs tls-auth-clients-user; a server without it would not start with the drop-in.
version=$(${shellQuote(server)} --version)
re='^(Redis|Valkey) server v=([0-9]+)[.]([0-9]+)'
if [[ ! $version =~ $re ]] ||
    { [ "\${BASH_REMATCH[1]}" = Redis ] && (( BASH_REMATCH[2] * 100 + BASH_REMATCH[3] < ${since.Redis.replace(".", "0")} )); } ||
    { [ "\${BASH_REMATCH[1]}" = Valkey ] && (( BASH_REMATCH[2] * 100 + BASH_REMATCH[3] < ${since.Valkey.replace(".", "0")} )); }; then
  echo "[clientLogin] 'certificate': this host's server ($version) cannot log a client in by its certificate (Redis ${since.Redis}+ or Valkey ${since.Valkey}+ can); nothing was changed. Use clientLogin 'password', or upgrade the server" >&2
  exit 1
fi
`;
}

/**
 * Installs the drop-in and the application users read from stdin (sections `dropin`, `users`) and
 * users.acl (redis-tls's passwords made here, on first run), installs the redis.conf check as an
 * ExecStartPre of the service and runs it. Redis restarts only when the drop-in or redis.conf
 * changed (or it is not running); a change of users alone is applied to the running server over the
 * socket (same process, open connections kept), and by a restart only where that is impossible.
 * Files are root-owned, readable by the Redis group.
 */
export function renderInstallConfScript(a: InstallConfScriptArgs): string {
    const repair = renderConfRepairScript({ redisConfPath: a.redisConfPath, tlsDir: a.tlsDir });
    assertNoMarkerLine(repair, "REDIS_TLS_REPAIR");
    const check = `${LIBEXEC}/redis-conf-${a.serviceName}`;
    const live = a.socket !== undefined && a.aclUser !== undefined;
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "put", "read_sections")}${live ? renderApplyUsersFunction({ socket: a.socket!, aclUser: a.aclUser!, cli: a.cli }) : ""}tls=${shellQuote(a.tlsDir)} group=${shellQuote(a.group)} unit=${shellQuote(a.serviceName)} check=${shellQuote(check)}
${a.clientLogin === "certificate" ? renderCertificateLoginCheck(a.server) : ""}root_dir "$tls" "$group" 750
root_dir ${LIBEXEC} root 755
root_dir "/etc/systemd/system/$unit.service.d" keep
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
changed=no users_changed=no
if put "$work/dropin" "$tls/redis-tls.conf" 640 "root:$group"; then changed=yes; fi
${renderUsersAcl(a)}cat > "$work/check" <<'REDIS_TLS_REPAIR'
${repair.trimEnd()}
REDIS_TLS_REPAIR
put "$work/check" "$check" 700 root:root || true
printf '[Service]\\n# Before every start: redis.conf must end in the redis-tls include, with nothing overriding it.\\nExecStartPre=+%s\\n' "$check" > "$work/hook"
if put "$work/hook" "/etc/systemd/system/$unit.service.d/redis-tls.conf" 644 root:root; then systemctl daemon-reload; fi
repaired=$("$check")
if [ "$repaired" != "redis.conf unchanged" ]; then
  echo "$repaired" >&2
  changed=yes
fi
if [ "$changed" = yes ] || ! systemctl is-active --quiet "$unit"; then
  systemctl restart "$unit"
  echo "restarted $unit"
elif [ "$users_changed" = yes ]; then
${live ? `  applied=0
  apply_users || applied=$?
  if [ "$applied" = 0 ]; then
    echo "users of $unit applied without a restart"
  elif [ "$applied" = 2 ]; then
    # The server would not start with this file either: the old one goes back, and so do its users.
    if [ -f "$work/users.acl.old" ]; then put "$work/users.acl.old" "$tls/users.acl" 640 "root:$group" || true; apply_users || true; fi
    echo "users.acl was not applied: fix the rules the server refused (users); the previous users stay" >&2
    exit 1
  else
    echo "restarting $unit to apply users.acl" >&2
    systemctl restart "$unit"
    echo "restarted $unit"
  fi` : `  systemctl restart "$unit"
  echo "restarted $unit"`}
else
  echo "unchanged"
fi
systemctl is-active --quiet "$unit"
`;
}
