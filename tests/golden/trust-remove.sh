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
family='rhel' name='redis-tls-0123456789abcdef' owner='0123456789abcdef'
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
owners=/var/lib/redis-tls/owners placed="/var/lib/redis-tls/owners/trust-by-owner/$owner"
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# unplace KIND FILE: this owner lets go of FILE; the last owner removes it if it still holds what
# redis-tls wrote there (compared by content), and says so by succeeding.
unplace() {
  local rec="$owners/$1.sha256" left
  left=$(disown "$1" "$owner")
  if [ "$left" != last ]; then return 1; fi
  if [ -f "$2" ] && [ ! -L "$2" ] && [ -f "$rec" ] && [ "$(sha "$2")" = "$(cat "$rec")" ]; then
    rm -f "$2" "$rec"
    return 0
  fi
  rm -f "$rec"
  return 1
}
if [ ! -f "$placed" ]; then
  root_dir "$owners/trust-by-owner" root 700
  printf '%s %s\n' "trust-$name" "$anchor" 'file-8d9665bfb0af6265' '/etc/myapp/redis-ca.pem' > "$placed"
fi
changed=no
while read -r kind file; do
  if unplace "$kind" "$file" && [[ $kind == trust-* ]]; then changed=yes; fi
done < "$placed"
rm -f "$placed"
if [ "$changed" = yes ]; then refresh; fi
