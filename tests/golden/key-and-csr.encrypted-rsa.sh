set -euo pipefail
umask 077
cert='/etc/redis/tls/redis.crt' key='/etc/redis/tls/redis.key' ca='/etc/redis/tls/ca.crt'
pending="$key.pending"
for dir in "$(dirname "$cert")" "$(dirname "$key")" "$(dirname "$ca")"; do
  [ -d "$dir" ] || install -d -m 0750 -o root -g redis "$dir"
done
IFS= read -r pass
if [ ! -s "$pending" ] || [ ! -s "$pending.pub" ]; then
  tmp=$(mktemp "$pending.XXXXXX")
  printf '%s\n' "$pass" | openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -aes-256-cbc -pass stdin -out "$tmp"
  printf '%s\n' "$pass" | openssl pkey -passin stdin -in "$tmp" -pubout -out "$tmp.pub"
  chown redis:redis "$tmp"
  chmod 0600 "$tmp"
  chmod 0644 "$tmp.pub"
  mv -f "$tmp.pub" "$pending.pub"
  mv -f "$tmp" "$pending"
fi
printf '%s\n' "$pass" | openssl req -new -passin stdin -key "$pending" -subj '/CN=redis-1.example.internal' -addext 'subjectAltName=DNS:redis-1.example.internal,DNS:redis.example.internal,IP:10.0.0.5,IP:fd00::5'
