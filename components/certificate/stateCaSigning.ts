import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { certificatesOrThrow, encodeCertificates } from "../pem";
import { checkCertificatesInput, CheckedCertificates, checkedCertificates } from "../validation/outputs";
import { Problem } from "../validation/fields";

/** A CA whose issuing key Pulumi holds (CertificateAuthority's outputs, or the organisation's). */
export interface StateCaArgs {
    /** The certificate that signs (CertificateAuthority.issuerCertPem). */
    caCertPem: pulumi.Input<string>;
    /** The signing key (CertificateAuthority.issuerPrivateKeyPem); handled as a secret. */
    caPrivateKeyPem: pulumi.Input<string>;
    /** Certificates between leaf and root, issuer first (CertificateAuthority.chainPem). */
    chainPem: pulumi.Input<string>;
    /** The root (CertificateAuthority.rootCertPem): the chain must end in it, and it is pinned by fingerprint. */
    rootCertPem: pulumi.Input<string>;
}

export const ROOT_RULE = { count: "one", ca: true, root: true } as const;
export const CHAIN_RULE = { count: "any", ca: true } as const;

/** The plain CA fields, checked at preview. */
export function checkStateCaArgs(args: StateCaArgs): Problem[] {
    return [checkCertificatesInput("rootCertPem", args.rootCertPem, ROOT_RULE), checkCertificatesInput("chainPem", args.chainPem, CHAIN_RULE)];
}

/**
 * Signs a CSR with the CA in state: the certificate (`${name}-signed`), the chain to present (leaf
 * re-encoded, then the intermediates) and the root, each checked when it resolves.
 */
export function signWithStateCa(
    parent: pulumi.Resource,
    component: string,
    name: string,
    certRequestPem: pulumi.Input<string>,
    ca: StateCaArgs,
    a: { validityHours: number; allowedUses: string[]; earlyRenewalHours?: number },
): { certPem: pulumi.Output<string>; chainPem: pulumi.Output<string>; root: pulumi.Output<CheckedCertificates> } {
    const cert = new tls.LocallySignedCert(
        `${name}-signed`,
        {
            certRequestPem,
            caCertPem: ca.caCertPem,
            caPrivateKeyPem: pulumi.secret(ca.caPrivateKeyPem),
            validityPeriodHours: a.validityHours,
            earlyRenewalHours: a.earlyRenewalHours,
            allowedUses: a.allowedUses,
        },
        { parent },
    );
    const root = checkedCertificates(component, "rootCertPem", ca.rootCertPem, ROOT_RULE);
    const chain = checkedCertificates(component, "chainPem", ca.chainPem, CHAIN_RULE);
    const chainPem = pulumi.all([cert.certPem, chain]).apply(([leaf, c]) => encodeCertificates(certificatesOrThrow("certPem", leaf, { count: "one" })) + c.pem);
    return { certPem: cert.certPem, chainPem, root };
}
