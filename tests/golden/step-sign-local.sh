set -eu
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
printf '%s' "$REDIS_TLS_CSR" > "$work/csr.pem"
STEPPATH="$work/cli" 'step' ca bootstrap --ca-url 'https://ca.example.internal:9443' --fingerprint cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc < /dev/null > /dev/null 2>&1 || {
  echo "step ca bootstrap found no root with fingerprint cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc at https://ca.example.internal:9443" >&2
  exit 1
}
# In a file of the scratch directory (0700): stdin may be a socket, which /dev/stdin cannot open.
cat > "$work/password"
STEPPATH="$work/cli" 'step' ca sign "$work/csr.pem" "$work/crt.pem" --provisioner 'redis' \
  --provisioner-password-file "$work/password" --not-after 720h > /dev/null
cat "$work/crt.pem" "$work/cli/certs/root_ca.crt"
