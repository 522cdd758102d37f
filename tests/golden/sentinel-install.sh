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
tls='/etc/redis-tls' user='redis' state=/var/lib/redis-tls-sentinel unit=redis-tls-sentinel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
root_dir "$tls"
root_dir /etc/systemd/system
changed=no
put "$work/service" "/etc/systemd/system/$unit.service" 644 root:root && changed=yes
# The sentinel's directory is its user's (Sentinel rewrites its file there), so root writes nothing
# in it itself: the file is written as that user, who can plant nothing root would follow.
root_dir /var/lib keep
if [ -L "$state" ] || { [ -e "$state" ] && [ ! -d "$state" ]; }; then echo "$state is not a directory" >&2; exit 1; fi
if [ ! -d "$state" ]; then mkdir -m 0700 "$state"; chown "$user:$user" "$state"; fi
sha256sum < "$work/conf" | cut -d' ' -f1 > "$work/conf.sha256"
if ! cmp -s "$work/conf.sha256" "$tls/sentinel.sha256" || ! runuser -u "$user" -- test -s "$state/sentinel.conf"; then
  # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
  runuser -u "$user" -- bash -c 'umask 077; cat > "$1.new" && mv -f "$1.new" "$1"' _ "$state/sentinel.conf" < "$work/conf"
  put "$work/conf.sha256" "$tls/sentinel.sha256" 600 root:root || true
  changed=yes
fi
if [ "$changed" = yes ]; then
  systemctl daemon-reload
  systemctl enable --quiet "$unit.service"
  systemctl restart "$unit.service"
  echo "sentinel (re)started"
else
  systemctl enable --quiet --now "$unit.service"
  echo "sentinel unchanged"
fi
