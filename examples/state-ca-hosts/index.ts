// The embedded default: a CA kept in Pulumi state, one TLS-only Redis host, one application with its
// own certificate and least-privilege ACL user, and the root in an application host's trust store.
import * as pulumi from "@pulumi/pulumi";
import { CaDistribution, CertificateAuthority, RedisClientCertificate, RedisTlsServer } from "redis-tls";

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");
const redisHost = { host: config.get("redisAddress") ?? "10.0.0.5", privateKey, hostKey: config.require("redisHostKey") };

const ca = new CertificateAuthority("ca");
const orders = new RedisClientCertificate("orders", {
    username: "orders",
    servers: [{ host: redisHost.host, serverName: "redis-1.internal" }],
    ca: ca.issuer,
});
const redis = new RedisTlsServer("redis-1", {
    connection: redisHost,
    dnsNames: ["redis-1.internal"],
    ca: ca.issuer,
    users: [{ name: "orders", rules: "~orders:* resetchannels +@read +@write -@dangerous", passwordHash: orders.passwordHash }],
});
new CaDistribution("trust", {
    rootCertPem: ca.rootCertPem,
    hosts: [{ name: "app-1", connection: { host: config.get("appAddress") ?? "10.0.0.20", privateKey, hostKey: config.require("appHostKey") } }],
});

export const server = redis.connection;
export const ordersConnection = orders.connection;
