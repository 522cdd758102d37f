// A primary and two replicas, issued by a CA in state that is theirs alone: replicas replicate over
// TLS, presenting their own certificates, as an identity that may only replicate.
import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority, makeAclPassword, RedisClientCertificate, RedisTlsServer } from "redis-tls";

const config = new pulumi.Config();
const privateKey = config.requireSecret("sshPrivateKey");
const hosts = [
    { name: "redis-a", address: "10.0.0.5" },
    { name: "redis-b", address: "10.0.0.6" },
    { name: "redis-c", address: "10.0.0.7" },
].map((h) => ({ ...h, hostKey: config.require(`${h.name}HostKey`) }));

// One CA per replica set: Redis does not check a primary's name, so any server certificate of the CA
// must be a member's.
const ca = new CertificateAuthority("replica-set-ca", { commonName: "orders replica set CA" });
const replication = makeAclPassword("replication-password");
const orders = new RedisClientCertificate("orders", {
    username: "orders",
    servers: hosts.map((h) => ({ host: h.address, serverName: `${h.name}.internal` })),
    ca: ca.issuer,
});

const [primary, ...replicas] = hosts.map(
    (h, i) =>
        new RedisTlsServer(h.name, {
            connection: { host: h.address, privateKey, hostKey: h.hostKey },
            dnsNames: [`${h.name}.internal`],
            ca: ca.issuer,
            users: [{ name: "orders", rules: "~orders:* resetchannels +@read +@write -@dangerous", passwordHash: orders.passwordHash }],
            replicaSet: { password: replication.password, ...(i === 0 ? {} : { primary: { host: hosts[0].address } }) },
        }),
);

export const write = primary.connection;
export const read = replicas.map((r) => r.connection);
export const ordersConnection = orders.connection;
