/** What every lego (Debian 4.9.1) invocation against one pebble for one certificate shares. */
export interface LegoTarget {
  /** `Pebble.directoryUrl`. */
  server: string;
  /** File on the host holding `Pebble.tlsCaPem`; passed as `LEGO_CA_CERTIFICATES`. */
  caFile: string;
  /** The certificate's DNS name; also its file name (`<path>/certificates/<domain>.crt`). */
  domain: string;
  /** lego's state directory (`--path`): `accounts/` and `certificates/`. */
  path: string;
  /** @default "admin@example.test" */
  email?: string;
  /** Where lego's HTTP-01 server listens; pebble (always-valid) never connects to it. @default 5002 */
  httpPort?: number;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The global flags, in the order lego's help lists them; the subcommand goes after them. */
function legoPrefix(t: LegoTarget): string {
  return [
    `LEGO_CA_CERTIFICATES=${quote(t.caFile)}`, "lego",
    "--server", quote(t.server), "--accept-tos", "--email", quote(t.email ?? "admin@example.test"),
    "--http", "--http.port", `:${t.httpPort ?? 5002}`,
    "--domains", quote(t.domain), "--key-type", "ec256", "--path", quote(t.path),
  ].join(" ");
}

/** Registers the account when `<path>/accounts/<host_port>/<email>` has none, then orders with a new key. */
export function legoRun(t: LegoTarget): string {
  return `${legoPrefix(t)} run`;
}

/**
 * Renews when whole days left (rounded down) <= `days`; `--days -1` always renews. Exit 0 either
 * way; stderr says `... no renewal.` when it did not renew.
 */
export function legoRenew(t: LegoTarget, days: number): string {
  return `${legoPrefix(t)} renew --days ${days} --no-random-sleep --reuse-key`;
}
