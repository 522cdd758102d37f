import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import Redis from "ioredis";
import type { AppConnection } from "../components";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { startHosts, TestHost, TestHosts } from "./hosts";
import { IDENTITY_IMAGES } from "./support/serverImages";
import { TestCa } from "./support/testCa";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const SLOT_MS = 480 * 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const image of IDENTITY_IMAGES.filter((i) => i.flavor === "valkey" || /7\.0/.test(i.label))) {
    // `pulumi up` of the default program with a primary, two replicas and redis-tls:sentinel, on real
    // hosts: a sentinel over TLS beside each member, and a failover an application follows. On
    // Valkey the hosts are issued by an organisation's CA (an existing root and intermediate), on
    // Redis by the CA in state.
    const orgCa = image.flavor === "valkey";
    describe(`Sentinel over TLS beside a primary and two replicas on ${image.label}, ${orgCa ? "an organisation CA" : "the CA in state"}`, function () {
        this.timeout(10 * 60_000);
        let fixture: TestHosts;
        let hosts: TestHost[];
        let stateDir: string;
        let first: RunResult;
        let app: AppConnection;
        let ca: { dir: string; root: string; config: Record<string, string> } | undefined;
        const service = `${image.flavor}-server`;
        const names = ["sn0", "sn1", "sn2"];

        const up = (clockOffsetMs?: number) =>
            runProgram({
                program: PROGRAM,
                config: {
                    "redis-tls:hosts": JSON.stringify(
                        hosts.map((h, i) => ({ name: names[i], address: h.address, hostKey: h.hostKey, ipAddresses: [h.address], ...(i > 0 ? { replicaOf: "sn0" } : {}) })),
                    ),
                    "redis-tls:flavor": image.flavor,
                    "redis-tls:sentinel": "true",
                    "redis-tls:sshPrivateKey": hosts[0].privateKeyPem,
                    ...ca?.config,
                },
                secretKeys: ["redis-tls:sshPrivateKey", "redis-tls:caIssuerPrivateKeyPem"],
                stateDir,
                remoteEnvironment: "setenv",
                clockOffsetMs,
            });
        const sh = async (host: TestHost, command: string) => {
            const r = await host.exec(command);
            assert.equal(r.code, 0, `${command}: ${r.stderr}`);
            return r.stdout.trim();
        };
        const until = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> => {
            const end = Date.now() + ms;
            for (;;) {
                const v = await probe().catch(() => undefined);
                if (v !== undefined) return v;
                if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
                await sleep(250);
            }
        };
        /** An application's connection to one sentinel: its certificate, the sentinel's IP verified. */
        const sentinel = async (host: TestHost) => {
            const c = new Redis({
                host: host.address, port: 26379, tls: { ca: app.caPem, cert: app.certPem, key: app.keyPem },
                enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true,
            });
            c.on("error", () => undefined);
            await c.connect();
            return c;
        };
        const ask = async (host: TestHost, ...args: string[]) => {
            const c = await sentinel(host);
            try {
                return await c.call("SENTINEL", ...args);
            } finally {
                c.disconnect();
            }
        };
        const masterOf = async (host: TestHost) => ((await ask(host, "get-master-addr-by-name", "redis-tls")) as string[])[0];
        const role = async (host: TestHost) => (await sh(host, `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) ${image.flavor}-cli -s /run/${image.flavor}/${service}.sock --user redis-tls-admin ROLE`)).split("\n");
        const servedSerial = (host: TestHost) =>
            new Promise<string>((resolve, reject) => {
                const s = tls.connect({ host: host.address, port: 26379, ca: app.caPem, cert: app.certPem, key: app.keyPem }, () => {
                    resolve(s.getPeerCertificate().serialNumber);
                    s.end();
                });
                s.on("error", reject);
            });

        before(async function () {
            fixture = await startHosts(names, image.spec);
            hosts = fixture.hosts;
            stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-state-"));
            if (orgCa) {
                const dir = path.join(stateDir, "org-ca");
                const made = await TestCa.create(dir, "Organisation");
                ca = {
                    dir,
                    root: made.rootCert,
                    config: {
                        "redis-tls:caRootCertPem": made.rootCert,
                        "redis-tls:caIssuerCertPem": made.intermediateCert,
                        "redis-tls:caIssuerPrivateKeyPem": fs.readFileSync(path.join(dir, "int.key"), "utf8"),
                    },
                };
            }
            first = await up();
            assert.ok(first.ok, `${first.error}\n${first.log.slice(-3000)}`);
            app = (first.outputs.apps as Record<string, AppConnection>).app;
        });

        after(async () => {
            await fixture?.stop();
            if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
        });

        it("each member's sentinel names the primary over TLS and finds both replicas and the two other sentinels", async () => {
            if (ca !== undefined) assert.equal(app.caPem.trim(), ca.root.trim(), "clients verify against the organisation's root");
            const servers = first.outputs.servers as Record<string, { sentinel?: string }>;
            assert.deepEqual(names.map((n) => servers[n].sentinel), hosts.map((h) => `${h.address}:26379`));
            for (const h of hosts) {
                // A sentinel that has just (re)started may take a moment to listen.
                assert.equal(await until(`${h.address}'s sentinel answers`, () => masterOf(h), 10_000), hosts[0].address);
                // Replicas come from the primary's INFO, sentinels from hellos over the TLS links, each
                // logged in as the sentinel identity: neither appears unless those links work.
                await until(`${h.address} knows 2 replicas and 2 sentinels`, async () =>
                    ((await ask(h, "replicas", "redis-tls")) as unknown[]).length === 2 && ((await ask(h, "sentinels", "redis-tls")) as unknown[]).length === 2 ? true : undefined,
                );
            }
        });

        it("a sentinel takes no client without a certificate of the CA, and nothing but TLS", async () => {
            const noCert = await new Promise<string>((resolve) => {
                const s = tls.connect({ host: hosts[1].address, port: 26379, ca: app.caPem }, () => s.write("PING\r\n"));
                s.on("data", (d) => resolve(`answered ${d}`));
                s.on("error", (e) => resolve(e.message));
                s.on("close", () => resolve("closed"));
            });
            assert.match(noCert, /certificate required|closed|ECONNRESET/);
            const plain = await sh(hosts[1], `${image.flavor}-cli -h ${hosts[1].address} -p 26379 PING 2>&1 || true`);
            assert.doesNotMatch(plain, /PONG/);
        });

        it("an application's certificate may only find the primary: no SENTINEL SET, MONITOR, REMOVE, RESET, FAILOVER or vote, no ACL", async () => {
            const c = await sentinel(hosts[2]);
            try {
                assert.equal(await c.call("PING"), "PONG");
                for (const cmd of [
                    ["SENTINEL", "SET", "redis-tls", "down-after-milliseconds", "1"],
                    ["SENTINEL", "MONITOR", "evil", "127.0.0.1", "6379", "1"],
                    ["SENTINEL", "REMOVE", "redis-tls"],
                    ["SENTINEL", "RESET", "*"],
                    ["SENTINEL", "FAILOVER", "redis-tls"],
                    ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", hosts[0].address, "6379", "0", "*"],
                    ["SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no"],
                    ["SENTINEL", "FLUSHCONFIG"],
                    ["PUBLISH", "__sentinel__:hello", "10.9.9.9,26379,x,0,redis-tls,10.9.9.9,6379,99"],
                    ["ACL", "LIST"],
                    ["SHUTDOWN"],
                ]) {
                    assert.match(await c.call(cmd[0], ...cmd.slice(1)).then(String, (e: Error) => e.message), /NOPERM/, cmd.join(" "));
                }
            } finally {
                c.disconnect();
            }
            assert.equal(await masterOf(hosts[2]), hosts[0].address);
        });

        it("the sentinel identity may watch and fail over the data nodes, never read them; its password is in the sentinel's own file only", async () => {
            const conf = "/var/lib/redis-tls-sentinel/sentinel.conf";
            for (const h of hosts) {
                assert.equal(await sh(h, `stat -c '%U %a' /var/lib/redis-tls-sentinel ${conf} | paste -sd' '`), `${image.flavor} 700 ${image.flavor} 600`);
            }
            const line = await sh(hosts[1], `grep '^sentinel auth-pass ' ${conf}`);
            const password = line.split(" ")[3].replace(/^"|"$/g, "");
            assert.match(password, /^[0-9a-f]{64}$/);
            assert.deepEqual(whereAppears(first, password).filter((w) => !/redis-sentinel-sn0-password outputs\.stdout$|redis-sn\d-(sentinel|config-install) inputs\.stdin$/.test(w)), []);
            for (const h of hosts) {
                assert.equal(await sh(h, `grep -rlF -D skip -e ${password} /etc /run /tmp /var/log /var/lib 2>/dev/null || true`), conf);
                assert.equal(await sh(h, `journalctl --no-pager | grep -cF -e ${password} || true`), "0");
            }
            const login = `REDISCLI_AUTH=${password} ${image.flavor}-cli --tls --cacert /etc/redis-tls/live/ca.crt --cert /etc/redis-tls/live/redis.crt --key /etc/redis-tls/live/redis.key -h ${hosts[0].address} -p 6379 --user redis-tls-sentinel`;
            assert.match(await sh(hosts[1], `${login} ROLE`), /^master/);
            // The control for the application's NOPERM: the sentinels' own identity may ask a sentinel for its vote.
            const peer = login.replace(`-h ${hosts[0].address} -p 6379`, `-h ${hosts[2].address} -p 26379`);
            assert.match(await sh(hosts[1], `${peer} SENTINEL IS-MASTER-DOWN-BY-ADDR ${hosts[0].address} 6379 0 '*'`), /^0\n\*\n0$/);
            for (const cmd of ["GET app:x", "KEYS *", "SET app:x 1", "FLUSHALL", "CONFIG GET dir", "CONFIG SET dir /tmp", "ACL LIST", "MONITOR", "SHUTDOWN", "EVAL 'return 1' 0"]) {
                assert.match(await sh(hosts[1], `${login} ${cmd} 2>&1`), /NOPERM/, cmd);
            }
        });

        it("a renewal slot later, each sentinel serves its member's new certificate and still names the primary", async () => {
            const before = await Promise.all(hosts.map(servedSerial));
            const learned = (h: TestHost) => sh(h, "grep -E '^sentinel (myid|known-replica|known-sentinel) ' /var/lib/redis-tls-sentinel/sentinel.conf | sort");
            const knew = await Promise.all(hosts.map(learned));
            const renewed = await up(SLOT_MS);
            assert.ok(renewed.ok, `${renewed.error}\n${renewed.log.slice(-3000)}`);
            for (const [i, h] of hosts.entries()) {
                const file = (await sh(h, "openssl x509 -in /etc/redis-tls/live/redis.crt -noout -serial")).replace(/^serial=/, "");
                assert.notEqual(file, before[i].toUpperCase());
                await until(`${names[i]}'s sentinel serves ${file}`, async () => ((await servedSerial(h)).toUpperCase() === file ? true : undefined));
                assert.equal(await masterOf(h), hosts[0].address);
            }
            // Restarted on the new certificate, each sentinel is still the one it was and knows what it knew.
            for (const [i, h] of hosts.entries()) {
                assert.equal(await learned(h), knew[i]);
                assert.equal(knew[i].split("\n").length, 5, "its ID, 2 replicas and 2 sentinels");
            }
        });

        it("stopping the primary promotes a replica, which an application following Sentinel over TLS writes to; the old primary comes back as its replica", async () => {
            const follower = new Redis({
                sentinels: hosts.map((h) => ({ host: h.address, port: 26379 })),
                name: "redis-tls",
                enableTLSForSentinelMode: true,
                sentinelTLS: { ca: app.caPem, cert: app.certPem, key: app.keyPem },
                tls: { ca: app.caPem, cert: app.certPem, key: app.keyPem },
                username: app.username,
                password: app.password,
                maxRetriesPerRequest: 1,
                // The application may not run INFO, which the ready check sends.
                enableReadyCheck: false,
                sentinelRetryStrategy: () => 200,
            });
            follower.on("error", () => undefined);
            try {
                assert.equal(await follower.set("app:before", "1"), "OK");
                await sh(hosts[0], `systemctl stop ${service}`);
                const promoted = await until("a sentinel names a new primary", async () => {
                    const m = await masterOf(hosts[1]);
                    return m !== hosts[0].address ? m : undefined;
                }, 60_000);
                const replica = hosts.find((h) => h.address === promoted)!;
                assert.ok(replica !== undefined && replica !== hosts[0]);
                assert.equal((await role(replica))[0], "master");
                await until("the application writes to the new primary", async () => ((await follower.set("app:after", "2")) === "OK" ? true : undefined), 60_000);
                assert.equal(await follower.get("app:before"), "1", "what the old primary had was replicated");
                await sh(hosts[0], `systemctl start ${service}`);
                await until("the old primary follows the new one", async () => {
                    const r = await role(hosts[0]);
                    return r[0] === "slave" && r[1] === promoted ? true : undefined;
                }, 60_000);
            } finally {
                follower.disconnect();
            }
        });
    });
}
