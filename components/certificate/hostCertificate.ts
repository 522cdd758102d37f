import { checkConnection, SshConnectionArgs } from "../connection";
import { DEFAULT_TLS_DIR } from "../host/layout";
import { DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, KeyAlgorithm } from "../keyAlgorithm";
import {
    checkAbsolutePath,
    checkAclUser,
    checkDnsName,
    checkHours,
    checkIpAddress,
    checkOneOf,
    checkUnique,
    checkUnixName,
    Problem,
} from "../validation/fields";
import { Flavor, FLAVOR_NAMES } from "../server/flavor";
import { defaultRenewBeforeHours } from "./renewal";

/** What every server certificate shares, whichever issuer signs it: where the key is made and served. */
export interface HostCertificateArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /**
     * The server key's algorithm, made on the host.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * Where the key, chain and CA files live on the host.
     * @default "/etc/redis-tls"
     */
    tlsDir?: string;
    /**
     * The group the server runs as, which may read the key.
     * @default "redis"
     */
    redisGroup?: string;
    /** Root-only socket for the hot reload; unset reloads nothing. */
    reloadSocket?: string;
    /**
     * The ACL user that may only hot-reload the certificate.
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
    /**
     * The server: "redis" or "valkey" (its CLI runs the hot reload).
     * @default "redis"
     */
    flavor?: Flavor;
}

export const CERTIFICATE_DEFAULTS = {
    validityHours: 720,
    keyAlgorithm: DEFAULT_KEY_ALGORITHM,
    tlsDir: DEFAULT_TLS_DIR,
    redisGroup: "redis",
} as const;

/** The shortest lifetime accepted: `pulumi up` renewal needs a window a deploy pipeline can hit. */
export const MIN_VALIDITY_HOURS = 24;

/** The fields of HostCertificateArgs, each against its rule. */
export function checkHostCertificateArgs(args: HostCertificateArgs): Problem[] {
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    problems.push(checkOneOf("keyAlgorithm", args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm, KEY_ALGORITHMS));
    problems.push(checkAbsolutePath("tlsDir", args.tlsDir ?? CERTIFICATE_DEFAULTS.tlsDir));
    problems.push(checkUnixName("redisGroup", args.redisGroup ?? CERTIFICATE_DEFAULTS.redisGroup));
    if (args.reloadSocket !== undefined) problems.push(checkAbsolutePath("reloadSocket", args.reloadSocket));
    if (args.reloadUser !== undefined) problems.push(checkAclUser("reloadUser", args.reloadUser));
    if (args.flavor !== undefined) problems.push(checkOneOf("flavor", args.flavor, FLAVOR_NAMES));
    return problems;
}

/** The SANs of a server certificate: at least one, each valid, none twice. */
export function checkSubjectNames(dnsNames: string[], ipAddresses: string[]): Problem[] {
    const problems: Problem[] = [];
    if (dnsNames.length === 0 && ipAddresses.length === 0) {
        problems.push(`[dnsNames] [] and [ipAddresses] [] are both empty; give at least one name or address clients use`);
    }
    dnsNames.forEach((d) => problems.push(checkDnsName("dnsNames", d)));
    ipAddresses.forEach((ip) => problems.push(checkIpAddress("ipAddresses", ip)));
    problems.push(checkUnique("dnsNames", dnsNames), checkUnique("ipAddresses", ipAddresses));
    return problems;
}

/** A lifetime `pulumi up` can renew within, and a re-issue point inside it. */
export function checkLifetime(validityHours: number | undefined, renewBeforeHours: number | undefined): Problem[] {
    const validity = validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
    const validityProblem = checkHours("validityHours", validity);
    const problems: Problem[] = [validityProblem];
    if (validityProblem === undefined && validity < MIN_VALIDITY_HOURS) {
        problems.push(`[validityHours] ${validity} is too short to renew by pulumi up; use at least ${MIN_VALIDITY_HOURS}`);
    }
    if (renewBeforeHours !== undefined) {
        const p = checkHours("renewBeforeHours", renewBeforeHours);
        problems.push(p);
        if (p === undefined && validityProblem === undefined && renewBeforeHours >= validity) {
            problems.push(
                `[renewBeforeHours] ${renewBeforeHours} leaves no time between issue and renewal of a ${validity}h certificate; make it less than validityHours, e.g. ${defaultRenewBeforeHours(validity)}`,
            );
        }
    }
    return problems;
}
