set -euo pipefail
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
left=$(disown 'renewer-redis-server' '0123456789abcdef')
if [ "$left" = kept ]; then
  echo "cert-renewer@redis-server kept: another resource still installs it"
  exit 0
fi
systemctl disable --now 'cert-renewer@redis-server.timer' 2> /dev/null || true
rm -rf '/etc/systemd/system/cert-renewer@redis-server.service.d'
rm -f '/usr/local/libexec/redis-tls/reload-redis-server' '/usr/local/libexec/redis-tls/renew-redis-server'
if ! compgen -G '/etc/systemd/system/cert-renewer@*.service.d' > /dev/null; then
  rm -f /etc/systemd/system/cert-renewer@.service /etc/systemd/system/cert-renewer@.timer /usr/local/libexec/redis-tls/needs-renewal
fi
systemctl daemon-reload
echo "cert-renewer@redis-server removed"
