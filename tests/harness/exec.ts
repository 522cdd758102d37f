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
  /** Set when ssh never reached the command: the provider's dial error, after its retries. */
  dialError?: string;
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
// How OpenSSH reports what x/crypto/ssh's Dial returns as an error (which the provider retries).
function dialFailure(r: Output, host: string, port: number): string | undefined {
  if (r.code !== 255) return undefined;
  const tcp = `dial tcp ${host}:${port}`;
  const cases: Array<[RegExp, string]> = [
    [/Connection refused/, `${tcp}: connect: connection refused`],
    [/No route to host/, `${tcp}: connect: no route to host`],
    [/Network is unreachable/, `${tcp}: connect: network is unreachable`],
    [/Connection timed out|Operation timed out/, `${tcp}: i/o timeout`],
    [/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|no matching host key type/, "ssh: handshake failed: ssh: host key mismatch"],
    [/Permission denied \(/, "ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain"],
    [/kex_exchange_identification|Connection closed by|Connection reset/, "ssh: handshake failed: EOF"],
  ];
  return cases.find(([re]) => re.test(r.stderr))?.[1];
}

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
    if (hostsFile) known = ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${hostsFile}`, "-o", "GlobalKnownHostsFile=/dev/null"];
    // The provider pins the host key's own algorithm (HostKeyAlgorithms = [key.Type()]).
    if (conn.hostKey) {
      const type = conn.hostKey.trim().split(/\s+/)[0];
      known.push("-o", `HostKeyAlgorithms=${type === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256" : type}`);
    }
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
    // The provider dials up to dialErrorLimit + 1 times, backing off from 100 ms by 1.5x up to 5 s,
    // and then fails with "after N failed attempts: <the dial error>".
    const limit = conn.dialErrorLimit ?? 10;
    let delay = 100;
    for (let attempt = 0; ; attempt++) {
      const r = await spawnCollect("ssh", args, { stdin: input, env });
      const dial = dialFailure(r, conn.host, port);
      if (dial === undefined) return r;
      if (limit >= 0 && attempt + 1 > limit) return { ...r, dialError: `after ${attempt} failed attempts: ${dial}` };
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 1.5, 5000);
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
  // The provider's Setenv asks for a reply and fails the command when sshd refuses a name of
  // `environment` (PULUMI_COMMAND_* refused is only a warning): check what arrived before running.
  const required = setenv ? Object.keys(inputs.environment ?? {}) : [];
  const arrived = required.map((k) => `printenv ${k} > /dev/null || { echo "${SETENV_FAILED} ${k}" >&2; exit 254; }\n`).join("");
  const stdin = inputs.stdin ? Buffer.from(inputs.stdin) : undefined;
  const r = await ssh(inputs.connection, arrived + exported.join("") + command, stdin, { knownHostsFile: opts.knownHostsFile, setenv: setenv ? env : undefined });
  const refused = r.code === 254 ? r.stderr.match(new RegExp(`^${SETENV_FAILED} (\\w+)$`, "m"))?.[1] : undefined;
  return refused === undefined ? r : { ...r, dialError: `could not set environment variable "${refused}": ssh: setenv failed` };
}

const SETENV_FAILED = "harness-setenv-refused";

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
