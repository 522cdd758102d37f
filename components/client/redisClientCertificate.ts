import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import { ACL_DEFAULTS, CLIENT_LOGINS, ClientLogin } from "../config/acl";
import { RELOAD_DEFAULTS } from "../reload/scripts";
import { checkConnection, SshConnectionArgs } from "../connection";
import { KEY_ALGORITHMS, KeyAlgorithm, keyUsages, tlsKeyArgs } from "../keyAlgorithm";
import { CERTIFICATE_DEFAULTS, checkLifetime } from "../certificate/hostCertificate";
import { hostCsrStep, hostInstallStep } from "../certificate/hostSteps";
import { checkStateCaArgs, ROOT_RULE, resolveStateCa, signWithStateCa, StateCaArgs } from "../certificate/stateCaSigning";
import { defaultRenewBeforeHours, renewalDeadline, renewalSlot } from "../certificate/renewal";
import { tlsLayout } from "../host/layout";
import { assertValid, checkAbsolutePath, checkAclUser, checkOneOf, checkPort, checkServerAddress, checkUnixName, found, Problem } from "../validation/fields";
import { checkCertificatesInput, checked, checkedCertificates } from "../validation/outputs";
import { RedisConnection, redissUrl } from "./connectionSettings";

/** A server an application connects to. */
export interface RedisServerEndpoint {
    /** Address or DNS name to connect to (RedisTlsServer's connection host). */
    host: pulumi.Input<string>;
    /**
     * The server's TLS port.
     * @default 6379
     */
    port?: number;
    /** The name to verify in the server's certificate (RedisTlsServer.serverName). */
    serverName: pulumi.Input<string>;
}

/** A server as the application sees it, resolved. */
export interface ServerAddress {
    /** Address or DNS name to connect to. */
    host: string;
    /** The server's TLS port. */
    port: number;
    /** The name to verify in the server's certificate. */
    serverName: string;
}

export interface RedisClientCertificateArgs extends StateCaArgs {
    /** The application's ACL user: the certificate's CN, and the name in its URI SAN. */
    username: string;
    /** The servers it connects to; the first is the one `url` names. */
    servers: RedisServerEndpoint[];
    /**
     * The root the servers' chains end in, which the application verifies them against
     * (RedisTlsServer.serverRootCertPem).
     * @default rootCertPem
     */
    serverRootCertPem?: pulumi.Input<string>;
    /**
     * "password": the application also gets a password (made once, a secret output; servers store
     * only its SHA-256, `passwordHash`) and sends `AUTH`. "certificate": the certificate alone is the
     * login (servers with `tls-auth-clients-user CN`); no password exists.
     * @default "password"
     */
    clientLogin?: ClientLogin;
    /**
     * The host the application runs on, over SSH: the key is made there and never enters Pulumi
     * state. Without it the key is made by Pulumi and kept in state as a secret (for containers, CI
     * jobs and other applications that are not a host).
     */
    connection?: SshConnectionArgs;
    /**
     * With connection: the root-owned directory for `live/redis.crt` (chain), `live/redis.key` and
     * `live/ca.crt` (the servers' root).
     * @default "/etc/redis-tls-client/<username>"
     */
    keyDir?: string;
    /**
     * With connection: the group the application runs as, which may read the key (root:group, 0640).
     * @default "root"
     */
    keyGroup?: string;
    /**
     * With password login: the password to use (secret), e.g. made by `makeAclPassword` before the
     * servers that need its hash. Without it, one is made.
     */
    password?: pulumi.Input<string>;
    /**
     * Certificate lifetime.
     * @default 720
     */
    validityHours?: number;
    /**
     * How long before expiry `pulumi up` re-issues.
     * @default a third of validityHours
     */
    renewBeforeHours?: number;
    /**
     * The client key's algorithm.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
}


/** The URI SAN naming an application identity. */
export function identityUri(username: string): string {
    return `urn:redis-tls:user:${username}`;
}

/** Validates RedisClientCertificate args; returns every problem found. */
export function validateClientCertificateArgs(args: RedisClientCertificateArgs): string[] {
    const problems: Problem[] = [checkAclUser("username", args.username)];
    const reserved: string[] = [ACL_DEFAULTS.adminUser, ACL_DEFAULTS.aclUser, RELOAD_DEFAULTS.user];
    if (reserved.includes(args.username)) {
        problems.push(`[username] ${JSON.stringify(args.username)} is one of redis-tls's own users (${reserved.join(", ")}); give the application another name`);
    }
    if (args.servers.length === 0) {
        problems.push(`[servers] [] names no server; give at least one {host, port, serverName} (RedisTlsServer's endpoint and serverName)`);
    }
    args.servers.forEach((s, i) => {
        if (s.port !== undefined) problems.push(checkPort(`servers[${i}].port`, s.port));
        if (typeof s.host === "string") problems.push(checkServerAddress(`servers[${i}].host`, s.host));
        if (typeof s.serverName === "string") problems.push(checkServerAddress(`servers[${i}].serverName`, s.serverName));
    });
    problems.push(checkOneOf("clientLogin", args.clientLogin ?? "password", CLIENT_LOGINS));
    problems.push(checkOneOf("keyAlgorithm", args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm, KEY_ALGORITHMS));
    problems.push(...checkLifetime(args.validityHours, args.renewBeforeHours));
    if (args.connection !== undefined) {
        problems.push(...checkConnection("connection", args.connection));
        if (args.keyDir !== undefined) problems.push(checkAbsolutePath("keyDir", args.keyDir));
        if (args.keyGroup !== undefined) problems.push(checkUnixName("keyGroup", args.keyGroup));
    } else if (args.keyDir !== undefined || args.keyGroup !== undefined) {
        problems.push(`[${args.keyDir !== undefined ? "keyDir" : "keyGroup"}] is for a key made on a host; give connection too, or drop it to keep the key in state`);
    }
    problems.push(...checkStateCaArgs(args), checkCertificatesInput("serverRootCertPem", args.serverRootCertPem, ROOT_RULE));
    return found(problems);
}

/**
 * One application's identity: a client certificate (clientAuth only; CN = its ACL user, URI SAN
 * `urn:redis-tls:user:<name>`), signed by the CA the servers trust for clients, and, with password
 * login, a password made once. The key is made on the application's host when there is one (only
 * the CSR leaves it), else in Pulumi state as a secret. Outputs are what a client needs to connect
 * and verify the server, and nothing else. Re-issued by `pulumi up` inside the renewal window.
 */
export class RedisClientCertificate extends pulumi.ComponentResource {
    /** The ACL user (the certificate's CN). */
    public readonly username: pulumi.Output<string>;
    /** The leaf, then the intermediates: what the client presents. */
    public readonly certPem: pulumi.Output<string>;
    /** The private key (secret), when it is kept in state; undefined when it lives on the host. */
    public readonly keyPem: pulumi.Output<string | undefined>;
    /** With connection: where the chain lives on the host. */
    public readonly certPath: pulumi.Output<string | undefined>;
    /** With connection: where the key lives on the host (it never leaves it). */
    public readonly keyPath: pulumi.Output<string | undefined>;
    /** With connection: where the servers' root lives on the host. */
    public readonly caPath: pulumi.Output<string | undefined>;
    /** The root to verify servers against. */
    public readonly caPem: pulumi.Output<string>;
    /** With password login: the password (secret). */
    public readonly password: pulumi.Output<string | undefined>;
    /** With password login: the password's SHA-256, for the servers' `users`. */
    public readonly passwordHash: pulumi.Output<string | undefined>;
    /** The servers, as given: host, port and the name to verify. */
    public readonly servers: pulumi.Output<ServerAddress[]>;
    /** `rediss://user[:password]@host:port` of the first server (secret with a password); verify serverName. */
    public readonly url: pulumi.Output<string>;
    /** When `pulumi up` next re-issues the certificate (ISO 8601). */
    public readonly renewsAfter: pulumi.Output<string>;
    /**
     * Everything the application needs for the first server, in one value (secret when it holds
     * a password or key): give it to a client, or to renderServiceBindingSecret, renderEscEnvironment
     * or renderPkcs12.
     */
    public readonly connection: pulumi.Output<RedisConnection>;

    constructor(name: string, args: RedisClientCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = `RedisClientCertificate ${name}`;
        assertValid(component, validateClientCertificateArgs(args));
        super("redis-tls:index:RedisClientCertificate", name, visibleArgs(args), opts);

        const keyAlgorithm = (args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
        const validityHours = args.validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
        const renewBeforeHours = args.renewBeforeHours ?? defaultRenewBeforeHours(validityHours);
        const renewAfterHours = validityHours - renewBeforeHours;
        const now = Date.now();
        const uri = identityUri(args.username);
        const child = { parent: this };

        let certRequestPem: pulumi.Output<string>;
        let keyPem: pulumi.Output<string | undefined> = pulumi.output(undefined);
        const keyDir = args.keyDir ?? `/etc/redis-tls-client/${args.username}`;
        const target =
            args.connection === undefined
                ? undefined
                : {
                      connection: args.connection,
                      tlsDir: keyDir,
                      group: args.keyGroup ?? "root",
                      dnsNames: [],
                      ipAddresses: [],
                      commonName: args.username,
                      uris: [uri],
                      purpose: "client" as const,
                  };
        if (target === undefined) {
            const key = new tls.PrivateKey(`${name}-key`, tlsKeyArgs(keyAlgorithm), child);
            certRequestPem = new tls.CertRequest(
                `${name}-csr`,
                { privateKeyPem: key.privateKeyPem, subject: { commonName: args.username }, uris: [uri] },
                child,
            ).certRequestPem;
            keyPem = pulumi.secret(key.privateKeyPem);
        } else {
            certRequestPem = hostCsrStep(this, name, target, { keyAlgorithm, slot: renewalSlot(now, renewAfterHours) });
        }
        // A state-kept key is re-signed by the provider's own early renewal; a host key is made anew
        // in each renewal slot, which replaces the certificate.
        const { chainPem: certPem, root } = signWithStateCa(this, component, name, certRequestPem, resolveStateCa(component, args), {
            validityHours,
            earlyRenewalHours: target === undefined ? renewBeforeHours : undefined,
            allowedUses: [...keyUsages(keyAlgorithm), "client_auth"],
        });
        const serverRoot =
            args.serverRootCertPem === undefined ? root : checkedCertificates(component, "serverRootCertPem", args.serverRootCertPem, ROOT_RULE);
        if (target !== undefined) {
            hostInstallStep(this, name, target, { chainPem: certPem, rootPem: root.pem, rootFingerprint: root.fingerprints[0], clientCa: serverRoot });
        }

        let password: pulumi.Output<string | undefined> = pulumi.output(undefined);
        let passwordHash: pulumi.Output<string | undefined> = pulumi.output(undefined);
        if ((args.clientLogin ?? "password") === "password") {
            const made = args.password === undefined ? makeAclPassword(`${name}-password`, { parent: this }) : undefined;
            password = made?.password ?? pulumi.secret(args.password!);
            passwordHash = made?.passwordHash ?? passwordHashOf(component, pulumi.output(args.password!));
        }

        // Output hosts and names are checked when they resolve, as plain ones were at preview.
        const address = (field: string, v: pulumi.Input<string>) => checked(component, v, (x) => [checkServerAddress(field, x)]);
        const servers = pulumi.output(
            args.servers.map((s, i) => ({ host: address(`servers[${i}].host`, s.host), port: s.port ?? 6379, serverName: address(`servers[${i}].serverName`, s.serverName) })),
        );
        const files = target === undefined ? undefined : tlsLayout(keyDir);
        this.username = pulumi.output(args.username);
        this.certPem = certPem;
        this.keyPem = keyPem;
        this.certPath = pulumi.output(files?.certPath);
        this.keyPath = pulumi.output(files?.keyPath);
        this.caPath = pulumi.output(files?.caPath);
        this.caPem = serverRoot.pem;
        this.password = password;
        this.passwordHash = passwordHash;
        this.servers = servers;
        const first = servers.apply((s) => s[0]);
        this.url = pulumi.all([first, password]).apply(([s, p]) => redissUrl(s.host, s.port, args.username, p));
        if ((args.clientLogin ?? "password") === "password") this.url = pulumi.secret(this.url);
        const connection = pulumi
            .all([this.url, first, this.caPem, password, certPem, keyPem, pulumi.all([this.certPath, this.keyPath, this.caPath])])
            .apply(([url, s, caPem, p, cert, key, [certPath, keyPath, caPath]]) => {
                const c: RedisConnection = { url, host: s.host, port: s.port, serverName: s.serverName, caPem, username: args.username, certPem: cert };
                if (p !== undefined) c.password = p;
                if (key !== undefined) c.keyPem = key;
                if (certPath !== undefined) Object.assign(c, { certPath, keyPath, caPath });
                return c;
            });
        // Secret when it carries a password or a key; a host-kept key with certificate login leaves nothing secret in it.
        const holdsSecret = (args.clientLogin ?? "password") === "password" || target === undefined;
        this.connection = holdsSecret ? pulumi.secret(connection) : connection;
        this.renewsAfter = pulumi.output(renewalDeadline(now, renewAfterHours).toISOString());
        this.registerOutputs({
            username: this.username,
            certPem: this.certPem,
            keyPem: this.keyPem,
            certPath: this.certPath,
            keyPath: this.keyPath,
            caPath: this.caPath,
            caPem: this.caPem,
            password: this.password,
            passwordHash: this.passwordHash,
            servers: this.servers,
            url: this.url,
            renewsAfter: this.renewsAfter,
            connection: this.connection,
        });
    }
}

/**
 * A password for one ACL user: 32 random bytes as hex, made once where Pulumi runs (a local command,
 * whose create runs again only on replacement) and never logged; a secret, with its SHA-256 (what a
 * server stores) as a plain output.
 */
export function makeAclPassword(name: string, opts?: pulumi.CustomResourceOptions): { password: pulumi.Output<string>; passwordHash: pulumi.Output<string> } {
    const made = new command.local.Command(
        name,
        { create: "od -An -N32 -tx1 /dev/urandom | tr -d ' \\n'", logging: "none" },
        { ...opts, additionalSecretOutputs: ["stdout"] },
    );
    const password = pulumi.secret(made.stdout);
    return { password, passwordHash: passwordHashOf(name, password) };
}

function passwordHashOf(owner: string, password: pulumi.Output<string>): pulumi.Output<string> {
    return pulumi.unsecret(
        password.apply((p) => {
            if (p.length < 16 || /[\s]/.test(p)) {
                throw new Error(`${owner}: [password] is shorter than 16 characters or has white space; use a long random password (makeAclPassword makes one)`);
            }
            return createHash("sha256").update(p).digest("hex");
        }),
    );
}

