import { KeyAlgorithm, opensslGenpkeyArgs } from "../keyAlgorithm";
import { ReloadArgs, renderReloadScript } from "../reload/scripts";

/** Where a server certificate and its key live on the host, and who owns the key. */
export interface CertificateFiles {
    /** Leaf certificate followed by intermediates. */
    certPath: string;
    /** Private key; never leaves the host. */
    keyPath: string;
    /** The CA root that Redis trusts for client certificates. */
    caPath: string;
    /** User and group that own the key (the Redis service user). */
    keyOwner: string;
}

export interface KeyAndCsrScriptArgs extends CertificateFiles {
    keyAlgorithm: KeyAlgorithm;
    commonName: string;
    dnsNames: string[];
    ipAddresses: string[];
    /** When true, the key is encrypted with a pass phrase read from the first line of stdin. */
    encryptKey: boolean;
}

/** The subjectAltName extension value for a CSR. */
export function subjectAltName(dnsNames: string[], ipAddresses: string[]): string {
    return [...dnsNames.map((d) => `DNS:${d}`), ...ipAddresses.map((ip) => `IP:${ip}`)].join(",");
}

// Missing directories are made root-owned, readable by the Redis group only; existing ones
// (say /etc/ssl/certs) are left as they are.
const DIRECTORY_SETUP = (a: CertificateFiles) => `for dir in "$(dirname "$cert")" "$(dirname "$key")" "$(dirname "$ca")"; do
  [ -d "$dir" ] || install -d -m 0750 -o root -g ${a.keyOwner} "$dir"
done`;

/**
 * Makes the server key on the host (once per issuance: it waits as `<key>.pending` until its
 * certificate is installed) and prints a CSR for it. Only the CSR leaves the host.
 * Values are validated before rendering, so they need no quoting beyond what is here.
 */
export function renderKeyAndCsrScript(a: KeyAndCsrScriptArgs): string {
    const pass = a.encryptKey;
    return `set -euo pipefail
umask 077
cert='${a.certPath}' key='${a.keyPath}' ca='${a.caPath}'
pending="$key.pending"
${DIRECTORY_SETUP(a)}
${pass ? "IFS= read -r pass\n" : ""}if [ ! -s "$pending" ] || [ ! -s "$pending.pub" ]; then
  tmp=$(mktemp "$pending.XXXXXX")
  ${pass ? `printf '%s\\n' "$pass" | openssl genpkey ${opensslGenpkeyArgs(a.keyAlgorithm)} -aes-256-cbc -pass stdin -out "$tmp"` : `openssl genpkey ${opensslGenpkeyArgs(a.keyAlgorithm)} -out "$tmp"`}
  ${pass ? `printf '%s\\n' "$pass" | openssl pkey -passin stdin -in "$tmp" -pubout -out "$tmp.pub"` : `openssl pkey -in "$tmp" -pubout -out "$tmp.pub"`}
  chown ${a.keyOwner}:${a.keyOwner} "$tmp"
  chmod 0600 "$tmp"
  chmod 0644 "$tmp.pub"
  mv -f "$tmp.pub" "$pending.pub"
  mv -f "$tmp" "$pending"
fi
${pass ? `printf '%s\\n' "$pass" | openssl req -new -passin stdin` : "openssl req -new"} -key "$pending" -subj '/CN=${a.commonName}' -addext 'subjectAltName=${subjectAltName(a.dnsNames, a.ipAddresses)}'
`;
}

export interface InstallCertScriptArgs extends CertificateFiles {
    /** Names the certificate must carry; a chain for another host is refused. */
    dnsNames: string[];
    /** Addresses the certificate must carry. */
    ipAddresses: string[];
    /** How to hot-load the new files into the running Redis; without it they are read at the next start. */
    reload?: Omit<ReloadArgs, "certPath" | "keyPath" | "caPath">;
}

/**
 * Installs a certificate chain read from stdin (leaf first, root last) and hot-loads it.
 *
 * Redis loads a chain cut after the leaf, or an expired certificate, with `OK`, so the chain is
 * verified to the root, for server use and for every expected name before anything moves; the key
 * is picked by matching public keys; files move into place atomically with the previous ones kept
 * for the reload (reload/scripts.ts) to fall back to.
 */
export function renderInstallCertScript(a: InstallCertScriptArgs): string {
    return `set -euo pipefail
umask 022
cert='${a.certPath}' key='${a.keyPath}' ca='${a.caPath}'
${DIRECTORY_SETUP(a)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/bundle.pem"
n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$work/bundle.pem" || true)
if [ "$n" -lt 2 ]; then
  echo "expected the chain from leaf to root on stdin, got $n certificate(s)" >&2
  exit 1
fi
awk -v n="$n" -v chain="$work/chain.pem" -v root="$work/root.pem" \\
  '/-----BEGIN CERTIFICATE-----/ { i++ } i < n { print > chain } i == n { print > root }' "$work/bundle.pem"
# Refuses expired, cut-off or foreign chains before they can lock clients out.
openssl verify -purpose sslserver -CAfile "$work/root.pem" -untrusted "$work/chain.pem" "$work/chain.pem" >/dev/null
${renderSanChecks(a.dnsNames, a.ipAddresses)}openssl x509 -in "$work/chain.pem" -noout -pubkey > "$work/leaf.pub"
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
${a.reload === undefined ? "" : `(
${renderReloadScript({ ...a.reload, certPath: a.certPath, keyPath: a.keyPath, caPath: a.caPath }).trimEnd()}
)
`}`;
}

/** One check per expected SAN, so a chain issued for another host never replaces this one's. */
function renderSanChecks(dnsNames: string[], ipAddresses: string[]): string {
    const checks = [...dnsNames.map((d) => ["-checkhost", d]), ...ipAddresses.map((ip) => ["-checkip", ip])];
    return checks
        .map(([flag, v]) => `if [[ "$(openssl x509 -in "$work/chain.pem" -noout ${flag} '${v}')" != *" does match"* ]]; then
  echo "the certificate does not name ${v}; refusing it" >&2
  exit 1
fi
`)
        .join("");
}
