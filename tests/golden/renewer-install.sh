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
remove_renewer() {
  local service=$1
  [[ $service =~ ^[A-Za-z0-9:_.@-]+$ ]] || { echo "not a service name: $service" >&2; exit 1; }
  systemctl disable --now "cert-renewer@$service.timer" 2> /dev/null || true
  rm -rf "/etc/systemd/system/cert-renewer@$service.service.d"
  rm -f "/usr/local/libexec/redis-tls/reload-$service" "/usr/local/libexec/redis-tls/renew-$service"
  if ! compgen -G '/etc/systemd/system/cert-renewer@*.service.d' > /dev/null; then
    rm -f /etc/systemd/system/cert-renewer@.service /etc/systemd/system/cert-renewer@.timer /usr/local/libexec/redis-tls/needs-renewal
  fi
  systemctl daemon-reload
}
lock_owners
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
changed=no
root_dir '/usr/local/libexec/redis-tls' keep
cat > "$work/0" <<'REDIS_TLS_FILE_0'
#!/bin/bash
echo renew
REDIS_TLS_FILE_0
if put "$work/0" '/usr/local/libexec/redis-tls/renew-redis-server' 700 root:root; then changed=yes; fi
own 'renewer-redis-server' '0123456789abcdef'
root_dir /var/lib/redis-tls/placed root 700
record='/var/lib/redis-tls/placed/0123456789abcdef'
if [ -f "$record" ] && read -r before < "$record" && [ "$before" != 'redis-server' ]; then
  if [ "$(disown "renewer-$before" '0123456789abcdef')" = last ]; then remove_renewer "$before"; fi
fi
echo 'redis-server' > "$record"
if [ "$changed" = yes ]; then systemctl daemon-reload; fi
systemctl enable --now 'cert-renewer@redis-server.timer'
systemctl is-active --quiet 'cert-renewer@redis-server.timer'
echo "cert-renewer@redis-server.timer active, files changed: $changed"
