// Real effects of the command provider: local processes and ssh sessions.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { sshClientKey } from "./openssh";

export interface Output {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, as the provider puts them in its errors. */
  combined: string;
}

export interface Connection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
  [unsupported: string]: unknown;
}

function spawnCollect(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: Buffer }): Promise<Output> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const all: Buffer[] = [];
    child.stdout?.on("data", (d: Buffer) => (out.push(d), all.push(d)));
    child.stderr?.on("data", (d: Buffer) => (err.push(d), all.push(d)));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), combined: Buffer.concat(all).toString() }));
    // A command that never reads stdin closes the pipe early; that is not an error.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(opts.stdin);
  });
}

/** The provider returns stdout/stderr with one trailing newline removed. */
export const trimOne = (s: string): string => (s.endsWith("\n") ? s.slice(0, -1) : s);

export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs like the provider (/bin/sh -c unless interpreter); a non-zero exit is the caller's to report. */
export async function runLocal(
  command: string,
  inputs: { interpreter?: string[]; dir?: string; environment?: Record<string, string>; stdin?: string },
  extraEnv: Record<string, string>,
): Promise<Output> {
  const argv = inputs.interpreter?.length ? [...inputs.interpreter, command] : ["/bin/sh", "-c", command];
  const r = await spawnCollect(argv[0], argv.slice(1), {
    cwd: inputs.dir ?? process.cwd(),
    env: { ...process.env, ...inputs.environment, ...extraEnv },
    stdin: inputs.stdin ? Buffer.from(inputs.stdin) : undefined,
  });
  return r;
}

// The remote login shell runs this fixed line: it reads a byte count, then
// exactly that many bytes of script (dd bs=1 never reads past them), and
// evaluates the script with the rest of the stream as its stdin. So exported
// secrets travel inside the ssh channel, never on a command line.
const WRAPPER = 'IFS= read -r n && s=$(dd bs=1 count="$n" 2>/dev/null) && eval "$s"';
const DIAL_ERROR = /Connection refused|Connection timed out|Connection reset|No route to host|kex_exchange_identification|Connection closed by/;

export interface SshOptions {
  knownHostsFile?: string;
  /** Sent like the provider's session.Setenv: the server keeps only what its AcceptEnv allows. */
  setenv?: Record<string, string>;
}

export async function ssh(conn: Connection, script: string, stdin: Buffer | undefined, opts: SshOptions = {}): Promise<Output> {
  for (const k of ["password", "privateKeyPassword", "proxy", "agentSocketPath"]) {
    if (conn[k] !== undefined) throw new Error(`the harness does not emulate connection.${k}; use an unencrypted privateKey`);
  }
  if (!conn.privateKey) throw new Error("the harness needs connection.privateKey (it does not use ssh agents or passwords)");
  const port = conn.port ?? 22;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-ssh-"));
  try {
    const keyFile = path.join(dir, "id");
    fs.writeFileSync(keyFile, sshClientKey(conn.privateKey), { mode: 0o600 });
    let known = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
    const hostsFile = conn.hostKey ? path.join(dir, "known_hosts") : opts.knownHostsFile;
    if (conn.hostKey) fs.writeFileSync(hostsFile!, `${port === 22 ? conn.host : `[${conn.host}]:${port}`} ${conn.hostKey.trim()}\n`);
    if (hostsFile) known = ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${hostsFile}`];
    const args = [
      "-F", "/dev/null", "-T", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
      "-o", "LogLevel=ERROR", "-o", `ConnectTimeout=${conn.perDialTimeout ?? 15}`, ...known,
      ...Object.keys(opts.setenv ?? {}).flatMap((k) => ["-o", `SendEnv=${k}`]),
      "-i", keyFile, "-p", String(port), "-l", conn.user ?? "root", "--", conn.host, WRAPPER,
    ];
    // Values ride in the ssh process's environment (private to its user), names alone in argv.
    const env = { ...process.env, ...opts.setenv };
    const body = Buffer.from(script);
    const input = Buffer.concat([Buffer.from(`${body.length}\n`), body, stdin ?? Buffer.alloc(0)]);
    // The provider redials up to dialErrorLimit times before giving up.
    const limit = conn.dialErrorLimit ?? 10;
    for (let attempt = 1; ; attempt++) {
      const r = await spawnCollect("ssh", args, { stdin: input, env });
      if (r.code !== 255 || !DIAL_ERROR.test(r.stderr) || (limit >= 0 && attempt >= limit)) return r;
      await new Promise((res) => setTimeout(res, 1000));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How `environment` reaches a remote command. The provider uses ssh setenv,
 * which sshd drops unless AcceptEnv allows the name (Debian's default accepts
 * only LANG and LC_*): "setenv" reproduces that; "export" sets the variables
 * in the remote shell before the command, whatever the server's AcceptEnv.
 */
export type RemoteEnvironment = "export" | "setenv";

export async function runRemote(
  command: string,
  inputs: { connection: Connection; environment?: Record<string, string>; stdin?: string },
  extraEnv: Record<string, string>,
  opts: { knownHostsFile?: string; remoteEnvironment?: RemoteEnvironment } = {},
): Promise<Output> {
  const env = { ...inputs.environment, ...extraEnv };
  for (const k of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`[environment] "${k}" is not a valid variable name`);
  }
  const setenv = opts.remoteEnvironment === "setenv";
  const exported = setenv ? [] : Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(String(v))}\n`);
  const stdin = inputs.stdin ? Buffer.from(inputs.stdin) : undefined;
  return ssh(inputs.connection, exported.join("") + command, stdin, { knownHostsFile: opts.knownHostsFile, setenv: setenv ? env : undefined });
}

export type Source = { kind: "text"; text: string } | { kind: "path"; path: string };

/** CopyToRemote's sftp semantics (see the provider's sftpCopy table), done with sh and tar. */
export async function copyToRemote(conn: Connection, source: Source, remotePath: string, knownHostsFile?: string): Promise<void> {
  let script = `d=${shQuote(remotePath)}\n`;
  let data: Buffer;
  if (source.kind === "text") {
    script += `if [ -d "$d" ]; then echo "remote path $d is a directory; when using a text asset, remotePath must be a file path" >&2; exit 1; fi\ncat > "$d"\n`;
    data = Buffer.from(source.text);
  } else if (fs.statSync(source.path).isDirectory()) {
    const notDir = `echo "remote path $d exists but is not a directory" >&2; exit 1`;
    script += `if [ ! -e "$d" ]; then mkdir "$d" || exit 1; elif [ ! -d "$d" ]; then ${notDir}; fi\n`;
    // "dir" lands as dest/dir; "dir/" spreads its contents into dest.
    if (!source.path.endsWith("/")) {
      script += `d="$d"/${shQuote(path.basename(source.path))}\nif [ -e "$d" ] && [ ! -d "$d" ]; then ${notDir}; fi\n[ -d "$d" ] || mkdir "$d" || exit 1\n`;
    }
    script += `tar -xf - -C "$d" --no-same-owner\n`;
    data = execFileSync("tar", ["-C", source.path, "-cf", "-", "."], { maxBuffer: 1 << 30 });
  } else {
    script += `if [ -d "$d" ]; then d="$d"/${shQuote(path.basename(source.path))}; fi\ncat > "$d"\n`;
    data = fs.readFileSync(source.path);
  }
  const r = await ssh(conn, script, data, { knownHostsFile });
  if (r.code !== 0) throw new Error(`failed to copy to ${conn.host}:${remotePath} (status ${r.code}):\n${r.combined}`);
}
