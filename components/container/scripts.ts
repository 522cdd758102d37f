import { assertNoMarkerLine, shellLib, shellQuote } from "../host/shell";
import { ClientLogin, renderUsersAcl, UsersArgs } from "../config/acl";
import { renderCertificateLoginCheck } from "../config/render";

/**
 * The container target: how a script runs as root where the server's files are. The same host
 * scripts (key and CSR, verify-then-move install, users.acl, reload) run with bash inside a
 * container of the server's image, so the key is made by the image's openssl straight into the
 * volume the server reads, and never leaves it.
 *
 * The commands are constant text: the image, the volumes and the container reach them as
 * environment variables (REDIS_TLS_IMAGE, REDIS_TLS_VOLUME, REDIS_TLS_DATA, REDIS_TLS_CONTAINER),
 * secrets on stdin. Only validated absolute paths are part of the text.
 */
const SCRIPT_END = "REDIS_TLS_SCRIPT";

function quotedScript(script: string): string {
    assertNoMarkerLine(script, SCRIPT_END);
    return `"$(cat <<'${SCRIPT_END}'\n${script.trimEnd()}\n${SCRIPT_END}\n)"`;
}

/**
 * A throwaway container of the server's image, as root, without a network, with the TLS volume
 * (and the data volume, when `dataDir` is given) mounted, running `script` with bash; stdin is the
 * script's stdin.
 */
export function inHelperContainer(script: string, a: { tlsDir: string; dataDir?: string }): string {
    const data = a.dataDir === undefined ? "" : ` --mount "type=volume,source=$REDIS_TLS_DATA,target=${a.dataDir}"`;
    return `set -eu
exec docker run --rm -i --network none --user 0:0 --entrypoint /bin/bash --mount "type=volume,source=$REDIS_TLS_VOLUME,target=${a.tlsDir}"${data} "$REDIS_TLS_IMAGE" -c ${quotedScript(script)}
`;
}

/**
 * `script` with bash inside the running server container, as root in the server's group: the
 * container keeps no capability, so root reaches the server's socket (0770) and data directory
 * (0750) through the group, and its own files as their owner.
 */
export function inServerContainer(script: string, group: string): string {
    return `set -eu
exec docker exec -i --user 0:${group} "$REDIS_TLS_CONTAINER" /bin/bash -c ${quotedScript(script)}
`;
}

export interface HealthCheckArgs {
    tlsPort: number;
    /** The name (DNS name or IP) the check verifies, as a client would. */
    serverName: string;
    serverNameIsIp: boolean;
    tlsDir: string;
}

/**
 * The container's health check: a TLS handshake to its own port that verifies the chain against
 * the served CA file and the server name (not `--insecure`: redis-cli can only send SNI), presents
 * the server's own certificate with its intermediates (it carries clientAuth) and sends PING. Healthy when Redis answers
 * at all: +PONG, or -NOAUTH (the default user is off and the certificate maps to no user).
 */
export function renderHealthCheck(a: HealthCheckArgs): string {
    const live = `${a.tlsDir}/live`;
    const verify = a.serverNameIsIp ? `-verify_ip ${shellQuote(a.serverName)}` : `-servername ${shellQuote(a.serverName)} -verify_hostname ${shellQuote(a.serverName)}`;
    return (
        `reply=$({ printf 'PING\\r\\n'; sleep 1; } | openssl s_client -quiet -no_ign_eof -connect 127.0.0.1:${a.tlsPort} ${verify} -verify_return_error` +
        ` -CAfile ${live}/ca.crt -cert ${live}/redis.crt -cert_chain ${live}/redis.crt -key ${live}/redis.key 2> /dev/null); case "$reply" in "+PONG"* | "-NOAUTH"*) exit 0 ;; *) exit 1 ;; esac`
    );
}

export interface ContainerConfScriptArgs extends UsersArgs {
    /** The server's group and user (the image's), which may read the files and owns the data directory. */
    group: string;
    /** The data directory (the data volume's mount point), made the server user's. */
    dataDir: string;
    /** The server binary, asked for its version when clientLogin is "certificate". */
    server: string;
    clientLogin: ClientLogin;
}

/**
 * Installs the drop-in (the server's whole configuration in the container) and users.acl from the
 * sections `dropin` and `users` on stdin, with redis-tls's own passwords made on first run, and
 * gives the data volume to the server user. Prints what changed.
 */
export function renderContainerConfScript(a: ContainerConfScriptArgs): string {
    return `set -euo pipefail
umask 077
${shellLib("root_dir", "put", "read_sections")}tls=${shellQuote(a.tlsDir)} group=${shellQuote(a.group)} data=${shellQuote(a.dataDir)}
${a.clientLogin === "certificate" ? renderCertificateLoginCheck(a.server) : ""}root_dir "$tls" "$group" 750
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read_sections "$work"
changed=no users_changed=no
if put "$work/dropin" "$tls/redis-tls.conf" 640 "root:$group"; then changed=yes; fi
${renderUsersAcl(a)}# The data volume's root is the mount point itself: no one can swap it for a link.
chown "$group:$group" "$data"
chmod 750 "$data"
echo "drop-in changed: $changed, users changed: $users_changed"
`;
}
