import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import { AcmeCertificate, AcmeCertificateArgs, validateAcmeCertificateArgs } from "../acme/acmeCertificate";
import { RedisServerCertificate, RedisServerCertificateArgs, validateServerCertificateArgs } from "../certificate/redisServerCertificate";
import { CaIssuer, checkCaShape, resolveStateCa } from "../certificate/stateCaSigning";
import { RedisConnection, redissUrl } from "../client/connectionSettings";
import { AuthClients, CONFIG_DEFAULTS, configDefaults, RedisTlsConfig, RedisTlsConfigArgs, validateRedisTlsConfigArgs } from "../config/redisTlsConfig";
import { AclUserArgs, ClientLogin } from "../config/acl";
import { SshConnectionArgs } from "../connection";
import { CertRenewer, CertRenewerArgs, validateCertRenewerArgs } from "../renewal/certRenewer";
import { DEFAULT_TLS_DIR } from "../host/layout";
import { StepIssuer } from "../step/stepCa";
import { StepCertificate, StepCertificateArgs, validateStepCertificateArgs } from "../step/stepCertificate";
import { assertValid, found, checkAbsolutePath, checkUnixName, show } from "../validation/fields";
import { KeyAlgorithm } from "../keyAlgorithm";
import { Flavor } from "./flavor";
import { ReplicaSetArgs } from "../replication/replicaSet";
import { installSentinel } from "../sentinel/sentinel";

/** Where an ACME-issued server certificate comes from. */
export interface AcmeIssuerArgs {
    /** The ACME directory URL. */
    directoryUrl: pulumi.Input<string>;
    /** Account e-mail. */
    email: string;
    /** The ACME CA's root: the chain must end in it. Redis does not trust it for clients. */
    rootCertPem: pulumi.Input<string>;
    /** CA bundle for the directory's HTTPS, when the system store does not trust it. */
    serverCaPem?: pulumi.Input<string>;
    /**
     * Port of lego's HTTP-01 server.
     * @default 80
     */
    httpPort?: number;
}

export interface RedisTlsServerArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /** DNS names clients use for this host. */
    dnsNames?: string[];
    /** IP addresses clients use for this host (not with `acme`). */
    ipAddresses?: string[];
    /**
     * The CA in Pulumi state as one value (CertificateAuthority.issuer), in place of the four PEM
     * args below. With `acme` or `step`, only its root is used: the CA Redis trusts for clients.
     */
    ca?: pulumi.Input<CaIssuer>;
    /** CertificateAuthority.issuerCertPem; required unless `acme` is given. */
    caCertPem?: pulumi.Input<string>;
    /** CertificateAuthority.issuerPrivateKeyPem (secret); required unless `acme` is given. */
    caPrivateKeyPem?: pulumi.Input<string>;
    /** CertificateAuthority.chainPem; required unless `acme` is given. */
    chainPem?: pulumi.Input<string>;
    /**
     * CertificateAuthority.rootCertPem: the root of the state CA's chains and, with or without
     * `acme`, the one CA Redis trusts for client certificates. Required.
     */
    rootCertPem?: pulumi.Input<string>;
    /**
     * Issue from an ACME directory on the host instead, renewed there by a CertRenewer timer.
     * Without it (or `step`) the certificate is signed from Pulumi state and renewed by `pulumi up`.
     */
    acme?: AcmeIssuerArgs;
    /**
     * Issue from step-ca instead (StepCa.issuer, or an existing CA), renewed on the host with
     * `step ca renew` by a CertRenewer timer, and re-issued by `pulumi up` in each renewal slot.
     */
    step?: StepIssuer;
    /**
     * Certificate lifetime (state CA and step; an ACME CA decides its own).
     * @default 720
     */
    validityHours?: number;
    /**
     * Hours before expiry at which `pulumi up` re-issues (state CA and step).
     * @default validityHours / 3
     */
    renewBeforeHours?: number;
    /**
     * Key algorithm of the key made on the host.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * TLS port.
     * @default 6379
     */
    tlsPort?: number;
    /**
     * `tls-auth-clients`.
     * @default "yes"
     */
    authClients?: AuthClients;
    /**
     * Addresses to listen on.
     * @default ["*", "-::*"]
     */
    bind?: string[];
    /** Pass phrase to encrypt the host key with (state CA only); secret. */
    keyFilePass?: pulumi.Input<string>;
    /**
     * Root-owned directory (group redis, 0750) for the served files, ACL users, passwords and the
     * drop-in; no directory on its path may be writable by anyone but root.
     * @default "/etc/redis-tls"
     */
    tlsDir?: string;
    /**
     * Root-only unix socket used to hot-load new certificates; "" reloads nothing.
     * @default "/run/redis/redis-server.sock"
     */
    adminSocket?: string;
    /**
     * ACL user, allowed only CONFIG SET, that the hot reload runs as; its password is made on the host.
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
    /**
     * ACL user for administrators (every command but CONFIG REWRITE, ACL SAVE/LOAD, DEBUG, MODULE);
     * its password is made on the host in `<tlsDir>/admin.pass`.
     * @default "redis-tls-admin"
     */
    adminUser?: string;
    /**
     * ACL user that applies `users` to the running server (ACL SETUSER/DELUSER over adminSocket).
     * @default "redis-tls-acl"
     */
    aclUser?: string;
    /**
     * The applications' ACL users (RedisClientCertificate makes each one's identity). Adding,
     * changing or removing one is applied without a restart; a removed user's connections close.
     * @default []
     */
    users?: AclUserArgs[];
    /**
     * How applications log in: "password" (certificate, then AUTH; every server) or "certificate"
     * (the certificate's CN is the user; Valkey 9.0+, Redis 8.6+, checked on the host).
     * @default "password"
     */
    clientLogin?: ClientLogin;
    /**
     * This server's place in a replica set: every member gets the replication identity (PING,
     * REPLCONF and PSYNC only) and its login; a member with `primary` replicates from it over TLS,
     * presenting its own certificate. Every member must be issued by the same CA it trusts for
     * clients (the CA in state or an organisation CA): a replica checks its primary's certificate
     * against that CA, and Redis does not check the primary's name.
     */
    replicaSet?: ReplicaSetArgs;
    /**
     * A Redis Cluster member (RedisCluster sets it, with the join steps that form the cluster).
     * @default false
     */
    clusterNode?: boolean;
    /**
     * The server: "redis" or "valkey". Sets the defaults of serviceName, redisUser and adminSocket
     * (Debian's names), and the CLI the host scripts use.
     * @default "redis"
     */
    flavor?: Flavor;
    /**
     * systemd unit of Redis.
     * @default "redis-server" ("valkey-server")
     */
    serviceName?: string;
    /**
     * Group Redis runs as, which may read the key (root-owned, 0640).
     * @default "redis" ("valkey")
     */
    redisUser?: string;
}

export const SERVER_DEFAULTS = { tlsDir: DEFAULT_TLS_DIR } as const;

/** Validates the args RedisTlsServer itself owns; its children validate the rest. */
export function validateRedisTlsServerArgs(args: RedisTlsServerArgs): string[] {
    const problems = [
        checkAbsolutePath("tlsDir", args.tlsDir ?? SERVER_DEFAULTS.tlsDir),
        checkUnixName("redisUser", args.redisUser ?? configDefaults(args.flavor).redisGroup),
    ];
    if ((args.clientLogin ?? CONFIG_DEFAULTS.clientLogin) === "certificate") {
        // This server's own certificate carries clientAuth: its CN must not be an application's user.
        const names = [...(args.dnsNames ?? []), ...(args.ipAddresses ?? [])];
        (args.users ?? []).forEach((u, i) => {
            if (names.includes(u.name)) {
                problems.push(`[users[${i}].name] ${show(u.name)} is also this server's name, so its own certificate would log in as that user; rename the user`);
            }
        });
    }
    if (args.acme !== undefined && args.step !== undefined) {
        problems.push(`[acme, step] are both given; choose one issuer`);
    } else if (args.acme === undefined && args.step === undefined) {
        problems.push(...checkCaShape(args, ", or set acme or step to issue from there"));
    } else if (args.rootCertPem === undefined && args.ca === undefined) {
        problems.push(`[rootCertPem] not given; with ${args.acme ? "acme" : "step"} it is the CA Redis trusts for client certificates: pass CertificateAuthority.rootCertPem (or CertificateAuthority.issuer as ca)`);
    } else if (args.rootCertPem !== undefined && args.ca !== undefined) {
        problems.push(`[ca, rootCertPem] are both given; pass one of them`);
    } else if (args.acme !== undefined && (args.ipAddresses ?? []).length > 0) {
        problems.push(`[ipAddresses] ${JSON.stringify(args.ipAddresses)} cannot be ordered over ACME with lego; use DNS names only, or the CA in Pulumi state`);
    }
    if (args.replicaSet !== undefined && (args.acme !== undefined || args.step !== undefined)) {
        // Redis verifies both ends of a replication link against tls-ca-cert-file, the client CA.
        problems.push(
            `[replicaSet] is set with ${args.acme !== undefined ? "acme" : "step"}: a replica verifies its primary against the CA this server trusts for clients, which did not issue an ${args.acme !== undefined ? "ACME" : "step-ca"} certificate; issue replica sets from the CA in state or your organisation's CA`,
        );
    }
    if (args.step !== undefined && args.keyFilePass !== undefined) {
        problems.push(`[keyFilePass] is not supported with step: step ca renew would have to ask for it; leave it unset`);
    }
    return found(problems);
}

/**
 * The children's args, as RedisTlsServer passes them. `component` (the constructor's name) makes
 * the Outputs that read `ca`; validation alone passes none and makes no Output.
 */
function childArgs(args: RedisTlsServerArgs, component?: string) {
    const tlsDir = args.tlsDir ?? SERVER_DEFAULTS.tlsDir;
    const defaults = configDefaults(args.flavor);
    const adminSocket = args.adminSocket ?? defaults.adminSocket;
    const reloadSocket = adminSocket === "" ? undefined : adminSocket;
    const redisUser = args.redisUser ?? defaults.redisGroup;
    const serviceName = args.serviceName ?? defaults.serviceName;
    // With acme or step, the CA Redis trusts for client certificates: the state CA's root, given
    // either way (without them, RedisServerCertificate reads it).
    const clientRoot =
        args.ca === undefined || component === undefined || (args.acme === undefined && args.step === undefined) ? args.rootCertPem : resolveStateCa(component, { ca: args.ca }).rootCertPem;
    const common = { connection: args.connection, redisGroup: redisUser, reloadSocket, reloadUser: args.reloadUser, tlsDir, flavor: args.flavor };
    const acme = args.acme;
    const acmeArgs: AcmeCertificateArgs | undefined =
        acme === undefined
            ? undefined
            : { ...common, ...acme, clientCaPem: clientRoot!, dnsNames: args.dnsNames ?? [], keyAlgorithm: args.keyAlgorithm };
    const stepArgs: StepCertificateArgs | undefined =
        args.step === undefined
            ? undefined
            : {
                  ...common,
                  issuer: args.step,
                  clientCaPem: clientRoot!,
                  dnsNames: args.dnsNames,
                  ipAddresses: args.ipAddresses,
                  validityHours: args.validityHours,
                  renewBeforeHours: args.renewBeforeHours,
                  keyAlgorithm: args.keyAlgorithm,
              };
    const stateArgs: RedisServerCertificateArgs | undefined =
        acme !== undefined || stepArgs !== undefined
            ? undefined
            : {
                  ...common,
                  dnsNames: args.dnsNames,
                  ipAddresses: args.ipAddresses,
                  ca: args.ca,
                  caCertPem: args.caCertPem,
                  caPrivateKeyPem: args.caPrivateKeyPem,
                  chainPem: args.chainPem,
                  rootCertPem: args.rootCertPem,
                  validityHours: args.validityHours,
                  renewBeforeHours: args.renewBeforeHours,
                  keyAlgorithm: args.keyAlgorithm,
                  keyFilePass: args.keyFilePass,
              };
    const configArgs: RedisTlsConfigArgs = {
        connection: args.connection,
        tlsPort: args.tlsPort,
        authClients: args.authClients,
        bind: args.bind,
        keyFilePass: args.keyFilePass,
        adminSocket,
        serviceName,
        redisGroup: redisUser,
        reloadUser: args.reloadUser,
        adminUser: args.adminUser,
        aclUser: args.aclUser,
        users: args.users,
        clientLogin: args.clientLogin,
        flavor: args.flavor,
        replicaSet: args.replicaSet,
        clusterNode: args.clusterNode,
        tlsDir,
    };
    const renewerArgs = (renewScript: pulumi.Input<string>, stepPath?: string): CertRenewerArgs => ({
        connection: args.connection,
        renewScript,
        serviceName,
        flavor: args.flavor,
        reloadSocket,
        reloadUser: args.reloadUser,
        tlsDir,
        stepPath,
    });
    return { tlsDir, acme, acmeArgs, stepArgs, stateArgs, configArgs, renewerArgs };
}

/**
 * Every problem RedisTlsServer (and each child it would make) finds in `args`, thrown before any
 * resource exists. The default program calls it for every host before it makes anything.
 */
export function assertRedisTlsServerArgs(name: string, args: RedisTlsServerArgs): void {
    const { acmeArgs, stepArgs, stateArgs, configArgs, renewerArgs } = childArgs(args);
    const own = validateRedisTlsServerArgs(args);
    assertValid(`RedisTlsServer ${name}`, [
        ...own,
        ...(own.length > 0
            ? []
            : [
                  ...(acmeArgs !== undefined
                      ? validateAcmeCertificateArgs(acmeArgs)
                      : stepArgs !== undefined
                        ? validateStepCertificateArgs(stepArgs)
                        : validateServerCertificateArgs(stateArgs!)),
                  ...validateRedisTlsConfigArgs(configArgs),
                  ...(stateArgs !== undefined ? [] : validateCertRenewerArgs(renewerArgs(""))),
              ]),
    ]);
}

/**
 * One TLS-only Redis host: its certificate (key made on the host), the redis.conf drop-in, and the
 * restart or hot reload that applies them. A config change restarts Redis; a new certificate alone is
 * hot-loaded with one CONFIG SET, so clients stay connected. With `acme`, a CertRenewer timer renews
 * on the host; otherwise `pulumi up` re-issues inside the renewal window.
 */
export class RedisTlsServer extends pulumi.ComponentResource {
    /** `host:port` clients connect to. */
    public readonly endpoint: pulumi.Output<string>;
    /** The name clients verify (pass as `servername` when connecting by IP). */
    public readonly serverName: pulumi.Output<string>;
    /** The server's certificate as issued through Pulumi; undefined with `acme` (it lives on the host). */
    public readonly certPem: pulumi.Output<string | undefined>;
    /** When `pulumi up` next re-issues the certificate; undefined with `acme` (only the host renews). */
    public readonly renewsAfter: pulumi.Output<string | undefined>;
    /** The root this server's chain ends in: what its clients verify it against. */
    public readonly serverRootCertPem: pulumi.Output<string>;
    /** How clients reach it: url, host, port, the name to verify and the root to verify against. */
    public readonly connection: pulumi.Output<RedisConnection>;

    constructor(name: string, args: RedisTlsServerArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super() and before any child, so bad input registers nothing at all.
        assertRedisTlsServerArgs(name, args);
        const { acme, acmeArgs, stepArgs, stateArgs, configArgs, renewerArgs } = childArgs(args, `RedisTlsServer ${name}`);
        super("redis-tls:index:RedisTlsServer", name, visibleArgs(args), opts);

        const certificate =
            acmeArgs !== undefined
                ? new AcmeCertificate(`${name}-acme`, acmeArgs, { parent: this })
                : stepArgs !== undefined
                  ? new StepCertificate(`${name}-step`, stepArgs, { parent: this })
                  : new RedisServerCertificate(`${name}-cert`, stateArgs!, { parent: this });
        const config = new RedisTlsConfig(`${name}-config`, configArgs, { parent: this, dependsOn: [certificate] });
        if (args.replicaSet?.sentinel !== undefined) {
            installSentinel(
                `RedisTlsServer ${name}`,
                `${name}-sentinel`,
                {
                    connection: args.connection,
                    sentinel: args.replicaSet.sentinel,
                    primary: args.replicaSet.primary,
                    tlsPort: configArgs.tlsPort ?? CONFIG_DEFAULTS.tlsPort,
                    tlsDir: configArgs.tlsDir!,
                    bind: [...(args.bind ?? CONFIG_DEFAULTS.bind)],
                    authClients: args.authClients ?? CONFIG_DEFAULTS.authClients,
                    protocols: [...CONFIG_DEFAULTS.protocols],
                    flavor: args.flavor,
                    redisUser: configArgs.redisGroup!,
                },
                { parent: this, dependsOn: [config] },
            );
        }
        if (certificate instanceof AcmeCertificate || certificate instanceof StepCertificate) {
            const stepPath = certificate instanceof StepCertificate ? certificate.stepPath : undefined;
            new CertRenewer(`${name}-renewer`, renewerArgs(certificate.renewScript, stepPath), { parent: this, dependsOn: [config] });
        }

        this.endpoint = pulumi.interpolate`${args.connection.host}:${args.tlsPort ?? CONFIG_DEFAULTS.tlsPort}`;
        this.serverName = certificate.serverName;
        this.certPem = certificate instanceof AcmeCertificate ? pulumi.output(undefined) : certificate.certPem;
        this.renewsAfter = certificate instanceof AcmeCertificate ? pulumi.output(undefined) : certificate.renewsAfter;
        this.serverRootCertPem = certificate instanceof AcmeCertificate ? pulumi.output(acme!.rootCertPem) : certificate.rootCertPem;
        const port = args.tlsPort ?? CONFIG_DEFAULTS.tlsPort;
        this.connection = pulumi
            .all([args.connection.host, this.serverName, this.serverRootCertPem])
            .apply(([host, serverName, caPem]) => ({ url: redissUrl(host, port), host, port, serverName, caPem }));
        this.registerOutputs({
            connection: this.connection,
            endpoint: this.endpoint,
            serverName: this.serverName,
            certPem: this.certPem,
            renewsAfter: this.renewsAfter,
            serverRootCertPem: this.serverRootCertPem,
        });
    }
}
