#!/bin/bash
# Usage: renew CERT KEY (as cert-renewer@.service runs it); the files must be the ones configured.
set -euo pipefail
cert='/etc/redis/tls/redis.crt' key='/etc/redis/tls/redis.key'
if [ "${1:-$cert}" != "$cert" ] || [ "${2:-$key}" != "$key" ]; then
  echo "this renew script manages $cert and $key, not $1 and $2" >&2
  exit 2
fi
command -v lego >/dev/null || { echo "lego is not installed; install Debian's lego package" >&2; exit 1; }
export LEGO_CA_CERTIFICATES='/etc/redis/tls/acme-server-ca.crt'
lego_path='/var/lib/redis-tls/acme'
lego_args=(--server 'https://ca.example.internal/acme/acme/directory' --accept-tos --email 'ops@example.internal' --http --http.port ':80' --key-type 'ec256' --path "$lego_path" --domains 'redis-1.example.internal' --domains 'redis.example.internal')
src="$lego_path/certificates/redis-1.example.internal"
install -d -m 0700 "$lego_path"
# lego renews whatever its stored certificate names, with its stored key; a stored pair that is not
# ours (refused by a previous install) is dropped, so this run starts over instead of failing forever.
usable() {
  [ -s "$src.crt" ] && [ -s "$src.key" ] || return 1
  [ "$(openssl x509 -in "$src.crt" -noout -pubkey)" = "$(openssl pkey -in "$src.key" -pubout)" ] || return 1
  [[ "$(openssl x509 -in "$src.crt" -noout -checkhost 'redis-1.example.internal')" == *" does match"* ]] || return 1
  [[ "$(openssl x509 -in "$src.crt" -noout -checkhost 'redis.example.internal')" == *" does match"* ]] || return 1
}
if ! usable; then rm -f "$src.crt" "$src.key" "$src.issuer.crt" "$src.json"; fi
if [ -s "$src.crt" ]; then
  if ! out=$(lego "${lego_args[@]}" renew --days -1 --no-random-sleep --reuse-key 2>&1); then
    echo "$out" >&2
    case "$out" in
      *accountDoesNotExist*) rm -rf "$lego_path/accounts"; lego "${lego_args[@]}" run ;;
      *) exit 1 ;;
    esac
  fi
else
  lego "${lego_args[@]}" run
fi
# The key lego used becomes the pending key; the install step takes whichever key matches the leaf.
tmp=$(mktemp "$key.pending.XXXXXX")
install -m 0600 -o redis -g redis "$src.key" "$tmp"
openssl pkey -in "$tmp" -pubout -out "$tmp.pub"
chmod 0644 "$tmp.pub"
mv -f "$tmp.pub" "$key.pending.pub"
mv -f "$tmp" "$key.pending"
cat "$src.crt" '/etc/redis/tls/acme-root.crt' | (
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
)
