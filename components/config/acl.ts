/**
 * The ACL users redis-tls defines. A certificate from the CA is a transport credential only: the
 * `default` user is off and holds nothing, so a client (or another server, whose certificate also
 * carries clientAuth) that has not authenticated as a declared user gets `NOAUTH` for everything.
 * Passwords are made on the host and kept in root-only files; Redis sees only their SHA-256.
 */

/** What no network identity may do: persist config or ACL changes, debug, or load modules. */
export const DENIED_TO_EVERYONE = ["-config|rewrite", "-acl|save", "-acl|load", "-debug", "-module"] as const;

export const ACL_DEFAULTS = {
    adminUser: "redis-tls-admin",
} as const;

/** Rules of the admin identity: every key, channel and command but those denied to everyone. */
export const ADMIN_RULES = `~* &* +@all ${DENIED_TO_EVERYONE.join(" ")}`;

/** Rules of the hot-reload identity: CONFIG SET and nothing else (see reload/scripts.ts). */
export const RELOAD_RULES = "resetchannels -@all +config|set";

export interface UsersArgs {
    tlsDir: string;
    adminUser: string;
    /** The reload identity, when the hot reload is on. */
    reloadUser?: string;
}

/**
 * Shell lines (inside the config install script, which sets `tls`, `group`, `work` and `changed`)
 * that make missing passwords (root, 0600) and install users.acl: the default user off, the admin
 * and the reload user with their SHA-256s.
 */
export function renderUsersAcl(a: UsersArgs): string {
    const who = [["admin", a.adminUser, ADMIN_RULES], ...(a.reloadUser === undefined ? [] : [["reload", a.reloadUser, RELOAD_RULES]])];
    return `${who
        .map(
            ([w]) => `if [ ! -s "$tls/${w}.pass" ]; then
  openssl rand -hex 32 > "$work/${w}.pass"
  put "$work/${w}.pass" "$tls/${w}.pass" 600 root:root
fi
`,
        )
        .join("")}hash_of() { tr -d '\\n' < "$1" | sha256sum | cut -d' ' -f1; }
{
  echo 'user default reset off'
${who.map(([w, user, rules]) => `  echo "user ${user} reset on #$(hash_of "$tls/${w}.pass") ${rules}"`).join("\n")}
} > "$work/users.acl"
if put "$work/users.acl" "$tls/users.acl" 640 "root:$group"; then changed=yes; fi
`;
}
