// The organisation's own CA: its root and issuing certificate as PEM, its key a stack secret.
// Nothing of the CA is made; servers are signed by it and trust it for clients.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, RedisTlsServer } from "redis-tls";

const config = new pulumi.Config();
const ca = new CertificateAuthority("org-ca", {
    existing: {
        rootCertPem: config.require("caRootCertPem"),
        issuerCertPem: config.get("caIssuerCertPem"),
        issuerPrivateKeyPem: config.requireSecret("caIssuerPrivateKeyPem"),
    },
});
const redis = new RedisTlsServer("redis-1", {
    connection: { host: "10.0.0.5", privateKey: config.requireSecret("sshPrivateKey"), hostKey: config.require("redisHostKey") },
    dnsNames: ["redis-1.corp.example"],
    ca: ca.issuer,
});

export const server = redis.connection;
