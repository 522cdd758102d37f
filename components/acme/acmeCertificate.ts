import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { CERTIFICATE_DEFAULTS, checkHostCertificateArgs, HostCertificateArgs } from "../certificate/hostCertificate";
import { asRoot, SshConnectionArgs, toCommandConnection } from "../connection";
import { encodeSections } from "../host/shell";
import { DEFAULT_KEY_ALGORITHM, KeyAlgorithm } from "../keyAlgorithm";
import { RELOAD_DEFAULTS } from "../reload/scripts";
import { flavorOf } from "../server/flavor";
import { assertValid, checkAbsolutePath, checkDnsName, checkHttpsUrl, checkPort, checkUnique, found, Problem, show } from "../validation/fields";
import { checkCertificatesInput, checked, checkedCertificates } from "../validation/outputs";
import { LEGO_KEY_TYPES, renderAcmeIssueScript, renderAcmeRenewScript } from "./scripts";

export interface AcmeCertificateArgs extends HostCertificateArgs {
    /** The Redis host, over SSH. lego (Debian package) must be installed there. */
    connection: SshConnectionArgs;
    /** The ACME directory URL (step-ca's ACME provisioner, a public ACME CA, pebble in tests). */
    directoryUrl: pulumi.Input<string>;
    /** Account e-mail. */
    email: string;
    /** DNS names; ACME orders through lego cannot carry IP SANs. */
    dnsNames: string[];
    /** The ACME CA's root: the chain must end in it (pinned by fingerprint on the host). */
    rootCertPem: pulumi.Input<string>;
    /**
     * The one CA Redis trusts for client certificates, e.g. CertificateAuthority.rootCertPem. Never
     * the ACME CA: it signs for anyone who passes its challenge, and its leaves carry clientAuth.
     */
    clientCaPem: pulumi.Input<string>;
    /** CA bundle for the directory's HTTPS when the system store does not trust it (a private CA). */
    serverCaPem?: pulumi.Input<string>;
    /**
     * Port of lego's standalone HTTP-01 server; the CA must reach it for validation.
     * @default 80
     */
    httpPort?: number;
    /**
     * Key algorithm (lego key type).
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * lego's account and certificate state on the host (root-only).
     * @default "/var/lib/redis-tls/acme"
     */
    legoPath?: string;
    /** Root-only socket for the hot reload after the first issuance; unset reloads nothing. */
    reloadSocket?: string;
}

export const ACME_DEFAULTS = { httpPort: 80, legoPath: "/var/lib/redis-tls/acme" } as const;

/** An ACME directory URL that the renew script can carry (validated again when an Output resolves). */
export function checkDirectoryUrl(field: string, url: string): Problem {
    return checkHttpsUrl(field, url, `the ACME directory, e.g. "https://ca.internal/acme/acme/directory"`);
}

/** Validates AcmeCertificate args; returns every problem found. */
export function validateAcmeCertificateArgs(args: AcmeCertificateArgs): string[] {
    const problems: Problem[] = [...checkHostCertificateArgs(args)];
    if (args.dnsNames.length === 0) {
        problems.push(`[dnsNames] [] is empty; an ACME certificate needs at least one DNS name (lego cannot order IP SANs)`);
    }
    args.dnsNames.forEach((d) => problems.push(checkDnsName("dnsNames", d)));
    problems.push(checkUnique("dnsNames", args.dnsNames));
    if (typeof args.directoryUrl === "string") problems.push(checkDirectoryUrl("directoryUrl", args.directoryUrl));
    if (!/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/.test(args.email)) {
        problems.push(`[email] ${show(args.email)} is not an e-mail address; give the account contact, e.g. "ops@example.com"`);
    }
    problems.push(checkPort("httpPort", args.httpPort ?? ACME_DEFAULTS.httpPort));
    problems.push(checkAbsolutePath("legoPath", args.legoPath ?? ACME_DEFAULTS.legoPath));
    problems.push(
        checkCertificatesInput("rootCertPem", args.rootCertPem, { count: "one", ca: true, root: true }),
        checkCertificatesInput("clientCaPem", args.clientCaPem, { count: "one", ca: true }),
        checkCertificatesInput("serverCaPem", args.serverCaPem, { count: "some", ca: true }),
    );
    return found(problems);
}

/**
 * A Redis server certificate from any RFC 8555 directory, obtained on the host with lego (the key is
 * made there and never leaves it), verified against the pinned ACME root and installed like every
 * other certificate here, and hot-loaded. `renewScript` is what a CertRenewer runs to renew it.
 */
export class AcmeCertificate extends pulumi.ComponentResource {
    /** The host script that renews this certificate; give it to CertRenewer. */
    public readonly renewScript: pulumi.Output<string>;
    /** What the first issuance reported. */
    public readonly installed: pulumi.Output<string>;
    /** The name clients verify. */
    public readonly serverName: pulumi.Output<string>;

    constructor(name: string, args: AcmeCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        const component = `AcmeCertificate ${name}`;
        assertValid(component, validateAcmeCertificateArgs(args));
        super("redis-tls:index:AcmeCertificate", name, visibleArgs(args), opts);

        const tlsDir = args.tlsDir ?? CERTIFICATE_DEFAULTS.tlsDir;
        const group = args.redisGroup ?? CERTIFICATE_DEFAULTS.redisGroup;
        const root = checkedCertificates(component, "rootCertPem", args.rootCertPem, { count: "one", ca: true, root: true });
        const clientCa = checkedCertificates(component, "clientCaPem", args.clientCaPem, { count: "one", ca: true });
        const serverCa =
            args.serverCaPem === undefined ? undefined : checkedCertificates(component, "serverCaPem", args.serverCaPem, { count: "some", ca: true });
        const directoryUrl = checked(component, args.directoryUrl, (u) => [checkDirectoryUrl("directoryUrl", u)]);
        const renewScript = pulumi.all([directoryUrl, root, clientCa]).apply(([url, rootCa, client]) =>
            renderAcmeRenewScript({
                tlsDir,
                group,
                directoryUrl: url,
                email: args.email,
                dnsNames: args.dnsNames,
                keyType: LEGO_KEY_TYPES[args.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM],
                httpPort: args.httpPort ?? ACME_DEFAULTS.httpPort,
                legoPath: args.legoPath ?? ACME_DEFAULTS.legoPath,
                serverCa: serverCa !== undefined,
                rootFingerprint: rootCa.fingerprints[0],
                clientCaFingerprint: client.fingerprints[0],
            }),
        );
        const reload =
            args.reloadSocket === undefined ? undefined : { tlsDir, socket: args.reloadSocket, user: args.reloadUser ?? RELOAD_DEFAULTS.user, cli: flavorOf(args.flavor).cli };
        const issue = new command.remote.Command(
            `${name}-issue`,
            {
                connection: toCommandConnection(args.connection, this),
                create: renewScript.apply((script) => asRoot(renderAcmeIssueScript({ tlsDir, group, renewScript: script, reload }), args.connection.user)),
                stdin: pulumi
                    .all([root, clientCa, serverCa])
                    .apply(([r, c, s]) => encodeSections({ "acme-root": r.pem, "client-ca": c.pem, "server-ca": s?.pem })),
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );

        this.renewScript = renewScript;
        this.installed = issue.stdout;
        this.serverName = pulumi.output(args.dnsNames[0]);
        this.registerOutputs({ renewScript: this.renewScript, installed: this.installed, serverName: this.serverName });
    }
}
