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
# read_sections DIR: stdin holds lines "NAME BASE64"; each value lands, as data, in DIR/NAME.
read_sections() {
  local name data
  while IFS=' ' read -r name data || [ -n "$name" ]; do
    if [[ ! $name =~ ^[a-z][a-z0-9-]*$ ]]; then
      echo "unexpected input on stdin" >&2
      exit 1
    fi
    printf '%s' "$data" | base64 -d > "$1/$name" || exit 1
  done
}
# certs_only FILE: FILE holds one or more PEM certificates and nothing else (no key, no stray text).
certs_only() {
  awk '/^-----BEGIN CERTIFICATE-----$/ { if (open) bad = 1; open = 1; n++; next }
       /^-----END CERTIFICATE-----$/ { if (!open) bad = 1; open = 0; next }
       open { if ($0 !~ /^[A-Za-z0-9+\/=]+$/) bad = 1; next }
       /^[ \t]*$/ { next }
       { bad = 1 }
       END { exit (bad || open || n == 0) }' "$1"
}
sha256_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
# install_tls DIR: verifies DIR/chain.pem against the pinned root and installs it as a new generation.
# shellcheck disable=SC2034 # installed: read by the callers that reload
install_tls() {
  local w=$1 tls='/etc/redis-tls' group='redis' n i f key new prev="" off
  local -a names=('redis-1.example.internal' 'redis.example.internal') ips=('10.0.0.5' 'fd00::5')
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
  if [ "$(sha256_of "$w/root.pem")" != aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ]; then
    echo "the chain's root (sha256 $(sha256_of "$w/root.pem")) is not the pinned root (sha256 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa); refusing it" >&2
    return 1
  fi
  if [ "$(sha256_of "$w/client-ca.pem")" != bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb ]; then
    echo "the client CA (sha256 $(sha256_of "$w/client-ca.pem")) is not the pinned one (sha256 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb); refusing it" >&2
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
  openssl verify -purpose sslserver -CAfile "$w/root.pem" -untrusted "$w/leafchain.pem" "$w/c1.pem" > /dev/null
  # Output to a file, then grep: with pipefail, grep -q closing a pipe early could fail a check.
  openssl x509 -in "$w/c1.pem" -noout -ext basicConstraints,keyUsage > "$w/leaf.ext" 2> /dev/null
  if grep -q -e 'CA:TRUE' -e 'Certificate Sign' "$w/leaf.ext"; then
    echo "the leaf is a CA certificate (CA:TRUE or keyCertSign); refusing it" >&2
    return 1
  fi
  if [ ${#names[@]} -gt 0 ]; then
    # -checkhost falls back to the subject CN when no DNS name is among the SANs, so there must be
    # one, found by its ASN.1 tag (the SANs' text form can be forged by a URI holding ", DNS:").
    openssl asn1parse -in "$w/c1.pem" > "$w/leaf.asn1"
    off=$(awk '/:X509v3 Subject Alternative Name/ { found = 1; next } found && /OCTET STRING/ { sub(/:.*/, ""); print $1 + 0; exit }' "$w/leaf.asn1")
    if [ -n "$off" ]; then openssl asn1parse -in "$w/c1.pem" -strparse "$off" > "$w/leaf.sans"; else : > "$w/leaf.sans"; fi
    if ! grep -q 'd=1 .*prim: cont \[ 2 \]' "$w/leaf.sans"; then
      echo "the certificate has no DNS name in its SANs; refusing it" >&2
      return 1
    fi
  fi
  for f in "${names[@]}"; do
    if [[ "$(openssl x509 -in "$w/c1.pem" -noout -checkhost "$f")" != *" does match"* ]]; then
      echo "the certificate does not name $f in its SANs; refusing it" >&2
      return 1
    fi
  done
  for f in "${ips[@]}"; do
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
  ln -sfn "gen/${new##*/}" "$tls/live.new"
  mv -fT "$tls/live.new" "$tls/live"
  sync "$tls"
  installed=yes
  # The pending key stays until a later run finds it live: if Redis refuses this set, live goes back
  # and the next run needs the key again.
  for f in "$tls"/gen/*; do
    case "gen/${f##*/}" in "gen/${new##*/}" | "$prev") ;; *) rm -rf "$f" ;; esac
  done
  echo "installed $(openssl x509 -in "$tls/live/redis.crt" -noout -serial)"
}
# reload_tls: one CONFIG SET over the root-only socket loads the live files; if Redis refuses them,
# live goes back to the previous generation and this fails.
reload_tls() {
  local tls='/etc/redis-tls' sock='/run/redis/redis-server.sock' user='redis-tls-reload' reply
  if [ -L "$sock" ]; then
    echo "$sock is a link, not Redis's socket; refusing to send the reload password through it" >&2
    return 1
  fi
  if [ ! -S "$sock" ]; then
    echo "no Redis socket at $sock; the new files are read at the next start"
    restart_sentinel
    return 0
  fi
  if ! reply=$(REDISCLI_AUTH=$(cat "$tls/reload.pass") redis-cli -s "$sock" --user "$user" -e CONFIG SET \
      tls-cert-file "$tls/live/redis.crt" tls-key-file "$tls/live/redis.key" tls-ca-cert-file "$tls/live/ca.crt" 2>&1) ||
      [ "$reply" != OK ]; then
    if [ -L "$tls/previous" ]; then
      ln -sfn "$(readlink "$tls/previous")" "$tls/live.new"
      mv -fT "$tls/live.new" "$tls/live"
    fi
    echo "redis refused the new certificate, previous files restored: $reply" >&2
    return 1
  fi
  echo "reloaded $(openssl x509 -in "$tls/live/redis.crt" -noout -serial) through $sock"
  restart_sentinel
}
# A sentinel beside this server serves the same files and cannot hot-load them: it restarts (what it
# learned is in its own file).
restart_sentinel() {
  if [ -f /etc/systemd/system/redis-tls-sentinel.service ] && command -v systemctl > /dev/null; then
    if ! systemctl try-restart redis-tls-sentinel.service; then
      echo "redis-tls-sentinel did not restart on the new certificate; see journalctl -u redis-tls-sentinel" >&2
      return 1
    fi
    echo "restarted redis-tls-sentinel"
  fi
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
for f in chain root client-ca; do mv "$work/$f" "$work/$f.pem"; done
install_tls "$work"
if [ "$installed" = yes ]; then reload_tls; fi
