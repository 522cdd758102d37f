set -euo pipefail
umask 077
steppath='/etc/step-ca'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/csr.pem"
STEPPATH="$work/cli" step ca sign "$work/csr.pem" "$work/crt.pem" --provisioner 'redis' \
  --provisioner-password-file "$steppath/provisioner.pass" --ca-url 'https://127.0.0.1:9443' --root "$steppath/certs/root_ca.crt" \
  --not-after 720h > /dev/null
cat "$work/crt.pem" "$steppath/certs/root_ca.crt"
