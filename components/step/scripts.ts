import { InstallTlsArgs, renderInstallFunction } from "../certificate/scripts";
import { assertNoMarkerLine, shellLib, shellQuote } from "../host/shell";

/**
 * The step-ca issuer's host scripts, written for smallstep's `step` CLI (tested with 0.15.16, the
 * Debian bookworm build) and `step-ca` (0.19.0). What is specific to a version lives here:
 * - positional arguments go before flags (0.15.16's argument parser takes a word after a flag as
 *   its value);
 * - `step ca token SUBJECT --san …` for the names the host must have, read from a password file,
 *   then `step ca sign` with that token in `STEP_TOKEN`: step-ca refuses a CSR whose names are not
 *   the token's, and no token or password is ever on a command line;
 * - 0.15.16 has no `--x509-default-dur` for provisioners, so the JWK provisioner's claims are one
 *   line in ca.json that the init script owns (`stepClaimsLine`);
 * - every flag also reads `STEP_<FLAG>` from the environment, so the scripts clear every inherited
 *   `STEP*` variable and set only `STEP_TOKEN`, and their own variables never start with `STEP_`.
 */

const q = shellQuote;

/** The claims line the init script keeps in the provisioner's entry of ca.json. */
export function stepClaimsLine(validityHours: number): string {
    return `\t\t\t\t"claims": {"defaultTLSCertDuration": "${validityHours}h", "maxTLSCertDuration": "${validityHours}h"},`;
}

export interface StepCaInitArgs {
    /** step-ca's STEPPATH on the CA host (root-owned, group step). */
    stepPath: string;
    /** The CA's name (root and intermediate subjects). */
    name: string;
    /** Names and addresses clients reach the CA by (127.0.0.1 and localhost are added). */
    dnsNames: string[];
    port: number;
    provisioner: string;
    validityHours: number;
    /** Add an ACME provisioner named "acme". */
    acme: boolean;
}

/**
 * Stands step-ca up on its host, as the smallstep recipe does with `step ca init`: passwords made
 * here (root-only; the CA key's readable by the service), the JWK provisioner with a default and
 * maximum TLS lifetime, optionally an ACME provisioner, a `step-ca` unit running as the `step`
 * user, started and checked with `step ca health`. Idempotent; an existing CA is kept. Prints the
 * root certificate.
 */
export function renderStepCaInitScript(a: StepCaInitArgs): string {
    const dns = [...new Set([...a.dnsNames, "localhost", "127.0.0.1"])].join(",");
    const claims = stepClaimsLine(a.validityHours);
    assertNoMarkerLine(claims, "REDIS_TLS_CLAIMS");
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "put")}steppath=${q(a.stepPath)} name=${q(a.name)} dns=${q(dns)} port=${a.port} prov=${q(a.provisioner)}
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
  if ! STEPPATH="$steppath" step ca init --name "$name" --dns "$dns" --address ":$port" --provisioner "$prov" \\
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
${claims}
REDIS_TLS_CLAIMS
awk -v prov="\\"name\\": \\"$prov\\"," -v claims="$work/claims" -v acme=${a.acme ? 1 : 0} '
  BEGIN { getline line < claims }
  /^\\t+"claims": \\{"defaultTLSCertDuration"/ || /^\\t+\\{"type": "ACME", "name": "acme"\\},$/ { next }
  { print }
  $1 " " $2 == prov { print line }
  acme && /^\\t+"provisioners": \\[$/ { print "\\t\\t\\t{\\"type\\": \\"ACME\\", \\"name\\": \\"acme\\"}," }' "$conf" > "$work/ca.json"
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
ExecReload=/bin/kill -HUP \\$MAINPID
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
`;
}

export interface StepSignArgs {
    caUrl: string;
    provisioner: string;
    validityHours: number;
    /** The token's subject: the CSR's CN. */
    subject: string;
    /** Every name the certificate may carry (DNS names, then IPs), validated: exactly the CSR's SANs. */
    sans: string[];
}

// A stray STEP_CA_URL, STEP_ROOT or STEP_OFFLINE of the caller's would steer step; none reaches it.
const CLEAR_STEP_ENV = `for v in $(env | sed -n 's/^\\(STEP[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset "$v"; done`;

/** Mints the token for exactly these names (password from FILE) and signs the CSR with it, from the environment. */
function signWithToken(a: StepSignArgs, step: string, passwordFile: string, root: string): string {
    const sans = a.sans.map((n) => `--san ${q(n)}`).join(" ");
    return `tok=$(STEPPATH="$work/cli" ${step} ca token ${q(a.subject)} ${sans} --provisioner ${q(a.provisioner)} \\
  --provisioner-password-file ${passwordFile} --ca-url ${q(a.caUrl)} --root ${root})
STEP_TOKEN=$tok STEPPATH="$work/cli" ${step} ca sign "$work/csr.pem" "$work/crt.pem" --ca-url ${q(a.caUrl)} --root ${root} \\
  --not-after ${a.validityHours}h > /dev/null`;
}

/**
 * Signs the CSR read from stdin on the CA's own host, where the provisioner password lives in a
 * root-only file, with a single-use token for exactly the host's names: step-ca refuses a CSR that
 * asks for any other. Prints the chain (leaf, then intermediate), then the root.
 */
export function renderStepSignOnCaScript(a: StepSignArgs & { stepPath: string }): string {
    return `set -euo pipefail
umask 077
${CLEAR_STEP_ENV}
steppath=${q(a.stepPath)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/csr.pem"
${signWithToken(a, "step", `"$steppath/provisioner.pass"`, `"$steppath/certs/root_ca.crt"`)}
cat "$work/crt.pem" "$steppath/certs/root_ca.crt"
`;
}

/**
 * The same on the machine running Pulumi (an existing step-ca whose provisioner password is a
 * Pulumi secret): the password on stdin (kept in a 0600 file of a 0700 scratch directory while
 * step runs), the CSR in REDIS_TLS_CSR; the root comes from `step ca bootstrap`, which checks it
 * against the pinned fingerprint. POSIX sh, as command.local.Command runs it.
 */
export function renderStepSignLocalScript(a: StepSignArgs & { rootFingerprint: string; stepCli: string }): string {
    const step = q(a.stepCli);
    return `set -eu
umask 077
${CLEAR_STEP_ENV}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
printf '%s' "$REDIS_TLS_CSR" > "$work/csr.pem"
STEPPATH="$work/cli" ${step} ca bootstrap --ca-url ${q(a.caUrl)} --fingerprint ${a.rootFingerprint} < /dev/null > /dev/null 2>&1 || {
  echo "step ca bootstrap found no root with fingerprint ${a.rootFingerprint} at ${a.caUrl}" >&2
  exit 1
}
# In a file of the scratch directory (0700): stdin may be a socket, which /dev/stdin cannot open.
cat > "$work/password"
${signWithToken(a, step, `"$work/password"`, `"$work/cli/certs/root_ca.crt"`)}
cat "$work/crt.pem" "$work/cli/certs/root_ca.crt"
`;
}

/**
 * Bootstraps a host with the CA's root: `step ca bootstrap` into a scratch STEPPATH, then the root
 * and defaults.json (written here, from validated values) into the root-owned STEPPATH. A wrong
 * fingerprint fails before anything changes. Prints the root.
 */
export function renderStepBootstrapScript(a: { stepPath: string; caUrl: string; rootFingerprint: string }): string {
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "put")}steppath=${q(a.stepPath)} url=${q(a.caUrl)} fp=${a.rootFingerprint}
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
printf '{\\n\\t"ca-url": "%s",\\n\\t"fingerprint": "%s",\\n\\t"root": "%s"\\n}\\n' "$url" "$fp" "$steppath/certs/root_ca.crt" > "$work/defaults.json"
changed=no
if put "$work/cli/certs/root_ca.crt" "$steppath/certs/root_ca.crt" 644 root:root; then changed=yes; fi
if put "$work/defaults.json" "$steppath/config/defaults.json" 644 root:root; then changed=yes; fi
cat "$steppath/certs/root_ca.crt"
echo "bootstrapped: $changed" >&2
`;
}

export interface StepRenewScriptArgs extends Omit<InstallTlsArgs, "rootFingerprint"> {
    /** The bootstrapped STEPPATH on this host. */
    stepPath: string;
    rootFingerprint: string;
}

/**
 * The issuer half of host renewal for step-ca: `step ca renew --force` (mTLS with the current
 * certificate and key, so no token or password) into a scratch file, then the same verify-then-
 * switch install as every other issuer, with the bootstrapped root as the pinned root. step
 * refuses to renew an expired certificate; the next `pulumi up` re-issues one (its renewal slot).
 */
export function renderStepRenewScript(a: StepRenewScriptArgs): string {
    return `#!/bin/bash
# Usage: renew CERT KEY (as cert-renewer@.service runs it); the files must be the ones configured.
set -euo pipefail
umask 077
${shellLib("root_dir")}${renderInstallFunction(a)}tls=${q(a.tlsDir)} steppath=${q(a.stepPath)}
cert="$tls/live/redis.crt" key="$tls/live/redis.key"
if [ "\${1:-$cert}" != "$cert" ] || [ "\${2:-$key}" != "$key" ]; then
  echo "this renew script manages $cert and $key, not $1 and $2" >&2
  exit 2
fi
command -v step > /dev/null || { echo "step is not installed on this host; install smallstep's step" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$cert" "$work/chain.pem"
STEPPATH="$steppath" step ca renew "$work/chain.pem" "$key" --force > /dev/null
cp "$steppath/certs/root_ca.crt" "$work/root.pem"
cp "$tls/client-ca.crt" "$work/client-ca.pem"
install_tls "$work"
`;
}
