import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import type { AppConnection } from "../components";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { startHosts, TestHost, TestHosts } from "./hosts";
import { IDENTITY_IMAGES } from "./support/serverImages";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const SLOT_MS = 480 * 3_600_000;
const IMAGES = IDENTITY_IMAGES;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const image of IMAGES) {
    // `pulumi up` of the default program with one primary and two replicas (hosts[].replicaOf), on
    // real hosts: replication over the TLS-only port, as an identity that may only replicate.
    describe(`a primary and two replicas over TLS on ${image.label}`, function () {
        this.timeout(10 * 60_000);
        let fixture: TestHosts;
        let hosts: TestHost[];
        let stateDir: string;
        let first: RunResult;
        const service = `${image.flavor}-server`;
        const cli = `${image.flavor}-cli`;
        const socket = `/run/${image.flavor}/${service}.sock`;
        const names = ["rp0", "rp1", "rp2"];

        const config = () => ({
            "redis-tls:hosts": JSON.stringify(
                hosts.map((h, i) => ({
                    name: names[i], address: h.address, hostKey: h.hostKey, dnsNames: [`${names[i]}.test`], ipAddresses: [h.address], ...(i > 0 ? { replicaOf: "rp0" } : {}),
                })),
            ),
            "redis-tls:flavor": image.flavor,
            "redis-tls:sshPrivateKey": hosts[0].privateKeyPem,
        });
        const up = (clockOffsetMs?: number) =>
            runProgram({ program: PROGRAM, config: config(), secretKeys: ["redis-tls:sshPrivateKey"], stateDir, remoteEnvironment: "setenv", clockOffsetMs });
        const sh = async (host: TestHost, command: string) => {
            const r = await host.exec(command);
            assert.equal(r.code, 0, `${command}: ${r.stderr}`);
            return r.stdout.trim();
        };
        /** A command as redis-tls's admin, over the host's root-only socket. */
        const admin = (host: TestHost, args: string) => sh(host, `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) ${cli} -s ${socket} --user redis-tls-admin ${args}`);
        const info = async (host: TestHost, section: string) => {
            const text = await admin(host, `INFO ${section}`);
            return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]));
        };
        const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000) => {
            const end = Date.now() + ms;
            while (!(await ok())) {
                if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
                await sleep(200);
            }
        };
        const pid = (host: TestHost) => sh(host, `systemctl show -p MainPID --value ${service}`);

        /** A server of the test's own on the last host, replicating from `replicaof` (default: the primary), logging to a file. */
        const rogue = async (name: string, cert: string, key: string, password: string, o: { port?: number; replicaof?: string } = {}) => {
            const host = hosts[2];
            await sh(host, `rm -rf /root/${name} && install -d -m 700 /root/${name} && umask 077 && cat > /root/${name}/rogue.conf <<EOF
port 0
tls-port ${o.port ?? 6390}
bind 127.0.0.1
dir /root/${name}
tls-cert-file ${cert}
tls-key-file ${key}
tls-ca-cert-file /etc/redis-tls/live/ca.crt
tls-replication yes
masteruser redis-tls-replica
masterauth ${password}
${o.replicaof === "" ? "" : `replicaof ${o.replicaof ?? `${hosts[0].address} 6379`}`}
logfile /root/${name}/log
EOF
systemd-run --unit ${name} --collect ${image.flavor}-server /root/${name}/rogue.conf`);
            const rcli = `${cli} --tls --cacert /etc/redis-tls/live/ca.crt --cert /etc/redis-tls/live/redis.crt --key /etc/redis-tls/live/redis.key --insecure -h 127.0.0.1 -p ${o.port ?? 6390}`;
            const status = async () => (await sh(host, `${rcli} INFO replication 2>&1 || true`)).match(/master_link_status:(\w+)/)?.[1];
            return { status, log: () => sh(host, `cat /root/${name}/log`), stop: () => sh(host, `systemctl stop ${name} || true`) };
        };
        const password = () => sh(hosts[2], "sed -n 's/^masterauth \"\\(.*\\)\"$/\\1/p' /etc/redis-tls/redis-tls.conf");

        before(async function () {
            fixture = await startHosts(names, image.spec);
            hosts = fixture.hosts;
            assert.match(await sh(hosts[0], `${image.flavor}-server --version`), image.version);
            stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-state-"));
            first = await up();
            assert.ok(first.ok, `${first.error}\n${first.log.slice(-3000)}`);
        });

        after(async () => {
            await fixture?.stop();
            if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
        });

        it("a write on the primary is read on each replica, whose link is up to the primary's TLS-only port", async () => {
            assert.equal((await admin(hosts[0], "CONFIG GET port")).split("\n")[1], "0", "the primary has no plaintext port, so the link can only be TLS");
            assert.equal(await admin(hosts[0], "SET app:replicated yes"), "OK");
            for (const replica of hosts.slice(1)) {
                await until(`the write reaches ${replica.address}`, async () => (await admin(replica, "GET app:replicated")) === "yes");
                const r = await info(replica, "replication");
                assert.equal(r.role, "slave");
                assert.equal(r.master_host, hosts[0].address);
                assert.equal(r.master_port, "6379");
                assert.equal(r.master_link_status, "up");
            }
            const p = await info(hosts[0], "replication");
            assert.equal(p.role, "master");
            assert.equal(p.connected_slaves, "2");
            // The state records which host is which, for the applications.
            const servers = first.outputs.servers as Record<string, { replicaOf?: string }>;
            assert.deepEqual(names.map((n) => servers[n].replicaOf), [undefined, "rp0", "rp0"]);
        });

        it("an application reads on a replica verifying its name, and a write there is refused (READONLY)", async () => {
            const app = (first.outputs.apps as Record<string, AppConnection>).app;
            const io = new Redis({
                host: hosts[1].address, port: 6379, username: app.username, password: app.password,
                tls: { ca: app.caPem, cert: app.certPem, key: app.keyPem, servername: "rp1.test" },
                enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true,
            });
            io.on("error", () => undefined);
            try {
                await io.connect();
                assert.equal(await io.get("app:replicated"), "yes");
                assert.match(await io.set("app:x", "1").then(String, (e: Error) => e.message), /^READONLY/);
            } finally {
                io.disconnect();
            }
        });

        it("the replication password is a secret, in no command text or log, and on the hosts only in the root:group 0640 drop-in", async () => {
            const line = await sh(hosts[1], "grep '^masterauth ' /etc/redis-tls/redis-tls.conf");
            const password = JSON.parse(line.slice("masterauth ".length)) as string;
            assert.match(password, /^[0-9a-f]{64}$/);
            const made = first.resources.find((r) => r.name === "redis-replication-rp0-password")!;
            assert.ok(made.secretOutputs.includes("stdout"));
            // Only where it is made and on the members' stdin, both secret.
            assert.deepEqual(
                whereAppears(first, password).filter((w) => !/^command:local:Command redis-replication-rp0-password outputs\.stdout$/.test(w) && !/^command:remote:Command redis-rp\d-config-install inputs\.stdin$/.test(w)),
                [],
            );
            for (const n of names) assert.ok(first.resources.find((r) => r.name === `${n.replace(/^/, "redis-")}-config-install`)!.secretInputs.includes("stdin"));
            for (const host of hosts) {
                assert.equal(await sh(host, "stat -c '%U:%G %a' /etc/redis-tls/redis-tls.conf"), `root:${image.flavor} 640`);
                // Nowhere else on the host: users.acl has only its hash, and no log or temporary file has it.
                assert.equal(await sh(host, `grep -rlF -D skip -e ${password} /etc /run /tmp /var/log /var/lib/redis-tls 2>/dev/null || true`), "/etc/redis-tls/redis-tls.conf");
                assert.equal(await sh(host, `journalctl --no-pager | grep -cF -e ${password} || true`), "0");
            }
        });

        it("the replication identity may only replicate: PING answers, keys and admin commands are refused", async () => {
            // As a replica would log in: its own certificate, the replication user and password, over TLS.
            const login = `REDISCLI_AUTH=$(sed -n 's/^masterauth "\\(.*\\)"$/\\1/p' /etc/redis-tls/redis-tls.conf) ${cli} --tls --cacert /etc/redis-tls/live/ca.crt --cert /etc/redis-tls/live/redis.crt --key /etc/redis-tls/live/redis.key --sni rp0.test -h ${hosts[0].address} -p 6379 --user redis-tls-replica`;
            assert.equal(await sh(hosts[1], `${login} PING`), "PONG");
            for (const cmd of ["GET app:replicated", "KEYS *", "CONFIG GET dir", "ACL LIST", "REPLICAOF NO ONE", "FLUSHALL"]) {
                assert.match(await sh(hosts[1], `${login} ${cmd} 2>&1`), /NOPERM/, cmd);
            }
        });

        describe("a server that is not a member cannot attach", () => {
            it("with the member's certificate and the password it attaches (the control), with a wrong password it does not", async () => {
                // A rogue that is a plain server (no users.acl): its default user answers the status queries.
                const good = await rogue("rogue-good", "/etc/redis-tls/live/redis.crt", "/etc/redis-tls/live/redis.key", await password());
                try {
                    await until("the control attaches", async () => (await good.status()) === "up");
                } finally {
                    await good.stop();
                }
                const wrong = await rogue("rogue-wrongpass", "/etc/redis-tls/live/redis.crt", "/etc/redis-tls/live/redis.key", "0".repeat(64));
                try {
                    await until("the primary refuses the password", async () => /Unable to AUTH to (MASTER|PRIMARY): -WRONGPASS/.test(await wrong.log()));
                    assert.equal(await wrong.status(), "down");
                } finally {
                    await wrong.stop();
                }
                assert.equal((await info(hosts[0], "replication")).connected_slaves, "2");
            });

            it("with a certificate from another CA and the right password, the primary refuses the handshake", async () => {
                await sh(hosts[2], `set -e; d=/root/other-ca; rm -rf $d; install -d -m 700 $d; cd $d
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -subj /CN=other-ca -days 2 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=rp2.test 2>/dev/null
printf 'subjectAltName=DNS:rp2.test\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext
openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 1 -extfile ext 2>/dev/null
chmod 644 srv.crt srv.key`);
                const other = await rogue("rogue-otherca", "/root/other-ca/srv.crt", "/root/other-ca/srv.key", await password());
                try {
                    // The primary answers the rogue's certificate with an "unknown ca" alert, every retry.
                    await until("the primary refuses the handshake", async () => (await other.log()).split("alert unknown ca").length > 2);
                    assert.notEqual(await other.status(), "up");
                } finally {
                    await other.stop();
                }
                assert.equal((await info(hosts[0], "replication")).connected_slaves, "2");
            });
        });

        it("an application's certificate from the same CA cannot pose as the primary: a replica refuses it (clientAuth only)", async () => {
            const app = (first.outputs.apps as Record<string, AppConnection>).app;
            await sh(hosts[2], `install -d -m 700 /root/app && umask 077 && printf '%s' '${app.certPem}' > /root/app/app.crt && printf '%s' '${app.keyPem}' > /root/app/app.key`);
            const fake = await rogue("rogue-primary", "/root/app/app.crt", "/root/app/app.key", "unused-password-0000", { port: 6391, replicaof: "" });
            const follower = await rogue("rogue-follower", "/etc/redis-tls/live/redis.crt", "/etc/redis-tls/live/redis.key", await password(), { replicaof: "127.0.0.1 6391" });
            try {
                // The replica checks the primary's certificate as a server's: an application's is not one.
                await until("the replica refuses the application's certificate", async () => /certificate verify failed/.test(await follower.log()));
                assert.doesNotMatch(await follower.log(), /AUTH|Master replied/);
                assert.notEqual(await follower.status(), "up");
            } finally {
                await follower.stop();
                await fake.stop();
            }
            // The control: the same fake with a server certificate of the CA gets past TLS (the replica
            // sends PING and its password), which is what an application's certificate must not do.
            const member = await rogue("rogue-primary-member", "/etc/redis-tls/live/redis.crt", "/etc/redis-tls/live/redis.key", "unused-password-0000", { port: 6391, replicaof: "" });
            const told = await rogue("rogue-follower-member", "/etc/redis-tls/live/redis.crt", "/etc/redis-tls/live/redis.key", await password(), { replicaof: "127.0.0.1 6391" });
            try {
                await until("the replica talks to a primary with a server certificate", async () => /Master replied to PING|Primary replied to PING|AUTH/.test(await told.log()));
            } finally {
                await told.stop();
                await member.stop();
            }
        });

        it("a renewal slot later, every member hot-loads its new certificate and the replication links stay up", async () => {
            const serials = await Promise.all(hosts.map((h) => sh(h, "openssl x509 -in /etc/redis-tls/live/redis.crt -noout -serial")));
            const pids = await Promise.all(hosts.map(pid));
            const before = await info(hosts[0], "stats");
            const links = await Promise.all(hosts.slice(1).map((h) => admin(h, "CLIENT LIST TYPE master")));
            const renewed = await up(SLOT_MS);
            assert.ok(renewed.ok, `${renewed.error}\n${renewed.log.slice(-3000)}`);
            for (const [i, h] of hosts.entries()) {
                assert.notEqual(await sh(h, "openssl x509 -in /etc/redis-tls/live/redis.crt -noout -serial"), serials[i], `${names[i]} has a new certificate`);
                assert.equal(await pid(h), pids[i], `${names[i]} was not restarted`);
            }
            const after = await info(hosts[0], "stats");
            assert.equal(after.sync_full, before.sync_full, "no full resync");
            assert.equal(after.sync_partial_ok, before.sync_partial_ok, "no reconnection (a reconnect is a partial resync)");
            for (const [i, h] of hosts.slice(1).entries()) {
                const id = (l: string) => l.match(/\bid=(\d+)/)?.[1];
                assert.equal(id(await admin(h, "CLIENT LIST TYPE master")), id(links[i]), "the replica's connection to its primary is the one it had");
                assert.equal((await info(h, "replication")).master_link_status, "up");
            }
            assert.equal(await admin(hosts[0], "SET app:after-renewal yes"), "OK");
            for (const replica of hosts.slice(1)) {
                await until("a write after the renewal replicates", async () => (await admin(replica, "GET app:after-renewal")) === "yes");
            }
        });
    });
}
