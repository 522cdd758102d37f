set -euo pipefail
umask 077
# root_dir DIR [GROUP MODE]: DIR and every directory above it must be real directories owned by
# root and writable by no one else (above DIR, sticky ones like /tmp are fine). With GROUP and MODE,
# missing ones are made and DIR gets them.
root_dir() {
  local dir=$1 path="" part uid perm
  local -a parts
  IFS=/ read -r -a parts <<< "${dir#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if [ $# -eq 3 ] && [ ! -e "$path" ] && [ ! -L "$path" ]; then install -d -m 0755 -o root -g root "$path" || exit 1; fi
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
# own KIND ID: records that resource ID installed KIND here. disown KIND ID: forgets it and prints
# "last" when no owner of KIND is left (then KIND's files may go), else "kept".
own() {
  root_dir /var/lib/redis-tls/owners root 700
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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
changed=no
root_dir '/usr/local/libexec/redis-tls' root 755
cat > "$work/0" <<'REDIS_TLS_FILE_0'
#!/bin/bash
echo renew
REDIS_TLS_FILE_0
if put "$work/0" '/usr/local/libexec/redis-tls/renew-redis-server' 700 root:root; then changed=yes; fi
own 'renewer-redis-server' '0123456789abcdef'
if [ "$changed" = yes ]; then systemctl daemon-reload; fi
systemctl enable --now 'cert-renewer@redis-server.timer'
systemctl is-active --quiet 'cert-renewer@redis-server.timer'
echo "cert-renewer@redis-server.timer active, files changed: $changed"
