import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as tls from "@pulumi/tls";
import type { CaIssuer } from "../certificate/stateCaSigning";
import { DEFAULT_KEY_ALGORITHM, KEY_ALGORITHMS, KeyAlgorithm, tlsKeyArgs } from "../keyAlgorithm";
import { assertValid, found, checkHours, checkOneOf, checkPem, Problem, show } from "../validation/fields";

/** An organisation's existing CA, given as PEM text. */
export interface ExistingCaArgs {
    /** The root certificate that hosts and clients trust. */
    rootCertPem: pulumi.Input<string>;
    /**
     * The certificate that signs server certificates.
     * @default the root itself
     */
    issuerCertPem?: pulumi.Input<string>;
    /** The issuing certificate's private key. Handled as a Pulumi secret. */
    issuerPrivateKeyPem: pulumi.Input<string>;
    /**
     * Certificates between the issuer and the root, issuer first, that servers send after their leaf.
     * @default the issuer certificate when it is not the root, else none
     */
    chainPem?: pulumi.Input<string>;
}

export interface CertificateAuthorityArgs {
    /**
     * Common name of the root; the intermediate's is this with " Intermediate" added.
     * @default "redis-tls Root CA"
     */
    commonName?: string;
    /**
     * Organization in both subjects.
     * @default "redis-tls"
     */
    organization?: string;
    /**
     * Key algorithm of the root and intermediate.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * Lifetime of the root.
     * @default 87600 (10 years)
     */
    rootValidityHours?: number;
    /**
     * Lifetime of the intermediate; at most the root's.
     * @default 43800 (5 years)
     */
    intermediateValidityHours?: number;
    /** Use this existing CA instead of making one in Pulumi state; the other args are then ignored. */
    existing?: ExistingCaArgs;
}

export const CA_DEFAULTS = {
    commonName: "redis-tls Root CA",
    organization: "redis-tls",
    keyAlgorithm: DEFAULT_KEY_ALGORITHM,
    rootValidityHours: 87600,
    intermediateValidityHours: 43800,
} as const;

/** Validates CertificateAuthority args; returns every problem found. */
export function validateCertificateAuthorityArgs(args: CertificateAuthorityArgs): string[] {
    const problems: Problem[] = [];
    const e = args.existing;
    if (e !== undefined) {
        if (typeof e.rootCertPem === "string") problems.push(checkPem("existing.rootCertPem", e.rootCertPem, "CERTIFICATE"));
        if (typeof e.issuerCertPem === "string") problems.push(checkPem("existing.issuerCertPem", e.issuerCertPem, "CERTIFICATE"));
        if (typeof e.chainPem === "string" && e.chainPem !== "") problems.push(checkPem("existing.chainPem", e.chainPem, "CERTIFICATE"));
        if (typeof e.issuerPrivateKeyPem === "string") {
            problems.push(checkPem("existing.issuerPrivateKeyPem", e.issuerPrivateKeyPem, "PRIVATE KEY"));
        }
        return found(problems);
    }
    const commonName = args.commonName ?? CA_DEFAULTS.commonName;
    if (commonName.trim() === "" || commonName.length > 64) {
        problems.push(`[commonName] ${show(commonName)} must be 1 to 64 characters; give a name such as "Acme Redis Root CA"`);
    }
    problems.push(checkOneOf("keyAlgorithm", args.keyAlgorithm ?? CA_DEFAULTS.keyAlgorithm, KEY_ALGORITHMS));
    const root = args.rootValidityHours ?? CA_DEFAULTS.rootValidityHours;
    const intermediate = args.intermediateValidityHours ?? CA_DEFAULTS.intermediateValidityHours;
    problems.push(checkHours("rootValidityHours", root), checkHours("intermediateValidityHours", intermediate));
    if (Number.isInteger(root) && Number.isInteger(intermediate) && intermediate > root) {
        problems.push(
            `[intermediateValidityHours] ${intermediate} outlives the root's ${root}; make it at most rootValidityHours`,
        );
    }
    return found(problems);
}

/**
 * The CA that signs Redis server certificates: a root and an intermediate made with `@pulumi/tls`
 * and kept in Pulumi state (private keys as secrets), or an existing organisation CA.
 */
export class CertificateAuthority extends pulumi.ComponentResource {
    /** The root certificate hosts and clients trust. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** The certificate that signs server certificates. */
    public readonly issuerCertPem: pulumi.Output<string>;
    /** The issuing key (secret). */
    public readonly issuerPrivateKeyPem: pulumi.Output<string>;
    /** Certificates between a leaf and the root, issuer first; empty when the root issues directly. */
    public readonly chainPem: pulumi.Output<string>;
    /** All four as one value (secret, for the key), to pass as `ca` to servers and client certificates. */
    public readonly issuer: pulumi.Output<CaIssuer>;

    constructor(name: string, args: CertificateAuthorityArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        assertValid(`CertificateAuthority ${name}`, validateCertificateAuthorityArgs(args));
        super("redis-tls:index:CertificateAuthority", name, visibleArgs(args), opts);

        if (args.existing !== undefined) {
            const e = args.existing;
            this.rootCertPem = pulumi.output(e.rootCertPem);
            this.issuerCertPem = pulumi.output(e.issuerCertPem ?? e.rootCertPem);
            this.issuerPrivateKeyPem = pulumi.secret(e.issuerPrivateKeyPem);
            this.chainPem = pulumi.output(e.chainPem ?? (e.issuerCertPem === undefined ? "" : e.issuerCertPem));
        } else {
            const keyAlgorithm = (args.keyAlgorithm ?? CA_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
            const commonName = args.commonName ?? CA_DEFAULTS.commonName;
            const organization = args.organization ?? CA_DEFAULTS.organization;
            const child = { parent: this };

            const rootKey = new tls.PrivateKey(`${name}-root-key`, tlsKeyArgs(keyAlgorithm), child);
            const root = new tls.SelfSignedCert(
                `${name}-root`,
                {
                    privateKeyPem: rootKey.privateKeyPem,
                    subject: { commonName, organization },
                    isCaCertificate: true,
                    setSubjectKeyId: true,
                    validityPeriodHours: args.rootValidityHours ?? CA_DEFAULTS.rootValidityHours,
                    allowedUses: ["cert_signing", "crl_signing"],
                },
                child,
            );
            const intermediateKey = new tls.PrivateKey(`${name}-intermediate-key`, tlsKeyArgs(keyAlgorithm), child);
            const csr = new tls.CertRequest(
                `${name}-intermediate-csr`,
                { privateKeyPem: intermediateKey.privateKeyPem, subject: { commonName: `${commonName} Intermediate`, organization } },
                child,
            );
            const intermediate = new tls.LocallySignedCert(
                `${name}-intermediate`,
                {
                    certRequestPem: csr.certRequestPem,
                    caPrivateKeyPem: rootKey.privateKeyPem,
                    caCertPem: root.certPem,
                    isCaCertificate: true,
                    setSubjectKeyId: true,
                    validityPeriodHours: args.intermediateValidityHours ?? CA_DEFAULTS.intermediateValidityHours,
                    allowedUses: ["cert_signing", "crl_signing"],
                },
                child,
            );
            this.rootCertPem = root.certPem;
            this.issuerCertPem = intermediate.certPem;
            this.issuerPrivateKeyPem = pulumi.secret(intermediateKey.privateKeyPem);
            this.chainPem = intermediate.certPem;
        }

        this.issuer = pulumi.secret(
            pulumi.output({
                rootCertPem: this.rootCertPem,
                issuerCertPem: this.issuerCertPem,
                issuerPrivateKeyPem: this.issuerPrivateKeyPem,
                chainPem: this.chainPem,
            }),
        );
        this.registerOutputs({
            issuer: this.issuer,
            rootCertPem: this.rootCertPem,
            issuerCertPem: this.issuerCertPem,
            issuerPrivateKeyPem: this.issuerPrivateKeyPem,
            chainPem: this.chainPem,
        });
    }
}
