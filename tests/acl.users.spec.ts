import { strict as assert } from "node:assert";
import { createHash, X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import {
    CertificateAuthority,
    parseStackConfig,
    RedisClientCertificate,
    RedisTlsConfig,
    renderAppUsers,
    renderRedisTlsConf,
    validateClientCertificateArgs,
    validateRedisTlsConfigArgs,
    validateRedisTlsServerArgs,
} from "../components";
import { plain, recordResources, sections, settle, valueOf } from "./support/mocks";
import { pems } from "./support/pems";

const connection = { host: "10.0.0.5", privateKey: "k" };
const hash = "a".repeat(64);
const { root, intermediate } = pems();
const users = (u: object[]) => validateRedisTlsConfigArgs({ connection, users: u as never });

// Each row: one mistake in an application user, and the exact message preview fails with.
const cases: Array<[string, string[], string]> = [
    ["a newline in rules injects a second ACL line", users([{ name: "orders", rules: "~orders:*\nuser evil on nopass +@all", passwordHash: hash }]),
        `[users[0].rules] "~orders:*\\nuser evil on nopass +@all" has a line break, tab or other non-printable character, which would end the ACL line and start another; write the rules on one line, separated by spaces`],
    ["a password in rules", users([{ name: "orders", rules: "~orders:* >hunter2 +get", passwordHash: hash }]),
        `[users[0].rules] ">hunter2" sets a password; redis-tls sets each user's login (clientLogin, passwordHash), so drop it`],
    ["a hash in rules", users([{ name: "orders", rules: `#${hash} +get`, passwordHash: hash }]),
        `[users[0].rules] "#${hash}" sets a password; redis-tls sets each user's login (clientLogin, passwordHash), so drop it`],
    ["nopass", users([{ name: "orders", rules: "nopass +get", passwordHash: hash }]),
        `[users[0].rules] "nopass" sets a password; redis-tls sets each user's login (clientLogin, passwordHash), so drop it`],
    ["off", users([{ name: "orders", rules: "off +get", passwordHash: hash }]),
        `[users[0].rules] "off" is redis-tls's: every user is written as "reset on" followed by its rules; drop it (remove the user to turn it off)`],
    ["a quote", users([{ name: "orders", rules: `~"orders" +get`, passwordHash: hash }]),
        `[users[0].rules] "~\\"orders\\"" has a quote or backslash, which the ACL file would read as quoting; use patterns without them`],
    ["a selector", users([{ name: "orders", rules: "(~x +get)", passwordHash: hash }]),
        `[users[0].rules] "(~x" is part of a selector, which this library does not render; write the rules without "( )"`],
    ["an unknown word", users([{ name: "orders", rules: "~o:* readonly", passwordHash: hash }]),
        `[users[0].rules] "readonly" is not an ACL rule this library accepts; use ~pattern, %R~pattern, &pattern, +command, -command, +command|subcommand, +@category or -@category`],
    ["empty rules", users([{ name: "orders", rules: " ", passwordHash: hash }]),
        `[users[0].rules] " " grants nothing; give rules such as "~app:* +@read +@write -@dangerous"`],
    ["a bad user name", users([{ name: "Orders App", rules: "+get", passwordHash: hash }]),
        `[users[0].name] "Orders App" is not an ACL user name this library accepts; use lower-case letters, digits, "_" and "-", starting with a letter`],
    ["the default user", users([{ name: "default", rules: "+get", passwordHash: hash }]),
        `[users[0].name] "default" is Redis's own user, which redis-tls keeps off; choose another name`],
    ["the reload user", users([{ name: "redis-tls-reload", rules: "+get", passwordHash: hash }]),
        `[users[0].name] "redis-tls-reload" is one of redis-tls's own users (redis-tls-admin, redis-tls-reload, redis-tls-acl); give the application another name`],
    ["a duplicate user", users([{ name: "orders", rules: "+get", passwordHash: hash }, { name: "orders", rules: "+set", passwordHash: hash }]),
        `[users[].name] "orders" is listed twice; list each value once`],
    ["no password hash with password login", users([{ name: "orders", rules: "+get" }]),
        `[users[0].passwordHash] not given; with clientLogin "password" a user logs in with a password: pass RedisClientCertificate.passwordHash (or use clientLogin "certificate" on Valkey 9+ / Redis 8.6+)`],
    ["a hash that is not one", users([{ name: "orders", rules: "+get", passwordHash: "hunter2" }]),
        `[users[0].passwordHash] is not a SHA-256 in lower-case hex; pass RedisClientCertificate.passwordHash`],
    ["an unknown login", validateRedisTlsConfigArgs({ connection, clientLogin: "cert" as never }),
        `[clientLogin] "cert" is not supported; use one of "password", "certificate"`],
    ["an unknown flavor", validateRedisTlsConfigArgs({ connection, flavor: "keydb" as never }), `[flavor] "keydb" is not supported; use one of "redis", "valkey"`],
    ["a user named like the server, with certificate login", validateRedisTlsServerArgs({
        connection, dnsNames: ["cache"], caCertPem: intermediate, caPrivateKeyPem: "k", chainPem: intermediate, rootCertPem: root,
        clientLogin: "certificate", users: [{ name: "cache", rules: "+get" }],
    }), `[users[0].name] "cache" is also this server's name, so its own certificate would log in as that user; rename the user`],
    ["a client certificate for no server", validateClientCertificateArgs({
        username: "orders", servers: [], caCertPem: intermediate, caPrivateKeyPem: "k", chainPem: intermediate, rootCertPem: root,
    }), `[servers] [] names no server; give at least one {host, port, serverName} (RedisTlsServer's endpoint and serverName)`],
    ["a key directory without a host", validateClientCertificateArgs({
        username: "orders", servers: [{ host: "h", serverName: "h" }], caCertPem: intermediate, caPrivateKeyPem: "k", chainPem: intermediate, rootCertPem: root, keyDir: "/etc/x",
    }), `[keyDir] is for a key made on a host; give connection too, or drop it to keep the key in state`],
    ["an application named like redis-tls's admin", validateClientCertificateArgs({
        username: "redis-tls-admin", servers: [{ host: "h", serverName: "h" }], caCertPem: intermediate, caPrivateKeyPem: "k", chainPem: intermediate, rootCertPem: root,
    }), `[username] "redis-tls-admin" is one of redis-tls's own users (redis-tls-admin, redis-tls-acl, redis-tls-reload); give the application another name`],
];

describe("application ACL users: rules, names and logins checked at preview", () => {
    for (const [what, problems, message] of cases) {
        it(`refuses ${what}`, () => assert.ok(problems.includes(message), `expected ${JSON.stringify(message)} among ${JSON.stringify(problems, null, 1)}`));
    }

    it("accepts the rules the README shows, and renders each user as reset on, its hash, its rules and what everyone is denied", () => {
        const rules = "~orders:* %R~catalog:* &orders:* resetchannels +@read +@write -@dangerous +client|setname allkeys";
        assert.deepEqual(users([{ name: "orders", rules, passwordHash: hash }]), []);
        assert.equal(
            renderAppUsers([{ name: "orders", rules: ` ${rules}  `, passwordHash: hash }, { name: "billing", rules: "~billing:* +get" }]),
            `user orders reset on #${hash} ${rules} -config|rewrite -acl|save -acl|load -debug -module -acl|setuser -acl|deluser -config|set\n` +
                `user billing reset on ~billing:* +get -config|rewrite -acl|save -acl|load -debug -module -acl|setuser -acl|deluser -config|set\n`,
        );
    });

    it("certificate login needs no hash and adds tls-auth-clients-user CN to the drop-in; password login does not", () => {
        assert.deepEqual(validateRedisTlsConfigArgs({ connection, clientLogin: "certificate", users: [{ name: "orders", rules: "+get" }] }), []);
        const base = { tlsPort: 6379, plaintextPort: 0, bind: ["*"], tlsDir: "/etc/redis-tls", authClients: "yes", replication: true, cluster: true, protocols: ["TLSv1.3"] };
        assert.match(renderRedisTlsConf({ ...base, clientLogin: "certificate" }), /^tls-auth-clients-user CN$/m);
        assert.doesNotMatch(renderRedisTlsConf({ ...base, clientLogin: "password" }), /tls-auth-clients-user/);
    });

    it("the default program declares one least-privilege application, and refuses a malformed apps list naming the entry", () => {
        const hosts = JSON.stringify([{ name: "r1", address: "10.0.0.5", hostKey: "ssh-ed25519 AAAA" }]);
        assert.deepEqual(parseStackConfig({ hosts }).apps, [{ name: "app", rules: "~app:* resetchannels +@connection +@read +@write -@dangerous" }]);
        assert.deepEqual(parseStackConfig({ hosts, apps: "[]" }).apps, []);
        assert.throws(() => parseStackConfig({ hosts, apps: JSON.stringify([{ name: "orders" }]) }), /^Error: \[redis-tls:apps\[0\]\.rules\] is missing or not a string/);
        assert.throws(() => parseStackConfig({ hosts, apps: JSON.stringify([{ name: "orders", rules: "+get", acl: "x" }]) }), /has unknown field "acl"/);
    });
});

describe("RedisClientCertificate and the users it feeds (mocks)", () => {
    it("a state-kept key, the password and the URL are secrets; the server gets only the password's SHA-256, on stdin", async () => {
        const recorded = recordResources();
        const ca = new CertificateAuthority("ca", {});
        const app = new RedisClientCertificate("orders", {
            username: "orders", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }],
            caCertPem: ca.issuerCertPem, caPrivateKeyPem: ca.issuerPrivateKeyPem, chainPem: ca.chainPem, rootCertPem: ca.rootCertPem,
        });
        await settle(recorded);
        assert.equal(await pulumi.isSecret(app.keyPem), true);
        assert.equal(await pulumi.isSecret(app.password), true);
        assert.equal(await pulumi.isSecret(app.url), true);
        const made = recorded.find((r) => r.name === "orders-password")!;
        assert.equal(made.inputs.logging, "none", "the password never reaches the log");
        const password = await valueOf(app.password);
        assert.equal(await valueOf(app.passwordHash), createHash("sha256").update(password!).digest("hex"));
        assert.equal(await valueOf(app.url), `rediss://orders:${password}@10.0.0.5:6379`);
        const csr = recorded.find((r) => r.name === "orders-csr")!;
        assert.deepEqual(csr.inputs.uris, ["urn:redis-tls:user:orders"]);
        assert.equal(csr.inputs.subject.commonName, "orders");
        assert.deepEqual(recorded.find((r) => r.name === "orders-signed")!.inputs.allowedUses, ["digital_signature", "client_auth"]);
        new RedisTlsConfig("conf", { connection, users: [{ name: "orders", rules: "~orders:* +get", passwordHash: app.passwordHash }] });
        await settle(recorded);
        const install = recorded.find((r) => r.name === "conf-install")!;
        const stdin = JSON.stringify(install.inputs.stdin);
        assert.equal(sections(plain(install.inputs.stdin)).users, `user orders reset on #${await valueOf(app.passwordHash)} ~orders:* +get -config|rewrite -acl|save -acl|load -debug -module -acl|setuser -acl|deluser -config|set\n`);
        assert.ok(!stdin.includes(password!) && !JSON.stringify(install.inputs.create).includes(password!), "the password itself never reaches the server");
        // A password of one's own is percent-encoded, so it cannot move the URL's host.
        const own = new RedisClientCertificate("own", {
            username: "own", servers: [{ host: "10.0.0.5", serverName: "redis-1.internal" }], password: "x@evil.test:1/#?-long-enough",
            caCertPem: ca.issuerCertPem, caPrivateKeyPem: ca.issuerPrivateKeyPem, chainPem: ca.chainPem, rootCertPem: ca.rootCertPem,
        });
        const ownUrl = new URL(await valueOf(own.url));
        assert.deepEqual([ownUrl.hostname, ownUrl.port, decodeURIComponent(ownUrl.password)], ["10.0.0.5", "6379", "x@evil.test:1/#?-long-enough"]);
        const leaf = new X509Certificate(await valueOf(app.certPem));
        assert.equal(leaf.subject, "CN=orders");
        assert.equal(leaf.subjectAltName, "URI:urn:redis-tls:user:orders");
    });
});
