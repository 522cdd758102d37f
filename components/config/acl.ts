/**
 * The ACL users redis-tls defines. A certificate from the CA is a transport credential only: the
 * `default` user is off and holds nothing, so a client (or another server, whose certificate also
 * carries clientAuth) that has not authenticated as a declared user gets `NOAUTH` for everything.
 * redis-tls's own passwords are made on the host and kept in root-only files; an application's is
 * made by Pulumi (RedisClientCertificate) and reaches the host only as its SHA-256.
 */
import { shellQuote } from "../host/shell";
import { checkAclUser, checkUnique, Problem, show } from "../validation/fields";

/** What no network identity may do: persist config or ACL changes, debug, or load modules. */
export const DENIED_TO_EVERYONE = ["-config|rewrite", "-acl|save", "-acl|load", "-debug", "-module"] as const;

export const ACL_DEFAULTS = {
    adminUser: "redis-tls-admin",
    aclUser: "redis-tls-acl",
} as const;

/**
 * Appended to every application user's rules: besides what no one may do, nothing that changes users
 * or configuration (with ACL SETUSER an application could turn the default user on for everyone).
 */
export const DENIED_TO_APPLICATIONS = [...DENIED_TO_EVERYONE, "-acl|setuser", "-acl|deluser", "-config|set"] as const;

/** Rules of the admin identity: every key, channel and command but those denied to everyone. */
export const ADMIN_RULES = `~* &* +@all ${DENIED_TO_EVERYONE.join(" ")}`;

/** Rules of the hot-reload identity: CONFIG SET and nothing else (see reload/scripts.ts). */
export const RELOAD_RULES = "resetchannels -@all +config|set";

/**
 * Rules of the identity that applies users.acl to a running server: define and delete users and
 * list them. It reaches the server only over the root-only socket, with a password in a root-only
 * file (see renderApplyUsersFunction for what that does and does not protect).
 */
export const ACL_APPLY_RULES = "resetchannels -@all +acl|setuser +acl|deluser +acl|users";

/**
 * How an application proves which ACL user it is. "password": its client certificate opens the
 * connection and `AUTH <user> <password>` picks the user (every server). "certificate": the
 * certificate's CN is the user (`tls-auth-clients-user CN`; Valkey 9.0+, Redis 8.6+), the user has
 * no password at all, so no `AUTH` reaches it.
 */
export const ClientLogin = {
    /** The client certificate opens the connection; `AUTH <user> <password>` picks the user. */
    password: "password",
    /** The certificate's CN is the user (Valkey 9.0+, Redis 8.6+); the user has no password. */
    certificate: "certificate",
} as const;
export type ClientLogin = (typeof ClientLogin)[keyof typeof ClientLogin];
export const CLIENT_LOGINS = Object.values(ClientLogin);

/** An application's ACL user on a server. */
export interface AclUserArgs {
    /** The ACL user: lower-case letters, digits, "_" and "-". With clientLogin "certificate", the CN of the application's certificate. */
    name: string;
    /**
     * Its ACL rules, space separated, e.g. "~orders:* +@read +@write -@dangerous": key (`~`, `%R~`,
     * `%W~`, `%RW~`) and channel (`&`) patterns, commands and categories (`+get`, `-@admin`,
     * `+client|setname`), and the words allkeys, allchannels, allcommands, nocommands,
     * resetkeys, resetchannels. Passwords, on/off and reset are redis-tls's; CONFIG REWRITE, ACL
     * SAVE/LOAD, DEBUG, MODULE, ACL SETUSER/DELUSER and CONFIG SET are denied to every application.
     */
    rules: string;
    /** SHA-256 (hex) of its password (RedisClientCertificate.passwordHash); required with clientLogin "password". */
    passwordHash?: import("@pulumi/pulumi").Input<string | undefined>;
}

const RULE_WORDS = new Set(["allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands", "sanitize-payload", "skip-sanitize-payload"]);
const PATTERN = /^(~|%R~|%W~|%RW~|&)[\x21-\x7e]+$/;
const COMMAND = /^[+-](@[a-z]+|[a-z][a-z0-9_.-]*(\|[a-z][a-z0-9_.-]*)?)$/;

/** One rules string, token by token, as far as it can be checked without a server. */
export function checkAclRules(field: string, rules: string): Problem[] {
    // eslint-disable-next-line no-control-regex
    if (/[^\x20-\x7e]/.test(rules)) {
        return [`[${field}] ${show(rules)} has a line break, tab or other non-printable character, which would end the ACL line and start another; write the rules on one line, separated by spaces`];
    }
    const tokens = rules.split(" ").filter((t) => t !== "");
    if (tokens.length === 0) {
        return [`[${field}] ${show(rules)} grants nothing; give rules such as "~app:* +@read +@write -@dangerous"`];
    }
    return tokens.map((t): Problem => {
        if (/["'\\]/.test(t)) {
            return `[${field}] ${show(t)} has a quote or backslash, which the ACL file would read as quoting; use patterns without them`;
        }
        if (/^[<>#!]/.test(t) || t === "nopass" || t === "resetpass") {
            return `[${field}] ${show(t)} sets a password; redis-tls sets each user's login (clientLogin, passwordHash), so drop it`;
        }
        if (t === "on" || t === "off" || t === "reset") {
            return `[${field}] ${show(t)} is redis-tls's: every user is written as "reset on" followed by its rules; drop it (remove the user to turn it off)`;
        }
        if (t.startsWith("(") || t.endsWith(")") || t === "clearselectors") {
            return `[${field}] ${show(t)} is part of a selector, which this library does not render; write the rules without "( )"`;
        }
        if (RULE_WORDS.has(t) || PATTERN.test(t) || COMMAND.test(t)) return undefined;
        return `[${field}] ${show(t)} is not an ACL rule this library accepts; use ~pattern, %R~pattern, &pattern, +command, -command, +command|subcommand, +@category or -@category`;
    });
}

/** The application users of one server: valid, unique, none of redis-tls's own, with the login they need. */
export function checkAclUsers(field: string, users: AclUserArgs[], a: { reserved: string[]; login: string }): Problem[] {
    const problems: Problem[] = [];
    users.forEach((u, i) => {
        const at = `${field}[${i}]`;
        const nameProblem = checkAclUser(`${at}.name`, u.name);
        problems.push(nameProblem);
        if (nameProblem === undefined && a.reserved.includes(u.name)) {
            problems.push(`[${at}.name] ${show(u.name)} is one of redis-tls's own users (${a.reserved.join(", ")}); give the application another name`);
        }
        problems.push(...checkAclRules(`${at}.rules`, u.rules));
        if (a.login === "password" && u.passwordHash === undefined) {
            problems.push(
                `[${at}.passwordHash] not given; with clientLogin "password" a user logs in with a password: pass RedisClientCertificate.passwordHash (or use clientLogin "certificate" on Valkey 9+ / Redis 8.6+)`,
            );
        }
        if (typeof u.passwordHash === "string") problems.push(checkPasswordHash(`${at}.passwordHash`, u.passwordHash));
    });
    problems.push(checkUnique(`${field}[].name`, users.map((u) => u.name)));
    return problems;
}

export function checkPasswordHash(field: string, hash: string): Problem {
    return /^[0-9a-f]{64}$/.test(hash) ? undefined : `[${field}] is not a SHA-256 in lower-case hex; pass RedisClientCertificate.passwordHash`;
}

/** An application user resolved: its name, rules and (with password login) the hash. */
export interface ResolvedAclUser {
    name: string;
    rules: string;
    passwordHash?: string;
}

/** users.acl lines of the application users: `user NAME reset on [#HASH] RULES` and what applications are denied. */
export function renderAppUsers(users: ResolvedAclUser[]): string {
    return users
        .map((u) => ["user", u.name, "reset", "on", ...(u.passwordHash === undefined ? [] : [`#${u.passwordHash}`]), ...u.rules.split(" ").filter((t) => t !== ""), ...DENIED_TO_APPLICATIONS].join(" ") + "\n")
        .join("");
}

export interface UsersArgs {
    tlsDir: string;
    adminUser: string;
    /** The reload identity, when the hot reload is on. */
    reloadUser?: string;
    /** The identity that applies users.acl over the socket, when there is one. */
    aclUser?: string;
}

/**
 * Shell lines (inside the config install script, which sets `tls`, `group`, `work` and `users_changed`,
 * and has the application users' lines in `$work/users`) that make missing passwords (root, 0600)
 * and install users.acl: the default user off, redis-tls's users with their SHA-256s, then the
 * application users.
 */
export function renderUsersAcl(a: UsersArgs): string {
    const who = [
        ["admin", a.adminUser, ADMIN_RULES],
        ...(a.reloadUser === undefined ? [] : [["reload", a.reloadUser, RELOAD_RULES]]),
        ...(a.aclUser === undefined ? [] : [["acl", a.aclUser, ACL_APPLY_RULES]]),
    ];
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
  cat "$work/users"
} > "$work/users.acl"
if [ -f "$tls/users.acl" ] && [ ! -L "$tls/users.acl" ]; then cp "$tls/users.acl" "$work/users.acl.old"; fi
if put "$work/users.acl" "$tls/users.acl" 640 "root:$group"; then users_changed=yes; fi
`;
}

/**
 * The bash function `apply_users`: makes the running server's users those of users.acl without a
 * restart, over the root-only socket as the ACL identity: `ACL SETUSER` for every line (in place, so
 * a user's open connections stay), `ACL DELUSER` for every user the file no longer has (which also
 * closes that user's connections). `ACL LOAD` would do it in one command, but Redis 7.0 closes every
 * authenticated connection on it (measured), so it is not used. Returns 0 when every command
 * succeeded, 1 when it cannot apply live (no socket, the identity unknown, a user name the file
 * cannot hold: a restart makes the server match), 2 when the server refused a line (a restart would
 * not start: the caller puts the old file back).
 *
 * The ACL identity can define any user, so its password is as strong as the admin's; like the
 * reload password it lives in a root-only file and is sent only to the socket, whose directory the
 * redis user owns: the redis user can learn it, and already controls the server.
 */
export function renderApplyUsersFunction(a: { socket: string; aclUser: string; cli: string }): string {
    return `apply_users() {
  local sock=${shellQuote(a.socket)} user=${shellQuote(a.aclUser)} cli=${shellQuote(a.cli)} u names
  if [ -L "$sock" ] || [ ! -S "$sock" ]; then
    echo "no server socket at $sock" >&2
    return 1
  fi
  # Fails where the running server does not know the ACL identity yet (it came with this users.acl).
  if ! names=$(REDISCLI_AUTH=$(cat "$tls/acl.pass") "$cli" -s "$sock" --user "$user" -e ACL USERS 2>&1); then
    echo "cannot list the server's users: $names" >&2
    return 1
  fi
  awk '$1 == "user" { print $2 }' "$tls/users.acl" > "$work/acl.names"
  {
    awk '$1 == "user" { $1 = "ACL SETUSER"; print }' "$tls/users.acl"
    while read -r u; do
      [ -n "$u" ] || continue
      # A name this library could not have written (quotes, escapes) is not sent back; a restart clears it.
      if [[ ! $u =~ ^[a-z][a-z0-9_-]*$ ]]; then
        echo "the server has a user named $(printf '%q' "$u"), which users.acl cannot hold" >&2
        return 1
      fi
      if ! grep -qxF -- "$u" "$work/acl.names"; then echo "ACL DELUSER $u"; fi
    done <<< "$names"
  } > "$work/acl.commands"
  # Every command answers OK (SETUSER) or a count (DELUSER); anything else, or fewer replies, is a refusal.
  if ! REDISCLI_AUTH=$(cat "$tls/acl.pass") "$cli" -s "$sock" --user "$user" < "$work/acl.commands" > "$work/acl.replies" 2>&1 ||
      [ "$(grep -c -e '^OK$' -e '^[0-9][0-9]*$' "$work/acl.replies")" != "$(wc -l < "$work/acl.commands")" ]; then
    echo "the server refused users.acl: $(grep -v -e '^OK$' -e '^[0-9][0-9]*$' "$work/acl.replies" | head -n 3)" >&2
    return 2
  fi
  echo "users applied: $(grep -c '^ACL SETUSER' "$work/acl.commands") defined, $(grep -c '^ACL DELUSER' "$work/acl.commands") removed"
}
`;
}
