set -euo pipefail
umask 077
# root_dir DIR [GROUP MODE | keep]: DIR and every directory above it must be real directories
# owned by root and writable by no one else (above DIR, sticky ones like /tmp are fine). With GROUP
# and MODE, DIR is redis-tls's own: missing directories are made and DIR gets GROUP and MODE. With
# keep, missing directories are made (root, 0755) and existing ones are left as they are.
root_dir() {
  local dir=$1 path="" part uid perm
  local -a parts
  IFS=/ read -r -a parts <<< "${dir#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    # mkdir, never install -d: under a sticky parent another user may have made it first, and
    # install would quietly take their directory (and what they put in it) over.
    if [ $# -ge 2 ] && [ ! -e "$path" ] && [ ! -L "$path" ]; then mkdir -m 0755 "$path" 2> /dev/null || true; fi
    if [ -L "$path" ] || [ ! -d "$path" ]; then
      echo "$path is not a directory (missing, a link or a file); redis-tls writes only in real, root-owned directories" >&2
      exit 1
    fi
    read -r uid perm <<< "$(stat -c '%u %a' "$path")"
    # Above DIR a sticky directory (/tmp) will do: no one else may rename what root made in it.
    if [ "$uid" != 0 ] || { (( 8#$perm & 8#022 )) && { [ "$path" = "$dir" ] || ! (( 8#$perm & 8#1000 )); }; }; then
      echo "$path is owned by uid $uid with mode $perm, so another user could swap what root writes there; use a directory that only root can write" >&2
      exit 1
    fi
  done
  if [ $# -eq 3 ]; then
    chgrp "$2" "$dir" && chmod "$3" "$dir" || exit 1
  fi
}
# read_sections DIR: stdin holds lines "NAME BASE64"; each value lands, as data, in DIR/NAME.
read_sections() {
  local name data
  while IFS=' ' read -r name data || [ -n "$name" ]; do
    if [[ ! $name =~ ^[a-z][a-z0-9-]*$ ]]; then
      echo "unexpected input on stdin" >&2
      exit 1
    fi
    printf '%s' "$data" | base64 -d > "$1/$name" || exit 1
  done
}
# put SRC DEST MODE OWNER: gives DEST (in a directory root_dir checked) SRC's content, MODE and
# OWNER with one rename; returns 1 when DEST already had them.
put() {
  if [ -f "$2" ] && [ ! -L "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c '%a %U:%G' "$2")" = "$3 $4" ]; then
    return 1
  fi
  local tmp
  tmp=$(mktemp "$2.XXXXXX") || exit 1
  if ! { cat "$1" > "$tmp" && chown "$4" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2"; }; then
    rm -f "$tmp"
    echo "could not write $2" >&2
    exit 1
  fi
}
tls='/etc/redis-tls' group='valkey' data='/data'
# clientLogin "certificate" needs tls-auth-clients-user; a server without it would not start with the drop-in.
version=$('valkey-server' --version)
re='^(Redis|Valkey) server v=([0-9]+)[.]([0-9]+)'
if [[ ! $version =~ $re ]] ||
    { [ "${BASH_REMATCH[1]}" = Redis ] && (( BASH_REMATCH[2] * 100 + BASH_REMATCH[3] < 806 )); } ||
    { [ "${BASH_REMATCH[1]}" = Valkey ] && (( BASH_REMATCH[2] * 100 + BASH_REMATCH[3] < 900 )); }; then
  echo "[clientLogin] 'certificate': this host's server ($version) cannot log a client in by its certificate (Redis 8.6+ or Valkey 9.0+ can); nothing was changed. Use clientLogin 'password', or upgrade the server" >&2
  exit 1
fi
root_dir "$tls" "$group" 750
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
changed=no users_changed=no
if put "$work/dropin" "$tls/redis-tls.conf" 640 "root:$group"; then changed=yes; fi
if [ ! -s "$tls/admin.pass" ]; then
  openssl rand -hex 32 > "$work/admin.pass"
  put "$work/admin.pass" "$tls/admin.pass" 600 root:root
fi
if [ ! -s "$tls/reload.pass" ]; then
  openssl rand -hex 32 > "$work/reload.pass"
  put "$work/reload.pass" "$tls/reload.pass" 600 root:root
fi
hash_of() { tr -d '\n' < "$1" | sha256sum | cut -d' ' -f1; }
{
  echo 'user default reset off'
  echo "user redis-tls-admin reset on #$(hash_of "$tls/admin.pass") ~* &* +@all -config|rewrite -acl|save -acl|load -debug -module"
  echo "user redis-tls-reload reset on #$(hash_of "$tls/reload.pass") resetchannels -@all +config|set"
  cat "$work/users"
} > "$work/users.acl"
if [ -f "$tls/users.acl" ] && [ ! -L "$tls/users.acl" ]; then cp "$tls/users.acl" "$work/users.acl.old"; fi
if put "$work/users.acl" "$tls/users.acl" 640 "root:$group"; then users_changed=yes; fi
# The data volume's root is the mount point itself: no one can swap it for a link.
chown "$group:$group" "$data"
chmod 750 "$data"
echo "drop-in changed: $changed, users changed: $users_changed"
