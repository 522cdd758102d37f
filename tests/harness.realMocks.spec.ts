// The e2e harness's own tests: for each resource type, the effect is real and
// matches the provider; state makes a second run change nothing.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runProgram, RunOptions, RunResult, whereAppears } from "./harness/runProgram";
import { startSshd, Sshd } from "./harness/sshd";

const FIXTURES = path.join(__dirname, "harness", "fixtures");
const tmpDirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "harness-spec-"));
  tmpDirs.push(d);
  return d;
}
after(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const run = (fixture: string, opts: Omit<RunOptions, "program">): Promise<RunResult> =>
  runProgram({ program: path.join(FIXTURES, fixture), ...opts });
const cfg = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [`redis-tls:${k}`, v]));
const resource = (r: RunResult, name: string) => {
  const found = r.resources.find((x) => x.name === name);
  assert.ok(found, `no resource ${name} in ${r.resources.map((x) => x.name)}`);
  return found;
};
const performed = (r: RunResult): string[] => r.resources.filter((x) => x.performed).map((x) => x.name).sort();
function ok(r: RunResult): RunResult {
  assert.ok(r.ok, `run failed: ${r.error}`);
  return r;
}
/** openssl with stdin, so private keys never reach a command line. */
const openssl = (args: string[], input: string): string =>
  execFileSync("openssl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });

describe("harness: command:local:Command", () => {
  it("runs create with stdin, environment and dir, trimming one trailing newline", async () => {
    const dir = tmp();
    const r = ok(await run("local.ts", {
      stateDir: tmp(),
      config: cfg({ create: `printf '%s|%s|%s\\n\\n' "$GREETING" "$TOKEN" "$(cat)"; pwd >&2`, stdin: "IN-SECRET", token: "TOK", dir }),
      secretKeys: ["redis-tls:stdin", "redis-tls:token"],
    }));
    assert.strictEqual(r.outputs.stdout, "hello|TOK|IN-SECRET\n");
    assert.strictEqual(r.outputs.stderr, dir);
    const cmd = resource(r, "w-cmd");
    assert.deepStrictEqual([cmd.performed, cmd.secretInputs.sort()], [true, ["environment", "stdin"]]);
    assert.ok(cmd.secretOutputs.includes("stdin") && !cmd.secretOutputs.includes("stdout"), "secretness follows the provider's wiring");
    const wrapper = resource(r, "w");
    assert.deepStrictEqual([wrapper.type, wrapper.performed], ["harness:fixtures:Wrapper", false]);
    assert.match(r.log, /\[w-cmd stderr\] \//);
  });

  it("fails the run with the exit status, the command and its stderr", async () => {
    const r = await run("local.ts", { stateDir: tmp(), config: cfg({ create: "echo partial; echo boom >&2; exit 3" }) });
    assert.strictEqual(r.ok, false);
    assert.match(r.error ?? "", /exit status 3: running "echo partial; echo boom >&2; exit 3":\npartial\nboom/);
    assert.match(resource(r, "w-cmd").error ?? "", /boom/);
  });

  it("keeps stdout out of the log when logging is none", async () => {
    const r = ok(await run("local.ts", { stateDir: tmp(), config: cfg({ create: "echo hidden-value", logging: "none" }) }));
    assert.strictEqual(r.outputs.stdout, "hidden-value");
    assert.deepStrictEqual(whereAppears(r, "hidden-value").filter((w) => w === "log"), []);
  });
});

describe("harness: tls:* resources", () => {
  let r: RunResult;
  let stateDir: string;
  const out = (k: string): string => String(r.outputs[k]);
  before(async () => {
    stateDir = tmp();
    r = ok(await run("tls.ts", { stateDir }));
  });

  it("PrivateKey: formats, algorithms and defaults as the provider", () => {
    assert.match(out("caKeyPem"), /^-----BEGIN EC PRIVATE KEY-----/);
    assert.match(openssl(["pkey", "-noout", "-text"], out("caKeyPem")), /NIST CURVE: P-256/);
    assert.strictEqual(r.outputs.defaultCurve, "P224");
    assert.match(openssl(["pkey", "-noout", "-text"], out("defaultKeyPem")), /NIST CURVE: P-224/);
    assert.strictEqual(r.outputs.defaultKeyOpenssh, "", "x/crypto/ssh has no P-224, so the provider leaves it empty");
    assert.match(out("serverKeyPem"), /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.match(out("serverKeyPkcs8"), /^-----BEGIN PRIVATE KEY-----/);
    assert.strictEqual(crypto.createPrivateKey(out("serverKeyPem")).asymmetricKeyDetails?.modulusLength, 2048);
    assert.match(out("edKeyPem"), /^-----BEGIN PRIVATE KEY-----/);
    assert.strictEqual(crypto.createPrivateKey(out("edKeyPem")).asymmetricKeyType, "ed25519");
    const d = tmp();
    fs.writeFileSync(path.join(d, "id"), out("edKeyOpenssh"), { mode: 0o600 });
    const pub = execFileSync("ssh-keygen", ["-y", "-f", path.join(d, "id")], { encoding: "utf8" });
    assert.strictEqual(pub.split(" ").slice(0, 2).join(" ").trim(), out("edPublicOpenssh").trim());
    fs.writeFileSync(path.join(d, "id.pub"), out("edPublicOpenssh"));
    assert.match(execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", path.join(d, "id.pub")], { encoding: "utf8" }), new RegExp(out("edFingerprint").replace(/[+/]/g, "\\$&")));
  });

  it("marks the outputs the provider schema calls sensitive as secret", () => {
    for (const k of ["caKeyPem", "serverKeyPem", "serverKeyPkcs8", "edKeyOpenssh"]) assert.ok(r.secretOutputs.includes(k), k);
    for (const k of ["caCertPem", "serverPublicKeyPem", "serverCertPem"]) assert.ok(!r.secretOutputs.includes(k), k);
  });

  it("SelfSignedCert: CA flag, key usages, subject and validity in hours", () => {
    const text = openssl(["x509", "-noout", "-text"], out("caCertPem"));
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /Subject: O = redis-tls, CN = Harness CA/);
    assert.match(text, /Subject Key Identifier/);
    const ca = new crypto.X509Certificate(out("caCertPem"));
    assert.strictEqual(Date.parse(ca.validTo) - Date.parse(ca.validFrom), 48 * 3600_000);
    assert.ok(Math.abs(Date.parse(out("caValidityEnd")) - Date.parse(ca.validTo)) < 1000);
    assert.strictEqual(r.outputs.caReadyForRenewal, false);
  });

  it("CertRequest: subject and SANs, self-signature verifies", () => {
    const text = openssl(["req", "-noout", "-text", "-verify"], out("csrPem"));
    assert.match(text, /Subject: O = redis-tls, CN = redis-1/);
    assert.match(text, /DNS:redis-1, DNS:redis-1.internal, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1/);
  });

  it("LocallySignedCert: subject and SANs from the CSR, usages, validity, and a chain that verifies", () => {
    const leaf = new crypto.X509Certificate(out("serverCertPem"));
    const ca = new crypto.X509Certificate(out("caCertPem"));
    assert.match(leaf.subject, /CN=redis-1/);
    assert.strictEqual(leaf.subjectAltName, "DNS:redis-1, DNS:redis-1.internal, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    assert.ok(leaf.publicKey.equals(crypto.createPublicKey(out("serverPublicKeyPem"))));
    assert.deepStrictEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    assert.strictEqual(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom), 24 * 3600_000);
    assert.ok(Math.abs(Date.parse(out("serverValidityStart")) - Date.parse(leaf.validFrom)) < 1000);
    const text = openssl(["x509", "-noout", "-text"], out("serverCertPem"));
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    const caSki = /Subject Key Identifier:\s+(\S+)/.exec(openssl(["x509", "-noout", "-text"], out("caCertPem")))?.[1];
    assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caSki}`));
    const d = tmp();
    fs.writeFileSync(path.join(d, "ca.pem"), out("caCertPem"));
    fs.writeFileSync(path.join(d, "leaf.pem"), out("serverCertPem"));
    assert.match(execFileSync("openssl", ["verify", "-CAfile", path.join(d, "ca.pem"), path.join(d, "leaf.pem")], { encoding: "utf8" }), /leaf.pem: OK/);
  });

  it("keeps state 0600 and, on a second run with the same inputs, performs nothing and returns the same outputs", async () => {
    assert.strictEqual(fs.statSync(path.join(stateDir, "state.json")).mode & 0o777, 0o600);
    const again = ok(await run("tls.ts", { stateDir }));
    assert.deepStrictEqual(performed(again), []);
    assert.deepStrictEqual(again.outputs, r.outputs);
    assert.deepStrictEqual(again.secretOutputs.sort(), r.secretOutputs.sort());
  });

  it("performs again only the resource whose inputs changed", async () => {
    const changed = ok(await run("tls.ts", { stateDir, config: cfg({ leafHours: "12" }) }));
    assert.deepStrictEqual(performed(changed), ["server-cert"]);
    assert.strictEqual(changed.outputs.caCertPem, r.outputs.caCertPem);
    const leaf = new crypto.X509Certificate(String(changed.outputs.serverCertPem));
    assert.strictEqual(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom), 12 * 3600_000);
  });
});

describe("harness: state and preview for commands", () => {
  it("runs create, then update with the previous stdout, then create again when triggers change", async () => {
    const stateDir = tmp();
    const base = { create: "echo created", update: `echo "updated after $PULUMI_COMMAND_STDOUT"` };
    const first = ok(await run("local.ts", { stateDir, config: cfg(base) }));
    assert.strictEqual(first.outputs.stdout, "created");
    const same = ok(await run("local.ts", { stateDir, config: cfg(base) }));
    assert.deepStrictEqual([performed(same), same.outputs], [[], first.outputs]);
    const updated = ok(await run("local.ts", { stateDir, config: cfg({ ...base, update: `echo "updated after $PULUMI_COMMAND_STDOUT."` }) }));
    assert.deepStrictEqual([updated.outputs.stdout, updated.outputs.id], ["updated after created.", first.outputs.id]);
    const replaced = ok(await run("local.ts", { stateDir, config: cfg({ ...base, trigger: "2" }) }));
    assert.strictEqual(replaced.outputs.stdout, "created");
    assert.notStrictEqual(replaced.outputs.id, first.outputs.id);
  });

  it("a preview performs nothing, leaves computed outputs unknown and writes no state", async () => {
    const stateDir = tmp();
    const marker = path.join(tmp(), "ran");
    const r = ok(await run("local.ts", { stateDir, preview: true, config: cfg({ create: `touch ${marker}` }) }));
    assert.strictEqual(fs.existsSync(marker), false);
    assert.strictEqual(r.outputs.stdout, "<unknown>");
    assert.strictEqual(fs.existsSync(path.join(stateDir, "state.json")), false);
  });

  it("orders by dependsOn, and a failed resource stops what depends on it but not the rest", async () => {
    const file = path.join(tmp(), "first.txt");
    const r = await run("chain.ts", { stateDir: tmp(), config: cfg({ file }) });
    assert.strictEqual(r.ok, false);
    assert.match(r.error ?? "", /^command:local:Command broken: exit status 4: running "echo broken >&2; exit 4":\nbroken\n$/);
    assert.strictEqual(r.outputs.secondStdout, "first");
    assert.deepStrictEqual(r.resources.map((x) => x.name).sort(), ["broken", "first", "second"]);
  });

  it("fails loudly for a resource type it has no effect for", async () => {
    const r = await run("unknownType.ts", { stateDir: tmp() });
    assert.strictEqual(r.ok, false);
    assert.match(r.error ?? "", /the harness has no real effect for harness:test:Nothing/);
  });
});

describe("harness: command:remote:* over ssh to a loopback sshd", () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => sshd?.stop());
  const remote = (extra: Record<string, string>, opts: Partial<RunOptions> = {}, server = sshd): Promise<RunResult> =>
    run("remote.ts", {
      stateDir: opts.stateDir ?? tmp(),
      knownHostsFile: server.knownHostsFile,
      config: cfg({ host: server.host, port: String(server.port), privateKey: server.clientKey.privateKeyPem, ...extra }),
      secretKeys: ["redis-tls:privateKey", "redis-tls:stdin", "redis-tls:token"],
      ...opts,
    });

  it("runs create with stdin and environment and returns trimmed stdout and stderr", async () => {
    const r = ok(await remote({
      create: `printf '%s|%s|%s' "$TOKEN" "$PLAIN" "$(cat)"; echo; echo to-stderr >&2`, stdin: "STDIN-SECRET", token: "TOKEN-SECRET",
    }));
    assert.deepStrictEqual([r.outputs.stdout, r.outputs.stderr], ["TOKEN-SECRET|plain value|STDIN-SECRET", "to-stderr"]);
    assert.ok(resource(r, "remote-cmd").secretOutputs.includes("connection"));
  });

  it("logs in with an OpenSSH-format key too", async () => {
    const r = ok(await remote({ create: "id -un", privateKey: sshd.clientKey.privateKeyOpenssh }));
    assert.strictEqual(r.outputs.stdout, "root");
  });

  it("fails with the exit status and stderr", async () => {
    const r = await remote({ create: "echo nope >&2; exit 7" });
    assert.strictEqual(r.ok, false);
    assert.match(r.error ?? "", /Process exited with status 7: running "echo nope >&2; exit 7":\nnope/);
  });

  it("never puts stdin, environment or key material on any local command line", async () => {
    const secrets = ["STDIN-SECRET-7f3a", "TOKEN-SECRET-9c1e", sshd.clientKey.privateKeyPem.split("\n")[1].slice(0, 40)];
    const pending = remote({ create: `cat >/dev/null; sleep 2; echo "$TOKEN" | wc -c`, stdin: secrets[0], token: secrets[1] });
    let done = false;
    void pending.finally(() => (done = true));
    const seen = { sleep: false, ssh: false };
    const leaks: string[] = [];
    while (!done) {
      for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        let argv: string;
        try {
          argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
          continue;
        }
        if (argv.startsWith("sleep 2")) seen.sleep = true;
        if (argv.startsWith("ssh ") && argv.includes(`-p ${sshd.port}`)) seen.ssh = true;
        for (const s of secrets) if (argv.includes(s)) leaks.push(`${pid}: ${argv}`);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    ok(await pending);
    assert.deepStrictEqual(seen, { sleep: true, ssh: true }, "the scan must overlap the command");
    assert.deepStrictEqual(leaks, []);
  });

  it("does not run the command again on a second run with the same inputs", async () => {
    const stateDir = tmp();
    const file = path.join(tmp(), "runs.log");
    await remote({ create: `echo ran >> ${file}` }, { stateDir }).then(ok);
    const second = ok(await remote({ create: `echo ran >> ${file}` }, { stateDir }));
    assert.deepStrictEqual(performed(second), []);
    assert.strictEqual(fs.readFileSync(file, "utf8"), "ran\n");
  });

  it("CopyToRemote copies StringAsset, FileAsset and FileArchive, and again only when the content changes", async () => {
    const src = tmp();
    const dest = tmp();
    fs.writeFileSync(path.join(src, "file.txt"), "file asset\n");
    fs.mkdirSync(path.join(src, "tree", "sub"), { recursive: true });
    fs.writeFileSync(path.join(src, "tree", "sub", "a.txt"), "a\n");
    const stateDir = tmp();
    const copy = { create: "true", copyTo: dest, copyFile: path.join(src, "file.txt"), copyDir: path.join(src, "tree") };
    const first = ok(await remote(copy, { stateDir }));
    assert.deepStrictEqual(performed(first), ["copy-dir", "copy-file", "copy-text", "remote-cmd"]);
    assert.strictEqual(fs.readFileSync(path.join(dest, "text.conf"), "utf8"), "text asset\n");
    assert.strictEqual(fs.readFileSync(path.join(dest, "file.txt"), "utf8"), "file asset\n");
    assert.strictEqual(fs.readFileSync(path.join(dest, "tree", "sub", "a.txt"), "utf8"), "a\n");
    assert.deepStrictEqual(performed(ok(await remote(copy, { stateDir }))), []);
    fs.writeFileSync(path.join(src, "file.txt"), "changed\n");
    assert.deepStrictEqual(performed(ok(await remote(copy, { stateDir }))), ["copy-file"]);
    assert.strictEqual(fs.readFileSync(path.join(dest, "file.txt"), "utf8"), "changed\n");
  });

  it("verifies the host key when connection.hostKey is given", async () => {
    const otherKey = sshd.clientKey.publicKeyOpenssh.trim();
    const r = await remote({ create: "true", hostKey: otherKey }, { knownHostsFile: undefined });
    assert.strictEqual(r.ok, false);
    // As the provider: x/crypto/ssh's error, after its dial retries.
    assert.match(r.error ?? "", /after 10 failed attempts: ssh: handshake failed: ssh: host key mismatch/);
    ok(await remote({ create: "true", hostKey: sshd.hostKey }, { knownHostsFile: undefined }));
  });

  it("with remoteEnvironment setenv, a variable sshd's AcceptEnv refuses fails the command, as the provider's Setenv does", async () => {
    const create = `printf '[%s][%s]' "$TOKEN" "$PLAIN"`;
    const refused = await remote({ create, token: "T" }, { remoteEnvironment: "setenv" });
    assert.strictEqual(refused.ok, false);
    assert.match(refused.error ?? "", /could not set environment variable "(TOKEN|PLAIN)": ssh: setenv failed/);
    const accepting = await startSshd({ acceptEnv: ["TOKEN", "PLAIN"] });
    try {
      const passed = ok(await remote({ create, token: "T" }, { remoteEnvironment: "setenv" }, accepting));
      assert.strictEqual(passed.outputs.stdout, "[T][plain value]");
    } finally {
      await accepting.stop();
    }
  });
});

describe("harness: the engine's lifecycle (updates, replacements, deletes, resource options)", () => {
  const lines = (file: string): string[] => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : []);
  let stateDir: string;
  let log: string;
  const up = (o: Record<string, string>) => run("lifecycle.ts", { stateDir, config: cfg({ log, ...o }) });
  beforeEach(() => {
    stateDir = tmp();
    log = path.join(tmp(), "log");
  });

  it("deletes a removed resource at the end of the run, with its old stdin and its last stdout", async () => {
    ok(await up({ names: '["a","b"]' }));
    const second = ok(await up({ names: '["a"]', stdin: "v2" }));
    // a and b are created concurrently, as the engine does; the delete comes after every other step.
    assert.deepStrictEqual([...lines(log).slice(0, 2).sort(), ...lines(log).slice(2)], ["create a v1", "create b v1", "create a v2", "delete b v1 after [create b v1]"]);
    assert.deepStrictEqual(second.resources.filter((r) => r.step === "delete").map((r) => [r.name, r.performed]), [["b", true]]);
    assert.deepStrictEqual(performed(ok(await up({ names: '["a"]', stdin: "v2" }))), []);
  });

  it("a renamed or re-parented resource is created anew before the old one's delete runs", async () => {
    ok(await up({ names: '["a"]' }));
    ok(await up({ names: '["c"]' }));
    ok(await up({ names: '["c"]', group: "g1" }));
    assert.deepStrictEqual(lines(log), ["create a v1", "create c v1", "delete a v1 after [create a v1]", "create c v1", "delete c v1 after [create c v1]"]);
  });

  it("a trigger change replaces: the new resource is created, then the old one deleted with its old inputs", async () => {
    ok(await up({ names: '["a"]' }));
    const replaced = ok(await up({ names: '["a"]', trigger: "2", stdin: "v2" }));
    assert.deepStrictEqual(lines(log), ["create a v1", "create a v2", "delete a v1 after [create a v1]"]);
    assert.deepStrictEqual(replaced.resources.map((r) => `${r.name}:${r.step}`), ["a:replace", "a:delete"]);
  });

  it("retainOnDelete: a removed resource leaves state without its delete; ignoreChanges: no step at all", async () => {
    ok(await up({ names: '["a","b"]' }));
    const ignored = ok(await up({ names: '["a","b"]', stdin: "v2", trigger: "2", ignore: "true", retain: "true" }));
    assert.deepStrictEqual(performed(ignored), []);
    ok(await up({ names: '["a"]', ignore: "true", retain: "true" }));
    assert.deepStrictEqual(lines(log).sort(), ["create a v1", "create b v1"]);
    assert.equal(JSON.stringify(JSON.parse(fs.readFileSync(path.join(stateDir, "state.json"), "utf8")).resources).includes("::b\""), false);
  });

  it("a failed delete fails the run and is tried again on the next one", async () => {
    ok(await up({ names: '["a","b"]' }));
    try {
      // The tests run as root, who ignores modes: a directory in the log's place makes the delete fail.
      fs.renameSync(log, `${log}.keep`);
      fs.mkdirSync(log);
      const failed = await up({ names: '["a"]' });
      assert.strictEqual(failed.ok, false);
      assert.match(failed.error ?? "", /command:local:Command b \(delete\): exit status 2: running "echo/);
      fs.rmdirSync(log);
      fs.renameSync(`${log}.keep`, log);
      const retried = ok(await up({ names: '["a"]' }));
      assert.deepStrictEqual(retried.resources.filter((r) => r.performed).map((r) => `${r.name}:${r.step}`), ["b:delete"]);
    } finally {
      if (fs.existsSync(`${log}.keep`)) fs.renameSync(`${log}.keep`, `${log}.restored`);
    }
  });
});

describe("harness: LocallySignedCert re-signs only when the stored CSR is strict PEM, as terraform-provider-tls", () => {
  const newCsr = (name: string): string =>
    execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj", `/CN=${name}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const serial = (r: RunResult): string => new crypto.X509Certificate(String(r.outputs.certPem)).serialNumber;

  it("a CSR printed after a banner or with CRLF updates in place and keeps the old certificate; a strict one is replaced", async () => {
    const stateDir = tmp();
    const sign = (csr: string) => run("csr.ts", { stateDir, config: cfg({ csr }) });
    const first = ok(await sign(`Welcome to redis-1\n${newCsr("one")}`));
    const kept = ok(await sign(newCsr("two").replace(/\n/g, "\r\n")));
    assert.strictEqual(serial(kept), serial(first), "the stored CSR had a banner: updated in place, old certificate kept");
    const keptAgain = ok(await sign(newCsr("three")));
    assert.strictEqual(serial(keptAgain), serial(first), "the stored CSR had CRLF line ends: updated in place again");
    const replaced = ok(await sign(newCsr("four")));
    assert.notStrictEqual(serial(replaced), serial(first), "the stored CSR was strict PEM: re-signed");
    assert.match(String(replaced.outputs.certPem), /BEGIN CERTIFICATE/);
    assert.strictEqual(new crypto.X509Certificate(String(replaced.outputs.certPem)).subject, "CN=four");
  });
});

describe("harness: secrets and clock as the engine and the provider have them", () => {
  it("a secret create or stdin does not make a command's stdout secret; the program's additionalSecretOutputs does", async () => {
    const r = ok(await run("local.ts", { stateDir: tmp(), config: cfg({ create: "cat", stdin: "S" }), secretKeys: ["redis-tls:stdin"] }));
    const cmd = resource(r, "w-cmd");
    assert.ok(cmd.secretOutputs.includes("stdin"));
    assert.ok(!cmd.secretOutputs.includes("stdout"));
    const asked = ok(await run("local.ts", { stateDir: tmp(), config: cfg({ create: "cat", stdin: "S", secretStdout: "true" }) }));
    assert.ok(resource(asked, "w-cmd").secretOutputs.includes("stdout"));
    assert.ok(asked.secretOutputs.includes("stdout"));
  });

  it("moves the program's clock by clockOffsetMs for the whole run, also in later turns, and not the effects'", async () => {
    const r = ok(await run("clock.ts", { stateDir: tmp(), clockOffsetMs: 10 * 86_400_000 }));
    assert.ok(Math.abs(Number(r.outputs.now) - (Date.now() + 10 * 86_400_000)) < 60_000);
    assert.ok(Math.abs(Number(r.outputs.later) - (Date.now() + 10 * 86_400_000)) < 60_000);
    // The certificate is made by the provider, whose clock is the real one.
    assert.ok(Math.abs(Date.parse(String(r.outputs.certStart)) - Date.now()) < 60_000, String(r.outputs.certStart));
  });
});
