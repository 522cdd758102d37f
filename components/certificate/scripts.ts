import { shellLib, shellQuote } from "../host/shell";
import { KeyAlgorithm, opensslGenpkeyArgs } from "../keyAlgorithm";
import { ReloadArgs, renderReloadFunction } from "../reload/scripts";

/** The TLS directory on the host and the group (the Redis service's) that may read what Redis serves. */
export interface TlsDirArgs {
    tlsDir: string;
    group: string;
}

export interface KeyAndCsrScriptArgs extends TlsDirArgs {
    keyAlgorithm: KeyAlgorithm;
    commonName: string;
    dnsNames: string[];
    ipAddresses: string[];
    /** URI SANs (a client identity's name). */
    uris?: string[];
    /** When true, the key is encrypted with a pass phrase read from the first line of stdin. */
    encryptKey: boolean;
}

/** The subjectAltName extension value for a CSR. */
export function subjectAltName(dnsNames: string[], ipAddresses: string[], uris: string[] = []): string {
    return [...dnsNames.map((d) => `DNS:${d}`), ...ipAddresses.map((ip) => `IP:${ip}`), ...uris.map((u) => `URI:${u}`)].join(",");
}

/**
 * Makes the server key on the host, in the root-only `pending` directory where it waits for its
 * certificate, and prints a CSR for it: only the CSR leaves the host. A pending key is reused until
 * it is installed, so a failed run does not orphan a signed certificate.
 */
export function renderKeyAndCsrScript(a: KeyAndCsrScriptArgs): string {
    const genpkey = `openssl genpkey ${opensslGenpkeyArgs(a.keyAlgorithm)}`;
    const pass = a.encryptKey;
    return `set -euo pipefail
umask 077
${shellLib("root_dir")}tls=${shellQuote(a.tlsDir)}
root_dir "$tls" ${shellQuote(a.group)} 750
root_dir "$tls/pending" root 700
key="$tls/pending/redis.key"
${pass ? "IFS= read -r pass\n" : ""}# A pending key that is already live was installed; one that does not load (another pass phrase,
# a broken file) is of no use. Either way a new one is made.
if [ -s "$key.pub" ] && cmp -s "$key.pub" "$tls/live/redis.key.pub"; then rm -f "$key" "$key.pub"; fi
if [ -s "$key" ] && ! ${pass ? `printf '%s\n' "$pass" | openssl pkey -passin stdin` : "openssl pkey"} -in "$key" -noout 2> /dev/null; then rm -f "$key" "$key.pub"; fi
if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
  tmp=$(mktemp "$key.XXXXXX")
  ${pass ? `printf '%s\\n' "$pass" | ${genpkey} -aes-256-cbc -pass stdin -out "$tmp"` : `${genpkey} -out "$tmp"`}
  ${pass ? `printf '%s\\n' "$pass" | openssl pkey -passin stdin -in "$tmp" -pubout -out "$tmp.pub"` : `openssl pkey -in "$tmp" -pubout -out "$tmp.pub"`}
  mv -f "$tmp.pub" "$key.pub"
  mv -f "$tmp" "$key"
fi
${pass ? `printf '%s\\n' "$pass" | openssl req -new -passin stdin` : "openssl req -new"} -key "$key" -subj ${shellQuote(`/CN=${a.commonName}`)} -addext ${shellQuote(`subjectAltName=${subjectAltName(a.dnsNames, a.ipAddresses, a.uris)}`)}
`;
}

export interface InstallTlsArgs extends TlsDirArgs {
    /** Names the certificate must carry as SANs; a chain for another host is refused. */
    dnsNames: string[];
    /** Addresses the certificate must carry. */
    ipAddresses: string[];
    /** SHA-256 (hex) of the only root the chain may end in. */
    rootFingerprint: string;
    /** SHA-256 (hex) of the only CA Redis may trust for client certificates (for a client: the servers' root). */
    clientCaFingerprint: string;
    /** What the leaf must be good for: a server's certificate, or an application's client certificate. @default "server" */
    purpose?: "server" | "client";
}

const FINGERPRINT = /^[0-9a-f]{64}$/;

/**
 * The bash function `install_tls DIR`: DIR holds `chain.pem` (leaf first), `root.pem` and
 * `client-ca.pem`. It refuses anything but a chain of certificates that each sign the one before,
 * ending in the pinned root, whose leaf is a server certificate (not a CA) for every expected name
 * in its SANs (never the CN), valid now, with its key on this host; then it writes a new generation
 * and switches `live` to it with one rename. The previous generation stays as `previous`.
 *
 * Redis loads a chain cut after the leaf, or an expired certificate, with `OK`, so all of this is
 * checked before anything moves. Sets `installed` to yes or no.
 */
export function renderInstallFunction(a: InstallTlsArgs): string {
    for (const fp of [a.rootFingerprint, a.clientCaFingerprint]) {
        if (!FINGERPRINT.test(fp)) throw new Error(`${JSON.stringify(fp)} is not a SHA-256 fingerprint in lower-case hex`);
    }
    const names = a.dnsNames.map(shellQuote).join(" ");
    const ips = a.ipAddresses.map(shellQuote).join(" ");
    return `# certs_only FILE: FILE holds one or more PEM certificates and nothing else (no key, no stray text).
certs_only() {
  awk '/^-----BEGIN CERTIFICATE-----$/ { if (open) bad = 1; open = 1; n++; next }
       /^-----END CERTIFICATE-----$/ { if (!open) bad = 1; open = 0; next }
       open { if ($0 !~ /^[A-Za-z0-9+\\/=]+$/) bad = 1; next }
       /^[ \\t]*$/ { next }
       { bad = 1 }
       END { exit (bad || open || n == 0) }' "$1"
}
sha256_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
# install_tls DIR: verifies DIR/chain.pem against the pinned root and installs it as a new generation.
# shellcheck disable=SC2034 # installed: read by the callers that reload
install_tls() {
  local w=$1 tls=${shellQuote(a.tlsDir)} group=${shellQuote(a.group)} n i f key new prev="" off
  local -a names=(${names}) ips=(${ips})
  installed=no
  root_dir "$tls" "$group" 750
  root_dir "$tls/gen" "$group" 750
  # One install at a time (a pulumi up and the host's renewal timer): each removes generations it
  # did not make, so two at once could remove the one the other just made live. Held to exit.
  exec 8> "$tls/.install.lock" || return 1
  flock 8 || return 1
  for f in chain root client-ca; do
    if ! certs_only "$w/$f.pem"; then
      echo "$f: expected only PEM certificates; refusing text outside them, keys or broken blocks" >&2
      return 1
    fi
  done
  for f in root client-ca; do
    if [ "$(grep -c '^-----BEGIN CERTIFICATE-----$' "$w/$f.pem")" != 1 ]; then
      echo "$f: expected exactly one certificate" >&2
      return 1
    fi
  done
  if [ "$(sha256_of "$w/root.pem")" != ${a.rootFingerprint} ]; then
    echo "the chain's root (sha256 $(sha256_of "$w/root.pem")) is not the pinned root (sha256 ${a.rootFingerprint}); refusing it" >&2
    return 1
  fi
  if [ "$(sha256_of "$w/client-ca.pem")" != ${a.clientCaFingerprint} ]; then
    echo "the client CA (sha256 $(sha256_of "$w/client-ca.pem")) is not the pinned one (sha256 ${a.clientCaFingerprint}); refusing it" >&2
    return 1
  fi
  n=$(awk -v d="$w" '/^-----BEGIN CERTIFICATE-----$/ { n++ } n { print > (d "/c" n ".pem") } END { print n }' "$w/chain.pem")
  if [ "$n" -gt 5 ]; then
    echo "the chain has $n certificates; expected the leaf and at most four intermediates" >&2
    return 1
  fi
  # Each certificate must be signed by the next one and the last by the root: nothing extra rides along.
  cp "$w/root.pem" "$w/c$((n + 1)).pem"
  for ((i = 1; i <= n; i++)); do
    if ! openssl verify -partial_chain -trusted "$w/c$((i + 1)).pem" "$w/c$i.pem" > /dev/null 2>&1; then
      echo "certificate $i of the chain is not signed by the next one (or the pinned root) or is not valid now; refusing the chain" >&2
      return 1
    fi
  done
  for ((i = 1; i <= n; i++)); do cat "$w/c$i.pem"; done > "$w/leafchain.pem"
  openssl verify -purpose ${a.purpose === "client" ? "sslclient" : "sslserver"} -CAfile "$w/root.pem" -untrusted "$w/leafchain.pem" "$w/c1.pem" > /dev/null
  # Output to a file, then grep: with pipefail, grep -q closing a pipe early could fail a check.
  openssl x509 -in "$w/c1.pem" -noout -ext basicConstraints,keyUsage > "$w/leaf.ext" 2> /dev/null
  if grep -q -e 'CA:TRUE' -e 'Certificate Sign' "$w/leaf.ext"; then
    echo "the leaf is a CA certificate (CA:TRUE or keyCertSign); refusing it" >&2
    return 1
  fi
  if [ \${#names[@]} -gt 0 ]; then
    # -checkhost falls back to the subject CN when no DNS name is among the SANs, so there must be
    # one, found by its ASN.1 tag (the SANs' text form can be forged by a URI holding ", DNS:").
    openssl asn1parse -in "$w/c1.pem" > "$w/leaf.asn1"
    off=$(awk '/:X509v3 Subject Alternative Name/ { found = 1; next } found && /OCTET STRING/ { sub(/:.*/, ""); print $1 + 0; exit }' "$w/leaf.asn1")
    if [ -n "$off" ]; then openssl asn1parse -in "$w/c1.pem" -strparse "$off" > "$w/leaf.sans"; else : > "$w/leaf.sans"; fi
    if ! grep -q 'd=1 .*prim: cont \\[ 2 \\]' "$w/leaf.sans"; then
      echo "the certificate has no DNS name in its SANs; refusing it" >&2
      return 1
    fi
  fi
  for f in "\${names[@]}"; do
    if [[ "$(openssl x509 -in "$w/c1.pem" -noout -checkhost "$f")" != *" does match"* ]]; then
      echo "the certificate does not name $f in its SANs; refusing it" >&2
      return 1
    fi
  done
  for f in "\${ips[@]}"; do
    if [[ "$(openssl x509 -in "$w/c1.pem" -noout -checkip "$f")" != *" does match"* ]]; then
      echo "the certificate does not name $f in its SANs; refusing it" >&2
      return 1
    fi
  done
  openssl x509 -in "$w/c1.pem" -noout -pubkey > "$w/leaf.pub"
  if [ -s "$tls/live/redis.key.pub" ] && cmp -s "$w/leaf.pub" "$tls/live/redis.key.pub"; then
    key="$tls/live/redis.key"
  elif [ -s "$tls/pending/redis.key.pub" ] && cmp -s "$w/leaf.pub" "$tls/pending/redis.key.pub"; then
    key="$tls/pending/redis.key"
  else
    echo "no key on this host matches the certificate's public key; re-run the CSR step" >&2
    return 1
  fi
  # The pinned client CA, for renewals on the host.
  if ! cmp -s "$w/client-ca.pem" "$tls/client-ca.crt"; then
    if ! { install -m 644 -o root -g root "$w/client-ca.pem" "$tls/client-ca.crt.new" && mv -f "$tls/client-ca.crt.new" "$tls/client-ca.crt"; }; then
      rm -f "$tls/client-ca.crt.new"
      echo "could not write $tls/client-ca.crt" >&2
      return 1
    fi
  fi
  if [ "$key" = "$tls/live/redis.key" ] && cmp -s "$w/leafchain.pem" "$tls/live/redis.crt" && cmp -s "$w/client-ca.pem" "$tls/live/ca.crt"; then
    echo "unchanged $(openssl x509 -in "$tls/live/redis.crt" -noout -serial)"
    return 0
  fi
  # A complete new generation, on disk before live points at it: a crash leaves either set whole.
  new=$(mktemp -d "$tls/gen/XXXXXXXX")
  if ! { install -m 644 -o root -g root "$w/leafchain.pem" "$new/redis.crt" &&
      install -m 640 -o root -g "$group" "$key" "$new/redis.key" &&
      install -m 644 -o root -g root "$key.pub" "$new/redis.key.pub" &&
      install -m 644 -o root -g root "$w/client-ca.pem" "$new/ca.crt" &&
      chgrp "$group" "$new" && chmod 750 "$new" &&
      sync "$new/redis.crt" "$new/redis.key" "$new/redis.key.pub" "$new/ca.crt" "$new"; }; then
    rm -rf "$new"
    echo "could not write the new generation (is the disk full?); still serving the previous one" >&2
    return 1
  fi
  if [ -L "$tls/live" ]; then
    prev=$(readlink "$tls/live")
    ln -sfn "$prev" "$tls/previous.new"
    mv -fT "$tls/previous.new" "$tls/previous"
  fi
  ln -sfn "gen/\${new##*/}" "$tls/live.new"
  mv -fT "$tls/live.new" "$tls/live"
  sync "$tls"
  installed=yes
  # The pending key stays until a later run finds it live: if Redis refuses this set, live goes back
  # and the next run needs the key again.
  for f in "$tls"/gen/*; do
    case "gen/\${f##*/}" in "gen/\${new##*/}" | "$prev") ;; *) rm -rf "$f" ;; esac
  done
  echo "installed $(openssl x509 -in "$tls/live/redis.crt" -noout -serial)"
}
`;
}

/**
 * Installs a certificate chain sent on stdin (sections `chain`, `root`, `client-ca`) and hot-loads it.
 */
export function renderInstallCertScript(a: InstallTlsArgs & { reload?: ReloadArgs }): string {
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "read_sections")}${renderInstallFunction(a)}${a.reload === undefined ? "" : renderReloadFunction(a.reload)}work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
for f in chain root client-ca; do mv "$work/$f" "$work/$f.pem"; done
install_tls "$work"
${a.reload === undefined ? "" : `if [ "$installed" = yes ]; then reload_tls; fi\n`}`;
}
