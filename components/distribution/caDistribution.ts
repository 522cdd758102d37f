import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { ownerId } from "../owner";
import { assertValid, found, checkAbsolutePath, checkOneOf, checkUnique, Problem, show } from "../validation/fields";
import { checkCertificatesInput, checkedCertificates } from "../validation/outputs";
import { OS_FAMILIES, OsFamily, renderTrustInstallScript, renderTrustRemoveScript } from "./scripts";

/** A client host that should trust the CA. */
export interface ClientHostArgs {
    /** Short name, unique among the hosts; names the child resource. */
    name: string;
    /** How to reach it. */
    connection: SshConnectionArgs;
    /**
     * "debian" (update-ca-certificates), "rhel" (update-ca-trust) or "auto" to detect.
     * @default "auto"
     */
    osFamily?: OsFamily;
}

export interface CaDistributionArgs {
    /** The root to distribute (CertificateAuthority.rootCertPem): exactly one CA certificate. */
    rootCertPem: pulumi.Input<string>;
    /** Client hosts whose system trust store gets the root. Plain: it decides how many resources exist. */
    hosts?: ClientHostArgs[];
    /**
     * File name stem of the anchor in the trust store; per CA by default, so two stacks (two CAs)
     * on one host keep both roots.
     * @default "redis-tls-" + the first 16 hex digits of the root's SHA-256 fingerprint
     */
    anchorName?: string;
    /** Also write the PEM here on every host, for applications that take a CA file; refused if a file not written by redis-tls is there. */
    appPath?: string;
}

export const DISTRIBUTION_DEFAULTS = { osFamily: "auto", anchorPrefix: "redis-tls-" } as const;

const ROOT_RULE = { count: "one", ca: true } as const;

/** Validates CaDistribution args; returns every problem found. */
export function validateCaDistributionArgs(args: CaDistributionArgs): string[] {
    const hosts = args.hosts ?? [];
    const problems: Problem[] = [checkUnique("hosts[].name", hosts.map((h) => h.name))];
    hosts.forEach((h, i) => {
        if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(h.name)) {
            problems.push(`[hosts[${i}].name] ${show(h.name)} is not a short name; use lower-case letters, digits and hyphens`);
        }
        problems.push(...checkConnection(`hosts[${i}].connection`, h.connection));
        problems.push(checkOneOf(`hosts[${i}].osFamily`, h.osFamily ?? DISTRIBUTION_DEFAULTS.osFamily, OS_FAMILIES));
    });
    if (args.anchorName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(args.anchorName)) {
        problems.push(`[anchorName] ${show(args.anchorName)} is not a plain file name; use letters, digits, ".", "_" and "-"`);
    }
    problems.push(checkCertificatesInput("rootCertPem", args.rootCertPem, ROOT_RULE));
    if (args.appPath !== undefined) problems.push(checkAbsolutePath("appPath", args.appPath));
    return found(problems);
}

/**
 * Puts the CA root into client hosts' system trust stores, so clients verify Redis servers with
 * no extra flags, and exports the PEM for everything else (Docker images, Kubernetes, apps).
 */
export class CaDistribution extends pulumi.ComponentResource {
    /** The distributed root. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** Per host name, the trust-store file the root was written to. */
    public readonly anchors: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: CaDistributionArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        const component = `CaDistribution ${name}`;
        assertValid(component, validateCaDistributionArgs(args));
        super("redis-tls:index:CaDistribution", name, visibleArgs(args), opts);

        const root = checkedCertificates(component, "rootCertPem", args.rootCertPem, ROOT_RULE);
        const anchors: Record<string, pulumi.Output<string>> = {};
        for (const host of args.hosts ?? []) {
            const child = `${name}-${host.name}`;
            const script = pulumi.all([root, ownerId(this, child)]).apply(([r, owner]) => ({
                osFamily: host.osFamily ?? DISTRIBUTION_DEFAULTS.osFamily,
                anchorName: args.anchorName ?? `${DISTRIBUTION_DEFAULTS.anchorPrefix}${r.fingerprints[0].slice(0, 16)}`,
                appPath: args.appPath,
                owner,
            }));
            const trust = new command.remote.Command(
                child,
                {
                    connection: toCommandConnection(host.connection, this),
                    create: script.apply((s) => asRoot(renderTrustInstallScript(s), host.connection.user)),
                    delete: script.apply((s) => asRoot(renderTrustRemoveScript(s), host.connection.user)),
                    stdin: root.pem,
                },
                { parent: this },
            );
            anchors[host.name] = trust.stdout;
        }

        this.rootCertPem = root.pem;
        this.anchors = pulumi.output(anchors);
        this.registerOutputs({ rootCertPem: this.rootCertPem, anchors: this.anchors });
    }
}
