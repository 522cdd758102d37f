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
apply_users() {
  local sock='/run/valkey/valkey-server.sock' user='redis-tls-acl' cli='valkey-cli' u names
  if [ -L "$sock" ] || [ ! -S "$sock" ]; then
    echo "no server socket at $sock" >&2
    return 1
  fi
  # Fails where the running server does not know the ACL identity yet (it came with this users.acl).
  if ! names=$(REDISCLI_AUTH=$(cat "$tls/acl.pass") "$cli" -s "$sock" --user "$user" -e ACL USERS 2>&1); then
    echo "cannot list the server's users: $names" >&2
    return 1
  fi
  awk '$1 == "user" { print $2 }' "$tls/users.acl" > "$work/acl.names"
  {
    awk '$1 == "user" { $1 = "ACL SETUSER"; print }' "$tls/users.acl"
    while read -r u; do
      [ -n "$u" ] || continue
      # A name this library could not have written (quotes, escapes) is not sent back; a restart clears it.
      if [[ ! $u =~ ^[a-z][a-z0-9_-]*$ ]]; then
        echo "the server has a user named $(printf '%q' "$u"), which users.acl cannot hold" >&2
        return 1
      fi
      if ! grep -qxF -- "$u" "$work/acl.names"; then echo "ACL DELUSER $u"; fi
    done <<< "$names"
  } > "$work/acl.commands"
  # Every command answers OK (SETUSER) or a count (DELUSER); anything else, or fewer replies, is a refusal.
  if ! REDISCLI_AUTH=$(cat "$tls/acl.pass") "$cli" -s "$sock" --user "$user" < "$work/acl.commands" > "$work/acl.replies" 2>&1 ||
      [ "$(grep -c -e '^OK$' -e '^[0-9][0-9]*$' "$work/acl.replies")" != "$(wc -l < "$work/acl.commands")" ]; then
    echo "the server refused users.acl: $(grep -v -e '^OK$' -e '^[0-9][0-9]*$' "$work/acl.replies" | head -n 3)" >&2
    return 2
  fi
  echo "users applied: $(grep -c '^ACL SETUSER' "$work/acl.commands") defined, $(grep -c '^ACL DELUSER' "$work/acl.commands") removed"
}
tls='/etc/redis-tls' group='valkey' unit='valkey-server' check='/usr/local/libexec/redis-tls/redis-conf-valkey-server'
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
root_dir /usr/local/libexec/redis-tls root 755
root_dir "/etc/systemd/system/$unit.service.d" keep
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
if [ ! -s "$tls/acl.pass" ]; then
  openssl rand -hex 32 > "$work/acl.pass"
  put "$work/acl.pass" "$tls/acl.pass" 600 root:root
fi
hash_of() { tr -d '\n' < "$1" | sha256sum | cut -d' ' -f1; }
{
  echo 'user default reset off'
  echo "user redis-tls-admin reset on #$(hash_of "$tls/admin.pass") ~* &* +@all -config|rewrite -acl|save -acl|load -debug -module"
  echo "user redis-tls-reload reset on #$(hash_of "$tls/reload.pass") resetchannels -@all +config|set"
  echo "user redis-tls-acl reset on #$(hash_of "$tls/acl.pass") resetchannels -@all +acl|setuser +acl|deluser +acl|users"
  cat "$work/users"
} > "$work/users.acl"
if [ -f "$tls/users.acl" ] && [ ! -L "$tls/users.acl" ]; then cp "$tls/users.acl" "$work/users.acl.old"; fi
if put "$work/users.acl" "$tls/users.acl" 640 "root:$group"; then users_changed=yes; fi
cat > "$work/check" <<'REDIS_TLS_REPAIR'
#!/bin/bash
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
conf='/etc/valkey/valkey.conf' tls='/etc/redis-tls' inc='include /etc/redis-tls/redis-tls.conf'
marker='# Managed by redis-tls (Pulumi): included last from redis.conf; edits here are overwritten.'
root_dir "$tls"
if [ -L "$conf" ] || [ ! -f "$conf" ]; then
  echo "$conf is not a regular file; refusing to read or replace it" >&2
  exit 1
fi
if [ "$(stat -c %d "$tls")" != "$(stat -c %d "$(dirname "$conf")")" ]; then
  echo "$conf and $tls are on different file systems; keep them on one so redis.conf is replaced by a rename" >&2
  exit 1
fi
read -r inode owner mode <<< "$(stat -c '%i %u:%g %a' "$conf")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dd if="$conf" of="$work/old" iflag=nofollow,nonblock status=none
if [ -L "$conf" ] || [ "$(stat -c %i "$conf")" != "$inode" ]; then
  echo "$conf changed while it was read; refusing to replace it" >&2
  exit 1
fi
# An include of an older redis-tls drop-in is recognised by its first line; only regular files are
# opened (never a link, a FIFO or a device someone put in redis.conf), and never for long.
: > "$work/stale"
while read -r target; do
  if [ -f "$target" ] && [ ! -L "$target" ] &&
      [ "$(timeout 5 dd if="$target" iflag=nofollow,nonblock bs=512 count=1 status=none 2> /dev/null | head -n 1)" = "$marker" ]; then
    printf '%s
' "$target" >> "$work/stale"
  fi
done < <(awk -v inc="$inc" '$0 != inc { d = tolower($1); t = $2; gsub(/^["\047]|["\047]$/, "", d); gsub(/^["\047]|["\047]$/, "", t); if (d == "include") print t }' "$work/old")
# Redis reads directive names in any case and quoted, so they are compared the same way.
awk -v inc="$inc" -v stale="$work/stale" '
  BEGIN { while ((getline s < stale) > 0) skip[s] = 1 }
  $0 == inc { exit }
  { d = tolower($1); t = $2; gsub(/^["\047]|["\047]$/, "", d); gsub(/^["\047]|["\047]$/, "", t) }
  /^# Generated by CONFIG REWRITE/ { rewrite = 1 }
  rewrite || d == "user" || d == "aclfile" || (d == "include" && (t in skip)) { next }
  { print }
  END { print inc }' "$work/old" > "$work/new"
if cmp -s "$work/old" "$work/new"; then
  echo "redis.conf unchanged"
  exit 0
fi
tmp=$(mktemp "$tls/.redis.conf.XXXXXX")
cat "$work/new" > "$tmp"
chown "$owner" "$tmp"
chmod "$(printf '%o' $((8#$mode & 8#640)))" "$tmp"
# -T: were redis.conf a link to a directory by now, mv would put the file inside that directory.
mv -fT "$tmp" "$conf"
echo "redis.conf repaired: it had $(wc -l < "$work/old") lines and now has $(wc -l < "$work/new"), ending in the redis-tls include"
REDIS_TLS_REPAIR
put "$work/check" "$check" 700 root:root || true
printf '[Service]\n# Before every start: redis.conf must end in the redis-tls include, with nothing overriding it.\nExecStartPre=+%s\n' "$check" > "$work/hook"
if put "$work/hook" "/etc/systemd/system/$unit.service.d/redis-tls.conf" 644 root:root; then systemctl daemon-reload; fi
repaired=$("$check")
if [ "$repaired" != "redis.conf unchanged" ]; then
  echo "$repaired" >&2
  changed=yes
fi
if [ "$changed" = yes ] || ! systemctl is-active --quiet "$unit"; then
  systemctl restart "$unit"
  echo "restarted $unit"
elif [ "$users_changed" = yes ]; then
  applied=0
  apply_users || applied=$?
  if [ "$applied" = 0 ]; then
    echo "users of $unit applied without a restart"
  elif [ "$applied" = 2 ]; then
    # The server would not start with this file either: the old one goes back, and so do its users.
    if [ -f "$work/users.acl.old" ]; then put "$work/users.acl.old" "$tls/users.acl" 640 "root:$group" || true; apply_users || true; fi
    echo "users.acl was not applied: fix the rules the server refused (users); the previous users stay" >&2
    exit 1
  else
    echo "restarting $unit to apply users.acl" >&2
    systemctl restart "$unit"
    echo "restarted $unit"
  fi
else
  echo "unchanged"
fi
systemctl is-active --quiet "$unit"
