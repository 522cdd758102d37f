import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import { SshConnectionArgs } from "../connection";
import { KeyAlgorithm, keyUsages } from "../keyAlgorithm";
import { assertValid, checkKeyFilePass, found, Problem } from "../validation/fields";
import { checkCertificatesInput, checked, checkedCertificates } from "../validation/outputs";
import { CERTIFICATE_DEFAULTS, checkHostCertificateArgs, checkLifetime, checkSubjectNames, HostCertificateArgs } from "./hostCertificate";
import { defaultRenewBeforeHours, renewalDeadline, renewalSlot } from "./renewal";
import { hostCsrStep, hostInstallStep } from "./hostSteps";
import { checkStateCaArgs, resolveStateCa, signWithStateCa, StateCaArgs } from "./stateCaSigning";

export interface RedisServerCertificateArgs extends HostCertificateArgs, StateCaArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /** DNS names clients use for this host. Plain, so they are checked at preview. */
    dnsNames?: string[];
    /** IP addresses clients use for this host. Plain, so they are checked at preview. */
    ipAddresses?: string[];
    /**
     * The one CA Redis trusts for client certificates (`tls-ca-cert-file`).
     * @default rootCertPem
     */
    clientCaPem?: pulumi.Input<string>;
    /**
     * Certificate lifetime.
     * @default 720 (30 days, as the smallstep `redis` provisioner issues)
     */
    validityHours?: number;
    /**
     * How long before expiry a `pulumi up` re-issues the certificate.
     * @default a third of validityHours
     */
    renewBeforeHours?: number;
    /**
     * Key algorithm of the key made on the host.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * Root-owned directory for the served files (`live/redis.crt`, `live/redis.key`, `live/ca.crt`);
     * no directory on its path may be writable by anyone but root.
     * @default "/etc/redis-tls"
     */
    tlsDir?: string;
    /**
     * Group of the Redis service, which may read the key (root:group, 0640).
     * @default "redis"
     */
    redisGroup?: string;
    /** Pass phrase to encrypt the key with (Redis's `tls-key-file-pass`); sent on stdin only. */
    keyFilePass?: pulumi.Input<string>;
    /** Root-only unix socket of the running Redis; when given, a new certificate is hot-loaded through it. */
    reloadSocket?: string;
    /**
     * ACL user the hot reload authenticates as (made by RedisTlsConfig).
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
}


const CLIENT_CA_RULE = { count: "one", ca: true } as const;

/** Validates RedisServerCertificate args; returns every problem found. */
export function validateServerCertificateArgs(args: RedisServerCertificateArgs): string[] {
    const problems: Problem[] = [
        ...checkHostCertificateArgs(args),
        ...checkSubjectNames(args.dnsNames ?? [], args.ipAddresses ?? []),
        ...checkLifetime(args.validityHours, args.renewBeforeHours),
    ];
    if (typeof args.keyFilePass === "string") problems.push(checkKeyFilePass("keyFilePass", args.keyFilePass));
    problems.push(
        ...checkStateCaArgs(args),
        checkCertificatesInput("clientCaPem", args.clientCaPem, CLIENT_CA_RULE),
    );
    return found(problems);
}

/**
 * A Redis server certificate for one host. The key and CSR are made on the host with openssl; only
 * the CSR comes back, is signed from Pulumi state, and the chain goes back to the host, where it must
 * end in the pinned root before it is served. The key never enters Pulumi state or logs.
 */
export class RedisServerCertificate extends pulumi.ComponentResource {
    /** The signed leaf certificate. */
    public readonly certPem: pulumi.Output<string>;
    /** The first name clients verify: the first DNS name, else the first IP. */
    public readonly serverName: pulumi.Output<string>;
    /** The first moment a `pulumi up` re-issues this certificate (ISO 8601). */
    public readonly renewsAfter: pulumi.Output<string>;
    /** The CSR the host made (public). */
    public readonly certRequestPem: pulumi.Output<string>;
    /** What the install step reported: the serial it installed, and whether Redis hot-loaded it. */
    public readonly installed: pulumi.Output<string>;
    /** The root the chain ends in (rootCertPem, checked), which clients verify the server against. */
    public readonly rootCertPem: pulumi.Output<string>;

    constructor(name: string, args: RedisServerCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        const component = `RedisServerCertificate ${name}`;
        assertValid(component, validateServerCertificateArgs(args));
        super("redis-tls:index:RedisServerCertificate", name, visibleArgs(args), opts);

        const dnsNames = args.dnsNames ?? [];
        const ipAddresses = args.ipAddresses ?? [];
        const validityHours = args.validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
        const renewAfterHours = validityHours - (args.renewBeforeHours ?? defaultRenewBeforeHours(validityHours));
        const keyAlgorithm = (args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
        const dir = { tlsDir: args.tlsDir ?? CERTIFICATE_DEFAULTS.tlsDir, group: args.redisGroup ?? CERTIFICATE_DEFAULTS.redisGroup };
        const serverName = dnsNames[0] ?? ipAddresses[0];
        const now = Date.now();

        const keyFilePass =
            args.keyFilePass === undefined ? undefined : checked(component, args.keyFilePass, (p) => [checkKeyFilePass("keyFilePass", p)]);
        const target = { connection: args.connection, ...dir, dnsNames, ipAddresses };
        const certRequestPem = hostCsrStep(this, name, target, { keyAlgorithm, slot: renewalSlot(now, renewAfterHours), keyFilePass });
        const { certPem, chainPem, root } = signWithStateCa(this, component, name, certRequestPem, resolveStateCa(component, args), {
            validityHours,
            allowedUses: [...keyUsages(keyAlgorithm), "server_auth", "client_auth"],
        });
        const installStep = hostInstallStep(this, name, target, {
            chainPem,
            rootPem: root.pem,
            rootFingerprint: root.fingerprints[0],
            clientCa: args.clientCaPem === undefined ? root : checkedCertificates(component, "clientCaPem", args.clientCaPem, CLIENT_CA_RULE),
            reloadSocket: args.reloadSocket,
            reloadUser: args.reloadUser,
            flavor: args.flavor,
        });

        this.certPem = certPem;
        this.serverName = pulumi.output(serverName);
        this.renewsAfter = pulumi.output(renewalDeadline(now, renewAfterHours).toISOString());
        this.certRequestPem = certRequestPem;
        this.installed = installStep.stdout;
        this.rootCertPem = root.pem;
        this.registerOutputs({
            rootCertPem: this.rootCertPem,
            certPem: this.certPem,
            serverName: this.serverName,
            renewsAfter: this.renewsAfter,
            certRequestPem: this.certRequestPem,
            installed: this.installed,
        });
    }
}
