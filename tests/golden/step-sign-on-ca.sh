set -euo pipefail
umask 077
for v in $(env | sed -n 's/^\(STEP[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
steppath='/etc/step-ca'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/csr.pem"
tok=$(STEPPATH="$work/cli" step ca token 'redis-1.example.internal' --san 'redis-1.example.internal' --san '10.0.0.5' --provisioner 'redis' \
  --provisioner-password-file "$steppath/provisioner.pass" --ca-url 'https://127.0.0.1:9443' --root "$steppath/certs/root_ca.crt")
STEP_TOKEN=$tok STEPPATH="$work/cli" step ca sign "$work/csr.pem" "$work/crt.pem" --ca-url 'https://127.0.0.1:9443' --root "$steppath/certs/root_ca.crt" \
  --not-after 720h > /dev/null
cat "$work/crt.pem" "$steppath/certs/root_ca.crt"
