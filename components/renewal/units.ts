/**
 * The host-side renewal units, modelled on smallstep's `cert-renewer@.service` / `.timer` templates:
 * a oneshot service gated by "does the certificate need renewal", started by a timer every 5 minutes
 * with jitter. The template's own ExecStartPost restarts the service that uses the certificate; for
 * Redis the per-service override blanks it and hot-loads instead, so no client is dropped.
 */

import { createHash } from "node:crypto";
import { LIBEXEC } from "../host/layout";
import { assertNoMarkerLine, PLACED_DIR, shellLib, shellQuote } from "../host/shell";

export interface TimerArgs {
    /** systemd calendar expression for the checks. */
    onCalendar: string;
    /** Jitter so a fleet does not renew at once. */
    randomizedDelaySec: string;
}

export const RENEWER_DEFAULTS = {
    onCalendar: "*:1/5",
    randomizedDelaySec: "5m",
    /** Percent of the lifetime after which a certificate is renewed, when one is given (smallstep: two thirds). */
    renewAfterPercent: 66,
    /**
     * Otherwise each host renews at its own point of this window of the lifetime (from its machine
     * ID), so that certificates issued together do not renew together (npm run bench:fleet).
     */
    renewWindowPercent: [34, 90],
} as const;

/** Where in the renewal window a host renews, in basis points (0 to 9999): what needs-renewal computes from the machine ID. */
export function renewalPoint(machineId: string): number {
    return parseInt(createHash("sha256").update(machineId.trim()).digest("hex").slice(0, 8), 16) % 10000;
}

/** The fraction of the lifetime at which a host with `machineId` renews by default. */
export function renewalFraction(machineId: string): number {
    const [from, to] = RENEWER_DEFAULTS.renewWindowPercent;
    return (from * 10000 + renewalPoint(machineId) * (to - from)) / 1_000_000;
}

/** `cert-renewer@.service`: %i is the service whose certificate it renews. */
export function renderRenewerService(): string {
    return `[Unit]
Description=Renew the TLS certificate used by %i
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=oneshot
User=root
Environment=CERT_LOCATION=/etc/ssl/%i.crt KEY_LOCATION=/etc/ssl/%i.key
# Exit 1 means "not yet": the run is skipped, not failed.
ExecCondition=${LIBEXEC}/needs-renewal \${CERT_LOCATION}
ExecStart=${LIBEXEC}/renew-%i \${CERT_LOCATION} \${KEY_LOCATION}
ExecStartPost=/bin/sh -c '! systemctl --quiet is-active %i.service || systemctl try-reload-or-restart %i'

[Install]
WantedBy=multi-user.target
`;
}

/** `cert-renewer@.timer`. */
export function renderRenewerTimer(t: TimerArgs): string {
    return `[Unit]
Description=Check the TLS certificate used by %i for renewal

[Timer]
Persistent=true
OnCalendar=${t.onCalendar}
AccuracySec=1us
RandomizedDelaySec=${t.randomizedDelaySec}

[Install]
WantedBy=timers.target
`;
}

export interface OverrideArgs {
    certPath: string;
    keyPath: string;
    /** STEPPATH for a step-ca issuer. */
    stepPath?: string;
    /** Name of the reload helper in LIBEXEC. */
    reloadCommand: string;
}

/** `cert-renewer@<service>.service.d/override.conf`. */
export function renderRenewerOverride(o: OverrideArgs): string {
    const env = [...(o.stepPath === undefined ? [] : [`STEPPATH=${o.stepPath}`]), `CERT_LOCATION=${o.certPath}`, `KEY_LOCATION=${o.keyPath}`];
    return `[Service]
Environment=${env.join(" ")}
# The template restarts the service; Redis hot-loads the new files instead, so clients stay connected.
ExecStartPost=
ExecStartPost=${LIBEXEC}/${o.reloadCommand}
`;
}

/**
 * Exits 0 when the certificate needs renewal (missing, unreadable, expired, or past its due point)
 * and 1 otherwise, as ExecCondition expects. The due point is `renewAfterPercent` of the lifetime
 * when given; otherwise this host's own point of RENEWER_DEFAULTS.renewWindowPercent, from the
 * SHA-256 of its machine ID (`renewalFraction`). `RENEW_AFTER_PERCENT` in the unit's environment
 * overrides both (a drop-in can force renewal with 0).
 */
export function renderNeedsRenewal(renewAfterPercent?: number): string {
    const [from, to] = RENEWER_DEFAULTS.renewWindowPercent;
    const due =
        renewAfterPercent === undefined
            ? `if [ -n "\${RENEW_AFTER_PERCENT:-}" ]; then
  due=$(( start + (end - start) * RENEW_AFTER_PERCENT / 100 ))
else
  # This host's own point of ${from}-${to}% of the lifetime: a fleet issued at once does not renew at once.
  id=$(cat "\${MACHINE_ID_FILE:-/etc/machine-id}" 2> /dev/null || uname -n)
  point=$(( 0x$(printf '%s' "$id" | sha256sum | cut -c1-8) % 10000 ))
  due=$(( start + (end - start) * (${from} * 10000 + point * ${to - from}) / 1000000 ))
fi`
            : `due=$(( start + (end - start) * \${RENEW_AFTER_PERCENT:-${renewAfterPercent}} / 100 ))`;
    return `#!/bin/bash
set -euo pipefail
cert=\${1:?usage: needs-renewal CERT}
dates=$(openssl x509 -in "$cert" -noout -startdate -enddate 2>/dev/null) || exit 0
start=$(date -d "$(sed -n 's/^notBefore=//p' <<< "$dates")" +%s)
end=$(date -d "$(sed -n 's/^notAfter=//p' <<< "$dates")" +%s)
${due}
if [ "$(date +%s)" -ge "$due" ]; then
  echo "$cert is due for renewal"
  exit 0
fi
echo "$cert is not due before $(date -u -d "@$due" +%FT%TZ)"
exit 1
`;
}

/** A file a host script writes: absolute path, octal mode (e.g. "644"), content. */
export interface HostFile {
    path: string;
    mode: string;
    content: string;
}

/**
 * The shell function `remove_renewer SERVICE`: disables the service's timer and removes its
 * override and helpers; the templates go with the last service. Callers hold the owner lock and
 * have made sure no resource still owns SERVICE's renewer.
 */
function removeRenewerFunction(): string {
    return `remove_renewer() {
  local service=$1
  [[ $service =~ ^[A-Za-z0-9:_.@-]+$ ]] || { echo "not a service name: $service" >&2; exit 1; }
  systemctl disable --now "cert-renewer@$service.timer" 2> /dev/null || true
  rm -rf "/etc/systemd/system/cert-renewer@$service.service.d"
  rm -f "${LIBEXEC}/reload-$service" "${LIBEXEC}/renew-$service"
  if ! compgen -G '/etc/systemd/system/cert-renewer@*.service.d' > /dev/null; then
    rm -f /etc/systemd/system/cert-renewer@.service /etc/systemd/system/cert-renewer@.timer ${LIBEXEC}/needs-renewal
  fi
  systemctl daemon-reload
}
`;
}

/**
 * Writes each file atomically (temp file, then mv) only when its content or mode differs, records
 * this resource (`owner`) as one of the renewer's owners, then reloads systemd if any unit changed
 * and enables the timer. Run twice, it changes nothing. When this resource installed the renewer of
 * another service before (its `serviceName` changed, which the provider applies as an update), that
 * one is removed too, unless another resource still owns it.
 */
export function renderRenewerInstallScript(files: HostFile[], service: string, owner: string): string {
    const writes = files
        .map((f, i) => {
            const marker = `REDIS_TLS_FILE_${i}`;
            assertNoMarkerLine(f.content, marker);
            const dir = f.path.slice(0, f.path.lastIndexOf("/"));
            return `root_dir ${shellQuote(dir)} keep
cat > "$work/${i}" <<'${marker}'
${f.content.trimEnd()}
${marker}
if put "$work/${i}" ${shellQuote(f.path)} ${f.mode} root:root; then changed=yes; fi
`;
        })
        .join("");
    return `set -euo pipefail
umask 077
${shellLib("put", "own")}${removeRenewerFunction()}lock_owners
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
changed=no
${writes}own ${shellQuote(`renewer-${service}`)} ${shellQuote(owner)}
root_dir ${PLACED_DIR} root 700
record=${shellQuote(`${PLACED_DIR}/${owner}`)}
if [ -f "$record" ] && read -r before < "$record" && [ "$before" != ${shellQuote(service)} ]; then
  if [ "$(disown "renewer-$before" ${shellQuote(owner)})" = last ]; then remove_renewer "$before"; fi
fi
echo ${shellQuote(service)} > "$record"
if [ "$changed" = yes ]; then systemctl daemon-reload; fi
systemctl enable --now ${shellQuote(`cert-renewer@${service}.timer`)}
systemctl is-active --quiet ${shellQuote(`cert-renewer@${service}.timer`)}
echo "cert-renewer@${service}.timer active, files changed: $changed"
`;
}

/**
 * Undoes the install on `pulumi destroy`, unless another resource still owns it (a renamed
 * resource's replacement is created before the old one is deleted).
 */
export function renderRenewerRemoveScript(service: string, owner: string): string {
    return `set -euo pipefail
${shellLib("own")}${removeRenewerFunction()}lock_owners
record=${shellQuote(`${PLACED_DIR}/${owner}`)}
service=${shellQuote(service)}
if [ -f "$record" ]; then read -r service < "$record"; fi
if [ "$(disown "renewer-$service" ${shellQuote(owner)})" = kept ]; then
  echo "cert-renewer@$service kept: another resource still installs it"
else
  remove_renewer "$service"
  echo "cert-renewer@$service removed"
fi
rm -f "$record"
`;
}
