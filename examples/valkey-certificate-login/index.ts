// Valkey 9 with certificate login: the client certificate's CN is the ACL user, which has no
// password at all; the application's key is made on its own host and never leaves it.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, ClientLogin, Flavor, RedisClientCertificate, RedisTlsServer } from "redis-tls";

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");
const ca = new CertificateAuthority("ca");
const billing = new RedisClientCertificate("billing", {
    username: "billing",
    servers: [{ host: "10.0.0.5", serverName: "valkey-1.internal" }],
    ca: ca.issuer,
    clientLogin: ClientLogin.certificate,
    connection: { host: "10.0.0.21", privateKey, hostKey: config.require("appHostKey") },
});
const valkey = new RedisTlsServer("valkey-1", {
    connection: { host: "10.0.0.5", privateKey, hostKey: config.require("valkeyHostKey") },
    dnsNames: ["valkey-1.internal"],
    ca: ca.issuer,
    flavor: Flavor.valkey,
    clientLogin: ClientLogin.certificate,
    users: [{ name: "billing", rules: "~billing:* resetchannels +@read +@write -@dangerous" }],
});

export const server = valkey.connection;
export const billingKeyPath = billing.keyPath;
