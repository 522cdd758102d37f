set -euo pipefail
umask 022
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
# lock_owners: one script at a time changes owner records and the files they guard (two stacks may
# deploy to one host at once). own KIND ID: records that resource ID installed KIND here. disown
# KIND ID: forgets it and prints "last" when no owner of KIND is left (then KIND's files may go).
lock_owners() {
  root_dir /var/lib/redis-tls root 755
  root_dir /var/lib/redis-tls/owners root 700
  exec 9> /var/lib/redis-tls/owners/.lock || exit 1
  flock 9 || exit 1
}
own() {
  root_dir "/var/lib/redis-tls/owners/$1" root 700
  : > "/var/lib/redis-tls/owners/$1/$2" || exit 1
}
disown() {
  if [ -d "/var/lib/redis-tls/owners/$1" ]; then
    root_dir "/var/lib/redis-tls/owners/$1"
    rm -f "/var/lib/redis-tls/owners/$1/$2"
    if compgen -G "/var/lib/redis-tls/owners/$1/*" > /dev/null; then
      echo kept
      return 0
    fi
    rmdir "/var/lib/redis-tls/owners/$1"
  fi
  echo last
}
family='auto' name='redis-tls-0123456789abcdef' owner='0123456789abcdef'
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
root_dir /var/lib/redis-tls/sums root 700
root_dir /var/lib/redis-tls/placed root 700
sums=/var/lib/redis-tls/sums placed='/var/lib/redis-tls/placed/0123456789abcdef' marker=/var/lib/redis-tls/trust-refresh-pending
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
}
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
        [ -n "$(find "/var/lib/redis-tls/owners/$1" -mindepth 1 -maxdepth 1 ! -name "$owner" 2> /dev/null)" ]; }; then
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
place 'file-8d9665bfb0af6265' '/etc/myapp/redis-ca.pem'
# What this owner placed before and no longer does (the previous CA's anchor) goes.
if [ -f "$placed" ]; then
  while read -r kind file; do
    if ! grep -qxF "$kind $file" "$work/placed"; then unplace "$kind" "$file"; fi
  done < "$placed"
fi
put "$work/placed" "$placed" 600 root:root || true
if [ "$changed" = yes ]; then refresh; fi
rm -f "$marker"
echo "$anchor"
