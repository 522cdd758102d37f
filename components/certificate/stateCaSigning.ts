import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CertificateRule, certificatesOrThrow, encodeCertificates } from "../pem";
import { checkCertificatesInput, CheckedCertificates, checkedCertificates } from "../validation/outputs";
import { Problem } from "../validation/fields";

/** A CA whose issuing key Pulumi holds, as one value: CertificateAuthority.issuer. */
export interface CaIssuer {
    /** The root that servers and clients trust. */
    rootCertPem: string;
    /** The certificate that signs. */
    issuerCertPem: string;
    /** Its private key (secret). */
    issuerPrivateKeyPem: string;
    /** Certificates between a leaf and the root, issuer first; empty when the root signs. */
    chainPem: string;
}

/**
 * A CA whose issuing key Pulumi holds (CertificateAuthority's outputs, or the organisation's): either
 * `ca` (CertificateAuthority.issuer, one value, easiest from other languages) or the four PEMs.
 */
export interface StateCaArgs {
    /** The CA as one value (CertificateAuthority.issuer), in place of the four PEM args. */
    ca?: pulumi.Input<CaIssuer>;
    /** The certificate that signs (CertificateAuthority.issuerCertPem). */
    caCertPem?: pulumi.Input<string>;
    /** The signing key (CertificateAuthority.issuerPrivateKeyPem); handled as a secret. */
    caPrivateKeyPem?: pulumi.Input<string>;
    /** Certificates between leaf and root, issuer first (CertificateAuthority.chainPem). */
    chainPem?: pulumi.Input<string>;
    /** The root (CertificateAuthority.rootCertPem): the chain must end in it, and it is pinned by fingerprint. */
    rootCertPem?: pulumi.Input<string>;
}

/** StateCaArgs with all four PEMs, as signing needs them. */
export type ResolvedStateCa = Required<Omit<StateCaArgs, "ca">>;

const PEM_FIELDS = ["caCertPem", "caPrivateKeyPem", "chainPem", "rootCertPem"] as const;

/** `ca` xor the four PEMs: the problem when both or neither (or only some) are given. */
export function checkCaShape(args: StateCaArgs, alternative?: string): Problem[] {
    const given = PEM_FIELDS.filter((f) => args[f] !== undefined);
    if (args.ca !== undefined && given.length > 0) {
        return [`[ca, ${given.join(", ")}] are both given; pass CertificateAuthority.issuer as ca, or the four PEMs, not both`];
    }
    if (args.ca === undefined && given.length < PEM_FIELDS.length) {
        const missing = PEM_FIELDS.filter((f) => args[f] === undefined);
        return [`[${missing.join(", ")}] not given; pass CertificateAuthority.issuer as ca (or its four PEM outputs)${alternative ?? ""}`];
    }
    if (args.ca !== undefined && !pulumi.Output.isInstance(args.ca) && !(args.ca instanceof Promise)) {
        const ca = args.ca as CaIssuer;
        return [
            checkCertificatesInput("ca.rootCertPem", ca.rootCertPem, ROOT_RULE),
            checkCertificatesInput("ca.issuerCertPem", ca.issuerCertPem, ISSUER_RULE),
            checkCertificatesInput("ca.chainPem", ca.chainPem, CHAIN_RULE),
        ];
    }
    return [];
}

/**
 * The four PEMs, from `ca` when it is given. `ca` is one secret value (it holds the key); the root,
 * issuer and chain are public, so each is unsecreted, but only as the certificates parsed out of it
 * and re-encoded: a value that holds anything else (a key pasted with its certificate) fails its
 * step, still secret.
 */
export function resolveStateCa(component: string, args: StateCaArgs): ResolvedStateCa {
    if (args.ca === undefined) return args as ResolvedStateCa;
    const ca = pulumi.output(args.ca);
    const certificates = (field: "rootCertPem" | "issuerCertPem" | "chainPem", rule: CertificateRule) =>
        pulumi.unsecret(checkedCertificates(component, `ca.${field}`, ca[field], rule).apply((c) => c.pem));
    return {
        rootCertPem: certificates("rootCertPem", ROOT_RULE),
        caCertPem: certificates("issuerCertPem", ISSUER_RULE),
        chainPem: certificates("chainPem", CHAIN_RULE),
        caPrivateKeyPem: pulumi.secret(ca.issuerPrivateKeyPem),
    };
}

export const ROOT_RULE = { count: "one", ca: true, root: true } as const;
export const CHAIN_RULE = { count: "any", ca: true } as const;
export const ISSUER_RULE = { count: "one", ca: true } as const;

/** The plain CA fields, checked at preview. */
export function checkStateCaArgs(args: StateCaArgs): Problem[] {
    return [
        ...checkCaShape(args),
        checkCertificatesInput("rootCertPem", args.rootCertPem, ROOT_RULE),
        checkCertificatesInput("caCertPem", args.caCertPem, ISSUER_RULE),
        checkCertificatesInput("chainPem", args.chainPem, CHAIN_RULE),
    ];
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
    ca: ResolvedStateCa,
    a: { validityHours: number; allowedUses: string[]; earlyRenewalHours?: number },
): { certPem: pulumi.Output<string>; chainPem: pulumi.Output<string>; root: pulumi.Output<CheckedCertificates> } {
    const cert = new tls.LocallySignedCert(
        `${name}-signed`,
        {
            certRequestPem,
            // Only the certificate, parsed and re-encoded, goes to the signer (secret if it came so).
            caCertPem: checkedCertificates(component, "caCertPem", ca.caCertPem, ISSUER_RULE).apply((c) => c.pem),
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
