import { strict as assert } from "node:assert";
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import {
    CaDistribution,
    CertificateAuthority,
    fingerprint,
    RedisClientCertificate,
    RedisCluster,
    RedisServerCertificate,
    RedisTlsConfig,
    RedisTlsServer,
    renewalSlot,
    StepCa,
    toCommandConnection,
    ValidationError,
} from "../components";
import { isSecretInput, plain, recordResources, Recorded, sections, settle, strings, valueOf } from "./support/mocks";
import { pems } from "./support/pems";

const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc3No\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown";
const connection = { host: "10.0.0.5", privateKey: SSH_KEY, hostKey: HOST_KEY };
const summary = (r: Recorded[]) => r.map((x) => `${x.type} ${x.name}`).sort();
/** The resource of that name; a provider resource before a component of the same name. */
const byName = (r: Recorded[], name: string) => r.find((x) => x.name === name && !x.type.startsWith("redis-tls:")) ?? r.find((x) => x.name === name)!;
const fp = (pem: string) => fingerprint(new X509Certificate(pem));

function serverArgs(ca: CertificateAuthority) {
    return {
        connection,
        dnsNames: ["redis-1.example.internal"],
        ipAddresses: ["10.0.0.5"],
        caCertPem: ca.issuerCertPem,
        caPrivateKeyPem: ca.issuerPrivateKeyPem,
        chainPem: ca.chainPem,
        rootCertPem: ca.rootCertPem,
    };
}

describe("component resource graphs (mocks)", () => {
    let recorded: Recorded[];
    beforeEach(() => {
        recorded = recordResources();
    });

    it("CertificateAuthority makes a P-256 root and intermediate in state, the issuing key secret", async () => {
        const ca = new CertificateAuthority("ca");
        await valueOf(ca.chainPem);
        await settle(recorded);
        assert.deepEqual(summary(recorded), [
            "redis-tls:index:CertificateAuthority ca",
            "tls:index/certRequest:CertRequest ca-intermediate-csr",
            "tls:index/locallySignedCert:LocallySignedCert ca-intermediate",
            "tls:index/privateKey:PrivateKey ca-intermediate-key",
            "tls:index/privateKey:PrivateKey ca-root-key",
            "tls:index/selfSignedCert:SelfSignedCert ca-root",
        ]);
        assert.deepEqual(byName(recorded, "ca-root-key").inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
        assert.equal(byName(recorded, "ca-root").inputs.isCaCertificate, true);
        assert.equal(byName(recorded, "ca-intermediate").inputs.isCaCertificate, true);
        assert.equal(plain(byName(recorded, "ca-intermediate").inputs.caPrivateKeyPem), byName(recorded, "ca-root-key").state.privateKeyPem);
        assert.equal(await pulumi.isSecret(ca.issuerPrivateKeyPem), true);
        assert.equal(await valueOf(ca.issuerPrivateKeyPem), byName(recorded, "ca-intermediate-key").state.privateKeyPem);
    });

    it("CertificateAuthority with an existing CA creates nothing and keeps its key secret", async () => {
        const { root, key } = pems();
        const ca = new CertificateAuthority("org", { existing: { rootCertPem: root, issuerPrivateKeyPem: key } });
        assert.equal(await valueOf(ca.issuerCertPem), root);
        assert.equal(await valueOf(ca.chainPem), "");
        assert.equal(await pulumi.isSecret(ca.issuerPrivateKeyPem), true);
        await settle(recorded);
        assert.deepEqual(summary(recorded), ["redis-tls:index:CertificateAuthority org"]);
    });

    it("RedisTlsServer: host-made key and CSR, signed for server and client auth, chain installed against the pinned root, then the drop-in", async () => {
        const ca = new CertificateAuthority("ca");
        const server = new RedisTlsServer("redis-a", serverArgs(ca));
        assert.equal(await valueOf(server.endpoint), "10.0.0.5:6379");
        assert.equal(await valueOf(server.serverName), "redis-1.example.internal");
        await settle(recorded);
        assert.deepEqual(summary(recorded).filter((s) => s.includes("redis-a")), [
            "command:remote:Command redis-a-cert-csr",
            "command:remote:Command redis-a-cert-install",
            "command:remote:Command redis-a-config-install",
            "redis-tls:index:RedisServerCertificate redis-a-cert",
            "redis-tls:index:RedisTlsConfig redis-a-config",
            "redis-tls:index:RedisTlsServer redis-a",
            "tls:index/locallySignedCert:LocallySignedCert redis-a-cert-signed",
        ]);
        const csr = byName(recorded, "redis-a-cert-csr").inputs;
        assert.match(csr.create, /openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256/);
        assert.match(csr.create, /subjectAltName=DNS:redis-1\.example\.internal,IP:10\.0\.0\.5/);
        assert.equal(csr.stdin, undefined);
        const signed = byName(recorded, "redis-a-cert-signed").inputs;
        assert.equal(signed.certRequestPem, byName(recorded, "redis-a-cert-csr").state.stdout);
        assert.deepEqual(signed.allowedUses, ["digital_signature", "server_auth", "client_auth"]);
        assert.equal(signed.validityPeriodHours, 720);
        const install = byName(recorded, "redis-a-cert-install").inputs;
        const root = byName(recorded, "ca-root").state.certPem;
        assert.deepEqual(sections(install.stdin), {
            chain: byName(recorded, "redis-a-cert-signed").state.certPem + byName(recorded, "ca-intermediate").state.certPem,
            root,
            "client-ca": root,
        });
        assert.ok(install.create.includes(`!= ${fp(root)} ]`), "the install pins the root's fingerprint");
        assert.match(install.create, /CONFIG SET \\\n +tls-cert-file "\$tls\/live\/redis\.crt" tls-key-file "\$tls\/live\/redis\.key"/);
        const conf = sections(byName(recorded, "redis-a-config-install").inputs.stdin).dropin;
        assert.match(conf, /^port 0$/m);
        assert.match(conf, /^tls-port 6379$/m);
        assert.match(conf, /^tls-auth-clients yes$/m);
        assert.match(conf, /^include \/etc\/redis-tls\/users\.acl$/m);
        assert.match(byName(recorded, "redis-a-config-install").inputs.create, /echo 'user default reset off'/);
    });

    it("passes exactly one strict CSR to the signer, whatever the host's shell printed around it", async () => {
        recorded = recordResources(false, { csrStdout: (csr) => `Welcome to redis-1\r\n${csr.replace(/\n/g, "\r\n")}\r\n\r\n` });
        const ca = new CertificateAuthority("ca");
        const cert = new RedisServerCertificate("c", serverArgs(ca));
        const request = await valueOf(cert.certRequestPem);
        await settle(recorded);
        // terraform-provider-tls replaces a LocallySignedCert only when its stored CSR matches this.
        assert.match(request, /^-----BEGIN [A-Za-z ]+-----\n(.|\s)+\n-----END [A-Za-z ]+-----\n?$/);
        assert.doesNotMatch(request, /\r|Welcome/);
        assert.equal(plain(byName(recorded, "c-signed").inputs.certRequestPem), request);
        assert.equal(request, byName(recorded, "c-csr").state.stdout.split("\r\n").slice(1, -3).join("\n") + "\n");
    });

    it("no resource input or output holds a private key except the CA's own keys (and the SSH credential)", async () => {
        const ca = new CertificateAuthority("ca");
        const server = new RedisTlsServer("redis-a", { ...serverArgs(ca), keyFilePass: pulumi.secret("hunter2") });
        new CaDistribution("clients", { rootCertPem: ca.rootCertPem, hosts: [{ name: "app", connection }] });
        await valueOf(server.certPem);
        await settle(recorded);
        const caKeys = new Set(recorded.filter((r) => r.type === "tls:index/privateKey:PrivateKey").map((r) => r.state.privateKeyPem));
        const leaks = recorded
            .filter((r) => r.type !== "tls:index/privateKey:PrivateKey")
            .flatMap((r) => [...strings(r.inputs, "inputs"), ...strings(r.state, "state")].map(([at, v]) => [`${r.name} ${at}`, v]))
            .filter(([at, v]) => v.includes("PRIVATE KEY") && !caKeys.has(v) && !/connection(\.value)?\.privateKey$/.test(at) && !/privateKeyPem(Pkcs8|Openssh)?$/.test(at));
        assert.deepEqual(leaks, []);
        const caKeyHolders = recorded.filter((r) => strings(r.inputs).some(([, v]) => caKeys.has(v))).map((r) => r.name);
        assert.deepEqual(caKeyHolders.sort(), ["ca-intermediate", "ca-intermediate-csr", "ca-root", "redis-a-cert-signed"]);
    });

    it("marks every key, pass phrase and SSH credential it handles as a secret, and sends the host key to the provider", async () => {
        const ca = new CertificateAuthority("ca");
        const cert = new RedisServerCertificate("c", { ...serverArgs(ca), keyFilePass: "hunter2" });
        const config = new RedisTlsConfig("conf", { connection, keyFilePass: "hunter2" });
        assert.equal(await pulumi.isSecret(ca.issuerPrivateKeyPem), true);
        assert.equal(await pulumi.isSecret(config.rendered), true);
        assert.match(await valueOf(config.rendered), /^tls-key-file-pass "hunter2"$/m);
        assert.equal(await pulumi.isSecret(pulumi.output(toCommandConnection(connection)).apply((c) => c.privateKey)), true);
        await valueOf(cert.certPem);
        await settle(recorded);
        // The pass phrase reaches the host on stdin only, never in a command line.
        const commands = recorded.filter((r) => r.type === "command:remote:Command");
        assert.deepEqual(commands.filter((r) => strings(r.inputs.create).some(([, v]) => v.includes("hunter2"))), []);
        assert.ok(isSecretInput(byName(recorded, "c-csr").inputs.stdin));
        assert.equal(plain(byName(recorded, "c-csr").inputs.stdin), "hunter2\n");
        assert.ok(isSecretInput(byName(recorded, "conf-install").inputs.stdin));
        // Every SSH connection and every use of the CA key reaches the provider as a secret, host key pinned.
        assert.deepEqual(commands.filter((r) => !isSecretInput(r.inputs.connection)).map((r) => r.name), []);
        assert.deepEqual([...new Set(commands.map((r) => plain(r.inputs.connection).hostKey))], [HOST_KEY]);
        assert.ok(isSecretInput(byName(recorded, "c-signed").inputs.caPrivateKeyPem));
    });

    it("without a pass phrase the drop-in is plain and the CSR step gets no stdin", async () => {
        const config = new RedisTlsConfig("conf", { connection });
        assert.equal(await pulumi.isSecret(config.rendered), false);
        assert.doesNotMatch(await valueOf(config.rendered), /tls-key-file-pass/);
    });

    it("CaDistribution: one anchor per CA, owned per resource, through sudo for a non-root login and bash for root", async () => {
        const { root } = pems();
        new CaDistribution("clients", { rootCertPem: root, hosts: [{ name: "a", connection: { ...connection, user: "deploy" } }, { name: "b", connection }] });
        new CaDistribution("renamed", { rootCertPem: root, hosts: [{ name: "b", connection }] });
        await settle(recorded);
        const a = byName(recorded, "clients-a").inputs;
        const b = byName(recorded, "clients-b").inputs;
        assert.match(a.create, /^sudo -n \/bin\/bash -c "\$\(cat <<'REDIS_TLS_SCRIPT'\n/);
        assert.match(b.create, /^\/bin\/bash -c "\$\(cat <<'REDIS_TLS_SCRIPT'\n/);
        assert.ok(b.create.includes(`name='redis-tls-${fp(root).slice(0, 16)}'`));
        assert.equal(b.stdin, root);
        const owner = (s: string) => s.match(/owner='([0-9a-f]{16})'/)![1];
        assert.equal(owner(b.create), owner(b.delete), "the delete drops the owner the create recorded");
        assert.notEqual(owner(b.create), owner(byName(recorded, "renamed-b").inputs.create), "another resource is another owner");
        assert.match(b.delete, /if \[ "\$\(disown "\$1" "\$owner"\)" != last \]; then return 0; fi/);
    });

    it("re-issues on the first run of a new renewal slot: the CSR step's trigger changes", async () => {
        const ca = new CertificateAuthority("ca");
        const realNow = Date.now;
        const t0 = Date.UTC(2026, 0, 1);
        const renewAfter = 480;
        try {
            for (const [name, at] of [["same", t0], ["same-later", t0 + 1000], ["next", (renewalSlot(t0, renewAfter) + 1) * renewAfter * 3_600_000]] as const) {
                Date.now = () => at;
                new RedisServerCertificate(name, serverArgs(ca));
            }
        } finally {
            Date.now = realNow;
        }
        await settle(recorded);
        const slot = (n: string) => byName(recorded, `${n}-csr`).inputs.triggers;
        assert.deepEqual(slot("same"), slot("same-later"));
        assert.notDeepEqual(slot("same"), slot("next"));
    });

    it("RedisTlsServer with acme: lego on the host, Redis trusting the project's CA for clients, and a renewer that hot-loads", async () => {
        const { root, intermediate } = pems();
        const server = new RedisTlsServer("redis-m", {
            connection,
            dnsNames: ["redis-m.internal"],
            rootCertPem: intermediate,
            acme: { directoryUrl: "https://ca.internal/acme/directory", email: "ops@example.com", rootCertPem: root, httpPort: 8080 },
        });
        assert.equal(await valueOf(server.serverName), "redis-m.internal");
        await settle(recorded);
        assert.deepEqual(summary(recorded), [
            "command:remote:Command redis-m-acme-issue",
            "command:remote:Command redis-m-config-install",
            "command:remote:Command redis-m-renewer-install",
            "redis-tls:index:AcmeCertificate redis-m-acme",
            "redis-tls:index:CertRenewer redis-m-renewer",
            "redis-tls:index:RedisTlsConfig redis-m-config",
            "redis-tls:index:RedisTlsServer redis-m",
        ]);
        const issue = byName(recorded, "redis-m-acme-issue").inputs;
        assert.match(issue.create, /lego_args=\(--server 'https:\/\/ca\.internal\/acme\/directory' .*--http\.port ':8080' --key-type 'ec256' .* --domains 'redis-m\.internal'\)/);
        assert.deepEqual(sections(issue.stdin), { "acme-root": root, "client-ca": intermediate });
        assert.ok(issue.create.includes(`!= ${fp(root)} ]`) && issue.create.includes(`!= ${fp(intermediate)} ]`), "both pinned");
        const renewer = byName(recorded, "redis-m-renewer-install").inputs;
        assert.match(renewer.create, /cat > "\$work\/2" <<'REDIS_TLS_FILE_2'\n\[Service\]\nEnvironment=CERT_LOCATION=\/etc\/redis-tls\/live\/redis\.crt KEY_LOCATION=\/etc\/redis-tls\/live\/redis\.key\n.*\nExecStartPost=\nExecStartPost=\/usr\/local\/libexec\/redis-tls\/reload-redis-server\n/);
        // The renew script the timer runs is the one the first issuance ran.
        const script = issue.create.match(/<<'REDIS_TLS_RENEW'\n([\s\S]*?)\nREDIS_TLS_RENEW/)![1];
        assert.ok(renewer.create.includes(script));
        const owner = (s: string) => s.match(/record='\/var\/lib\/redis-tls\/placed\/([0-9a-f]{16})'/)![1];
        assert.match(renewer.create, new RegExp(`own 'renewer-redis-server' '${owner(renewer.create)}'`));
        assert.equal(owner(renewer.create), owner(renewer.delete), "the delete drops the owner the create recorded");
    });

    it("StepCa warns at preview when its ACME provisioner is on, and only then", async () => {
        const warnings: string[] = [];
        const warn = pulumi.log.warn;
        pulumi.log.warn = async (msg: string) => void warnings.push(msg);
        try {
            new StepCa("quiet", { connection, ipAddresses: ["10.0.0.9"] });
            new StepCa("open", { connection, ipAddresses: ["10.0.0.8"], acme: true });
        } finally {
            pulumi.log.warn = warn;
        }
        assert.equal(warnings.filter((w) => w.startsWith("StepCa ")).length, 1);
        assert.match(warnings.find((w) => w.startsWith("StepCa "))!, /^StepCa open: acme is on, so anyone who can answer an HTTP-01 challenge for a name/);
    });

    it("RedisTlsServer with a stood-up step-ca: bootstrap, host-made CSR signed on the CA host, install pinned to the step root", async () => {
        const ca = new CertificateAuthority("ca");
        const stepCa = new StepCa("step", { connection: { ...connection, host: "10.0.0.9" }, ipAddresses: ["10.0.0.9"], acme: true });
        new RedisTlsServer("redis-s", { ...serverArgs(ca), step: stepCa.issuer });
        await valueOf(stepCa.rootFingerprint);
        await settle(recorded);
        assert.deepEqual(summary(recorded).filter((s) => s.includes("redis-s") && s.startsWith("command")), [
            "command:remote:Command redis-s-config-install",
            "command:remote:Command redis-s-renewer-install",
            "command:remote:Command redis-s-step-bootstrap",
            "command:remote:Command redis-s-step-csr",
            "command:remote:Command redis-s-step-install",
            "command:remote:Command redis-s-step-sign",
        ]);
        const sign = byName(recorded, "redis-s-step-sign").inputs;
        assert.equal(plain(sign.connection).host, "10.0.0.9", "signed on the CA host");
        assert.equal(sign.stdin, byName(recorded, "redis-s-step-csr").state.stdout, "the CSR on stdin");
        // The token is for exactly the host's names, from the root-only password file.
        assert.match(sign.create, /ca token 'redis-1\.example\.internal' --san 'redis-1\.example\.internal' --san '10\.0\.0\.5' --provisioner 'redis' \\\n {2}--provisioner-password-file "\$steppath\/provisioner\.pass"/);
        assert.match(byName(recorded, "step-init").inputs.create, /step ca init --name "\$name" --dns "\$dns"/);
        assert.match(byName(recorded, "redis-s-step-bootstrap").inputs.create, /url='https:\/\/10\.0\.0\.9:9443' fp=[0-9a-f]{64}/);
        assert.match(byName(recorded, "redis-s-renewer-install").inputs.create, /Environment=STEPPATH=\/etc\/redis-tls\/step CERT_LOCATION=/);
        assert.match(byName(recorded, "redis-s-renewer-install").inputs.create, /step ca renew "\$work\/chain\.pem" "\$key" --force/);
    });

    it("an existing step-ca: the CSR is signed where Pulumi runs, the provisioner password a secret on stdin and nowhere else", async () => {
        const ca = new CertificateAuthority("ca");
        const issuer = { caUrl: "https://ca.internal:9443", rootFingerprint: "AB".repeat(32), provisionerPassword: pulumi.secret("s3cret-pass"), stepCli: "/opt/step/step" };
        new RedisTlsServer("redis-e", { ...serverArgs(ca), step: issuer });
        await settle(recorded);
        const sign = byName(recorded, "redis-e-step-sign");
        assert.equal(sign.type, "command:local:Command");
        assert.ok(isSecretInput(sign.inputs.stdin));
        assert.equal(plain(sign.inputs.stdin), "s3cret-pass");
        assert.match(sign.inputs.create, /'\/opt\/step\/step' ca bootstrap --ca-url 'https:\/\/ca\.internal:9443' --fingerprint (ab){32}/);
        const holders = recorded.filter((r) => strings(r.inputs).some(([at, v]) => v.includes("s3cret-pass") && !at.startsWith("stdin"))).map((r) => r.name);
        assert.deepEqual(holders, []);
    });

    it("connection outputs: the server's is public; an application's carries its identity, secret when it holds a key or password", async () => {
        const ca = new CertificateAuthority("ca");
        const server = new RedisTlsServer("redis-c", { connection, dnsNames: ["redis-1.example.internal"], ca: ca.issuer, tlsPort: 6380 });
        const s = await valueOf(server.connection);
        assert.deepEqual(s, { url: "rediss://10.0.0.5:6380", host: "10.0.0.5", port: 6380, serverName: "redis-1.example.internal", caPem: await valueOf(ca.rootCertPem) });
        assert.equal(await pulumi.isSecret(server.connection), false);

        const servers = [{ host: "10.0.0.5", port: 6380, serverName: server.serverName }];
        const inState = new RedisClientCertificate("orders", { username: "orders", servers, ca: ca.issuer });
        const c = await valueOf(inState.connection);
        assert.equal(await pulumi.isSecret(inState.connection), true);
        assert.deepEqual(Object.keys(c).sort(), ["caPem", "certPem", "host", "keyPem", "password", "port", "serverName", "url", "username"]);
        assert.equal(c.url, `rediss://orders:${c.password}@10.0.0.5:6380`);
        assert.equal(c.keyPem, await valueOf(inState.keyPem));

        const onHost = new RedisClientCertificate("billing", { username: "billing", servers, ca: ca.issuer, clientLogin: "certificate", connection: { ...connection, host: "10.0.0.7" } });
        const h = await valueOf(onHost.connection);
        assert.equal(await pulumi.isSecret(onHost.connection), false, "no key, no password: nothing secret");
        assert.deepEqual(
            { keyPem: h.keyPem, password: h.password, keyPath: h.keyPath, url: h.url },
            { keyPem: undefined, password: undefined, keyPath: "/etc/redis-tls-client/billing/live/redis.key", url: "rediss://billing@10.0.0.5:6380" },
        );
    });

    it("ca: a certificate value that also holds a key fails its step and is never unsecreted; only parsed certificates reach the signer", async () => {
        const org = pems();
        const ca = new CertificateAuthority("org", { existing: { rootCertPem: org.root, issuerCertPem: pulumi.secret(org.root + org.key), issuerPrivateKeyPem: pulumi.secret(org.key) } });
        const errors: string[] = [];
        const onError = (e: Error) => errors.push(e.message);
        process.on("unhandledRejection", onError);
        try {
            new RedisClientCertificate("app", { username: "app", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }], ca: ca.issuer });
            await settle(recorded);
        } finally {
            process.off("unhandledRejection", onError);
        }
        const keyBody = org.key.split("\n")[1];
        // Anywhere in a resource's inputs, outside a secret.
        const inClear = (v: unknown): boolean =>
            isSecretInput(v) ? false : typeof v === "string" ? v.includes(keyBody) : v !== null && typeof v === "object" ? Object.values(v).some(inClear) : false;
        const holders = recorded.filter((r) => inClear(r.inputs));
        assert.deepEqual(holders.map((r) => r.name), []);
        assert.deepEqual(recorded.filter((r) => r.name === "app-signed"), [], "nothing signed");
        assert.ok(errors.some((m) => /\[ca\.issuerCertPem\] contains/.test(m)), JSON.stringify(errors));
    });

    it("a component registers its args less every secret, also inside an Output holding a whole object", async () => {
        const org = pems();
        new CertificateAuthority("org", { existing: pulumi.output({ rootCertPem: org.root, issuerPrivateKeyPem: org.key }) as any });
        const stepCa = new StepCa("step-v", { connection: { ...connection, privateKey: "plain-ssh-key" }, ipAddresses: ["10.0.0.9"] });
        await settle(recorded);
        const component = recorded.find((r) => r.type === "redis-tls:index:CertificateAuthority")!;
        assert.deepEqual(Object.keys(plain(component.inputs.existing)), ["rootCertPem"]);
        assert.equal(await pulumi.isSecret(pulumi.output(stepCa.issuer.signer!.connection.privateKey)), true, "StepCa.issuer keeps the SSH key secret");
        assert.equal(plain(recorded.find((r) => r.name === "step-v" && r.type === "redis-tls:index:StepCa")!.inputs.connection).privateKey, undefined);
    });

    it("bad input throws before any resource is registered, naming the field", async () => {
        assert.throws(
            () => new RedisTlsServer("bad", { ...serverArgs(new CertificateAuthority("ca")), dnsNames: ["redis_1"] }),
            (e: unknown) => e instanceof ValidationError && /\[dnsNames\] "redis_1" is not a valid DNS name/.test(e.message),
        );
        await settle(recorded);
        assert.deepEqual(summary(recorded).filter((s) => s.includes("bad")), []);
    });

    it("RedisCluster: every member cluster-enabled with no client certificate asked, a join step per member sending data only, the first primary last", async () => {
        const ca = new CertificateAuthority("ca");
        const members = ["a", "b", "c", "d"].map((n, i) => ({
            name: n, server: { ...serverArgs(ca), connection: { ...connection, host: `10.0.0.${i + 1}` }, ipAddresses: [`10.0.0.${i + 1}`] }, ...(n === "d" ? { replicaOf: "b" } : {}),
        }));
        const cluster = new RedisCluster("cl", { members });
        const nodes = await valueOf(cluster.nodes);
        assert.deepEqual(nodes.map((n) => [n.host, n.port, n.replicaOf]), [["10.0.0.1", 6379, undefined], ["10.0.0.2", 6379, undefined], ["10.0.0.3", 6379, undefined], ["10.0.0.4", 6379, "b"]]);
        await settle(recorded);
        const password = recorded.filter((r) => r.type === "command:local:Command").map((r) => r.name);
        assert.deepEqual(password, ["cl-replication-password"]);
        for (const n of ["a", "b", "c", "d"]) {
            const { dropin, users } = sections(plain(byName(recorded, `cl-${n}-config-install`).inputs.stdin));
            assert.match(dropin, new RegExp(`^cluster-enabled yes\ncluster-port 16379\ncluster-announce-ip 10\\.0\\.0\\.${"abcd".indexOf(n) + 1}$`, "m"), "each announces the IP its certificate names");
            assert.match(dropin, /^tls-auth-clients optional$/m);
            assert.match(dropin, /^tls-cluster yes$/m);
            assert.doesNotMatch(dropin, /^replicaof/m);
            assert.match(users, /^user redis-tls-replica reset on #[0-9a-f]{64} /m);
        }
        const join = (n: string) => sections(plain(byName(recorded, `cl-${n}-join`).inputs.stdin));
        assert.deepEqual(join("b"), { seed: "10.0.0.1 6379", slots: "5461 10921", primary: "" });
        assert.deepEqual(join("c"), { seed: "10.0.0.1 6379", slots: "10922 16383", primary: "" });
        assert.deepEqual(join("d"), { seed: "10.0.0.1 6379", slots: "", primary: "10.0.0.2 6379" });
        assert.deepEqual(join("a"), { slots: "0 5460", members: "4" });
        // Values travel on stdin; the script text is the same for every member.
        const scripts = new Set(["a", "b", "c", "d"].map((n) => byName(recorded, `cl-${n}-join`).inputs.create));
        assert.equal(scripts.size, 1);
        assert.ok(![...scripts][0].includes("10.0.0."));
    });
});
