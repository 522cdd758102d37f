set -euo pipefail
changed=no
write() {
  install -d -m 0755 "$(dirname "$1")"
  tmp=$(mktemp "$1.XXXXXX")
  cat > "$tmp"
  chmod "$2" "$tmp"
  if cmp -s "$tmp" "$1" && [ "$(stat -c %a "$1")" = "$(stat -c %a "$tmp")" ]; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$1"
    changed=yes
  fi
}
write '/usr/local/libexec/redis-tls/renew-redis-server' 0700 <<'REDIS_TLS_FILE_0'
#!/bin/bash
echo renew
REDIS_TLS_FILE_0
if [ "$changed" = yes ]; then systemctl daemon-reload; fi
systemctl enable --now 'cert-renewer@redis-server.timer'
systemctl is-active --quiet 'cert-renewer@redis-server.timer'
echo "cert-renewer@redis-server.timer active, files changed: $changed"
