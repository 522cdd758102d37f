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
steppath='/etc/step-ca' name='Redis' dns='ca.example.internal,10.0.0.9,localhost,127.0.0.1' port=9443 prov='redis'
for tool in step step-ca; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed on the CA host; install smallstep's step and step-ca" >&2; exit 1; }
done
id step > /dev/null 2>&1 || useradd --system --home-dir "$steppath" --no-create-home --shell /usr/sbin/nologin step
root_dir "$steppath" step 750
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
changed=no initialised=no
if [ ! -s "$steppath/config/ca.json" ]; then
  # A root key without its ca.json is a CA someone will miss: never replace it with a new one.
  if [ -e "$steppath/secrets/root_ca_key" ] || [ -L "$steppath/secrets/root_ca_key" ]; then
    echo "$steppath/secrets/root_ca_key exists but $steppath/config/ca.json does not; restore ca.json, or move $steppath away to make a new CA (whose root every host must then trust)" >&2
    exit 1
  fi
  # The CA key's password, read by step-ca; the provisioner's, read only by root's sign step.
  if [ ! -s "$steppath/password" ]; then openssl rand -hex 32 > "$work/p"; put "$work/p" "$steppath/password" 640 root:step; fi
  if [ ! -s "$steppath/provisioner.pass" ]; then openssl rand -hex 32 > "$work/p"; put "$work/p" "$steppath/provisioner.pass" 600 root:root; fi
  rm -rf "$steppath/config" "$steppath/certs" "$steppath/secrets" "$steppath/db" "$steppath/templates"
  if ! STEPPATH="$steppath" step ca init --name "$name" --dns "$dns" --address ":$port" --provisioner "$prov" \
      --password-file "$steppath/password" --provisioner-password-file "$steppath/provisioner.pass" > "$work/init.log" 2>&1; then
    cat "$work/init.log" >&2
    exit 1
  fi
  changed=yes initialised=yes
fi
for f in password provisioner.pass; do
  [ -s "$steppath/$f" ] || { echo "$steppath/$f is missing but the CA exists; restore it" >&2; exit 1; }
  [ ! -L "$steppath/$f" ] || { echo "$steppath/$f is a link; the CA's passwords must be files of their own" >&2; exit 1; }
done
# A restored or hand-made file gets the modes too: the service reads the CA key's password, only root the provisioner's.
chown root:step "$steppath/password" && chmod 640 "$steppath/password"
chown root:root "$steppath/provisioner.pass" && chmod 600 "$steppath/provisioner.pass"
# What root writes into must be root's: a CA set up by hand may have left a directory to step.
for d in config certs secrets templates; do
  if [ -e "$steppath/$d" ] || [ -L "$steppath/$d" ]; then root_dir "$steppath/$d"; fi
done
conf="$steppath/config/ca.json"
# The lines this script owns in ca.json, one each, replaced on every run: the provisioner's claims
# after its name, and the ACME provisioner (it needs only its type and name) first in the list.
cat > "$work/claims" <<'REDIS_TLS_CLAIMS'
				"claims": {"defaultTLSCertDuration": "720h", "maxTLSCertDuration": "720h"},
REDIS_TLS_CLAIMS
awk -v prov="\"name\": \"$prov\"," -v claims="$work/claims" -v acme=1 '
  BEGIN { getline line < claims }
  /^\t+"claims": \{"defaultTLSCertDuration"/ || /^\t+\{"type": "ACME", "name": "acme"\},$/ { next }
  { print }
  $1 " " $2 == prov { print line }
  acme && /^\t+"provisioners": \[$/ { print "\t\t\t{\"type\": \"ACME\", \"name\": \"acme\"}," }' "$conf" > "$work/ca.json"
if put "$work/ca.json" "$conf" 640 root:step; then changed=yes; fi
# The database is the service's; what is in it now is the service's writing, so only what init made
# is handed over recursively (a chown -R later could be steered by what the service put there).
[ -L "$steppath/db" ] && { echo "$steppath/db is a link; step-ca's database must be a directory" >&2; exit 1; }
[ -d "$steppath/db" ] || mkdir "$steppath/db"
if [ "$initialised" = yes ]; then chown -R step:step "$steppath/db"; else chown step:step "$steppath/db"; fi
chgrp -R step "$steppath/config" "$steppath/certs" "$steppath/templates"
chmod -R g+rX,o-rwx "$steppath/config" "$steppath/certs" "$steppath/templates"
# step-ca signs with the intermediate; the root key (same password) stays root's alone, never
# even for a moment in the service's group.
chown root:step "$steppath/secrets" "$steppath/secrets/intermediate_ca_key"
chmod 750 "$steppath/secrets" && chmod 640 "$steppath/secrets/intermediate_ca_key"
chown root:root "$steppath/secrets/root_ca_key" && chmod 600 "$steppath/secrets/root_ca_key"
cat > "$work/unit" <<REDIS_TLS_UNIT
[Unit]
Description=step-ca, the CA for Redis TLS (redis-tls)
After=network-online.target
Wants=network-online.target

[Service]
User=step
Group=step
Environment=STEPPATH=$steppath
ExecStart=$(command -v step-ca) $steppath/config/ca.json --password-file $steppath/password
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
UMask=0077
NoNewPrivileges=yes
CapabilityBoundingSet=
ProtectSystem=strict
ReadWritePaths=$steppath/db
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service

[Install]
WantedBy=multi-user.target
REDIS_TLS_UNIT
if put "$work/unit" /etc/systemd/system/step-ca.service 644 root:root; then systemctl daemon-reload; changed=yes; fi
if ! systemctl is-active --quiet step-ca; then systemctl enable --now step-ca > /dev/null 2>&1
elif [ "$changed" = yes ]; then systemctl restart step-ca
fi
for _ in $(seq 1 50); do
  if STEPPATH="$work/cli" step ca health --ca-url "https://127.0.0.1:$port" --root "$steppath/certs/root_ca.crt" > /dev/null 2>&1; then
    cat "$steppath/certs/root_ca.crt"
    exit 0
  fi
  sleep 0.2
done
echo "step-ca did not become healthy on port $port" >&2
journalctl -u step-ca -n 20 --no-pager -o cat >&2 || true
exit 1
