set -euo pipefail
cert='/etc/redis/tls/redis.crt' key='/etc/redis/tls/redis.key' ca='/etc/redis/tls/ca.crt' sock='/run/redis/redis-server.sock'
if [ ! -S "$sock" ]; then
  echo "no Redis socket at $sock; the new files are read at the next start"
  exit 0
fi
REDISCLI_AUTH=$(cat '/etc/redis/tls/reload.pass')
export REDISCLI_AUTH
if ! reply=$(redis-cli -s "$sock" --user 'redis-tls-reload' -e CONFIG SET tls-cert-file "$cert" tls-key-file "$key" tls-ca-cert-file "$ca" 2>&1) || [ "$reply" != "OK" ]; then
  for f in "$cert" "$key" "$key.pub" "$ca"; do
    if [ -e "$f.previous" ]; then mv -f "$f.previous" "$f"; fi
  done
  echo "redis refused the new certificate, previous files restored: $reply" >&2
  exit 1
fi
echo "reloaded $(openssl x509 -in "$cert" -noout -serial) through $sock"
