import { InstallTlsArgs, renderInstallFunction } from "../certificate/scripts";
import { assertNoMarkerLine, shellLib, shellQuote } from "../host/shell";
import { renderReloadFunction, ReloadArgs } from "../reload/scripts";

/** Key types lego takes, by the key algorithm names the other components use. */
export const LEGO_KEY_TYPES: Record<string, string> = {
    ECDSA_P256: "ec256",
    ECDSA_P384: "ec384",
    RSA_2048: "rsa2048",
    RSA_3072: "rsa3072",
    RSA_4096: "rsa4096",
};

/** The ACME CA's root, the client CA and the directory's HTTPS CA, as pinned in the TLS directory. */
export const ACME_FILES = { root: "acme-root.crt", clientCa: "client-ca.crt", serverCa: "acme-server-ca.crt" } as const;

export interface AcmeRenewScriptArgs extends Omit<InstallTlsArgs, "ipAddresses"> {
    directoryUrl: string;
    email: string;
    keyType: string;
    /** Where lego's standalone HTTP-01 server listens. */
    httpPort: number;
    /** lego's state: account and the last certificate (root-only). */
    legoPath: string;
    /** Whether the directory's HTTPS is trusted through the pinned `acme-server-ca.crt`, not the system store. */
    serverCa: boolean;
}

/**
 * The issuer half of host renewal: obtains a certificate with Debian's lego (4.9.1) and installs it
 * with the same verify-then-switch function `pulumi up` uses: the chain must end in the pinned ACME
 * root, and Redis keeps trusting only the pinned client CA, never the ACME CA (which signs for anyone
 * who passes its challenge). The reload is left to the caller.
 *
 * Facts measured with lego 4.9.1 and pebble 2.4.0: `renew` sleeps randomly unless
 * `--no-random-sleep`; `--days -1` always renews (the timer's ExecCondition already decided it is
 * due); `--reuse-key` keeps the key byte-identical; lego writes `<name>.crt` (leaf + intermediate)
 * and `<name>.key` in place, not atomically, so they are only ever read from, never served; a CA
 * that forgot the account answers `accountDoesNotExist`, after which a fresh `run` is the way back.
 */
export function renderAcmeRenewScript(a: AcmeRenewScriptArgs): string {
    const name = a.dnsNames[0];
    const q = shellQuote;
    return `#!/bin/bash
# Usage: renew CERT KEY (as cert-renewer@.service runs it); the files must be the ones configured.
set -euo pipefail
umask 077
${shellLib("root_dir")}${renderInstallFunction({ ...a, ipAddresses: [] })}tls=${q(a.tlsDir)}
cert="$tls/live/redis.crt" key="$tls/live/redis.key"
if [ "\${1:-$cert}" != "$cert" ] || [ "\${2:-$key}" != "$key" ]; then
  echo "this renew script manages $cert and $key, not $1 and $2" >&2
  exit 2
fi
command -v lego > /dev/null || { echo "lego is not installed; install Debian's lego package" >&2; exit 1; }
${a.serverCa ? `export LEGO_CA_CERTIFICATES="$tls/${ACME_FILES.serverCa}"\n` : ""}lego_path=${q(a.legoPath)}
root_dir "$lego_path" root 700
lego_args=(--server ${q(a.directoryUrl)} --accept-tos --email ${q(a.email)} --http --http.port ${q(`:${a.httpPort}`)} --key-type ${q(a.keyType)} --path "$lego_path"${a.dnsNames.map((d) => ` --domains ${q(d)}`).join("")})
src="$lego_path/certificates/"${q(name)}
# lego renews whatever its stored certificate names, with its stored key; a stored pair that is not
# ours (refused by a previous install) is dropped, so this run starts over instead of failing forever.
usable() {
  [ -s "$src.crt" ] && [ -s "$src.key" ] || return 1
  [ "$(openssl x509 -in "$src.crt" -noout -pubkey)" = "$(openssl pkey -in "$src.key" -pubout)" ] || return 1
${a.dnsNames.map((d) => `  [[ "$(openssl x509 -in "$src.crt" -noout -checkhost ${q(d)})" == *" does match"* ]] || return 1\n`).join("")}}
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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src.crt" "$work/chain.pem"
cp "$tls/${ACME_FILES.root}" "$work/root.pem"
cp "$tls/${ACME_FILES.clientCa}" "$work/client-ca.pem"
# The key lego used waits as the pending key, unless it is the live one; install_tls takes whichever matches.
openssl pkey -in "$src.key" -pubout -out "$work/lego.pub"
if ! cmp -s "$work/lego.pub" "$tls/live/redis.key.pub"; then
  root_dir "$tls/pending" root 700
  tmp=$(mktemp "$tls/pending/redis.key.XXXXXX")
  cat "$src.key" > "$tmp"
  cp "$work/lego.pub" "$tmp.pub"
  mv -f "$tmp.pub" "$tls/pending/redis.key.pub"
  mv -f "$tmp" "$tls/pending/redis.key"
fi
install_tls "$work"
`;
}

/**
 * The first issuance: pins the ACME root, the client CA and the directory's HTTPS CA (sent on stdin
 * as sections `acme-root`, `client-ca`, `server-ca`) in the TLS directory, runs the renew script, and
 * hot-loads the result when Redis already runs.
 */
export function renderAcmeIssueScript(a: { tlsDir: string; group: string; renewScript: string; reload?: ReloadArgs }): string {
    assertNoMarkerLine(a.renewScript, "REDIS_TLS_RENEW");
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "read_sections", "put")}${a.reload === undefined ? "" : renderReloadFunction(a.reload)}tls=${shellQuote(a.tlsDir)}
root_dir "$tls" ${shellQuote(a.group)} 750
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
put "$work/acme-root" "$tls/${ACME_FILES.root}" 644 root:root || true
put "$work/client-ca" "$tls/${ACME_FILES.clientCa}" 644 root:root || true
if [ -e "$work/server-ca" ]; then put "$work/server-ca" "$tls/${ACME_FILES.serverCa}" 644 root:root || true; fi
/bin/bash -c "$(cat <<'REDIS_TLS_RENEW'
${a.renewScript.trimEnd()}
REDIS_TLS_RENEW
)"
${a.reload === undefined ? "" : "reload_tls\n"}`;
}
