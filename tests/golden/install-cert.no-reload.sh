set -euo pipefail
umask 022
cert='/etc/redis/tls/redis.crt' key='/etc/redis/tls/redis.key' ca='/etc/redis/tls/ca.crt'
for dir in "$(dirname "$cert")" "$(dirname "$key")" "$(dirname "$ca")"; do
  [ -d "$dir" ] || install -d -m 0750 -o root -g redis "$dir"
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/bundle.pem"
n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$work/bundle.pem" || true)
if [ "$n" -lt 2 ]; then
  echo "expected the chain from leaf to root on stdin, got $n certificate(s)" >&2
  exit 1
fi
awk -v n="$n" -v chain="$work/chain.pem" -v root="$work/root.pem" \
  '/-----BEGIN CERTIFICATE-----/ { i++ } i < n { print > chain } i == n { print > root }' "$work/bundle.pem"
# Refuses expired, cut-off or foreign chains before they can lock clients out.
openssl verify -purpose sslserver -CAfile "$work/root.pem" -untrusted "$work/chain.pem" "$work/chain.pem" >/dev/null
if [[ "$(openssl x509 -in "$work/chain.pem" -noout -checkhost 'redis-1.example.internal')" != *" does match"* ]]; then
  echo "the certificate does not name redis-1.example.internal; refusing it" >&2
  exit 1
fi
if [[ "$(openssl x509 -in "$work/chain.pem" -noout -checkhost 'redis.example.internal')" != *" does match"* ]]; then
  echo "the certificate does not name redis.example.internal; refusing it" >&2
  exit 1
fi
if [[ "$(openssl x509 -in "$work/chain.pem" -noout -checkip '10.0.0.5')" != *" does match"* ]]; then
  echo "the certificate does not name 10.0.0.5; refusing it" >&2
  exit 1
fi
if [[ "$(openssl x509 -in "$work/chain.pem" -noout -checkip 'fd00::5')" != *" does match"* ]]; then
  echo "the certificate does not name fd00::5; refusing it" >&2
  exit 1
fi
openssl x509 -in "$work/chain.pem" -noout -pubkey > "$work/leaf.pub"
if [ -s "$key.pending.pub" ] && cmp -s "$work/leaf.pub" "$key.pending.pub"; then
  newkey="$key.pending"
elif [ -s "$key.pub" ] && cmp -s "$work/leaf.pub" "$key.pub"; then
  newkey=""
else
  echo "no key on this host matches the certificate's public key; re-run the CSR step" >&2
  exit 1
fi
if [ -z "$newkey" ] && cmp -s "$work/chain.pem" "$cert" && cmp -s "$work/root.pem" "$ca"; then
  echo "unchanged $(openssl x509 -in "$cert" -noout -serial)"
  exit 0
fi
for f in "$cert" "$key" "$key.pub" "$ca"; do
  if [ -e "$f" ]; then cp -p "$f" "$f.previous"; fi
done
install -m 0644 -o root -g root "$work/chain.pem" "$cert.tmp" && mv -f "$cert.tmp" "$cert"
install -m 0644 -o root -g root "$work/root.pem" "$ca.tmp" && mv -f "$ca.tmp" "$ca"
if [ -n "$newkey" ]; then
  mv -f "$newkey.pub" "$key.pub"
  mv -f "$newkey" "$key"
fi
echo "installed $(openssl x509 -in "$cert" -noout -serial)"
