import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { asRoot, SshConnectionArgs, toCommandConnection } from "../connection";
import { encodeSections } from "../host/shell";
import { KeyAlgorithm } from "../keyAlgorithm";
import { assertCsrNames } from "../csr";
import { extractCsr } from "../pem";
import { RELOAD_DEFAULTS } from "../reload/scripts";
import { Flavor, flavorOf } from "../server/flavor";
import { CheckedCertificates } from "../validation/outputs";
import { renderInstallCertScript, renderKeyAndCsrScript } from "./scripts";

/** Where a host's server certificate lives and what it names: the same for every issuer. */
export interface HostCertificateTarget {
    connection: SshConnectionArgs;
    tlsDir: string;
    group: string;
    dnsNames: string[];
    ipAddresses: string[];
    /** The subject CN. @default the first DNS name, else the first IP */
    commonName?: string;
    /** URI SANs. */
    uris?: string[];
    /** @default "server" */
    purpose?: "server" | "client";
}

/**
 * The CSR step of every issuer that signs a host-made CSR: the key and CSR are made on the host
 * (again in each renewal `slot`), and only the CSR comes back, exactly one strict PEM block of the
 * step's output, so a login banner cannot turn a re-issue into an in-place update. It must ask for
 * exactly the target's CN and SANs, or nothing is signed.
 */
export function hostCsrStep(
    parent: pulumi.Resource,
    name: string,
    t: HostCertificateTarget,
    a: { keyAlgorithm: KeyAlgorithm; slot: number; keyFilePass?: pulumi.Output<string>; dependsOn?: pulumi.Resource[] },
): pulumi.Output<string> {
    const csr = new command.remote.Command(
        `${name}-csr`,
        {
            connection: toCommandConnection(t.connection, parent),
            create: asRoot(
                renderKeyAndCsrScript({
                    tlsDir: t.tlsDir,
                    group: t.group,
                    keyAlgorithm: a.keyAlgorithm,
                    commonName: t.commonName ?? t.dnsNames[0] ?? t.ipAddresses[0],
                    dnsNames: t.dnsNames,
                    ipAddresses: t.ipAddresses,
                    uris: t.uris,
                    encryptKey: a.keyFilePass !== undefined,
                }),
                t.connection.user,
            ),
            stdin: a.keyFilePass === undefined ? undefined : pulumi.secret(pulumi.interpolate`${a.keyFilePass}\n`),
            triggers: [a.slot],
            logging: "stdout",
        },
        { parent, dependsOn: a.dependsOn },
    );
    return csr.stdout.apply((out) => csrFromStdout(`${name}-csr stdout`, out, t));
}

/**
 * The CSR in a CSR step's output, which must ask for exactly the target's names: nothing but the
 * configured names gets signed (the CA copies the CSR's subject and SANs).
 */
export function csrFromStdout(label: string, out: string, t: { commonName?: string; dnsNames: string[]; ipAddresses: string[]; uris?: string[] }): string {
    const pem = extractCsr(label, out);
    assertCsrNames(label, pem, { commonName: t.commonName ?? t.dnsNames[0] ?? t.ipAddresses[0], dnsNames: t.dnsNames, ipAddresses: t.ipAddresses, uris: t.uris });
    return pem;
}

/**
 * The install step every issuer that signs through Pulumi shares: the chain (leaf first, then
 * intermediates, re-encoded), the root and the client CA go to the host on stdin, where the chain
 * must end in the pinned root before it becomes the live generation and is hot-loaded.
 */
export function hostInstallStep(
    parent: pulumi.Resource,
    name: string,
    t: HostCertificateTarget,
    a: {
        /** Leaf first, then intermediates, re-encoded. */
        chainPem: pulumi.Output<string>;
        /** The root the chain must end in, and its pinned fingerprint (known before signing, so preview shows the script). */
        rootPem: pulumi.Output<string>;
        rootFingerprint: pulumi.Output<string>;
        clientCa: pulumi.Output<CheckedCertificates>;
        reloadSocket?: string;
        reloadUser?: string;
        flavor?: Flavor;
    },
): command.remote.Command {
    const reload =
        a.reloadSocket === undefined
            ? undefined
            : { tlsDir: t.tlsDir, socket: a.reloadSocket, user: a.reloadUser ?? RELOAD_DEFAULTS.user, cli: flavorOf(a.flavor).cli };
    return new command.remote.Command(
        `${name}-install`,
        {
            connection: toCommandConnection(t.connection, parent),
            create: pulumi.all([a.rootFingerprint, a.clientCa]).apply(([rootFingerprint, client]) =>
                asRoot(
                    renderInstallCertScript({
                        tlsDir: t.tlsDir,
                        group: t.group,
                        dnsNames: t.dnsNames,
                        ipAddresses: t.ipAddresses,
                        rootFingerprint,
                        clientCaFingerprint: client.fingerprints[0],
                        purpose: t.purpose,
                        reload,
                    }),
                    t.connection.user,
                ),
            ),
            stdin: pulumi.all([a.chainPem, a.rootPem, a.clientCa]).apply(([chain, root, client]) => encodeSections({ chain, root, "client-ca": client.pem })),
            logging: "stdoutAndStderr",
        },
        { parent },
    );
}
