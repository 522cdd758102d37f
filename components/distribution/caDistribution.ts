import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { assertValid, found, checkAbsolutePath, checkOneOf, checkUnique, Problem, show } from "../validation/fields";
import { OS_FAMILIES, renderTrustInstallScript, renderTrustRemoveScript } from "./scripts";

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
    osFamily?: string;
}

export interface CaDistributionArgs {
    /** The root to distribute (CertificateAuthority.rootCertPem). */
    rootCertPem: pulumi.Input<string>;
    /** Client hosts whose system trust store gets the root. Plain: it decides how many resources exist. */
    hosts?: ClientHostArgs[];
    /**
     * File name stem of the anchor in the trust store.
     * @default "redis-tls-root"
     */
    anchorName?: string;
    /** Also write the PEM here on every host, for applications that take a CA file. */
    appPath?: string;
}

export const DISTRIBUTION_DEFAULTS = { osFamily: "auto", anchorName: "redis-tls-root" } as const;

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
    const anchor = args.anchorName ?? DISTRIBUTION_DEFAULTS.anchorName;
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(anchor)) {
        problems.push(`[anchorName] ${show(anchor)} is not a plain file name; use letters, digits, ".", "_" and "-"`);
    }
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
        assertValid(`CaDistribution ${name}`, validateCaDistributionArgs(args));
        super("redis-tls:index:CaDistribution", name, {}, opts);

        const anchors: Record<string, pulumi.Output<string>> = {};
        for (const host of args.hosts ?? []) {
            const script = {
                osFamily: host.osFamily ?? DISTRIBUTION_DEFAULTS.osFamily,
                anchorName: args.anchorName ?? DISTRIBUTION_DEFAULTS.anchorName,
                appPath: args.appPath,
            };
            const trust = new command.remote.Command(
                `${name}-${host.name}`,
                {
                    connection: toCommandConnection(host.connection),
                    create: asRoot(renderTrustInstallScript(script), host.connection.user),
                    delete: asRoot(renderTrustRemoveScript(script), host.connection.user),
                    stdin: args.rootCertPem,
                },
                { parent: this },
            );
            anchors[host.name] = trust.stdout;
        }

        this.rootCertPem = pulumi.output(args.rootCertPem);
        this.anchors = pulumi.output(anchors);
        this.registerOutputs({ rootCertPem: this.rootCertPem, anchors: this.anchors });
    }
}
