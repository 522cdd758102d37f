// Server certificates from an ACME directory (lego on the host, HTTP-01), renewed on the host by a
// cert-renewer timer that hot-reloads Redis. Client certificates still come from the CA in state.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, RedisTlsServer } from "redis-tls";

const config = new pulumi.Config();
const clients = new CertificateAuthority("clients");
const redis = new RedisTlsServer("redis-1", {
    connection: { host: "10.0.0.5", privateKey: config.requireSecret("sshPrivateKey"), hostKey: config.require("redisHostKey") },
    dnsNames: ["redis-1.example.com"],
    acme: {
        directoryUrl: config.get("acmeDirectoryUrl") ?? "https://acme-v02.api.letsencrypt.org/directory",
        email: "ops@example.com",
        rootCertPem: config.require("acmeRootCertPem"),
    },
    rootCertPem: clients.rootCertPem,
});

export const server = redis.connection;
