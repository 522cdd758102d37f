/**
 * The host-side renewal units, modelled on smallstep's `cert-renewer@.service` / `.timer` templates:
 * a oneshot service gated by "does the certificate need renewal", started by a timer every 5 minutes
 * with jitter. The template's own ExecStartPost restarts the service that uses the certificate; for
 * Redis the per-service override blanks it and hot-loads instead, so no client is dropped.
 */

/** Where the renewal helpers live on a host. */
export const LIBEXEC = "/usr/local/libexec/redis-tls";

export interface TimerArgs {
    /** systemd calendar expression for the checks. */
    onCalendar: string;
    /** Jitter so a fleet does not renew at once. */
    randomizedDelaySec: string;
}

export const RENEWER_DEFAULTS = {
    onCalendar: "*:1/5",
    randomizedDelaySec: "5m",
    /** Percent of the lifetime after which a certificate is renewed (smallstep: two thirds). */
    renewAfterPercent: 66,
} as const;

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
 * Exits 0 when the certificate needs renewal (missing, unreadable, expired, or past the given
 * percentage of its lifetime) and 1 otherwise, as ExecCondition expects. `RENEW_AFTER_PERCENT` in
 * the unit's environment overrides the percentage (a drop-in can force renewal with 0).
 */
export function renderNeedsRenewal(renewAfterPercent: number): string {
    return `#!/bin/bash
set -euo pipefail
cert=\${1:?usage: needs-renewal CERT}
dates=$(openssl x509 -in "$cert" -noout -startdate -enddate 2>/dev/null) || exit 0
start=$(date -d "$(sed -n 's/^notBefore=//p' <<< "$dates")" +%s)
end=$(date -d "$(sed -n 's/^notAfter=//p' <<< "$dates")" +%s)
due=$(( start + (end - start) * \${RENEW_AFTER_PERCENT:-${renewAfterPercent}} / 100 ))
if [ "$(date +%s)" -ge "$due" ]; then
  echo "$cert is due for renewal"
  exit 0
fi
echo "$cert is not due before $(date -u -d "@$due" +%FT%TZ)"
exit 1
`;
}

/** A file a host script writes: absolute path, octal mode, content. */
export interface HostFile {
    path: string;
    mode: string;
    content: string;
}

/**
 * Writes each file atomically (temp file, then mv) only when its content or mode differs, then
 * reloads systemd if any unit changed and enables the timer. Run twice, it changes nothing.
 */
export function renderRenewerInstallScript(files: HostFile[], service: string): string {
    const writes = files
        .map(
            (f, i) => `write '${f.path}' ${f.mode} <<'REDIS_TLS_FILE_${i}'
${f.content.trimEnd()}
REDIS_TLS_FILE_${i}
`,
        )
        .join("");
    return `set -euo pipefail
changed=no
write() {
  install -d -m 0755 "$(dirname "$1")"
  tmp=$(mktemp "$1.XXXXXX")
  cat > "$tmp"
  chmod "$2" "$tmp"
  if cmp -s "$tmp" "$1" && [ "$(stat -c %a "$1")" = "$(stat -c %a "$tmp")" ]; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$1"
    changed=yes
  fi
}
${writes}if [ "$changed" = yes ]; then systemctl daemon-reload; fi
systemctl enable --now 'cert-renewer@${service}.timer'
systemctl is-active --quiet 'cert-renewer@${service}.timer'
echo "cert-renewer@${service}.timer active, files changed: $changed"
`;
}

/** Undoes the install for one service on `pulumi destroy`; the templates go with the last service. */
export function renderRenewerRemoveScript(service: string, servicePaths: string[]): string {
    return `set -euo pipefail
systemctl disable --now 'cert-renewer@${service}.timer' 2>/dev/null || true
rm -rf '/etc/systemd/system/cert-renewer@${service}.service.d'
rm -f ${servicePaths.map((p) => `'${p}'`).join(" ")}
if ! compgen -G '/etc/systemd/system/cert-renewer@*.service.d' >/dev/null; then
  rm -f /etc/systemd/system/cert-renewer@.service /etc/systemd/system/cert-renewer@.timer ${LIBEXEC}/needs-renewal
fi
systemctl daemon-reload
`;
}
