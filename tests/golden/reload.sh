#!/bin/bash
set -euo pipefail
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
reload_tls
