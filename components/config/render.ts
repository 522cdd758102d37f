import { ReloadUserArgs, renderReloadUserSetup } from "../reload/scripts";

/** Everything the TLS drop-in for redis.conf says, as plain resolved values. */
export interface RedisTlsConfValues {
    tlsPort: number;
    /** 0 turns the plaintext listener off. */
    plaintextPort: number;
    bind: string[];
    certPath: string;
    keyPath: string;
    caPath: string;
    keyFilePass?: string;
    authClients: string;
    replication: boolean;
    cluster: boolean;
    protocols: string[];
    /** Root-only unix socket used by the hot reload; omitted when undefined. */
    adminSocket?: string;
    /** ACL file defining the reload user, included with the socket. */
    reloadAclPath?: string;
}

/** Quotes a value the way redis.conf parses double-quoted strings. */
export function confQuote(value: string): string {
    return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const yesNo = (b: boolean) => (b ? "yes" : "no");

/**
 * Renders the drop-in that the distro's redis.conf includes last, so these lines win over the
 * distro's own `port 6379`. Paths are absolute because Redis resolves relative ones against its
 * working directory.
 */
export function renderRedisTlsConf(v: RedisTlsConfValues): string {
    const lines = [
        "# Managed by redis-tls (Pulumi): included last from redis.conf; edits here are overwritten.",
        `port ${v.plaintextPort}`,
        `tls-port ${v.tlsPort}`,
        `bind ${v.bind.join(" ")}`,
        `tls-cert-file ${v.certPath}`,
        `tls-key-file ${v.keyPath}`,
        ...(v.keyFilePass === undefined ? [] : [`tls-key-file-pass ${confQuote(v.keyFilePass)}`]),
        `tls-ca-cert-file ${v.caPath}`,
        `tls-auth-clients ${v.authClients}`,
        `tls-replication ${yesNo(v.replication)}`,
        `tls-cluster ${yesNo(v.cluster)}`,
        `tls-protocols ${confQuote(v.protocols.join(" "))}`,
        "tls-prefer-server-ciphers yes",
        // Protected mode refuses every non-loopback client while the default user has no password,
        // TLS or not; with client certificates required, the certificate is the credential.
        `protected-mode ${yesNo(v.authClients !== "yes")}`,
        ...(v.adminSocket === undefined ? [] : [`unixsocket ${v.adminSocket}`, "unixsocketperm 700"]),
        ...(v.adminSocket === undefined || v.reloadAclPath === undefined ? [] : [`include ${v.reloadAclPath}`]),
    ];
    return lines.join("\n") + "\n";
}

export interface InstallConfScriptArgs {
    dropInPath: string;
    /** When set, the reload user's password and ACL file are made before Redis restarts. */
    reloadUser?: ReloadUserArgs;
    redisConfPath: string;
    serviceName: string;
    /** Group that may read the drop-in (the Redis service group). */
    group: string;
}

/**
 * Installs the drop-in read from stdin, makes redis.conf include it (and the reload user's ACL file
 * exist), and restarts Redis only when one of them changed (or Redis is not running). It may carry `tls-key-file-pass`, hence mode 0640.
 */
export function renderInstallConfScript(a: InstallConfScriptArgs): string {
    return `set -euo pipefail
umask 077
dropin='${a.dropInPath}' conf='${a.redisConfPath}' unit='${a.serviceName}'
tmp=$(mktemp "$dropin.XXXXXX")
trap 'rm -f "$tmp" "$conf.tmp"' EXIT
cat > "$tmp"
chown root:${a.group} "$tmp"
chmod 0640 "$tmp"
changed=no
${a.reloadUser === undefined ? "" : `install -d -m 0750 -o root -g ${a.group} "$(dirname '${a.reloadUser.aclPath}')"
${renderReloadUserSetup(a.reloadUser)}`}if ! cmp -s "$tmp" "$dropin"; then
  mv -f "$tmp" "$dropin"
  changed=yes
fi
if ! grep -qxF "include $dropin" "$conf"; then
  cp -p "$conf" "$conf.tmp"
  printf '\\ninclude %s\\n' "$dropin" >> "$conf.tmp"
  mv -f "$conf.tmp" "$conf"
  changed=yes
fi
if [ "$changed" = yes ] || ! systemctl is-active --quiet "$unit"; then
  systemctl restart "$unit"
  echo "restarted $unit"
else
  echo "unchanged"
fi
systemctl is-active --quiet "$unit"
`;
}
