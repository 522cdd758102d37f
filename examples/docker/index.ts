// Redis in Docker: a TLS-only container on the application's network (published on loopback only),
// one application identity with its own certificate and ACL user, and the application's image
// rebuilt with the CA root in its system trust store, so it verifies Redis with no code change.
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { CaTrustImage, CertificateAuthority, RedisClientCertificate, RedisTlsContainer } from "redis-tls";

const config = new pulumi.Config();
const network = new docker.Network("apps", {});

const ca = new CertificateAuthority("ca");
const orders = new RedisClientCertificate("orders", {
    username: "orders",
    // Containers on the network reach Redis by its alias; the certificate names it.
    servers: [{ host: "redis", serverName: "redis" }],
    ca: ca.issuer,
});
const redis = new RedisTlsContainer("redis", {
    ca: ca.issuer,
    image: config.get("redisImage") ?? "redis:7.4",
    dnsNames: ["redis", "localhost"],
    ipAddresses: ["127.0.0.1"],
    network: network.name,
    users: [{ name: "orders", rules: "~orders:* resetchannels +@read +@write -@dangerous", passwordHash: orders.passwordHash }],
});
const appImage = new CaTrustImage("orders-image", {
    base: config.get("appImage") ?? "node:20-bookworm-slim",
    imageName: "orders/app-with-ca:1",
    rootCertPem: redis.rootCertPem,
    family: "debian",
    user: "node",
});

export const endpoint = redis.endpoint;
export const ordersConnection = orders.connection;
export const ordersImage = appImage.imageId;
