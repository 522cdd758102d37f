set -euo pipefail
umask 077
cert='/etc/redis/tls/redis.crt' key='/etc/redis/tls/redis.key' ca='/etc/redis/tls/ca.crt'
pending="$key.pending"
for dir in "$(dirname "$cert")" "$(dirname "$key")" "$(dirname "$ca")"; do
  [ -d "$dir" ] || install -d -m 0750 -o root -g redis "$dir"
done
if [ ! -s "$pending" ] || [ ! -s "$pending.pub" ]; then
  tmp=$(mktemp "$pending.XXXXXX")
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp"
  openssl pkey -in "$tmp" -pubout -out "$tmp.pub"
  chown redis:redis "$tmp"
  chmod 0600 "$tmp"
  chmod 0644 "$tmp.pub"
  mv -f "$tmp.pub" "$pending.pub"
  mv -f "$tmp" "$pending"
fi
openssl req -new -key "$pending" -subj '/CN=redis-1.example.internal' -addext 'subjectAltName=DNS:redis-1.example.internal,DNS:redis.example.internal,IP:10.0.0.5,IP:fd00::5'
