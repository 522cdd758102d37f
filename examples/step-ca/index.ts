// smallstep's step-ca stood up on its own host (step ca init, a JWK provisioner "redis", 720h
// certificates); Redis hosts' CSRs are signed there and renewed on the hosts by `step ca renew`.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, RedisTlsServer, StepCa } from "redis-tls";

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");
const stepCa = new StepCa("step", {
    connection: { host: "10.0.0.9", privateKey, hostKey: config.require("caHostKey") },
    dnsNames: ["ca.internal"],
});
const clients = new CertificateAuthority("clients");
const redis = new RedisTlsServer("redis-1", {
    connection: { host: "10.0.0.5", privateKey, hostKey: config.require("redisHostKey") },
    dnsNames: ["redis-1.internal"],
    step: stepCa.issuer,
    rootCertPem: clients.rootCertPem,
});

export const caUrl = stepCa.caUrl;
export const server = redis.connection;
