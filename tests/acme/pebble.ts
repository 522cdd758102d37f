import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";
import { check } from "../hosts/run";

export interface PebbleOptions {
  /** The only address pebble listens on: a `TestHost.gateway`, so the run's hosts reach it. */
  listenAddress: string;
  /** Pebble's config, HTTPS key and certificate and log go here; created if missing, never removed. */
  workDir: string;
  /** @default 14000 */
  acmePort?: number;
  /** Management interface (`/roots/0`, `/intermediates/0`). @default 15000 */
  managementPort?: number;
  /**
   * Lifetime of issued certificates, in seconds (pebble's `certificateValidityPeriod`).
   * @default 157766400 (pebble's own default: 5 years = 1826 days)
   */
  certificateValiditySeconds?: number;
  /**
   * External account binding keys, kid -> base64url HMAC key. When given, pebble requires EAB
   * for every new account. @default none (EAB not required)
   */
  eabKeys?: Record<string, string>;
  /** How long to wait for the ACME directory to answer. @default 15000 */
  startTimeoutMs?: number;
}

/** A running pebble (Debian package `pebble`, 2.4.0) with its own HTTPS CA. */
export interface Pebble {
  /** `https://<listenAddress>:<acmePort>/dir`, the value for `lego --server`. */
  directoryUrl: string;
  /** The CA that signed pebble's HTTPS certificate: what lego must trust (`LEGO_CA_CERTIFICATES`). */
  tlsCaPem: string;
  /** Path of `tlsCaPem` on this machine. */
  tlsCaFile: string;
  /** Pebble's log (stdout and stderr). */
  logFile: string;
  /** The issuing root, from the management port's `/roots/0`; pebble makes a new one at every start. */
  rootPem(): Promise<string>;
  /** The intermediate that signs leaves (`/intermediates/0`); lego already puts it in `<name>.crt`. */
  intermediatePem(): Promise<string>;
  /** SIGTERM (SIGKILL after 5 s), then waits for the exit. Removes nothing; safe to call twice. */
  stop(): Promise<void>;
}

const TLS_DAYS = 7;

export function validatePebbleOptions(opts: PebbleOptions): void {
  if (!net.isIPv4(opts.listenAddress)) {
    throw new Error(`[listenAddress] "${opts.listenAddress}" is not an IPv4 address; use a TestHost.gateway`);
  }
  if (!path.isAbsolute(opts.workDir)) {
    throw new Error(`[workDir] "${opts.workDir}" is not an absolute path; use e.g. fs.mkdtempSync(...)`);
  }
  const v = opts.certificateValiditySeconds;
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) {
    throw new Error(`[certificateValiditySeconds] ${v} is not a positive whole number of seconds; use e.g. 3600`);
  }
}

/** Starts pebble on `listenAddress` and resolves once its ACME directory answers over HTTPS. */
export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  validatePebbleOptions(opts);
  const acmePort = opts.acmePort ?? 14000;
  const managementPort = opts.managementPort ?? 15000;
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  const dir = opts.workDir;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  const tls = await makeHttpsCert(dir, opts.listenAddress);
  const configFile = path.join(dir, "pebble-config.json");
  fs.writeFileSync(configFile, `${JSON.stringify({
    pebble: {
      listenAddress: `${opts.listenAddress}:${acmePort}`,
      managementListenAddress: `${opts.listenAddress}:${managementPort}`,
      certificate: tls.certFile,
      privateKey: tls.keyFile,
      // Unused: PEBBLE_VA_ALWAYS_VALID means pebble never connects to the hosts.
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: "",
      externalAccountBindingRequired: opts.eabKeys !== undefined,
      ...(opts.eabKeys ? { externalAccountMACKeys: opts.eabKeys } : {}),
      ...(opts.certificateValiditySeconds !== undefined ? { certificateValidityPeriod: opts.certificateValiditySeconds } : {}),
    },
  }, null, 2)}\n`);

  const logFile = path.join(dir, "pebble.log");
  const log = fs.openSync(logFile, "w");
  const child = spawn("pebble", ["-config", configFile], {
    stdio: ["ignore", log, log],
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      // Validation would need a challenge server on each host; these tests are about the client.
      PEBBLE_VA_ALWAYS_VALID: "1",
      PEBBLE_VA_NOSLEEP: "1",
      // Pebble rejects 5% of good nonces by default to exercise client retries; tests want determinism.
      PEBBLE_WFE_NONCEREJECT: "0",
    },
  });
  fs.closeSync(log);
  // A forgotten stop() must not keep mocha alive.
  child.unref();

  const directoryUrl = `https://${opts.listenAddress}:${acmePort}/dir`;
  const management = `https://${opts.listenAddress}:${managementPort}`;
  const stop = stopper(child);
  try {
    await waitForDirectory(directoryUrl, tls.caPem, child, logFile, startTimeoutMs);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    directoryUrl,
    tlsCaPem: tls.caPem,
    tlsCaFile: tls.caFile,
    logFile,
    rootPem: () => get(`${management}/roots/0`, tls.caPem),
    intermediatePem: () => get(`${management}/intermediates/0`, tls.caPem),
    stop,
  };
}

/** A throwaway CA and a server certificate for `ip` (IP SAN): Debian's pebble ships no test certificates. */
async function makeHttpsCert(dir: string, ip: string): Promise<{ caPem: string; caFile: string; certFile: string; keyFile: string }> {
  const f = (n: string) => path.join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await check("openssl", [
    "req", "-x509", ...ec, "-keyout", f("https-ca.key"), "-out", f("https-ca.pem"), "-days", `${TLS_DAYS}`,
    "-subj", "/CN=redis-tls test pebble HTTPS CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await check("openssl", ["req", ...ec, "-keyout", f("https.key"), "-out", f("https.csr"), "-subj", "/CN=pebble"]);
  fs.writeFileSync(f("https.ext"), [
    `subjectAltName=IP:${ip}`, "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth", "",
  ].join("\n"));
  await check("openssl", [
    "x509", "-req", "-in", f("https.csr"), "-CA", f("https-ca.pem"), "-CAkey", f("https-ca.key"),
    "-set_serial", `0x${Date.now().toString(16)}`, "-days", `${TLS_DAYS}`, "-extfile", f("https.ext"), "-out", f("https.pem"),
  ]);
  return { caPem: fs.readFileSync(f("https-ca.pem"), "utf8"), caFile: f("https-ca.pem"), certFile: f("https.pem"), keyFile: f("https.key") };
}

async function waitForDirectory(url: string, ca: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const fail = (why: string) =>
    new Error(`[startPebble] pebble ${why}; its log ${logFile}:\n${fs.readFileSync(logFile, "utf8").trim()}`);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw fail(`exited (${child.exitCode ?? child.signalCode}) while starting`);
    try {
      if (JSON.parse(await get(url, ca)).newOrder) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw fail(`did not answer ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`[pebble] GET ${url}: HTTP ${res.statusCode}: ${body}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`[pebble] GET ${url}: timed out`)));
    req.on("error", reject);
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    })());
}
