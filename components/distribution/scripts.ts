export const OS_FAMILIES = ["auto", "debian", "rhel"] as const;

export interface TrustScriptArgs {
    /** "auto" picks debian when update-ca-certificates exists, else rhel when update-ca-trust does. */
    osFamily: string;
    /** File name stem of the anchor in the trust store. */
    anchorName: string;
    /** Extra absolute path the PEM is also written to, for applications that take a CA file. */
    appPath?: string;
}

// --fresh: without it update-ca-certificates leaves the links of a removed anchor in /etc/ssl/certs,
// and the removed root stays trusted.
const DETECT = (a: TrustScriptArgs) => `family='${a.osFamily}' name='${a.anchorName}'
if [ "$family" = auto ]; then
  if command -v update-ca-certificates >/dev/null; then family=debian
  elif command -v update-ca-trust >/dev/null; then family=rhel
  else
    echo "neither update-ca-certificates nor update-ca-trust is installed; install ca-certificates or set osFamily" >&2
    exit 1
  fi
fi
case "$family" in
  debian) anchor="/usr/local/share/ca-certificates/$name.crt"; refresh() { update-ca-certificates --fresh >/dev/null; } ;;
  rhel) anchor="/etc/pki/ca-trust/source/anchors/$name.pem"; refresh() { update-ca-trust extract; } ;;
esac`;

/** Installs the root read from stdin into the system trust store (and appPath), refreshing only on change. */
export function renderTrustInstallScript(a: TrustScriptArgs): string {
    return `set -euo pipefail
umask 022
${DETECT(a)}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
openssl x509 -in "$tmp" -noout
put() {
  if ! cmp -s "$tmp" "$1"; then
    install -d -m 0755 "$(dirname "$1")"
    install -m 0644 -o root -g root "$tmp" "$1.tmp"
    mv -f "$1.tmp" "$1"
    return 0
  fi
  return 1
}
if put "$anchor"; then refresh; fi
${a.appPath === undefined ? "" : `put '${a.appPath}' || true\n`}echo "$anchor"
`;
}

/** Removes what the install script added, on `pulumi destroy`. */
export function renderTrustRemoveScript(a: TrustScriptArgs): string {
    return `set -euo pipefail
${DETECT(a)}
if [ -e "$anchor" ]; then
  rm -f "$anchor"
  refresh
fi
${a.appPath === undefined ? "" : `rm -f '${a.appPath}'\n`}`;
}
