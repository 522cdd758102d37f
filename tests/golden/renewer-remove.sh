set -euo pipefail
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
record='/var/lib/redis-tls/placed/0123456789abcdef'
service='redis-server'
if [ -f "$record" ]; then read -r service < "$record"; fi
if [ "$(disown "renewer-$service" '0123456789abcdef')" = kept ]; then
  echo "cert-renewer@$service kept: another resource still installs it"
else
  remove_renewer "$service"
  echo "cert-renewer@$service removed"
fi
rm -f "$record"
