set -euo pipefail
umask 077
# root_dir DIR [GROUP MODE | keep]: DIR and every directory above it must be real directories
# owned by root and writable by no one else (above DIR, sticky ones like /tmp are fine). With GROUP
# and MODE, DIR is redis-tls's own: missing directories are made and DIR gets GROUP and MODE. With
# keep, missing directories are made (root, 0755) and existing ones are left as they are.
root_dir() {
  local dir=$1 path="" part uid perm
  local -a parts
  IFS=/ read -r -a parts <<< "${dir#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    # mkdir, never install -d: under a sticky parent another user may have made it first, and
    # install would quietly take their directory (and what they put in it) over.
    if [ $# -ge 2 ] && [ ! -e "$path" ] && [ ! -L "$path" ]; then mkdir -m 0755 "$path" 2> /dev/null || true; fi
    if [ -L "$path" ] || [ ! -d "$path" ]; then
      echo "$path is not a directory (missing, a link or a file); redis-tls writes only in real, root-owned directories" >&2
      exit 1
    fi
    read -r uid perm <<< "$(stat -c '%u %a' "$path")"
    # Above DIR a sticky directory (/tmp) will do: no one else may rename what root made in it.
    if [ "$uid" != 0 ] || { (( 8#$perm & 8#022 )) && { [ "$path" = "$dir" ] || ! (( 8#$perm & 8#1000 )); }; }; then
      echo "$path is owned by uid $uid with mode $perm, so another user could swap what root writes there; use a directory that only root can write" >&2
      exit 1
    fi
  done
  if [ $# -eq 3 ]; then
    chgrp "$2" "$dir" && chmod "$3" "$dir" || exit 1
  fi
}
# put SRC DEST MODE OWNER: gives DEST (in a directory root_dir checked) SRC's content, MODE and
# OWNER with one rename; returns 1 when DEST already had them.
put() {
  if [ -f "$2" ] && [ ! -L "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c '%a %U:%G' "$2")" = "$3 $4" ]; then
    return 1
  fi
  local tmp
  tmp=$(mktemp "$2.XXXXXX") || exit 1
  if ! { cat "$1" > "$tmp" && chown "$4" "$tmp" && chmod "$3" "$tmp" && mv -f "$tmp" "$2"; }; then
    rm -f "$tmp"
    echo "could not write $2" >&2
    exit 1
  fi
}
steppath='/etc/redis-tls/step' url='https://ca.example.internal:9443' fp=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
command -v step > /dev/null || { echo "step is not installed on this host; install smallstep's step" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! out=$(STEPPATH="$work/cli" step ca bootstrap --ca-url "$url" --fingerprint "$fp" 2>&1); then
  echo "step ca bootstrap found no root with fingerprint $fp at $url, so nothing was changed: $out" >&2
  exit 1
fi
if [ "$(STEPPATH="$work/cli" step certificate fingerprint "$work/cli/certs/root_ca.crt")" != "$fp" ]; then
  echo "the root from $url does not have fingerprint $fp; nothing was changed" >&2
  exit 1
fi
root_dir "$steppath" root 700
root_dir "$steppath/certs" root 700
root_dir "$steppath/config" root 700
printf '{\n\t"ca-url": "%s",\n\t"fingerprint": "%s",\n\t"root": "%s"\n}\n' "$url" "$fp" "$steppath/certs/root_ca.crt" > "$work/defaults.json"
changed=no
if put "$work/cli/certs/root_ca.crt" "$steppath/certs/root_ca.crt" 644 root:root; then changed=yes; fi
if put "$work/defaults.json" "$steppath/config/defaults.json" 644 root:root; then changed=yes; fi
cat "$steppath/certs/root_ca.crt"
echo "bootstrapped: $changed" >&2
