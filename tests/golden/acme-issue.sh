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
# reload_tls: one CONFIG SET over the root-only socket loads the live files; if Redis refuses them,
# live goes back to the previous generation and this fails.
reload_tls() {
  local tls='/etc/redis-tls' sock='/run/redis/redis-server.sock' user='redis-tls-reload' reply
  if [ -L "$sock" ]; then
    echo "$sock is a link, not Redis's socket; refusing to send the reload password through it" >&2
    return 1
  fi
  if [ ! -S "$sock" ]; then
    echo "no Redis socket at $sock; the new files are read at the next start"
    restart_sentinel
    return 0
  fi
  if ! reply=$(REDISCLI_AUTH=$(cat "$tls/reload.pass") redis-cli -s "$sock" --user "$user" -e CONFIG SET \
      tls-cert-file "$tls/live/redis.crt" tls-key-file "$tls/live/redis.key" tls-ca-cert-file "$tls/live/ca.crt" 2>&1) ||
      [ "$reply" != OK ]; then
    if [ -L "$tls/previous" ]; then
      ln -sfn "$(readlink "$tls/previous")" "$tls/live.new"
      mv -fT "$tls/live.new" "$tls/live"
    fi
    echo "redis refused the new certificate, previous files restored: $reply" >&2
    return 1
  fi
  echo "reloaded $(openssl x509 -in "$tls/live/redis.crt" -noout -serial) through $sock"
  restart_sentinel
}
# A sentinel beside this server serves the same files and cannot hot-load them: it restarts (what it
# learned is in its own file).
restart_sentinel() {
  if [ -f /etc/systemd/system/redis-tls-sentinel.service ] && command -v systemctl > /dev/null; then
    if ! systemctl try-restart redis-tls-sentinel.service; then
      echo "redis-tls-sentinel did not restart on the new certificate; see journalctl -u redis-tls-sentinel" >&2
      return 1
    fi
    echo "restarted redis-tls-sentinel"
  fi
}
tls='/etc/redis-tls'
root_dir "$tls" 'redis' 750
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
put "$work/acme-root" "$tls/acme-root.crt" 644 root:root || true
put "$work/client-ca" "$tls/client-ca.crt" 644 root:root || true
if [ -e "$work/server-ca" ]; then put "$work/server-ca" "$tls/acme-server-ca.crt" 644 root:root || true; fi
/bin/bash -c "$(cat <<'REDIS_TLS_RENEW'
#!/bin/bash
echo renew
REDIS_TLS_RENEW
)"
reload_tls
