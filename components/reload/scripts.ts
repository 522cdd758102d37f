/**
 * The safe hot reload, shared by every issuer: `pulumi up` installs (state CA) and the host's
 * cert-renewer (ACME) both end in this same script.
 *
 * Facts measured on Redis 7.0: one `CONFIG SET tls-cert-file P tls-key-file K` reloads both files
 * atomically; a refused reload (e.g. a mismatched key) replies `ERR CONFIG SET failed` yet redis-cli
 * exits 0 unless given `-e`; a chain cut after the leaf, or an expired certificate, loads with `OK`
 * and can lock every client out, the admin's TLS connection included. So the reload goes over a
 * root-only unix socket (independent of the served certificate), as a dedicated ACL user allowed only
 * CONFIG SET, with its password read from a root-only file into the environment (never argv), and
 * anything but `OK` restores the previous files and fails.
 */
/** Where the reload user lives on a host; shared by the config, the certificate and the renewer. */
export const RELOAD_DEFAULTS = {
    user: "redis-tls-reload",
    passFile: "/etc/redis/tls/reload.pass",
    aclPath: "/etc/redis/tls/reload.acl",
} as const;

export interface ReloadArgs {
    /** Root-only unix socket of the running Redis. */
    socket: string;
    /** ACL user that may run only CONFIG SET. */
    user: string;
    /** Root-only file holding that user's password. */
    passFile: string;
    certPath: string;
    keyPath: string;
    caPath: string;
}

/** Reloads the installed files; rolls back to the `.previous` files and exits 1 unless Redis says OK. */
export function renderReloadScript(a: ReloadArgs): string {
    return `set -euo pipefail
cert='${a.certPath}' key='${a.keyPath}' ca='${a.caPath}' sock='${a.socket}'
if [ ! -S "$sock" ]; then
  echo "no Redis socket at $sock; the new files are read at the next start"
  exit 0
fi
REDISCLI_AUTH=$(cat '${a.passFile}')
export REDISCLI_AUTH
if ! reply=$(redis-cli -s "$sock" --user '${a.user}' -e CONFIG SET tls-cert-file "$cert" tls-key-file "$key" tls-ca-cert-file "$ca" 2>&1) || [ "$reply" != "OK" ]; then
  for f in "$cert" "$key" "$key.pub" "$ca"; do
    if [ -e "$f.previous" ]; then mv -f "$f.previous" "$f"; fi
  done
  echo "redis refused the new certificate, previous files restored: $reply" >&2
  exit 1
fi
echo "reloaded $(openssl x509 -in "$cert" -noout -serial) through $sock"
`;
}

export interface ReloadUserArgs {
    user: string;
    passFile: string;
    /** The ACL file Redis includes; it holds only the password's SHA-256. */
    aclPath: string;
    /** Group of the Redis service, which must read the ACL file. */
    group: string;
}

/**
 * Makes the reload user's password once, on the host (it never leaves it), and the ACL line
 * Redis includes, which carries only its SHA-256. Idempotent: an existing password is kept.
 */
export function renderReloadUserSetup(a: ReloadUserArgs): string {
    return `pass='${a.passFile}' acl='${a.aclPath}'
if [ ! -s "$pass" ]; then
  (umask 077 && openssl rand -hex 32 > "$pass.tmp" && mv -f "$pass.tmp" "$pass")
fi
chown root:root "$pass"
chmod 0600 "$pass"
hash=$(tr -d '\\n' < "$pass" | sha256sum | cut -d' ' -f1)
printf 'user ${a.user} on #%s resetchannels -@all +config|set\\n' "$hash" > "$acl.tmp"
chown root:${a.group} "$acl.tmp"
chmod 0640 "$acl.tmp"
if cmp -s "$acl.tmp" "$acl"; then rm -f "$acl.tmp"; else mv -f "$acl.tmp" "$acl"; changed=yes; fi
`;
}
