// A throwaway sshd on 127.0.0.1 for tests: its own host key, one authorized
// client key, root login by key only. Needs /usr/sbin/sshd (tests/install-deps.sh).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { privateKey } from "./tls";

export interface Sshd {
  host: "127.0.0.1";
  port: number;
  /** The server's public host key, "ssh-ed25519 AAAA...". */
  hostKey: string;
  /** known_hosts listing this server, for RunOptions.knownHostsFile. */
  knownHostsFile: string;
  /** A client key (ED25519, made by the harness's tls effect) that may log in as root. */
  clientKey: { privateKeyPem: string; privateKeyOpenssh: string; publicKeyOpenssh: string };
  dir: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

async function ready(proc: ChildProcess, port: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false;
    if (await canConnect(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** acceptEnv: names sshd lets clients set (its AcceptEnv); none by default. */
export async function startSshd(opts: { acceptEnv?: string[] } = {}): Promise<Sshd> {
  if (!fs.existsSync("/usr/sbin/sshd")) throw new Error("/usr/sbin/sshd is missing; run tests/install-deps.sh");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "harness-sshd-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path.join(dir, "host_key")]);
  const hostKey = fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim();
  const k = privateKey({ algorithm: "ED25519" }).outputs as Record<string, string>;
  fs.writeFileSync(path.join(dir, "authorized_keys"), k.publicKeyOpenssh, { mode: 0o600 });
  // sshd refuses to start without its privilege separation directory.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  let lastErr = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(dir, "sshd_config");
    fs.writeFileSync(config, [
      `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${dir}/host_key`, `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      // The temp dir sits under world-writable /tmp, which StrictModes rejects.
      "StrictModes no", "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password", "UsePAM no", "Subsystem sftp internal-sftp", "LogLevel ERROR",
      ...(opts.acceptEnv?.length ? [`AcceptEnv ${opts.acceptEnv.join(" ")}`] : []), "",
    ].join("\n"));
    const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    if (!(await ready(proc, port))) {
      proc.kill("SIGKILL");
      lastErr = stderr;
      continue;
    }
    const knownHostsFile = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKey}\n`);
    return {
      host: "127.0.0.1", port, hostKey, knownHostsFile, dir,
      clientKey: { privateKeyPem: k.privateKeyPem, privateKeyOpenssh: k.privateKeyOpenssh, publicKeyOpenssh: k.publicKeyOpenssh },
      stop: async () => {
        if (proc.exitCode === null && proc.signalCode === null) {
          const exited = new Promise((r) => proc.once("exit", r));
          proc.kill("SIGTERM");
          await exited;
        }
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`sshd did not start: ${lastErr}`);
}
