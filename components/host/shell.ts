/**
 * What every host script shares: quoting, the wrapper that runs a script as root, the framing that
 * carries values on stdin, and a few bash functions. Scripts are rendered text; values that are not
 * constants of the code reach a host on stdin (`encodeSections`), and those that must appear in a
 * script (paths, names, fingerprints) are validated first and then quoted with `shellQuote`.
 */

/** Quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

const SCRIPT_END = "REDIS_TLS_SCRIPT";

/** Throws when `text` has a line equal to `marker`, which would end the here-document carrying it. */
export function assertNoMarkerLine(text: string, marker: string): void {
    if (text.split("\n").some((line) => line.trim() === marker)) {
        throw new Error(`a rendered host script contains the line ${JSON.stringify(marker)}, which would end its here-document; refusing to send it`);
    }
}

/**
 * The command that runs a rendered host script with bash as root for the given login user.
 * The login shell may be dash, which lacks `pipefail`, so the script always goes to bash. It goes as
 * a quoted here-document, so `pulumi preview` shows it verbatim, and stdin stays free for data.
 */
export function asRoot(script: string, user: string | undefined): string {
    assertNoMarkerLine(script, SCRIPT_END);
    const bash = `/bin/bash -c "$(cat <<'${SCRIPT_END}'\n${script.trimEnd()}\n${SCRIPT_END}\n)"`;
    return (user ?? "root") === "root" ? bash : `sudo -n ${bash}`;
}

/**
 * Values for a host script's stdin, one line per name: `name base64`. Base64 carries any byte, so no
 * value can end a here-document, close a quote or add a line the script would run.
 */
export function encodeSections(sections: Record<string, string | undefined>): string {
    return Object.entries(sections)
        .filter((e): e is [string, string] => e[1] !== undefined)
        .map(([name, value]) => {
            if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`section name ${JSON.stringify(name)} is not lower-case letters, digits and "-"`);
            return `${name} ${Buffer.from(value).toString("base64")}\n`;
        })
        .join("");
}

/** redis-tls's state on a host (root-only records; lego's account and certificates). */
export const STATE_DIR = "/var/lib/redis-tls";
/** Who installed what: one directory per kind of shared file, one empty file per owning resource. */
export const OWNERS_DIR = `${STATE_DIR}/owners`;
/** Per owning resource, what it placed (kinds and paths), so a later run can undo what it no longer places. */
export const PLACED_DIR = `${STATE_DIR}/placed`;

/**
 * The bash functions, by name; `shellLib` renders the ones a script uses. A broken invariant ends
 * the whole script (`exit 1`): callers use some of them as conditions, where `set -e` is off.
 */
const FUNCTIONS: Record<string, string> = {
    // The paths root writes to must not be swappable by anyone else: every component must be a real
    // directory (not a link) owned by root and writable by no one else, or another user could
    // rename a directory and plant links where root writes next.
    root_dir: `# root_dir DIR [GROUP MODE | keep]: DIR and every directory above it must be real directories
# owned by root and writable by no one else (above DIR, sticky ones like /tmp are fine). With GROUP
# and MODE, DIR is redis-tls's own: missing directories are made and DIR gets GROUP and MODE. With
# keep, missing directories are made (root, 0755) and existing ones are left as they are.
root_dir() {
  local dir=$1 path="" part uid perm
  local -a parts
  IFS=/ read -r -a parts <<< "\${dir#/}"
  for part in "\${parts[@]}"; do
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
}`,
    read_sections: `# read_sections DIR: stdin holds lines "NAME BASE64"; each value lands, as data, in DIR/NAME.
read_sections() {
  local name data
  while IFS=' ' read -r name data || [ -n "$name" ]; do
    if [[ ! $name =~ ^[a-z][a-z0-9-]*$ ]]; then
      echo "unexpected input on stdin" >&2
      exit 1
    fi
    printf '%s' "$data" | base64 -d > "$1/$name" || exit 1
  done
}`,
    put: `# put SRC DEST MODE OWNER: gives DEST (in a directory root_dir checked) SRC's content, MODE and
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
}`,
    // A file several resources (or stacks) install is removed only when its last owner is deleted.
    // The engine creates a renamed or re-parented resource before deleting the old one, so without
    // this the old one's delete would remove what the new one just installed.
    own: `# lock_owners: one script at a time changes owner records and the files they guard (two stacks may
# deploy to one host at once). own KIND ID: records that resource ID installed KIND here. disown
# KIND ID: forgets it and prints "last" when no owner of KIND is left (then KIND's files may go).
lock_owners() {
  root_dir ${STATE_DIR} root 755
  root_dir ${OWNERS_DIR} root 700
  exec 9> ${OWNERS_DIR}/.lock || exit 1
  flock 9 || exit 1
}
own() {
  root_dir "${OWNERS_DIR}/$1" root 700
  : > "${OWNERS_DIR}/$1/$2" || exit 1
}
disown() {
  if [ -d "${OWNERS_DIR}/$1" ]; then
    root_dir "${OWNERS_DIR}/$1"
    rm -f "${OWNERS_DIR}/$1/$2"
    if compgen -G "${OWNERS_DIR}/$1/*" > /dev/null; then
      echo kept
      return 0
    fi
    rmdir "${OWNERS_DIR}/$1"
  fi
  echo last
}`,
};

const NEEDS: Record<string, string[]> = { own: ["root_dir"] };

/** The named bash functions (and those they call), ready to paste at the top of a script. */
export function shellLib(...names: string[]): string {
    const all = new Set<string>();
    const add = (n: string) => {
        if (FUNCTIONS[n] === undefined) throw new Error(`no shell function ${n}`);
        (NEEDS[n] ?? []).forEach(add);
        all.add(n);
    };
    names.forEach(add);
    return Object.keys(FUNCTIONS).filter((n) => all.has(n)).map((n) => FUNCTIONS[n]).join("\n") + "\n";
}
