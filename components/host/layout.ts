/**
 * Where redis-tls keeps its files on a host. Everything lives under one directory that only root
 * can write (Debian's /etc/redis belongs to the redis user, who could otherwise swap files under
 * root's scripts). The served certificate, key and client CA sit together in a generation
 * directory, and Redis reads them through the `live` link, so a new set replaces the old one with
 * a single rename: no crash can leave a certificate beside a key it does not match.
 */
export const DEFAULT_TLS_DIR = "/etc/redis-tls";

/** The files under a TLS directory. */
export interface TlsLayout {
    tlsDir: string;
    /** Link to the generation Redis serves: `gen/<id>`. */
    live: string;
    /** What Redis's `tls-cert-file`, `tls-key-file` and `tls-ca-cert-file` name. */
    certPath: string;
    keyPath: string;
    caPath: string;
    /** The redis.conf drop-in. */
    dropIn: string;
    /** ACL users, included by the drop-in. */
    usersAcl: string;
    /** Root-only passwords, made on the host. */
    adminPass: string;
    reloadPass: string;
}

export function tlsLayout(tlsDir: string): TlsLayout {
    const live = `${tlsDir}/live`;
    return {
        tlsDir,
        live,
        certPath: `${live}/redis.crt`,
        keyPath: `${live}/redis.key`,
        caPath: `${live}/ca.crt`,
        dropIn: `${tlsDir}/redis-tls.conf`,
        usersAcl: `${tlsDir}/users.acl`,
        adminPass: `${tlsDir}/admin.pass`,
        reloadPass: `${tlsDir}/reload.pass`,
    };
}

/** The first line of every drop-in this library writes; a stale include of one is recognised by it. */
export const DROP_IN_MARKER = "# Managed by redis-tls (Pulumi): included last from redis.conf; edits here are overwritten.";

/** Where the host-side helpers (renewal, reload, the redis.conf check) live. */
export const LIBEXEC = "/usr/local/libexec/redis-tls";
