import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { Pebble, startPebble } from "./acme";
import { runProgram, RunResult } from "./harness/runProgram";
import { DEFAULT_PACKAGES, startHosts, TestHost, TestHosts } from "./hosts";
import { clientCertFromRun } from "./support/clientCert";
import { servedChain } from "./support/servedChain";
import { renewByTimer } from "./support/timerRenewal";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const NAME = "acme1.test";
const UNIT = "cert-renewer@redis-server.service";
const TIMER = "cert-renewer@redis-server.timer";
// Short-lived certificates make renewal due within the test: 66% of 45 s is 30 s.
const LIFETIME_S = 45;

// Renewal on a real host: the default program with an ACME issuer (Debian's pebble on the machine,
// lego on the host), the smallstep-style cert-renewer timer under real systemd, and Redis hot-loading.
describe("ACME issuance and host renewal with hot reload (pebble, lego, systemd)", function () {
    this.timeout(10 * 60_000);
    let fixture: TestHosts;
    let host: TestHost;
    let pebble: Pebble;
    let work: string;
    let deployed: RunResult;
    let config: (name: string) => Record<string, string>;

    const sh = async (command: string, stdin?: string) => {
        const r = await host.exec(command, { stdin, timeoutMs: 120_000 });
        assert.equal(r.code, 0, `${command}: ${r.stderr}${r.stdout}`);
        return r.stdout.trim();
    };
    const pid = () => sh("systemctl show -p MainPID --value redis-server");
    /** The certificate Redis serves now, and whether it verifies to pebble's root at this moment. */
    const served = async () => {
        const chain = await servedChain((c) => host.exec(c), "127.0.0.1:6379", NAME);
        const serial = await sh("openssl x509 -noout -serial", chain);
        await sh("cat > /tmp/served.pem", chain);
        const verify = await host.exec("openssl verify -CAfile /etc/redis-tls/acme-root.crt -untrusted /tmp/served.pem /tmp/served.pem");
        return { serial, valid: verify.code === 0, verify: verify.stdout + verify.stderr };
    };
    const renewNow = () => host.exec(`systemctl start ${UNIT}`, { timeoutMs: 120_000 });
    const activeState = () => sh(`systemctl show -p ActiveState --value ${UNIT}`);
    /** Puts a lego wrapper first on the unit's PATH that damages what the real lego wrote. */
    const faultyLego = (damage: string) =>
        sh(
            `cat > /usr/local/bin/lego && chmod 0755 /usr/local/bin/lego`,
            `#!/bin/bash\nset -e\n/usr/bin/lego "$@"\nc=/var/lib/redis-tls/acme/certificates/${NAME}\n${damage}\n`,
        );
    const healLego = () => sh("rm -f /usr/local/bin/lego; systemctl reset-failed");

    before(async () => {
        fixture = await startHosts(["acme1"], { packages: [...DEFAULT_PACKAGES, "lego", "python3-redis"] });
        host = fixture.hosts[0];
        work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-acme-"));
        pebble = await startPebble({ listenAddress: host.gateway, workDir: path.join(work, "pebble"), certificateValiditySeconds: LIFETIME_S });
        const acme = JSON.stringify({
            directoryUrl: pebble.directoryUrl,
            email: "ops@example.test",
            rootCertPem: await pebble.rootPem(),
            serverCaPem: pebble.tlsCaPem,
            httpPort: 5002,
        });
        config = (name) => ({
            "redis-tls:hosts": JSON.stringify([{ name, address: host.address, hostKey: host.hostKey, dnsNames: [NAME] }]),
            "redis-tls:sshPrivateKey": host.privateKeyPem,
            "redis-tls:acme": acme,
        });
        deployed = await up("acme1");
        assert.ok(deployed.ok, deployed.error);
    });
    const up = (name: string) =>
        runProgram({ program: PROGRAM, stateDir: path.join(work, "state"), remoteEnvironment: "setenv", secretKeys: ["redis-tls:sshPrivateKey"], config: config(name) });
    /** The renewer's install step as the provider would run it again, or its delete on destroy. */
    const renewerStep = (step: "create" | "delete", run = deployed, name = "acme1") =>
        String(run.resources.find((r) => r.name === `redis-${name}-renewer-install`)!.inputs[step]);

    after(async () => {
        await pebble?.stop();
        await fixture?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("serves a certificate from the ACME directory and lists the renewal timer", async () => {
        assert.equal(await sh("systemctl is-active redis-server"), "active");
        const now = await served();
        assert.equal(now.valid, true, now.verify);
        assert.match(await sh(`systemctl list-timers --all --no-pager ${TIMER}`), /cert-renewer@redis-server\.timer/);
        assert.equal(await sh(`systemctl is-enabled ${TIMER}`), "enabled");
    });

    it("systemd-analyze verify passes on every unit it installed", async () => {
        await sh(`systemd-analyze verify ${UNIT} ${TIMER}`);
    });

    it("installing the renewer again changes nothing on the host", async () => {
        // Files and links only: a temp file made and removed changes a directory's time, not the host.
        const snapshot = () => sh("find /etc/systemd/system /usr/local/libexec/redis-tls ! -type d \\( -path '*cert-renewer*' -o -path '*redis-tls*' \\) | sort | xargs -r stat -c '%n %a %Y'");
        const before = await snapshot();
        assert.match(await sh(renewerStep("create")), /files changed: no$/);
        assert.equal(await snapshot(), before);
    });

    it("made to fire by a timer drop-in, renews: new serial, same PID, an open client connection keeps answering", async () => {
        // A client certificate from the project's CA (Redis trusts it, never the ACME CA, for clients).
        const clientCert = await clientCertFromRun(deployed, host, "app");
        const client = new Redis({
            host: host.address,
            port: 6379,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            username: "redis-tls-admin",
            password: await sh("cat /etc/redis-tls/admin.pass"),
            tls: { ca: await pebble.rootPem(), servername: NAME, ...clientCert },
        });
        try {
            await client.connect();
            assert.equal(await client.ping(), "PONG");
            const before = { served: await served(), pid: await pid() };
            await renewByTimer(sh, { timer: TIMER, service: UNIT }, served, before.served);
            assert.equal(await pid(), before.pid);
            assert.equal(await client.ping(), "PONG");
            assert.match(await sh(`journalctl -u ${UNIT} --no-pager -o cat`), /reloaded serial=/);
        } finally {
            client.disconnect();
            // From here on each renewal is started by hand and always due, so faults are deterministic.
            await sh(`rm -rf /etc/systemd/system/${TIMER}.d && systemctl daemon-reload && systemctl stop ${TIMER}`);
            await sh(
                `mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nEnvironment=RENEW_AFTER_PERCENT=0\\n' > /etc/systemd/system/${UNIT}.d/zz-test.conf && systemctl daemon-reload`,
            );
        }
    });

    const faults: Array<[string, string, RegExp]> = [
        [
            // A certificate for a fresh key, then that key lost: the key lego hands over matches nothing.
            "a renewed key that does not match",
            `args=(); for a in "$@"; do [ "$a" = --reuse-key ] || args+=("$a"); done
/usr/bin/lego "\${args[@]}" >/dev/null 2>&1
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$c.key"`,
            /no key on this host matches/,
        ],
        ["a certificate file cut off after the leaf", `sed -i '/END CERTIFICATE/q' "$c.crt"`, /certificate 1 of the chain is not signed by the next one/],
        [
            "a certificate for the wrong name",
            `args=(); for a in "$@"; do [ "$a" = renew ] && break; args+=("\${a/${NAME}/other.test}"); done
/usr/bin/lego "\${args[@]}" run >/dev/null 2>&1
cp "\${c%/*}/other.test.crt" "$c.crt"
cp "\${c%/*}/other.test.key" "$c.key"`,
            /the certificate does not name acme1\.test in its SANs/,
        ],
    ];
    for (const [fault, damage, reason] of faults) {
        it(`${fault}: the unit fails visibly and Redis keeps serving the valid certificate`, async () => {
            const good = await renewNow();
            assert.equal(good.code, 0, good.stderr);
            const before = { served: await served(), pid: await pid() };
            assert.equal(before.served.valid, true, before.served.verify);
            await faultyLego(damage);
            try {
                const r = await renewNow();
                assert.notEqual(r.code, 0);
                assert.equal(await activeState(), "failed");
                assert.match(await sh(`journalctl -u ${UNIT} --no-pager -o cat -n 30`), reason);
                const after = await served();
                assert.equal(after.serial, before.served.serial);
                assert.equal(after.valid, true, after.verify);
                assert.equal(await pid(), before.pid);
            } finally {
                await healLego();
            }
            // lego may now hold the damaged files; the next good run must still bring a valid certificate.
            const recovered = await renewNow();
            assert.equal(recovered.code, 0, recovered.stderr);
            assert.equal((await served()).valid, true);
        });
    }

    it("a host whose certificate has expired is brought back by the next renewal run, without a restart", async () => {
        const pidBefore = await pid();
        await new Promise((r) => setTimeout(r, (LIFETIME_S + 2) * 1000));
        const expired = await served();
        assert.equal(expired.valid, false);
        assert.match(expired.verify, /expired/);
        const r = await renewNow();
        assert.equal(r.code, 0, r.stderr);
        const now = await served();
        assert.equal(now.valid, true, now.verify);
        assert.notEqual(now.serial, expired.serial);
        assert.equal(await pid(), pidBefore);
    });

    it("renaming the host keeps the renewer: the new resource installs it before the old one's delete, which leaves it", async () => {
        const renamed = await up("acme1b");
        assert.ok(renamed.ok, renamed.error);
        assert.deepEqual(renamed.resources.filter((r) => r.step === "delete" && r.performed).map((r) => r.name), ["redis-acme1-renewer-install"]);
        assert.match(renamed.log, /\[redis-acme1-renewer-install\] cert-renewer@redis-server kept: another resource still installs it/);
        assert.equal(await sh(`systemctl is-enabled ${TIMER}`), "enabled");
        assert.equal(await sh(`systemctl is-active ${TIMER}`), "active");
        assert.equal((await served()).valid, true);
        deployed = renamed;
    });

    it("after a reboot Redis serves TLS again and the renewal timer is still enabled", async () => {
        const before = await served();
        await host.reboot();
        assert.equal(await sh("systemctl is-active redis-server"), "active");
        assert.equal(await sh(`systemctl is-enabled ${TIMER}`), "enabled");
        assert.equal(await sh(`systemctl is-active ${TIMER}`), "active");
        const after = await served();
        assert.deepEqual([after.serial, after.valid], [before.serial, true]);
    });

    it("the CA unreachable: the unit fails visibly and Redis keeps serving the valid certificate", async () => {
        assert.equal((await renewNow()).code, 0);
        const before = await served();
        await pebble.stop();
        const r = await renewNow();
        assert.notEqual(r.code, 0);
        assert.equal(await activeState(), "failed");
        assert.match(await sh(`journalctl -u ${UNIT} --no-pager -o cat -n 30`), /connection refused/);
        const after = await served();
        assert.deepEqual([after.serial, after.valid], [before.serial, true]);
    });

    it("pulumi destroy's delete step (of its last owner) removes the timer, the units and the helpers", async () => {
        assert.match(await sh(renewerStep("delete", deployed, "acme1b")), /cert-renewer@redis-server removed/);
        assert.doesNotMatch(await sh("systemctl list-timers --all --no-pager"), /cert-renewer/);
        assert.equal(await sh("ls /etc/systemd/system | grep -c cert-renewer || true"), "0");
        assert.equal(await sh("ls /usr/local/libexec/redis-tls | grep -v '^redis-conf-' || true"), "");
        assert.equal(await sh("systemctl is-active redis-server"), "active");
    });
});
