set -euo pipefail
systemctl disable --now 'cert-renewer@redis-server.timer' 2>/dev/null || true
rm -rf '/etc/systemd/system/cert-renewer@redis-server.service.d'
rm -f '/usr/local/libexec/redis-tls/reload-redis-server' '/usr/local/libexec/redis-tls/renew-redis-server'
if ! compgen -G '/etc/systemd/system/cert-renewer@*.service.d' >/dev/null; then
  rm -f /etc/systemd/system/cert-renewer@.service /etc/systemd/system/cert-renewer@.timer /usr/local/libexec/redis-tls/needs-renewal
fi
systemctl daemon-reload
