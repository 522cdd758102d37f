set -euo pipefail
tls='/etc/redis-tls' state=/var/lib/redis-tls-sentinel unit=redis-tls-sentinel
systemctl disable --quiet --now "$unit.service" 2> /dev/null || true
rm -f "/etc/systemd/system/$unit.service"
# rm never follows a link inside the directory it removes.
rm -rf --one-file-system "$state"
if [ -d "$tls" ] && [ ! -L "$tls" ]; then rm -f "$tls/sentinel.sha256"; fi
systemctl daemon-reload
echo "sentinel removed"
