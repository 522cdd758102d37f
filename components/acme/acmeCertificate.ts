import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { CERTIFICATE_DEFAULTS, certificatePaths, checkCertificatePaths } from "../certificate/redisServerCertificate";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS } from "../keyAlgorithm";
import { RELOAD_DEFAULTS, renderReloadScript } from "../reload/scripts";
import {
    assertValid,
    found,
    checkAbsolutePath,
    checkDnsName,
    checkOneOf,
    checkPort,
    checkUnique,
    checkUnixName,
    Problem,
    show,
} from "../validation/fields";
import { LEGO_KEY_TYPES, renderAcmeRenewScript, renderAcmeTrustFiles } from "./scripts";

export interface AcmeCertificateArgs {
    /** The Redis host, over SSH. lego (Debian package) must be installed there. */
    connection: SshConnectionArgs;
    /** The ACME directory URL (step-ca's ACME provisioner, a public ACME CA, pebble in tests). */
    directoryUrl: pulumi.Input<string>;
    /** Account e-mail. */
    email: string;
    /** DNS names; ACME orders through lego cannot carry IP SANs. */
    dnsNames: string[];
    /** The ACME CA's root: the chain must verify to it, and Redis trusts it for client certificates. */
    rootCertPem: pulumi.Input<string>;
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
    keyAlgorithm?: string;
    /** @default "/etc/redis/tls/redis.crt" */
    certPath?: string;
    /** @default "/etc/redis/tls/redis.key" */
    keyPath?: string;
    /** @default "/etc/redis/tls/ca.crt" */
    caPath?: string;
    /**
     * lego's account and certificate state on the host (root-only).
     * @default "/var/lib/redis-tls/acme"
     */
    legoPath?: string;
    /** @default "redis" */
    keyOwner?: string;
    /** Root-only socket for the hot reload after the first issuance; unset reloads nothing. */
    reloadSocket?: string;
    /** @default "redis-tls-reload" */
    reloadUser?: string;
    /** @default "/etc/redis/tls/reload.pass" */
    reloadPassFile?: string;
}

export const ACME_DEFAULTS = { httpPort: 80, legoPath: "/var/lib/redis-tls/acme" } as const;

/** Validates AcmeCertificate args; returns every problem found. */
export function validateAcmeCertificateArgs(args: AcmeCertificateArgs): string[] {
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    if (args.dnsNames.length === 0) {
        problems.push(`[dnsNames] [] is empty; an ACME certificate needs at least one DNS name (lego cannot order IP SANs)`);
    }
    args.dnsNames.forEach((d) => problems.push(checkDnsName("dnsNames", d)));
    problems.push(checkUnique("dnsNames", args.dnsNames));
    if (typeof args.directoryUrl === "string" && !/^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/.test(args.directoryUrl)) {
        problems.push(`[directoryUrl] ${show(args.directoryUrl)} is not an https URL; give the ACME directory, e.g. "https://ca.internal/acme/acme/directory"`);
    }
    if (!/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$/.test(args.email)) {
        problems.push(`[email] ${show(args.email)} is not an e-mail address; give the account contact, e.g. "ops@example.com"`);
    }
    problems.push(checkPort("httpPort", args.httpPort ?? ACME_DEFAULTS.httpPort));
    problems.push(checkOneOf("keyAlgorithm", args.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS));
    problems.push(...checkCertificatePaths(args));
    problems.push(checkAbsolutePath("legoPath", args.legoPath ?? ACME_DEFAULTS.legoPath));
    problems.push(checkUnixName("keyOwner", args.keyOwner ?? CERTIFICATE_DEFAULTS.keyOwner));
    if (args.reloadSocket !== undefined) problems.push(checkAbsolutePath("reloadSocket", args.reloadSocket));
    return found(problems);
}

/**
 * A Redis server certificate from any RFC 8555 directory, obtained on the host with lego (the key is
 * made there and never leaves it), verified and installed like every other certificate here, and
 * hot-loaded. `renewScript` is what a CertRenewer runs to renew it.
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
        assertValid(`AcmeCertificate ${name}`, validateAcmeCertificateArgs(args));
        super("redis-tls:index:AcmeCertificate", name, {}, opts);

        const files = {
            ...certificatePaths(args),
            keyOwner: args.keyOwner ?? CERTIFICATE_DEFAULTS.keyOwner,
        };
        const tlsDir = files.certPath.slice(0, files.certPath.lastIndexOf("/"));
        const rootPath = `${tlsDir}/acme-root.crt`;
        const serverCaPath = args.serverCaPem === undefined ? undefined : `${tlsDir}/acme-server-ca.crt`;
        const renewScript = pulumi.output(args.directoryUrl).apply((directoryUrl) =>
            renderAcmeRenewScript({
                ...files,
                directoryUrl,
                email: args.email,
                dnsNames: args.dnsNames,
                keyType: LEGO_KEY_TYPES[args.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM],
                httpPort: args.httpPort ?? ACME_DEFAULTS.httpPort,
                legoPath: args.legoPath ?? ACME_DEFAULTS.legoPath,
                rootPath,
                serverCaPath,
            }),
        );
        const reload =
            args.reloadSocket === undefined
                ? ""
                : `(\n${renderReloadScript({
                      ...files,
                      socket: args.reloadSocket,
                      user: args.reloadUser ?? RELOAD_DEFAULTS.user,
                      passFile: args.reloadPassFile ?? RELOAD_DEFAULTS.passFile,
                  }).trimEnd()}\n)\n`;
        const issue = new command.remote.Command(
            `${name}-issue`,
            {
                connection: toCommandConnection(args.connection),
                create: pulumi
                    .all([renewScript, args.rootCertPem, args.serverCaPem])
                    .apply(([script, root, serverCa]) =>
                        asRoot(
                            `set -euo pipefail\n${renderAcmeTrustFiles(files.keyOwner, rootPath, root, serverCaPath, serverCa)}` +
                                `/bin/bash -c "$(cat <<'REDIS_TLS_RENEW'\n${script.trimEnd()}\nREDIS_TLS_RENEW\n)"\n${reload}`,
                            args.connection.user,
                        ),
                    ),
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
