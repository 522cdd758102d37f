import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { runProgram, RunResult } from "./harness/runProgram";
import { startHosts, TestHost, TestHosts } from "./hosts";
import { IDENTITY_IMAGES } from "./support/serverImages";

const PROGRAM = path.join(__dirname, "harness", "fixtures", "cluster.ts");
const SLOT_MS = 480 * 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const IMAGES = IDENTITY_IMAGES.filter((i) => !i.label.startsWith("trixie"));

for (const image of IMAGES) {
    // RedisCluster on six real hosts: three primaries, a replica each, formed by `pulumi up`.
    describe(`Redis Cluster over TLS on ${image.label}`, function () {
        this.timeout(4 * 60_000);
        let fixture: TestHosts;
        let hosts: TestHost[];
        let stateDir: string;
        let first: RunResult;
        const names = ["c0", "c1", "c2", "c3", "c4", "c5"];
        const cli = `${image.flavor}-cli`;
        const service = `${image.flavor}-server`;
        const socket = `/run/${image.flavor}/${service}.sock`;

        const up = (clockOffsetMs?: number) =>
            runProgram({
                program: PROGRAM,
                config: {
                    "redis-tls:members": JSON.stringify(hosts.map((h, i) => ({ name: names[i], address: h.address, hostKey: h.hostKey, ...(i >= 3 ? { replicaOf: names[i - 3] } : {}) }))),
                    "redis-tls:flavor": image.flavor,
                    "redis-tls:sshPrivateKey": hosts[0].privateKeyPem,
                },
                secretKeys: ["redis-tls:sshPrivateKey"],
                stateDir,
                remoteEnvironment: "setenv",
                clockOffsetMs,
            });
        const sh = async (host: TestHost, command: string, stdin?: string) => {
            const r = await host.exec(command, { stdin });
            assert.equal(r.code, 0, `${command}: ${r.stderr}`);
            return r.stdout.trim();
        };
        const admin = (host: TestHost, args: string) => sh(host, `REDISCLI_AUTH=$(cat /etc/redis-tls/admin.pass) ${cli} -s ${socket} --user redis-tls-admin ${args}`);
        const clusterInfo = async (host: TestHost) => Object.fromEntries((await admin(host, "CLUSTER INFO")).split(/\r?\n/).map((l) => l.split(":")));
        const nodeLines = async (host: TestHost) => (await admin(host, "CLUSTER NODES")).split("\n").filter((l) => l.trim() !== "");
        const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000) => {
            const end = Date.now() + ms;
            while (!(await ok())) {
                if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
                await sleep(250);
            }
        };
        const client = (r: RunResult, ca = r.outputs.rootCertPem as string) => {
            const nodes = r.outputs.nodes as { host: string; port: number }[];
            const c = new Redis.Cluster([{ host: nodes[0].host, port: nodes[0].port }], {
                redisOptions: { username: "app", password: r.outputs.appPassword as string, tls: { ca }, maxRetriesPerRequest: 0 },
                clusterRetryStrategy: () => null,
                enableReadyCheck: true,
                lazyConnect: true,
            });
            c.on("error", () => undefined);
            return c;
        };
        /** Connects within 20 s or fails, instead of waiting on a cluster that never becomes ready. */
        const connect = (c: InstanceType<typeof Redis.Cluster>) =>
            Promise.race([c.connect(), sleep(20_000).then(() => Promise.reject(new Error(`no cluster connection within 20 s (status ${c.status})`)))]);

        before(async function () {
            this.timeout(10 * 60_000);
            fixture = await startHosts(names, image.spec);
            hosts = fixture.hosts;
            stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-cluster-state-"));
            first = await up();
            assert.ok(first.ok, `${first.error}\n${first.log.slice(-4000)}`);
        });

        after(async () => {
            await fixture?.stop();
            if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
        });

        it("reaches cluster_state:ok with three primaries sharing the 16384 slots and a replica each", async () => {
            assert.equal(first.outputs.state, `cluster_state:ok with 6 nodes`);
            // `pulumi up` ends when the first primary sees the cluster ok; the others agree within seconds.
            await until("every member sees the cluster ok", async () => (await Promise.all(hosts.map(clusterInfo))).every((i) => i.cluster_state === "ok" && i.cluster_known_nodes === "6"), 15_000);
            for (const h of hosts) {
                const info = await clusterInfo(h);
                assert.equal(info.cluster_state, "ok");
                assert.equal(info.cluster_slots_assigned, "16384");
                assert.equal(info.cluster_known_nodes, "6");
            }
            const lines = await nodeLines(hosts[0]);
            // Over the socket Redis shows the TLS port, Valkey the plaintext one (0); the bus port is the same.
            const byAddress = (h: TestHost) => lines.find((l) => new RegExp(`^${h.address.replace(/\./g, "\\.")}:(6379|0)@16379\\b`).test(l.split(" ")[1]))!;
            for (const i of [0, 1, 2]) assert.match(byAddress(hosts[i]), /[ ,]master - .* connected \d+-\d+$/);
            for (const i of [3, 4, 5]) assert.equal(byAddress(hosts[i]).split(" ")[3], byAddress(hosts[i - 3]).split(" ")[0], `${names[i]} replicates ${names[i - 3]}`);
            // And the replication link is up: the replicas logged in with the replication identity over TLS.
            for (const i of [3, 4, 5]) {
                await until(`${names[i]}'s link to its primary is up`, async () => /master_link_status:up/.test(await admin(hosts[i], "INFO replication")));
            }
        });

        it("keys spread over every primary's slots are written and read by ioredis Cluster over TLS verifying each node's address", async () => {
            const c = client(first);
            try {
                await connect(c);
                for (let k = 0; k < 60; k++) assert.equal(await c.set(`app:${k}`, String(k)), "OK");
                for (let k = 0; k < 60; k++) assert.equal(await c.get(`app:${k}`), String(k));
            } finally {
                c.disconnect();
            }
            for (const i of [0, 1, 2]) assert.ok(Number(await admin(hosts[i], "DBSIZE")) > 0, `${names[i]} holds some of the keys`);
            // A client that does not trust the cluster's CA gets no connection at all.
            const other = await sh(hosts[0], "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=other -days 1 2>/dev/null");
            const untrusting = client(first, other);
            try {
                await assert.rejects(connect(untrusting), /None of startup nodes is available/);
            } finally {
                untrusting.disconnect();
            }
        });

        it("the bus takes no connection without a certificate of the members' CA, and a plaintext MEET joins nothing", async () => {
            const bus = `${hosts[0].address}:16379`;
            // No certificate (as every application connects): the bus demands one.
            const bare = await hosts[5].exec(`sleep 2 | timeout 5 openssl s_client -connect ${bus} -CAfile /etc/redis-tls/live/ca.crt 2>&1`);
            assert.match(bare.stdout, /alert certificate required|alert handshake failure/);
            // A node of another CA meets the first primary: the handshake fails, and it is never known.
            await sh(hosts[5], `set -e; d=/root/rogue; rm -rf $d; install -d -m 700 $d; cd $d
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -subj /CN=rogue-ca -days 2 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout n.key -out n.csr -subj /CN=rogue 2>/dev/null
printf 'subjectAltName=IP:${hosts[5].address}\\nextendedKeyUsage=serverAuth,clientAuth\\n' > ext
openssl x509 -req -in n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out n.crt -days 1 -extfile ext 2>/dev/null
cat > rogue.conf <<EOF
port 0
tls-port 6390
bind ${hosts[5].address}
dir /root/rogue
cluster-enabled yes
cluster-config-file /root/rogue/nodes.conf
tls-cluster yes
tls-cert-file /root/rogue/n.crt
tls-key-file /root/rogue/n.key
tls-ca-cert-file /etc/redis-tls/live/ca.crt
tls-auth-clients no
protected-mode no
logfile /root/rogue/log
EOF
cat > plain.conf <<EOF
port 7000
bind ${hosts[5].address}
dir /root/rogue
cluster-enabled yes
cluster-config-file /root/rogue/plain-nodes.conf
protected-mode no
logfile /root/rogue/plain.log
EOF
systemd-run --unit rogue-tls --collect ${image.flavor}-server /root/rogue/rogue.conf
systemd-run --unit rogue-plain --collect ${image.flavor}-server /root/rogue/plain.conf`);
            try {
                const rogueCli = `${cli} --tls --insecure -h ${hosts[5].address} -p 6390`;
                const pongs = async () => (await hosts[5].exec(`${rogueCli} PING; ${cli} -h ${hosts[5].address} -p 7000 PING`)).stdout.split("\n").filter((l) => l === "PONG").length;
                await until("the rogue nodes are up", async () => (await pongs()) === 2).catch(async (e) => {
                    throw new Error(`${e.message}\n${(await hosts[5].exec("cat /root/rogue/log /root/rogue/plain.log; systemctl status rogue-tls rogue-plain")).stdout}`);
                });
                assert.equal(await sh(hosts[5], `${rogueCli} CLUSTER MEET ${hosts[0].address} 6379 16379`), "OK");
                assert.equal(await sh(hosts[5], `${cli} -h ${hosts[5].address} -p 7000 CLUSTER MEET ${hosts[0].address} 6379 16379`), "OK");
                await sleep(6000);
                assert.equal((await nodeLines(hosts[0])).length, 6, "the first primary knows only the members");
                for (const h of hosts) assert.equal((await clusterInfo(h)).cluster_known_nodes, "6");
                // The rogue never gets past the handshake: the first primary stays a handshake (or failed) entry there.
                const seen = await sh(hosts[5], `${rogueCli} CLUSTER NODES`);
                const entry = seen.split("\n").find((l) => l.includes(`${hosts[0].address}:`));
                assert.ok(entry === undefined || !/ connected/.test(entry), entry);
            } finally {
                await sh(hosts[5], "systemctl stop rogue-tls rogue-plain || true");
            }
            // The control: the same node with a member's certificate joins at once; that is what a
            // member certificate allows. It is then stopped and forgotten by every member.
            await sh(hosts[5], `sed -i -e 's|^tls-cert-file .*|tls-cert-file /etc/redis-tls/live/redis.crt|' -e 's|^tls-key-file .*|tls-key-file /etc/redis-tls/live/redis.key|' -e 's|^cluster-config-file .*|cluster-config-file /root/rogue/member-nodes.conf|' /root/rogue/rogue.conf
systemd-run --unit rogue-member --collect ${image.flavor}-server /root/rogue/rogue.conf`);
            const rogueCli = `${cli} --tls --insecure -h ${hosts[5].address} -p 6390`;
            try {
                await until("the member-certificate node is up", async () => (await hosts[5].exec(`${rogueCli} PING`)).stdout.trim() === "PONG");
                const id = await sh(hosts[5], `${rogueCli} CLUSTER MYID`);
                assert.equal(await sh(hosts[5], `${rogueCli} CLUSTER MEET ${hosts[0].address} 6379 16379`), "OK");
                await until("a node with a member's certificate is known to the first primary", async () => (await nodeLines(hosts[0])).some((l) => l.startsWith(id)));
                await sh(hosts[5], "systemctl stop rogue-member");
                // A member that learns of it by gossip after its FORGET knows it again: forget until none does.
                await until("every member forgot it", async () => {
                    for (const h of hosts) await admin(h, `CLUSTER FORGET ${id}`).catch(() => undefined);
                    await sleep(1000);
                    return (await Promise.all(hosts.map(clusterInfo))).every((i) => i.cluster_known_nodes === "6");
                }, 90_000);
            } finally {
                await sh(hosts[5], "systemctl stop rogue-member || true");
            }
        });

        it("each join step run again changes nothing (idempotent)", async () => {
            const before = await nodeLines(hosts[0]);
            for (const [i, h] of hosts.entries()) {
                const step = first.resources.find((r) => r.name === `cluster-${names[i]}-join`)!;
                const r = await h.exec(step.inputs.create as string, { stdin: step.inputs.stdin as string });
                assert.equal(r.code, 0, r.stderr);
                assert.doesNotMatch(r.stdout, /^(met|took slots|replicates \S+$)/m, `${names[i]}: ${r.stdout}`);
                if (i === 0) assert.match(r.stdout, /cluster_state:ok with 6 nodes/);
            }
            const strip = (l: string[]) => l.map((x) => x.split(" ").filter((_, k) => k !== 4 && k !== 5).join(" ")).sort();
            assert.deepEqual(strip(await nodeLines(hosts[0])), strip(before));
        });

        it("a renewal slot later every node hot-loads its certificate: no restart, the cluster stays ok and its keys readable", async () => {
            const pids = await Promise.all(hosts.map((h) => sh(h, `systemctl show -p MainPID --value ${service}`)));
            const serials = await Promise.all(hosts.map((h) => sh(h, "openssl x509 -in /etc/redis-tls/live/redis.crt -noout -serial")));
            const renewed = await up(SLOT_MS);
            assert.ok(renewed.ok, `${renewed.error}\n${renewed.log.slice(-3000)}`);
            for (const [i, h] of hosts.entries()) {
                assert.notEqual(await sh(h, "openssl x509 -in /etc/redis-tls/live/redis.crt -noout -serial"), serials[i]);
                assert.equal(await sh(h, `systemctl show -p MainPID --value ${service}`), pids[i], `${names[i]} was not restarted`);
                assert.equal((await clusterInfo(h)).cluster_state, "ok");
            }
            const c = client(renewed);
            try {
                await connect(c);
                assert.equal(await c.get("app:7"), "7");
            } finally {
                c.disconnect();
            }
        });
    });
}
