import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { legoRenew, legoRun, startPebble, validatePebbleOptions, type LegoTarget, type Pebble } from "./acme";
import { DEFAULT_PACKAGES, startHosts, type TestHost, type TestHosts } from "./hosts";

// Debian's lego (4.9.1) on a real test host against Debian's pebble (2.4.0) on the host's gateway.
// The facts these prove are the ones tests/acme/README.md gives the components.
describe("ACME with pebble: lego on a test host obtains and renews a certificate", function () {
  this.timeout(10 * 60_000);
  let fixture: TestHosts | undefined;
  let pebble: Pebble | undefined;
  let workDir: string;
  let host: TestHost;
  let target: LegoTarget;
  const certs = "/var/lib/acme-test/certificates";
  const crt = `${certs}/acme1.test.crt`;
  const key = `${certs}/acme1.test.key`;

  const sh = async (cmd: string) => {
    const r = await host.exec(cmd, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${cmd}\n${r.stderr}`);
    return r.stdout;
  };
  const serial = () => sh(`openssl x509 -noout -serial -in ${crt}`);
  const publicKey = () => sh(`openssl x509 -noout -pubkey -in ${crt}`);

  before(async () => {
    fixture = await startHosts(["acme1"], { packages: [...DEFAULT_PACKAGES, "lego", "python3-redis"] });
    host = fixture.hosts[0];
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-pebble-"));
    pebble = await startPebble({ listenAddress: host.gateway, workDir });
    const r = await host.exec("install -d -m 0755 /etc/acme-test && cat > /etc/acme-test/pebble-https-ca.pem", { stdin: pebble.tlsCaPem });
    assert.equal(r.code, 0, r.stderr);
    target = { server: pebble.directoryUrl, caFile: "/etc/acme-test/pebble-https-ca.pem", domain: "acme1.test", path: "/var/lib/acme-test" };
  });

  after(async () => {
    await pebble?.stop();
    await fixture?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("obtains a certificate for a DNS name whose chain verifies to pebble's root", async () => {
    const r = await host.exec(legoRun(target), { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[acme1\.test\] Server responded with a certificate\./);

    const modes = await sh(`stat -c '%a %n' ${certs} ${certs}/*`);
    assert.deepEqual(modes.trim().split("\n").sort(), [
      `600 ${certs}/acme1.test.crt`, `600 ${certs}/acme1.test.issuer.crt`,
      `600 ${certs}/acme1.test.json`, `600 ${certs}/acme1.test.key`, `700 ${certs}`,
    ]);
    // <name>.crt is leaf + intermediate (no root); <name>.issuer.crt is the intermediate alone.
    assert.equal((await sh(`grep -c 'BEGIN CERTIFICATE' ${crt}`)).trim(), "2");
    assert.match(await sh(`openssl x509 -noout -ext subjectAltName -in ${crt}`), /DNS:acme1\.test\s*$/);

    await host.exec("cat > /etc/acme-test/pebble-root.pem", { stdin: await pebble!.rootPem() });
    // -untrusted: openssl verify reads only the first certificate of the file it checks.
    const verified = await host.exec(`openssl verify -CAfile /etc/acme-test/pebble-root.pem -untrusted ${crt} ${crt}`);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.stdout.trim(), `${crt}: OK`);
  });

  it("renew before the window exits 0, says 'no renewal.' and leaves the files alone", async () => {
    const before = await sh(`sha256sum ${certs}/*`);
    const r = await host.exec(legoRenew(target, 30), { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    // Pebble's default lifetime is 157766400 s (1826 days); lego rounds the days left down.
    assert.match(r.stderr, /\[acme1\.test\] The certificate expires in 1825 days, the number of days defined to perform the renewal is 30: no renewal\.\n$/);
    assert.equal(await sh(`sha256sum ${certs}/*`), before);
  });

  it("renew --reuse-key inside the window gives a new serial with the same key", async () => {
    const [oldSerial, oldPublicKey, oldKey] = [await serial(), await publicKey(), await sh(`sha256sum < ${key}`)];
    const r = await host.exec(legoRenew(target, 1825), { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /acme: Trying renewal with \d+ hours remaining/);
    assert.match(r.stderr, /\[acme1\.test\] Server responded with a certificate\./);
    assert.notEqual(await serial(), oldSerial);
    assert.equal(await publicKey(), oldPublicKey);
    assert.equal(await sh(`sha256sum < ${key}`), oldKey, "--reuse-key must keep the key file byte-identical");
    const verified = await host.exec(`openssl verify -CAfile /etc/acme-test/pebble-root.pem -untrusted ${crt} ${crt}`);
    assert.equal(verified.code, 0, verified.stderr);
  });

  it("renew against a stopped pebble exits 1 with 'connection refused' and keeps the certificate", async () => {
    const before = await sh(`sha256sum ${certs}/*`);
    await pebble!.stop();
    const r = await host.exec(legoRenew(target, 1825), { timeoutMs: 120_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Could not create client: get directory at '[^']+': .*connect: connection refused/);
    assert.equal(await sh(`sha256sum ${certs}/*`), before);
  });
});

describe("startPebble input validation", () => {
  const table: Array<[Parameters<typeof validatePebbleOptions>[0], string]> = [
    [{ listenAddress: "localhost", workDir: "/tmp/p" }, `[listenAddress] "localhost" is not an IPv4 address; use a TestHost.gateway`],
    [{ listenAddress: "10.213.77.1", workDir: "p" }, `[workDir] "p" is not an absolute path; use e.g. fs.mkdtempSync(...)`],
    [{ listenAddress: "10.213.77.1", workDir: "/tmp/p", certificateValiditySeconds: 0 }, "[certificateValiditySeconds] 0 is not a positive whole number of seconds; use e.g. 3600"],
  ];
  for (const [opts, message] of table) {
    it(`rejects ${JSON.stringify(opts)}`, () => assert.throws(() => validatePebbleOptions(opts), { message }));
  }
});
