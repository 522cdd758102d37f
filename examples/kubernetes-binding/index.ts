// An application in Kubernetes: its identity kept in state (a secret), handed over as a Service
// Binding Secret (needs @pulumi/kubernetes), a Pulumi ESC environment and a Java keystore.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, RedisClientCertificate, RedisTlsServer, renderEscEnvironment, renderPkcs12, serviceBindingSecret } from "redis-tls";

const config = new pulumi.Config();
const ca = new CertificateAuthority("ca");
const orders = new RedisClientCertificate("orders", { username: "orders", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }], ca: ca.issuer });
new RedisTlsServer("redis-1", {
    connection: { host: "10.0.0.5", privateKey: config.requireSecret("sshPrivateKey"), hostKey: config.require("redisHostKey") },
    dnsNames: ["redis-1.internal"],
    ca: ca.issuer,
    users: [{ name: "orders", rules: "~orders:* resetchannels +@read +@write -@dangerous", passwordHash: orders.passwordHash }],
});

serviceBindingSecret("orders-redis", orders.connection, { namespace: "shop" });
export const escEnvironment = pulumi.secret(orders.connection.apply(renderEscEnvironment));
export const keystoreBase64 = pulumi.secret(pulumi.all([orders.connection, config.requireSecret("keystorePassword")]).apply(([c, p]) => renderPkcs12(c, p).toString("base64")));
