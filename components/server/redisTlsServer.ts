import * as pulumi from "@pulumi/pulumi";
import { RedisServerCertificate, RedisServerCertificateArgs, validateServerCertificateArgs } from "../certificate/redisServerCertificate";
import { CONFIG_DEFAULTS, RedisTlsConfig, RedisTlsConfigArgs, validateRedisTlsConfigArgs } from "../config/redisTlsConfig";
import { SshConnectionArgs } from "../connection";
import { assertValid, checkAbsolutePath, checkUnixName } from "../validation/fields";

export interface RedisTlsServerArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /** DNS names clients use for this host. */
    dnsNames?: string[];
    /** IP addresses clients use for this host. */
    ipAddresses?: string[];
    /** CertificateAuthority.issuerCertPem. */
    caCertPem: pulumi.Input<string>;
    /** CertificateAuthority.issuerPrivateKeyPem (secret). */
    caPrivateKeyPem: pulumi.Input<string>;
    /** CertificateAuthority.chainPem. */
    chainPem: pulumi.Input<string>;
    /** CertificateAuthority.rootCertPem. */
    rootCertPem: pulumi.Input<string>;
    /**
     * Certificate lifetime.
     * @default 720
     */
    validityHours?: number;
    /**
     * Hours before expiry at which `pulumi up` re-issues.
     * @default validityHours / 3
     */
    renewBeforeHours?: number;
    /**
     * Key algorithm of the key made on the host.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: string;
    /**
     * TLS port.
     * @default 6379
     */
    tlsPort?: number;
    /**
     * `tls-auth-clients`.
     * @default "yes"
     */
    authClients?: string;
    /**
     * Addresses to listen on.
     * @default ["*", "-::*"]
     */
    bind?: string[];
    /** Pass phrase to encrypt the host key with; secret. */
    keyFilePass?: pulumi.Input<string>;
    /**
     * Directory for the certificate, key and CA root (root-owned, group redis, 0750).
     * @default "/etc/redis/tls"
     */
    tlsDir?: string;
    /**
     * Root-only unix socket used to hot-load new certificates; "" restarts nothing and reloads nothing.
     * @default "/run/redis/redis-server.sock"
     */
    adminSocket?: string;
    /**
     * ACL user, allowed only CONFIG SET, that the hot reload runs as; its password is made on the host.
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
    /**
     * systemd unit of Redis.
     * @default "redis-server"
     */
    serviceName?: string;
    /**
     * User and group Redis runs as; owns the key (0600).
     * @default "redis"
     */
    redisUser?: string;
}

export const SERVER_DEFAULTS = { tlsDir: "/etc/redis/tls" } as const;

/** Validates the args RedisTlsServer itself owns; its children validate the rest. */
export function validateRedisTlsServerArgs(args: RedisTlsServerArgs): string[] {
    return [
        checkAbsolutePath("tlsDir", args.tlsDir ?? SERVER_DEFAULTS.tlsDir),
        checkUnixName("redisUser", args.redisUser ?? CONFIG_DEFAULTS.redisGroup),
    ].filter((p): p is string => p !== undefined);
}

/**
 * One TLS-only Redis host: its certificate (key made on the host), the redis.conf drop-in, and the
 * restart or hot reload that applies them. A config change restarts Redis; a new certificate alone is
 * hot-loaded with one CONFIG SET, so clients stay connected.
 */
export class RedisTlsServer extends pulumi.ComponentResource {
    /** `host:port` clients connect to. */
    public readonly endpoint: pulumi.Output<string>;
    /** The name clients verify (pass as `servername` when connecting by IP). */
    public readonly serverName: pulumi.Output<string>;
    /** The server's certificate. */
    public readonly certPem: pulumi.Output<string>;
    /** When `pulumi up` next re-issues the certificate. */
    public readonly renewsAfter: pulumi.Output<string>;

    constructor(name: string, args: RedisTlsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        const tlsDir = args.tlsDir ?? SERVER_DEFAULTS.tlsDir;
        const files = { certPath: `${tlsDir}/redis.crt`, keyPath: `${tlsDir}/redis.key`, caPath: `${tlsDir}/ca.crt` };
        const adminSocket = args.adminSocket ?? CONFIG_DEFAULTS.adminSocket;
        const redisUser = args.redisUser ?? CONFIG_DEFAULTS.redisGroup;
        const certificateArgs: RedisServerCertificateArgs = {
            connection: args.connection,
            dnsNames: args.dnsNames,
            ipAddresses: args.ipAddresses,
            caCertPem: args.caCertPem,
            caPrivateKeyPem: args.caPrivateKeyPem,
            chainPem: args.chainPem,
            rootCertPem: args.rootCertPem,
            validityHours: args.validityHours,
            renewBeforeHours: args.renewBeforeHours,
            keyAlgorithm: args.keyAlgorithm,
            keyFilePass: args.keyFilePass,
            keyOwner: redisUser,
            reloadSocket: adminSocket === "" ? undefined : adminSocket,
            reloadUser: args.reloadUser,
            ...files,
        };
        const configArgs: RedisTlsConfigArgs = {
            connection: args.connection,
            tlsPort: args.tlsPort,
            authClients: args.authClients,
            bind: args.bind,
            keyFilePass: args.keyFilePass,
            adminSocket,
            serviceName: args.serviceName,
            redisGroup: redisUser,
            reloadUser: args.reloadUser,
            ...files,
        };
        // Validated before super() and before any child, so bad input registers nothing at all.
        const own = validateRedisTlsServerArgs(args);
        assertValid(`RedisTlsServer ${name}`, [
            ...own,
            ...(own.length > 0 ? [] : [...validateServerCertificateArgs(certificateArgs), ...validateRedisTlsConfigArgs(configArgs)]),
        ]);
        super("redis-tls:index:RedisTlsServer", name, {}, opts);

        const certificate = new RedisServerCertificate(`${name}-cert`, certificateArgs, { parent: this });
        new RedisTlsConfig(`${name}-config`, configArgs, { parent: this, dependsOn: [certificate] });

        this.endpoint = pulumi.interpolate`${args.connection.host}:${args.tlsPort ?? CONFIG_DEFAULTS.tlsPort}`;
        this.serverName = certificate.serverName;
        this.certPem = certificate.certPem;
        this.renewsAfter = certificate.renewsAfter;
        this.registerOutputs({
            endpoint: this.endpoint,
            serverName: this.serverName,
            certPem: this.certPem,
            renewsAfter: this.renewsAfter,
        });
    }
}
