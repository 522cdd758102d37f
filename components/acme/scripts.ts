import { CertificateFiles, InstallCertScriptArgs, renderInstallCertScript } from "../certificate/scripts";

/** Key types lego takes, by the key algorithm names the other components use. */
export const LEGO_KEY_TYPES: Record<string, string> = {
    ECDSA_P256: "ec256",
    ECDSA_P384: "ec384",
    RSA_2048: "rsa2048",
    RSA_3072: "rsa3072",
    RSA_4096: "rsa4096",
};

export interface AcmeRenewScriptArgs extends CertificateFiles {
    directoryUrl: string;
    email: string;
    dnsNames: string[];
    keyType: string;
    /** Where lego's standalone HTTP-01 server listens. */
    httpPort: number;
    /** lego's state: account and the last certificate (root-only). */
    legoPath: string;
    /** The ACME CA's root, pinned on the host: the chain must verify to it. */
    rootPath: string;
    /** CA bundle lego trusts for the directory's HTTPS; the system store when undefined. */
    serverCaPath?: string;
}

/**
 * The issuer half of host renewal: obtains a certificate with Debian's lego (4.9.1) and installs it
 * with the same verify-then-move install script `pulumi up` uses, leaving the reload to the caller.
 *
 * Facts measured with lego 4.9.1 and pebble 2.4.0: `renew` sleeps randomly unless
 * `--no-random-sleep`; `--days -1` always renews (the timer's ExecCondition already decided it is
 * due); `--reuse-key` keeps the key byte-identical; lego writes `<name>.crt` (leaf + intermediate)
 * and `<name>.key` in place, not atomically, so they are only ever read from, never served; a CA
 * that forgot the account answers `accountDoesNotExist`, after which a fresh `run` is the way back.
 */
export function renderAcmeRenewScript(a: AcmeRenewScriptArgs): string {
    const install: InstallCertScriptArgs = { ...a, ipAddresses: [] };
    const name = a.dnsNames[0];
    return `#!/bin/bash
# Usage: renew CERT KEY (as cert-renewer@.service runs it); the files must be the ones configured.
set -euo pipefail
cert='${a.certPath}' key='${a.keyPath}'
if [ "\${1:-$cert}" != "$cert" ] || [ "\${2:-$key}" != "$key" ]; then
  echo "this renew script manages $cert and $key, not $1 and $2" >&2
  exit 2
fi
command -v lego >/dev/null || { echo "lego is not installed; install Debian's lego package" >&2; exit 1; }
${a.serverCaPath === undefined ? "" : `export LEGO_CA_CERTIFICATES='${a.serverCaPath}'\n`}lego_path='${a.legoPath}'
lego_args=(--server '${a.directoryUrl}' --accept-tos --email '${a.email}' --http --http.port ':${a.httpPort}' --key-type '${a.keyType}' --path "$lego_path"${a.dnsNames.map((d) => ` --domains '${d}'`).join("")})
src="$lego_path/certificates/${name}"
install -d -m 0700 "$lego_path"
# lego renews whatever its stored certificate names, with its stored key; a stored pair that is not
# ours (refused by a previous install) is dropped, so this run starts over instead of failing forever.
usable() {
  [ -s "$src.crt" ] && [ -s "$src.key" ] || return 1
  [ "$(openssl x509 -in "$src.crt" -noout -pubkey)" = "$(openssl pkey -in "$src.key" -pubout)" ] || return 1
${a.dnsNames.map((d) => `  [[ "$(openssl x509 -in "$src.crt" -noout -checkhost '${d}')" == *" does match"* ]] || return 1
`).join("")}}
if ! usable; then rm -f "$src.crt" "$src.key" "$src.issuer.crt" "$src.json"; fi
if [ -s "$src.crt" ]; then
  if ! out=$(lego "\${lego_args[@]}" renew --days -1 --no-random-sleep --reuse-key 2>&1); then
    echo "$out" >&2
    case "$out" in
      *accountDoesNotExist*) rm -rf "$lego_path/accounts"; lego "\${lego_args[@]}" run ;;
      *) exit 1 ;;
    esac
  fi
else
  lego "\${lego_args[@]}" run
fi
# The key lego used becomes the pending key; the install step takes whichever key matches the leaf.
tmp=$(mktemp "$key.pending.XXXXXX")
install -m 0600 -o ${a.keyOwner} -g ${a.keyOwner} "$src.key" "$tmp"
openssl pkey -in "$tmp" -pubout -out "$tmp.pub"
chmod 0644 "$tmp.pub"
mv -f "$tmp.pub" "$key.pending.pub"
mv -f "$tmp" "$key.pending"
cat "$src.crt" '${a.rootPath}' | (
${renderInstallCertScript(install).trimEnd()}
)
`;
}

/** Pins the ACME CA's root (and the directory's HTTPS CA) on the host before the first issuance. */
export function renderAcmeTrustFiles(group: string, rootPath: string, rootPem: string, serverCaPath?: string, serverCaPem?: string): string {
    const put = (path: string, pem: string, tag: string) => `tmp=$(mktemp '${path}.XXXXXX')
cat > "$tmp" <<'${tag}'
${pem.trim()}
${tag}
chmod 0644 "$tmp"
mv -f "$tmp" '${path}'
`;
    return `dir=$(dirname '${rootPath}')
[ -d "$dir" ] || install -d -m 0750 -o root -g ${group} "$dir"
${put(rootPath, rootPem, "REDIS_TLS_ACME_ROOT")}${serverCaPath === undefined || serverCaPem === undefined ? "" : put(serverCaPath, serverCaPem, "REDIS_TLS_ACME_SERVER_CA")}`;
}
