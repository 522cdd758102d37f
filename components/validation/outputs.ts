import * as pulumi from "@pulumi/pulumi";
import { CertificateRule, encodeCertificates, fingerprint, parseCertificates } from "../pem";
import { found, Problem, ValidationError } from "./fields";

/**
 * The checks that plain values get at preview, applied again when an Output resolves: a bad value
 * then fails the step that would carry it, before any host sees it.
 */
export function checked(component: string, value: pulumi.Input<string>, check: (v: string) => Problem[]): pulumi.Output<string> {
    return pulumi.output(value).apply((v) => {
        const problems = found(check(v));
        if (problems.length > 0) throw new ValidationError(component, problems);
        return v;
    });
}

/** Certificates parsed, checked against `rule` and re-encoded, with their SHA-256 fingerprints. */
export interface CheckedCertificates {
    pem: string;
    fingerprints: string[];
}

/** A PEM input checked and re-encoded when it resolves (plain values are also checked at preview). */
export function checkedCertificates(component: string, field: string, value: pulumi.Input<string>, rule: CertificateRule): pulumi.Output<CheckedCertificates> {
    return pulumi.output(value).apply((text) => {
        const parsed = parseCertificates(field, text, rule);
        if (parsed.problem !== undefined) throw new ValidationError(component, [parsed.problem]);
        return { pem: encodeCertificates(parsed.value), fingerprints: parsed.value.map(fingerprint) };
    });
}

/** The preview-time check of a PEM input: a problem for a plain string, nothing for an Output. */
export function checkCertificatesInput(field: string, value: pulumi.Input<string> | undefined, rule: CertificateRule): Problem {
    return typeof value === "string" ? parseCertificates(field, value, rule).problem : undefined;
}
