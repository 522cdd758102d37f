import { PLACED_DIR, shellLib, shellQuote, STATE_DIR } from "../host/shell";
import { shortHash } from "../pem";

/** How a client host's system trust store is updated. */
export const OsFamily = {
    /** debian when update-ca-certificates exists, else rhel when update-ca-trust does. */
    auto: "auto",
    /** update-ca-certificates (Debian, Ubuntu). */
    debian: "debian",
    /** update-ca-trust (RHEL, Fedora, Rocky, Alma). */
    rhel: "rhel",
} as const;
export type OsFamily = (typeof OsFamily)[keyof typeof OsFamily];
export const OS_FAMILIES = Object.values(OsFamily);

export interface TrustScriptArgs {
    /** "auto" picks debian when update-ca-certificates exists, else rhel when update-ca-trust does. */
    osFamily: string;
    /** File name stem of the anchor in the trust store (per CA: two stacks with two CAs never collide). */
    anchorName: string;
    /** Extra absolute path the PEM is also written to, for applications that take a CA file. */
    appPath?: string;
    /** This resource, as recorded among the owners of what it placed. */
    owner: string;
}

/** The SHA-256 of what redis-tls last wrote to each shared file, by owner-record kind. */
const SUMS_DIR = `${STATE_DIR}/sums`;
/** Set while the trust store may hold a change not yet refreshed; the next run refreshes. */
const REFRESH_MARKER = `${STATE_DIR}/trust-refresh-pending`;

// --fresh: without it update-ca-certificates leaves the links of a removed anchor in /etc/ssl/certs,
// and the removed root stays trusted.
const PRELUDE = (a: TrustScriptArgs) => `family=${shellQuote(a.osFamily)} name=${shellQuote(a.anchorName)} owner=${shellQuote(a.owner)}
if [ "$family" = auto ]; then
  if command -v update-ca-certificates > /dev/null; then family=debian
  elif command -v update-ca-trust > /dev/null; then family=rhel
  else
    echo "neither update-ca-certificates nor update-ca-trust is installed; install ca-certificates or set osFamily" >&2
    exit 1
  fi
fi
case "$family" in
  debian) anchor="/usr/local/share/ca-certificates/$name.crt"; refresh() { update-ca-certificates --fresh > /dev/null; } ;;
  rhel) anchor="/etc/pki/ca-trust/source/anchors/$name.pem"; refresh() { update-ca-trust extract; } ;;
esac
lock_owners
root_dir ${SUMS_DIR} root 700
root_dir ${PLACED_DIR} root 700
sums=${SUMS_DIR} placed=${shellQuote(`${PLACED_DIR}/${a.owner}`)} marker=${REFRESH_MARKER}
# A run stopped between changing the store and refreshing it leaves the marker: refresh then.
changed=no
if [ -e "$marker" ]; then changed=yes; fi
: > "$marker"
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# unplace KIND FILE: this owner lets go of FILE; the last owner removes it if it still holds what
# redis-tls wrote there (compared by content).
unplace() {
  if [ "$(disown "$1" "$owner")" != last ]; then return 0; fi
  if [ -f "$2" ] && [ ! -L "$2" ] && [ -f "$sums/$1" ] && [ "$(sha "$2")" = "$(cat "$sums/$1")" ]; then
    rm -f "$2"
    if [[ $1 == trust-* ]]; then changed=yes; fi
  fi
  rm -f "$sums/$1"
}`;

const FINISH = `if [ "$changed" = yes ]; then refresh; fi
rm -f "$marker"`;

/**
 * Installs the root read from stdin into the system trust store (and appPath), refreshing only on
 * change. A file is replaced only when it is absent, already holds this root, or was last written
 * by redis-tls for this owner alone; every placement is recorded under this resource's owner id, so
 * a CA rotation removes the old anchor and a rename's delete leaves the new resource's anchor alone.
 */
export function renderTrustInstallScript(a: TrustScriptArgs): string {
    return `set -euo pipefail
umask 022
${shellLib("root_dir", "put", "own")}${PRELUDE(a)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/root.pem"
if [ "$(grep -c '^-----BEGIN CERTIFICATE-----$' "$work/root.pem")" != 1 ] ||
    [[ "$(openssl x509 -in "$work/root.pem" -noout -ext basicConstraints 2> /dev/null)" != *CA:TRUE* ]]; then
  echo "expected exactly one CA certificate on stdin" >&2
  exit 1
fi
sum=$(sha "$work/root.pem")
# place KIND FILE: puts the root at FILE unless FILE holds something redis-tls did not write for
# this owner alone (another stack's CA under the same name, or a file of someone else's).
place() {
  local cur
  echo "$1 $2" >> "$work/placed"
  if [ -e "$2" ] || [ -L "$2" ]; then
    if [ -L "$2" ] || [ ! -f "$2" ]; then
      echo "$2 exists and is not a regular file; refusing to replace it" >&2
      exit 1
    fi
    cur=$(sha "$2")
    if [ "$cur" != "$sum" ] && { [ ! -f "$sums/$1" ] || [ "$(cat "$sums/$1")" != "$cur" ] ||
        [ -n "$(find "${STATE_DIR}/owners/$1" -mindepth 1 -maxdepth 1 ! -name "$owner" 2> /dev/null)" ]; }; then
      echo "$2 exists and holds what redis-tls did not put there for this resource; refusing to replace it (remove it, or give another anchorName or appPath)" >&2
      exit 1
    fi
  fi
  root_dir "$(dirname "$2")" keep
  own "$1" "$owner"
  if put "$work/root.pem" "$2" 644 root:root; then
    if [[ $1 == trust-* ]]; then changed=yes; fi
  fi
  echo "$sum" > "$sums/$1"
}
: > "$work/placed"
place "trust-$name" "$anchor"
${a.appPath === undefined ? "" : `place ${shellQuote(appKind(a.appPath))} ${shellQuote(a.appPath)}\n`}# What this owner placed before and no longer does (the previous CA's anchor) goes.
if [ -f "$placed" ]; then
  while read -r kind file; do
    if ! grep -qxF "$kind $file" "$work/placed"; then unplace "$kind" "$file"; fi
  done < "$placed"
fi
put "$work/placed" "$placed" 600 root:root || true
${FINISH}
echo "$anchor"
`;
}

/** Removes what the install script placed for this owner, on `pulumi destroy`. */
export function renderTrustRemoveScript(a: TrustScriptArgs): string {
    return `set -euo pipefail
${shellLib("own")}${PRELUDE(a)}
if [ ! -f "$placed" ]; then
  printf '%s %s\\n' "trust-$name" "$anchor"${a.appPath === undefined ? "" : ` ${shellQuote(appKind(a.appPath))} ${shellQuote(a.appPath)}`} > "$placed"
fi
while read -r kind file; do
  unplace "$kind" "$file"
done < "$placed"
rm -f "$placed"
${FINISH}
`;
}

/** The owner-record kind of an application copy of the root: one per path, whatever the CA. */
function appKind(appPath: string): string {
    return `file-${shortHash(appPath)}`;
}
