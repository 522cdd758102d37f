import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as tls from "@pulumi/tls";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, KeyAlgorithm, keyUsages } from "../keyAlgorithm";
import {
    assertValid,
    found,
    checkAbsolutePath,
    checkDnsName,
    checkHours,
    checkIpAddress,
    checkOneOf,
    checkUnique,
    checkUnixName,
    Problem,
    show,
} from "../validation/fields";
import { RELOAD_DEFAULTS } from "../reload/scripts";
import { defaultRenewBeforeHours, renewalDeadline, renewalSlot } from "./renewal";
import { renderInstallCertScript, renderKeyAndCsrScript } from "./scripts";

export interface RedisServerCertificateArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /** DNS names clients use for this host. Plain, so they are checked at preview. */
    dnsNames?: string[];
    /** IP addresses clients use for this host. Plain, so they are checked at preview. */
    ipAddresses?: string[];
    /** The certificate that signs (CertificateAuthority.issuerCertPem). */
    caCertPem: pulumi.Input<string>;
    /** The signing key (CertificateAuthority.issuerPrivateKeyPem); handled as a secret. */
    caPrivateKeyPem: pulumi.Input<string>;
    /** Certificates between leaf and root, issuer first (CertificateAuthority.chainPem). */
    chainPem: pulumi.Input<string>;
    /** The root (CertificateAuthority.rootCertPem), installed as the CA Redis trusts for clients. */
    rootCertPem: pulumi.Input<string>;
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
    keyAlgorithm?: string;
    /**
     * Certificate file on the host (leaf, then intermediates).
     * @default "/etc/redis/tls/redis.crt"
     */
    certPath?: string;
    /**
     * Private key file on the host.
     * @default "/etc/redis/tls/redis.key"
     */
    keyPath?: string;
    /**
     * CA root file on the host.
     * @default "/etc/redis/tls/ca.crt"
     */
    caPath?: string;
    /**
     * User and group owning the key (mode 0600).
     * @default "redis"
     */
    keyOwner?: string;
    /** Pass phrase to encrypt the key with (Redis's `tls-key-file-pass`); sent on stdin only. */
    keyFilePass?: pulumi.Input<string>;
    /** Root-only unix socket of the running Redis; when given, a new certificate is hot-loaded through it. */
    reloadSocket?: string;
    /**
     * ACL user the hot reload authenticates as (made by RedisTlsConfig).
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
    /**
     * Root-only file on the host with that user's password (made by RedisTlsConfig).
     * @default "/etc/redis/tls/reload.pass"
     */
    reloadPassFile?: string;
}

export const CERTIFICATE_DEFAULTS = {
    validityHours: 720,
    keyAlgorithm: DEFAULT_KEY_ALGORITHM,
    certPath: "/etc/redis/tls/redis.crt",
    keyPath: "/etc/redis/tls/redis.key",
    caPath: "/etc/redis/tls/ca.crt",
    keyOwner: "redis",
} as const;

/** Where the certificate, key and CA root live on a host, as every component that touches them takes them. */
export interface CertificatePathArgs {
    certPath?: string;
    keyPath?: string;
    caPath?: string;
}

/** The three paths with their defaults applied. */
export function certificatePaths(a: CertificatePathArgs): { certPath: string; keyPath: string; caPath: string } {
    return {
        certPath: a.certPath ?? CERTIFICATE_DEFAULTS.certPath,
        keyPath: a.keyPath ?? CERTIFICATE_DEFAULTS.keyPath,
        caPath: a.caPath ?? CERTIFICATE_DEFAULTS.caPath,
    };
}

/** The three paths must be absolute and name three different files. */
export function checkCertificatePaths(a: CertificatePathArgs): Problem[] {
    const paths = certificatePaths(a);
    const problems: Problem[] = (["certPath", "keyPath", "caPath"] as const).map((field) => checkAbsolutePath(field, paths[field]));
    const list = [paths.certPath, paths.keyPath, paths.caPath];
    if (new Set(list).size !== list.length) {
        problems.push(`[certPath] ${show(list)} name the same file twice; give certPath, keyPath and caPath distinct files`);
    }
    return problems;
}

/** The shortest lifetime accepted: `pulumi up` renewal needs a window a deploy pipeline can hit. */
export const MIN_VALIDITY_HOURS = 24;

/** Validates RedisServerCertificate args; returns every problem found. */
export function validateServerCertificateArgs(args: RedisServerCertificateArgs): string[] {
    const dnsNames = args.dnsNames ?? [];
    const ips = args.ipAddresses ?? [];
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    if (dnsNames.length === 0 && ips.length === 0) {
        problems.push(`[dnsNames] [] and [ipAddresses] [] are both empty; give at least one name or address clients use`);
    }
    dnsNames.forEach((d) => problems.push(checkDnsName("dnsNames", d)));
    ips.forEach((ip) => problems.push(checkIpAddress("ipAddresses", ip)));
    problems.push(checkUnique("dnsNames", dnsNames), checkUnique("ipAddresses", ips));
    problems.push(checkOneOf("keyAlgorithm", args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm, KEY_ALGORITHMS));
    problems.push(...checkCertificatePaths(args));
    if (args.reloadSocket !== undefined) problems.push(checkAbsolutePath("reloadSocket", args.reloadSocket));
    if (args.reloadPassFile !== undefined) problems.push(checkAbsolutePath("reloadPassFile", args.reloadPassFile));
    if (args.reloadUser !== undefined) problems.push(checkUnixName("reloadUser", args.reloadUser));
    problems.push(checkUnixName("keyOwner", args.keyOwner ?? CERTIFICATE_DEFAULTS.keyOwner));

    const validity = args.validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
    const validityProblem = checkHours("validityHours", validity);
    problems.push(validityProblem);
    if (validityProblem === undefined && validity < MIN_VALIDITY_HOURS) {
        problems.push(`[validityHours] ${validity} is too short to renew by pulumi up; use at least ${MIN_VALIDITY_HOURS}`);
    }
    if (args.renewBeforeHours !== undefined) {
        const p = checkHours("renewBeforeHours", args.renewBeforeHours);
        problems.push(p);
        if (p === undefined && validityProblem === undefined && args.renewBeforeHours >= validity) {
            problems.push(
                `[renewBeforeHours] ${args.renewBeforeHours} leaves no time between issue and renewal of a ${validity}h certificate; make it less than validityHours, e.g. ${defaultRenewBeforeHours(validity)}`,
            );
        }
    }
    return found(problems);
}

/**
 * A Redis server certificate for one host. The key and CSR are made on the host with openssl; only
 * the CSR comes back, is signed from Pulumi state, and the chain goes back to the host. The key
 * never enters Pulumi state or logs.
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

    constructor(name: string, args: RedisServerCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        assertValid(`RedisServerCertificate ${name}`, validateServerCertificateArgs(args));
        super("redis-tls:index:RedisServerCertificate", name, {}, opts);

        const dnsNames = args.dnsNames ?? [];
        const ipAddresses = args.ipAddresses ?? [];
        const validityHours = args.validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
        const renewAfterHours = validityHours - (args.renewBeforeHours ?? defaultRenewBeforeHours(validityHours));
        const keyAlgorithm = (args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
        const files = { ...certificatePaths(args), keyOwner: args.keyOwner ?? CERTIFICATE_DEFAULTS.keyOwner };
        const serverName = dnsNames[0] ?? ipAddresses[0];
        const connection = toCommandConnection(args.connection);
        const user = args.connection.user;
        const now = Date.now();

        const csr = new command.remote.Command(
            `${name}-csr`,
            {
                connection,
                create: asRoot(
                    renderKeyAndCsrScript({ ...files, keyAlgorithm, commonName: serverName, dnsNames, ipAddresses, encryptKey: args.keyFilePass !== undefined }),
                    user,
                ),
                stdin: args.keyFilePass === undefined ? undefined : pulumi.secret(pulumi.interpolate`${args.keyFilePass}\n`),
                triggers: [renewalSlot(now, renewAfterHours)],
                logging: "stdout",
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-signed`,
            {
                certRequestPem: csr.stdout,
                caCertPem: args.caCertPem,
                caPrivateKeyPem: pulumi.secret(args.caPrivateKeyPem),
                validityPeriodHours: validityHours,
                allowedUses: [...keyUsages(keyAlgorithm), "server_auth", "client_auth"],
            },
            { parent: this },
        );
        const bundle = pulumi.all([cert.certPem, args.chainPem, args.rootCertPem]).apply(([leaf, chain, root]) =>
            [leaf, chain, root].map((pem) => pem.trim()).filter((pem) => pem !== "").join("\n") + "\n",
        );
        const reload =
            args.reloadSocket === undefined
                ? undefined
                : { socket: args.reloadSocket, user: args.reloadUser ?? RELOAD_DEFAULTS.user, passFile: args.reloadPassFile ?? RELOAD_DEFAULTS.passFile };
        const install = new command.remote.Command(
            `${name}-install`,
            {
                connection,
                create: asRoot(renderInstallCertScript({ ...files, dnsNames, ipAddresses, reload }), user),
                stdin: bundle,
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );

        this.certPem = cert.certPem;
        this.serverName = pulumi.output(serverName);
        this.renewsAfter = pulumi.output(renewalDeadline(now, renewAfterHours).toISOString());
        this.certRequestPem = csr.stdout;
        this.installed = install.stdout;
        this.registerOutputs({
            certPem: this.certPem,
            serverName: this.serverName,
            renewsAfter: this.renewsAfter,
            certRequestPem: this.certRequestPem,
            installed: this.installed,
        });
    }
}
