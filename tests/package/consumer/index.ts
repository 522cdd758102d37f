// A fresh project that installed the packed library: it type-checks against the shipped
// declarations and constructs every component under mocks. tests/package.install.e2e.spec.ts
// copies it next to an `npm install` of the tarball (or of the git repository) and runs it.
import * as pulumi from "@pulumi/pulumi";
import * as lib from "redis-tls";
import {
    AcmeCertificate,
    CaDistribution,
    CaTrustImage,
    CertificateAuthority,
    CertRenewer,
    KeyAlgorithm,
    RedisClientCertificate,
    RedisCluster,
    RedisServerCertificate,
    RedisTlsConfig,
    RedisTlsContainer,
    RedisTlsServer,
    StepBootstrap,
    StepCa,
    StepCertificate,
} from "redis-tls";

// The repository's test mocks, compiled next to this file: they resolve @pulumi/pulumi from this
// project, the copy the package itself loads.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { recordResources, settle } = require("./mocks/support/mocks");

async function main(): Promise<void> {
    const recorded: Array<{ type: string; name: string }> = recordResources();
    const connection = { host: "10.0.0.5", privateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\nc3No\n-----END OPENSSH PRIVATE KEY-----\n"), hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown" };
    const ca = new CertificateAuthority("ca", { keyAlgorithm: KeyAlgorithm.ECDSA_P256 });
    const orders = new RedisClientCertificate("orders", { username: "orders", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }], ca: ca.issuer });
    const server = new RedisTlsServer("redis-1", {
        connection, dnsNames: ["redis-1.internal"], ca: ca.issuer, users: [{ name: "orders", rules: "~orders:* +@read", passwordHash: orders.passwordHash }],
    });
    const components: pulumi.ComponentResource[] = [
        ca,
        orders,
        server,
        new RedisServerCertificate("cert-2", { connection: { ...connection, host: "10.0.0.6" }, ipAddresses: ["10.0.0.6"], ca: ca.issuer }),
        new RedisTlsConfig("config-2", { connection: { ...connection, host: "10.0.0.6" } }),
        new CaDistribution("trust", { rootCertPem: ca.rootCertPem, hosts: [{ name: "app-1", connection: { ...connection, host: "10.0.0.7" } }] }),
        new AcmeCertificate("acme-3", {
            connection: { ...connection, host: "10.0.0.8" }, directoryUrl: "https://acme.internal/directory", email: "ops@example.com",
            dnsNames: ["redis-3.internal"], rootCertPem: ca.rootCertPem, clientCaPem: ca.rootCertPem,
        }),
        new CertRenewer("renewer-3", { connection: { ...connection, host: "10.0.0.8" }, renewScript: "exit 0" }),
    ];
    const stepCa = new StepCa("step", { connection: { ...connection, host: "10.0.0.9" }, ipAddresses: ["10.0.0.9"] });
    components.push(
        stepCa,
        new StepBootstrap("app-4-bootstrap", { connection: { ...connection, host: "10.0.0.10" }, caUrl: stepCa.caUrl, rootFingerprint: stepCa.rootFingerprint }),
        new StepCertificate("step-4", { connection: { ...connection, host: "10.0.0.10" }, ipAddresses: ["10.0.0.10"], issuer: stepCa.issuer, clientCaPem: ca.rootCertPem }),
        new RedisTlsContainer("local", { ca: ca.issuer, users: [{ name: "orders", rules: "~orders:* +@read", passwordHash: orders.passwordHash }] }),
        new CaTrustImage("app-image", { base: "node:20-bookworm", imageName: "team/app-with-ca:1", rootCertPem: ca.rootCertPem }),
        new RedisCluster("cluster", {
            members: [11, 12, 13].map((n) => ({ name: `n${n}`, server: { connection: { ...connection, host: `10.0.0.${n}` }, ipAddresses: [`10.0.0.${n}`], ca: ca.issuer } })),
        }),
    );
    await Promise.all(components.map((c) => new Promise((resolve) => c.urn.apply(resolve))));
    await new Promise((resolve) => server.serverName.apply(resolve));
    await settle(recorded);
    const exported = Object.values(lib).filter((v) => typeof v === "function" && v.prototype instanceof pulumi.ComponentResource).map((c) => (c as { name: string }).name).sort();
    console.log(JSON.stringify({ exported, constructed: [...new Set(components.map((c) => c.constructor.name))].sort(), resources: recorded.map((r) => `${r.type} ${r.name}`).sort() }));
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
