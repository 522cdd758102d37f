set -eu
umask 077
for v in $(env | sed -n 's/^\(STEP[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
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
tok=$(STEPPATH="$work/cli" 'step' ca token 'redis-1.example.internal' --san 'redis-1.example.internal' --san '10.0.0.5' --provisioner 'redis' \
  --provisioner-password-file "$work/password" --ca-url 'https://ca.example.internal:9443' --root "$work/cli/certs/root_ca.crt")
STEP_TOKEN=$tok STEPPATH="$work/cli" 'step' ca sign "$work/csr.pem" "$work/crt.pem" --ca-url 'https://ca.example.internal:9443' --root "$work/cli/certs/root_ca.crt" \
  --not-after 720h > /dev/null
cat "$work/crt.pem" "$work/cli/certs/root_ca.crt"
