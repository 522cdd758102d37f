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
tls='/etc/redis-tls'
root_dir "$tls" 'redis' 750
root_dir "$tls/pending" root 700
key="$tls/pending/redis.key"
# A pending key that is already live was installed; one that does not load (another pass phrase,
# a broken file) is of no use. Either way a new one is made.
if [ -s "$key.pub" ] && cmp -s "$key.pub" "$tls/live/redis.key.pub"; then rm -f "$key" "$key.pub"; fi
if [ -s "$key" ] && ! openssl pkey -in "$key" -noout 2> /dev/null; then rm -f "$key" "$key.pub"; fi
if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
  tmp=$(mktemp "$key.XXXXXX")
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp"
  openssl pkey -in "$tmp" -pubout -out "$tmp.pub"
  mv -f "$tmp.pub" "$key.pub"
  mv -f "$tmp" "$key"
fi
openssl req -new -key "$key" -subj '/CN=redis-1.example.internal' -addext 'subjectAltName=DNS:redis-1.example.internal,DNS:redis.example.internal,IP:10.0.0.5,IP:fd00::5'
