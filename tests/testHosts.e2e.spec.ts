import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ensureImage, leftovers, startHosts, type TestHosts } from "./hosts";
import { check, run } from "./hosts/run";

const seconds = (since: bigint) => (Number(process.hrtime.bigint() - since) / 1e9).toFixed(1);

describe("test hosts: Debian under systemd-nspawn, reached over SSH", function () {
  this.timeout(20 * 60_000);
  const netnsDirExisted = fs.existsSync("/run/netns");
  let fixture: TestHosts | undefined;

  before(async function () {
    let t = process.hrtime.bigint();
    await ensureImage();
    console.log(`      image ready in ${seconds(t)} s`);
    t = process.hrtime.bigint();
    fixture = await startHosts(["alpha", "bravo"]);
    console.log(`      2 hosts up in ${seconds(t)} s`);
  });

  after(async () => fixture?.stop());

  it("boots each host with systemd as PID 1, its own hostname and redis-server running", async () => {
    for (const h of fixture!.hosts) {
      const r = await h.exec("ps -p 1 -o comm=; hostname; systemctl is-active redis-server.service");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split("\n"), ["systemd", h.name, "active"]);
    }
  });

  it("gives the hosts distinct addresses in separate network namespaces", async () => {
    const [a, b] = fixture!.hosts;
    assert.notEqual(a.address, b.address);
    const netns = await Promise.all(fixture!.hosts.map(async (h) => (await h.exec("readlink /proc/1/ns/net")).stdout.trim()));
    assert.match(netns[0], /^net:\[\d+\]$/);
    assert.notEqual(netns[0], netns[1]);
    assert.notEqual(netns[0], fs.readlinkSync("/proc/self/ns/net"));
    const addrs = (await a.exec("ip -4 -o addr show")).stdout;
    assert.match(addrs, new RegExp(`inet ${a.address.replace(/\./g, "\\.")}/30`));
    assert.doesNotMatch(addrs, new RegExp(b.address.replace(/\./g, "\\.")));
  });

  it("pins host keys: ssh with a known_hosts of another key is refused", async () => {
    const h = fixture!.hosts[0];
    const wrong = path.join(fixture!.runDir, "wrong_known_hosts");
    const notTheHostKey = (await check("ssh-keygen", ["-y", "-f", h.sshKeyFile])).trim();
    fs.writeFileSync(wrong, `${h.address} ${notTheHostKey}\n`);
    const opts = h.sshOptions.map((o) => (o === `UserKnownHostsFile=${h.knownHostsFile}` ? `UserKnownHostsFile=${wrong}` : o));
    const refused = await run("ssh", [...opts, `root@${h.address}`, "true"]);
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Host key verification failed/);
    const accepted = await run("ssh", [...h.sshOptions, `root@${h.address}`, "true"]);
    assert.equal(accepted.code, 0, accepted.stderr);
  });

  it("lets a host reach the machine's side of its veth (its gateway)", async () => {
    const h = fixture!.hosts[1];
    const received = new Promise<string>((resolve) => {
      const server = net.createServer((sock) => sock.on("data", (d) => (resolve(String(d).trim()), sock.end(), server.close())));
      server.listen(0, h.gateway, () => {
        const { port } = server.address() as net.AddressInfo;
        void h.exec(`echo "from ${h.name}" > /dev/tcp/${h.gateway}/${port}`);
      });
    });
    assert.equal(await received, `from ${h.name}`);
  });

  it("lets every host reach every other host of the run: sshd answers on its address", async () => {
    const { hosts } = fixture!;
    for (const from of hosts) {
      for (const to of hosts.filter((h) => h !== from)) {
        const r = await from.exec(`timeout 5 bash -c 'exec 3<>/dev/tcp/${to.address}/22 && head -c 8 <&3'`);
        assert.equal(r.code, 0, `${from.name} -> ${to.name} (${to.address}): ${r.stderr}`);
        assert.equal(r.stdout, "SSH-2.0-");
      }
    }
  });

  it("lets every host reach a server on one host's gateway (as an ACME server for all hosts would listen)", async () => {
    const { hosts } = fixture!;
    const gateway = hosts[0].gateway;
    const server = net.createServer();
    const received = new Set<string>();
    const allIn = new Promise<void>((resolve) =>
      server.on("connection", (sock) => sock.on("data", (d) => {
        received.add(String(d).trim());
        sock.end();
        if (received.size === hosts.length) resolve();
      })));
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const sent = await Promise.all(hosts.map((h) => h.exec(`echo "from ${h.name}" > /dev/tcp/${gateway}/${port}`, { timeoutMs: 10_000 })));
      for (const r of sent) assert.equal(r.code, 0, r.stderr);
      await allIn;
      assert.deepEqual([...received].sort(), hosts.map((h) => `from ${h.name}`).sort());
    } finally {
      server.close();
    }
  });

  it("routes only to the run's /30s: no default route, nothing else of 10.213.77.0/24", async () => {
    const { hosts } = fixture!;
    const net30 = (address: string) => `${address.replace(/\.\d+$/, "")}.${Number(address.split(".")[3]) & ~3}/30`;
    for (const h of hosts) {
      const r = await h.exec("ip -4 route show table all type unicast; ip -4 route show default");
      assert.equal(r.code, 0, r.stderr);
      const routes = r.stdout.trim().split("\n").map((l) => l.split(" ").slice(0, 3).join(" ")).sort();
      const expected = [
        `${net30(h.address)} dev ${h.machine}h`,
        ...hosts.filter((o) => o !== h).map((o) => `${net30(o.address)} via ${h.gateway}`),
      ].sort();
      assert.deepEqual(routes, expected, `routes of ${h.name}:\n${r.stdout}`);
      const outside = await h.exec("ip route get 192.0.2.1");
      assert.notEqual(outside.code, 0);
      assert.match(outside.stderr, /Network is unreachable/);
    }
  });

  it("stop() leaves no netns, link, cgroup, nspawn process or run dir, and /dev/null intact", async () => {
    const t = process.hrtime.bigint();
    await fixture!.stop();
    console.log(`      2 hosts torn down in ${seconds(t)} s`);
    assert.deepEqual(leftovers(), []);
    assert.equal(fs.existsSync("/run/netns"), netnsDirExisted);
    const devNull = fs.statSync("/dev/null");
    assert.ok(devNull.isCharacterDevice());
    assert.equal((devNull.mode & 0o777).toString(8), "666");
  });
});
