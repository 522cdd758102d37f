import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Redis from "ioredis";
import { encodeSections } from "../components";
import { runProgram, RunResult, whereAppears } from "./harness/runProgram";
import { DEFAULT_PACKAGES, startHosts, TestHost, TestHosts } from "./hosts";
import { ensureStepBinaries } from "./step/binaries";
import { clientCertFromRun } from "./support/clientCert";
import { servedChain } from "./support/servedChain";
import { renewByTimer } from "./support/timerRenewal";
import { check, run } from "./support/run";

const PROGRAM = path.join(__dirname, "..", "stack", "index.ts");
const NAME = "redis1.test";
const UNIT = "cert-renewer@redis-server.service";
const TIMER = "cert-renewer@redis-server.timer";
const SLOT_MS = 480 * 3_600_000;

// smallstep's "Redis TLS" recipe, end to end: the default program stands step-ca up on a host
// (step and step-ca built from Debian's Go sources), bootstraps a Redis host, issues its
// certificate with the `redis` JWK provisioner and renews it on the host with `step ca renew`.
describe("step-ca: stood up, bootstrap, issuance, host renewal (real step-ca, systemd)", function () {
    this.timeout(15 * 60_000);
    let fixture: TestHosts;
    let ca: TestHost;
    let host: TestHost;
    let other: TestHost;
    let client: TestHost;
    let work: string;
    let deployed: RunResult;
    let stepCli: string;

    const sh = async (on: TestHost, command: string, stdin?: string) => {
        const r = await on.exec(command, { stdin, timeoutMs: 120_000 });
        assert.equal(r.code, 0, `${command}: ${r.stderr}${r.stdout}`);
        return r.stdout.trim();
    };
    const hostEntry = (h: TestHost, dnsNames?: string[]) => ({ name: h.name, address: h.address, hostKey: h.hostKey, ...(dnsNames ? { dnsNames, ipAddresses: [h.address] } : {}) });
    const stepCaConfig = () => ({
        "redis-tls:stepCa": JSON.stringify({ address: ca.address, hostKey: ca.hostKey, ipAddresses: [ca.address], acme: true }),
        "redis-tls:hosts": JSON.stringify([hostEntry(host, [NAME])]),
        "redis-tls:clients": JSON.stringify([{ name: client.name, address: client.address, hostKey: client.hostKey, stepBootstrap: true }]),
        "redis-tls:sshPrivateKey": host.privateKeyPem,
    });
    const up = (config: Record<string, string>, state = "state", clockOffsetMs?: number) =>
        runProgram({ program: PROGRAM, config, secretKeys: ["redis-tls:sshPrivateKey", "redis-tls:stepProvisionerPassword"], stateDir: path.join(work, state), remoteEnvironment: "setenv", clockOffsetMs });
    const caUrl = () => `https://${ca.address}:9443`;
    const stepRoot = () => sh(ca, "cat /etc/step-ca/certs/root_ca.crt");
    const served = async (on: TestHost = host, name = NAME) => {
        const chain = await servedChain((c) => on.exec(c), "127.0.0.1:6379", name);
        const leaf = new X509Certificate(chain);
        await sh(on, "cat > /tmp/served.pem", chain);
        const verify = await on.exec("openssl verify -CAfile /etc/redis-tls/step/certs/root_ca.crt -untrusted /tmp/served.pem /tmp/served.pem");
        return { serial: leaf.serialNumber, hours: (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 3_600_000, valid: verify.code === 0, verify: verify.stdout + verify.stderr };
    };
    const pid = () => sh(host, "systemctl show -p MainPID --value redis-server");
    const renewNow = () => host.exec(`systemctl start ${UNIT}`, { timeoutMs: 120_000 });
    /** Every process's argv on these hosts and on this machine, sampled while `during` runs. */
    async function argvDuring<T>(hosts: TestHost[], during: () => Promise<T>): Promise<{ result: T; argv: string }> {
        const stop = "/tmp/redis-tls-argv-stop";
        const sampler = `while [ ! -e ${stop} ]; do ps -ww -eo args; done | sort -u`;
        await Promise.all([...hosts.map((h) => h.exec(`rm -f ${stop}`)), run("rm", ["-f", stop])]);
        const remote = hosts.map((h) => h.exec(`bash -c '${sampler}'`, { timeoutMs: 600_000 }));
        const local = run("bash", ["-c", sampler], { timeoutMs: 600_000 });
        let result: T;
        try {
            result = await during();
        } finally {
            await Promise.all([...hosts.map((h) => h.exec(`touch ${stop}`)), run("touch", [stop])]);
        }
        const argv = [...(await Promise.all(remote)).map((r) => r.stdout), (await local).stdout].join("\n");
        return { result, argv };
    }
    before(async () => {
        const binaries = await ensureStepBinaries();
        const files = [
            { source: binaries.step, path: "/usr/local/bin/step" },
            { source: binaries.stepCa, path: "/usr/local/bin/step-ca" },
        ];
        fixture = await startHosts(["ca1", "redis1", "redis2", "client1"], { packages: [...DEFAULT_PACKAGES, "lego", "python3-redis"], files });
        [ca, host, other, client] = fixture.hosts;
        work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-step-"));
        // The step CLI where Pulumi runs, kept in the process table a second longer than it runs, with
        // the same arguments, so the argv sampler on this busy machine cannot miss it.
        stepCli = path.join(work, "bin", "step");
        fs.mkdirSync(path.dirname(stepCli));
        fs.writeFileSync(stepCli, `#!/bin/sh\n'${binaries.step}' "$@"; rc=$?; sleep 1; exit $rc\n`, { mode: 0o755 });
        deployed = await up(stepCaConfig());
        assert.ok(deployed.ok, deployed.error);
    });

    after(async () => {
        await fixture?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("stands step-ca up as the recipe does: a `redis` JWK provisioner issuing 720h certificates, served by Redis", async () => {
        assert.equal(await sh(ca, "systemctl is-active step-ca"), "active");
        assert.equal(await sh(ca, "ps -o user= -C step-ca"), "step");
        // The service user reads the intermediate key and the CA password, never the root key.
        assert.equal(await sh(ca, "stat -c '%U:%G %a' /etc/step-ca/secrets/root_ca_key /etc/step-ca/secrets/intermediate_ca_key /etc/step-ca/password /etc/step-ca/provisioner.pass"), "root:root 600\nroot:step 640\nroot:step 640\nroot:root 600");
        assert.equal((await ca.exec("runuser -u step -- cat /etc/step-ca/secrets/root_ca_key")).code, 1);
        assert.match(await sh(ca, "cat /etc/step-ca/config/ca.json"), /"type": "JWK",\n\t+"name": "redis",\n\t+"claims": \{"defaultTLSCertDuration": "720h"/);
        const now = await served();
        assert.equal(now.valid, true, now.verify);
        assert.ok(Math.abs(now.hours - 720) < 0.1, `${now.hours} h`);
        assert.equal(String(deployed.outputs.rootCertPem).trim(), await stepRoot());
        assert.equal(await sh(host, `systemctl is-enabled ${TIMER}`), "enabled");
    });

    it("bootstraps the Redis host and the client host into a root-owned STEPPATH that pins the root's fingerprint", async () => {
        const fp = await sh(ca, "STEPPATH=/tmp/x step certificate fingerprint /etc/step-ca/certs/root_ca.crt");
        for (const h of [host, client]) {
            assert.equal(await sh(h, "stat -c '%U %a' /etc/redis-tls/step"), "root 700");
            assert.equal(await sh(h, "STEPPATH=/tmp/x step certificate fingerprint /etc/redis-tls/step/certs/root_ca.crt"), fp);
            assert.match(await sh(h, "cat /etc/redis-tls/step/config/defaults.json"), new RegExp(`"ca-url": "${caUrl().replace(/\./g, "\\.")}",\\n\\t"fingerprint": "${fp}"`));
            // step on the host reaches the CA through the bootstrapped defaults alone.
            assert.equal(await sh(h, "STEPPATH=/etc/redis-tls/step step ca health"), "ok");
        }
    });

    it("answers PING over TLS verified against step-ca's root, from the client host's trust store and from Node", async () => {
        const cert = await clientCertFromRun(deployed, client, "client1");
        const pass = await sh(host, "cat /etc/redis-tls/admin.pass");
        const pong = await client.exec(
            `IFS= read -r REDISCLI_AUTH; export REDISCLI_AUTH; redis-cli --tls -h ${host.address} -p 6379 --sni ${NAME} --cacert /etc/ssl/certs/ca-certificates.crt --cert /etc/app/client.crt --key /etc/app/client.key --user redis-tls-admin PING`,
            { stdin: `${pass}\n` },
        );
        assert.equal(pong.stdout.trim(), "PONG", pong.stderr);
        const verified = await client.exec(`openssl s_client -connect ${host.address}:6379 -verify_hostname ${NAME} -verify_return_error -brief </dev/null`);
        assert.match(verified.stderr, /Verification: OK/);
        const redis = new Redis({ host: host.address, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, username: "redis-tls-admin", password: pass, tls: { ca: await stepRoot(), servername: NAME, ...cert } });
        try {
            await redis.connect();
            assert.equal(await redis.ping(), "PONG");
        } finally {
            redis.disconnect();
        }
    });

    it("a token is single-use and bound to its names (step ca sign with the token in the environment, never on argv)", async () => {
        const flags = `--ca-url https://127.0.0.1:9443 --root /etc/step-ca/certs/root_ca.crt`;
        await sh(ca, `cd /tmp && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -subj /CN=${NAME} -addext subjectAltName=DNS:${NAME} -out csr.pem 2>/dev/null`);
        const token = await sh(ca, `STEPPATH=/tmp/s step ca token ${NAME} --san ${NAME} --provisioner redis --password-file /etc/step-ca/provisioner.pass ${flags} 2>/dev/null`);
        const signWith = (tok: string, out: string) => ca.exec(`read -r STEP_TOKEN; export STEP_TOKEN; cd /tmp && STEPPATH=/tmp/s step ca sign csr.pem ${out} ${flags} --force`, { stdin: `${tok}\n` });
        assert.equal((await signWith(token, "a.crt")).code, 0);
        const again = await signWith(token, "b.crt");
        assert.notEqual(again.code, 0);
        assert.match(again.stderr, /lacked necessary authorization/);
        const otherName = await sh(ca, `STEPPATH=/tmp/s step ca token other.test --san other.test --provisioner redis --password-file /etc/step-ca/provisioner.pass ${flags} 2>/dev/null`);
        const mismatch = await signWith(otherName, "c.crt");
        assert.notEqual(mismatch.code, 0);
        assert.match(mismatch.stderr, /token subject 'other\.test' and CSR CommonName 'redis1\.test' do not match/);
        // The CA itself holds a token to its names: a CSR in the token's name that also asks for this host's is refused there.
        await sh(ca, `cd /tmp && openssl req -new -key k.pem -subj /CN=other.test -addext subjectAltName=DNS:other.test,DNS:${NAME} -out csr.pem 2>/dev/null`);
        const widened = await signWith(await sh(ca, `STEPPATH=/tmp/s step ca token other.test --san other.test --provisioner redis --password-file /etc/step-ca/provisioner.pass ${flags} 2>/dev/null`), "d.crt");
        assert.notEqual(widened.code, 0);
        assert.match(widened.stderr, /forbidden by the certificate authority: certificate request does not contain the valid DNS names/);
        assert.equal((await ca.exec("test -e /tmp/d.crt")).code, 1);
        // So the program's own sign step, whose token carries exactly the host's names, signs no CSR that asks for more.
        const signStep = String(deployed.resources.find((r) => r.name === "redis-redis1-step-sign")!.inputs.create);
        const wide = await sh(ca, `cd /tmp && openssl req -new -key k.pem -subj /CN=${NAME} -addext subjectAltName=DNS:${NAME},DNS:other.test,IP:${host.address} 2>/dev/null`);
        const refused = await ca.exec(signStep, { stdin: `${wide}\n`, timeoutMs: 60_000 });
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /certificate request does not contain the valid DNS names/);
    });

    it("the CA's passwords are on no Redis host, in no process's argv during a re-issue, in no log and in no stack output", async () => {
        const secrets = [await sh(ca, "cat /etc/step-ca/password"), await sh(ca, "cat /etc/step-ca/provisioner.pass")];
        const before = (await served()).serial;
        const { result, argv } = await argvDuring([ca, host], () => up(stepCaConfig(), "state", SLOT_MS));
        assert.ok(result.ok, result.error);
        assert.notEqual((await served()).serial, before, "the next slot re-issued through the CA host");
        assert.match(argv, /step ca (token|sign) /, "the sampler saw the signing");
        for (const secret of secrets) {
            assert.equal(argv.includes(secret), false);
            assert.deepEqual(whereAppears(result, secret), []);
            assert.deepEqual(whereAppears(deployed, secret), []);
            for (const h of [host, client]) assert.equal((await h.exec(`grep -rqsF -D skip ${secret} /etc /var/lib /root /tmp`)).code, 1);
        }
        assert.doesNotMatch(argv, /eyJhbGciOi/, "no token on any command line");
        deployed = result;
    });

    it("a timer-driven renewal serves a new serial with the same Redis PID, and an open connection keeps answering", async () => {
        const redis = new Redis({
            host: host.address, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, username: "redis-tls-admin",
            password: await sh(host, "cat /etc/redis-tls/admin.pass"), tls: { ca: await stepRoot(), servername: NAME, ...(await clientCertFromRun(deployed, client, "client1")) },
        });
        try {
            await redis.connect();
            const before = { served: await served(), pid: await pid() };
            await renewByTimer((c) => sh(host, c), { timer: TIMER, service: UNIT, serviceLines: "Environment=RENEW_AFTER_PERCENT=0" }, served, before.served);
            assert.equal(await pid(), before.pid);
            assert.equal(await redis.ping(), "PONG");
            assert.match(await sh(host, `journalctl -u ${UNIT} --no-pager -o cat`), /reloaded serial=/);
        } finally {
            redis.disconnect();
            await sh(host, `rm -rf /etc/systemd/system/${TIMER}.d && systemctl daemon-reload && systemctl stop ${TIMER}`);
        }
    });

    it("with step-ca stopped, renewal fails visibly and Redis keeps serving; once it is back, the next run succeeds", async () => {
        const before = await served();
        await sh(ca, "systemctl stop step-ca");
        try {
            const r = await renewNow();
            assert.notEqual(r.code, 0);
            assert.equal(await sh(host, `systemctl show -p ActiveState --value ${UNIT}`), "failed");
            assert.match(await sh(host, "systemctl --failed --no-legend --plain"), /cert-renewer@redis-server\.service/);
            assert.match(await sh(host, `journalctl -u ${UNIT} --no-pager -o cat -n 30`), /connection refused/);
            const after = await served();
            assert.deepEqual([after.serial, after.valid], [before.serial, true]);
        } finally {
            await sh(ca, "systemctl start step-ca");
            await sh(host, "systemctl reset-failed");
        }
        for (let i = 0; i < 20 && (await renewNow()).code !== 0; i++) await new Promise((r) => setTimeout(r, 500));
        const renewed = await served();
        assert.notEqual(renewed.serial, before.serial);
        assert.equal(renewed.valid, true, renewed.verify);
    });

    it("an expired certificate, which step cannot renew, is re-issued by the next pulumi up without a restart", async () => {
        // A 40-second certificate for the live key, installed through the install step while valid.
        await sh(ca, `sed -i 's/"claims": {"defaultTLSCertDuration": "720h"/"claims": {"minTLSCertDuration": "10s", "defaultTLSCertDuration": "720h"/' /etc/step-ca/config/ca.json && systemctl reload step-ca && sleep 1`);
        const csr = await sh(host, `openssl req -new -key /etc/redis-tls/live/redis.key -subj /CN=${NAME} -addext subjectAltName=DNS:${NAME},IP:${host.address}`);
        const short = await sh(ca, `cd /tmp && cat > short.csr && STEPPATH=/tmp/s step ca sign short.csr short.crt --provisioner redis --provisioner-password-file /etc/step-ca/provisioner.pass --ca-url https://127.0.0.1:9443 --root /etc/step-ca/certs/root_ca.crt --not-after 40s --force >/dev/null 2>&1 && cat short.crt`, csr);
        const step = deployed.resources.find((r) => r.name === "redis-redis1-step-install")!.inputs;
        const clientCa = (deployed.resources.find((r) => r.name === "redis-ca-root")!.outputs as { certPem: string }).certPem;
        await sh(host, String(step.create), encodeSections({ chain: short, root: await stepRoot(), "client-ca": clientCa }));
        const pidBefore = await pid();
        await new Promise((r) => setTimeout(r, 45_000));
        const expired = await served();
        assert.equal(expired.valid, false);
        assert.match(expired.verify, /expired/);
        const r = await renewNow();
        assert.notEqual(r.code, 0);
        assert.match(await sh(host, `journalctl -u ${UNIT} --no-pager -o cat -n 30`), /cannot renew an expired certificate/);
        await sh(host, "systemctl reset-failed");
        const next = await up(stepCaConfig(), "state", 2 * SLOT_MS);
        assert.ok(next.ok, next.error);
        const now = await served();
        assert.equal(now.valid, true, now.verify);
        assert.equal(await pid(), pidBefore);
        deployed = next;
    });

    it("an existing step-ca: a wrong root fingerprint fails the bootstrap before anything else changes", async () => {
        const password = await sh(ca, "cat /etc/step-ca/provisioner.pass");
        const r = await up(
            {
                "redis-tls:step": JSON.stringify({ caUrl: caUrl(), rootFingerprint: "ab".repeat(32), stepCli }),
                "redis-tls:stepProvisionerPassword": password,
                "redis-tls:hosts": JSON.stringify([hostEntry(other, ["redis2.test"])]),
                "redis-tls:sshPrivateKey": host.privateKeyPem,
            },
            "existing-wrong",
        );
        assert.equal(r.ok, false);
        assert.match(r.error ?? "", /step ca bootstrap found no root with fingerprint abab/);
        assert.deepEqual(r.resources.filter((x) => x.performed && x.type === "command:remote:Command").map((x) => [x.name, x.error !== undefined]), [["redis-redis2-step-bootstrap", true]]);
        assert.equal((await other.exec("test -e /etc/redis-tls")).code, 1);
    });

    it("an existing step-ca: the CSR is signed on the machine running Pulumi, the password on stdin only", async () => {
        const password = await sh(ca, "cat /etc/step-ca/provisioner.pass");
        const fp = await sh(ca, "STEPPATH=/tmp/x step certificate fingerprint /etc/step-ca/certs/root_ca.crt");
        const { result, argv } = await argvDuring([other], () =>
            up(
                {
                    "redis-tls:step": JSON.stringify({ caUrl: caUrl(), rootFingerprint: fp, stepCli }),
                    "redis-tls:stepProvisionerPassword": password,
                    "redis-tls:hosts": JSON.stringify([hostEntry(other, ["redis2.test"])]),
                    "redis-tls:sshPrivateKey": host.privateKeyPem,
                },
                "existing",
            ),
        );
        assert.ok(result.ok, result.error);
        assert.equal(result.resources.find((x) => x.name === "redis-redis2-step-sign")!.type, "command:local:Command");
        assert.match(argv, /step ca (token|sign) /, "the sampler saw the signing");
        assert.equal(argv.includes(password), false);
        assert.deepEqual(whereAppears(result, password).filter((w) => !w.includes("stdin")), []);
        assert.equal((await other.exec(`grep -rqsF -D skip ${password} /etc /var/lib /root /tmp`)).code, 1);
        const now = await served(other, "redis2.test");
        assert.equal(now.valid, true, now.verify);
    });

    it("step-ca's ACME provisioner issues to AcmeCertificate (lego on the host) as pebble does", async () => {
        await sh(ca, `echo '${other.address} redis3.test' >> /etc/hosts`);
        const root = await stepRoot();
        const r = await up(
            {
                "redis-tls:acme": JSON.stringify({ directoryUrl: `${caUrl()}/acme/acme/directory`, email: "ops@example.test", rootCertPem: root, serverCaPem: root, httpPort: 80 }),
                "redis-tls:hosts": JSON.stringify([{ name: "redis3", address: other.address, hostKey: other.hostKey, dnsNames: ["redis3.test"] }]),
                "redis-tls:sshPrivateKey": host.privateKeyPem,
            },
            "acme",
        );
        assert.ok(r.ok, r.error);
        const chain = await servedChain((c) => other.exec(c), "127.0.0.1:6379", "redis3.test");
        await sh(other, "cat > /tmp/acme-served.pem", chain);
        await sh(other, "cat > /tmp/step-root.pem", root);
        assert.match(await sh(other, "openssl verify -CAfile /tmp/step-root.pem -untrusted /tmp/acme-served.pem /tmp/acme-served.pem"), /OK$/);
        assert.match(await check("openssl", ["x509", "-noout", "-issuer"], { stdin: chain }), /Intermediate CA/);
    });
});
