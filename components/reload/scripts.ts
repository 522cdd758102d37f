import { shellQuote } from "../host/shell";
import { SENTINEL_UNIT, SENTINEL_UNIT_FILE } from "../sentinel/render";

/**
 * The safe hot reload, shared by every issuer: `pulumi up` installs (state CA) and the host's
 * cert-renewer (ACME) both end in this same function.
 *
 * Facts measured on Redis 7.0: one `CONFIG SET tls-cert-file P tls-key-file K` reloads both files
 * atomically, and setting the same paths again re-reads the files; a refused reload (e.g. a
 * mismatched key) replies `ERR CONFIG SET failed` yet redis-cli exits 0 unless given `-e`; a chain
 * cut after the leaf, or an expired certificate, loads with `OK` and can lock every client out, the
 * admin's TLS connection included. So the reload goes over a root-only unix socket (independent of
 * the served certificate), as a dedicated ACL user allowed only CONFIG SET, with its password read
 * from a root-only file into redis-cli's environment (never argv), and anything but `OK` puts the
 * previous generation back and fails.
 *
 * No Redis (7.0, 8.x) or Valkey release can narrow `+config|set` to some parameters: 7.0 answers
 * `Allowing first-arg of a subcommand is not supported`. The user can therefore set any parameter.
 * Its password lives in a root-only file, but it is sent to whatever listens on the socket, and the
 * socket's directory belongs to the redis user, who could listen there instead of Redis: so the
 * redis user can learn it. It gives CONFIG SET on this Redis, which the user Redis runs as already
 * controls (it can stop Redis or load code into it); nobody else gets it.
 */
export const RELOAD_DEFAULTS = {
    user: "redis-tls-reload",
} as const;

export interface ReloadArgs {
    /** The TLS directory whose `live` files are loaded; holds `reload.pass`. */
    tlsDir: string;
    /** Root-only unix socket of the running Redis. */
    socket: string;
    /** ACL user that may run only CONFIG SET. */
    user: string;
    /** The server's CLI (FLAVORS[..].cli). @default "redis-cli" */
    cli?: string;
}

/** The bash function `reload_tls`; returns non-zero, with `live` put back, unless Redis says OK. */
export function renderReloadFunction(a: ReloadArgs): string {
    return `# reload_tls: one CONFIG SET over the root-only socket loads the live files; if Redis refuses them,
# live goes back to the previous generation and this fails.
reload_tls() {
  local tls=${shellQuote(a.tlsDir)} sock=${shellQuote(a.socket)} user=${shellQuote(a.user)} reply
  if [ -L "$sock" ]; then
    echo "$sock is a link, not Redis's socket; refusing to send the reload password through it" >&2
    return 1
  fi
  if [ ! -S "$sock" ]; then
    echo "no Redis socket at $sock; the new files are read at the next start"
    restart_sentinel
    return 0
  fi
  if ! reply=$(REDISCLI_AUTH=$(cat "$tls/reload.pass") ${a.cli ?? "redis-cli"} -s "$sock" --user "$user" -e CONFIG SET \\
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
  if [ -f ${SENTINEL_UNIT_FILE} ] && command -v systemctl > /dev/null; then
    if ! systemctl try-restart ${SENTINEL_UNIT}.service; then
      echo "${SENTINEL_UNIT} did not restart on the new certificate; see journalctl -u ${SENTINEL_UNIT}" >&2
      return 1
    fi
    echo "restarted ${SENTINEL_UNIT}"
  fi
}
`;
}

/** The reload as a program of its own: what cert-renewer's ExecStartPost runs. */
export function renderReloadScript(a: ReloadArgs): string {
    return `#!/bin/bash
set -euo pipefail
${renderReloadFunction(a)}reload_tls
`;
}
