import { createHash, X509Certificate } from "node:crypto";

/**
 * PEM inputs are parsed and re-encoded before anything reaches a host, so what travels is exactly
 * the certificates, in the form Node writes them: no text outside the blocks, no CRLF, no other
 * block types. Each check returns the problem in the house style, or the parsed value.
 */

const BLOCK = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** What a certificate input must be. */
export interface CertificateRule {
    /** "one": exactly one certificate; "any": zero or more; "some": at least one. */
    count: "one" | "any" | "some";
    /** Every certificate must be a CA (basicConstraints CA:TRUE). */
    ca?: boolean;
    /** The (single) certificate must be self-signed: a root. */
    root?: boolean;
}

export type Parsed<T> = { value: T; problem?: undefined } | { value?: undefined; problem: string };

/** Parses PEM text that must hold only CERTIFICATE blocks, checked against `rule`. */
export function parseCertificates(field: string, text: string, rule: CertificateRule): Parsed<X509Certificate[]> {
    const certs: X509Certificate[] = [];
    let rest = "";
    let last = 0;
    for (const m of text.matchAll(BLOCK)) {
        rest += text.slice(last, m.index);
        last = m.index! + m[0].length;
        if (m[1] !== "CERTIFICATE") {
            const what = m[1].includes("PRIVATE KEY") ? "a private key" : `a ${JSON.stringify(m[1])} block`;
            return { problem: `[${field}] contains ${what}; give only "-----BEGIN CERTIFICATE-----" blocks here` };
        }
        try {
            certs.push(new X509Certificate(m[0]));
        } catch (e) {
            return { problem: `[${field}] certificate ${certs.length + 1} does not parse (${(e as Error).message}); give the PEM as the CA issued it` };
        }
    }
    rest += text.slice(last);
    const stray = rest.trim();
    if (stray !== "") {
        return { problem: `[${field}] has text outside PEM blocks (${JSON.stringify(stray.slice(0, 24))}); give only "-----BEGIN CERTIFICATE-----" blocks` };
    }
    if (rule.count === "one" && certs.length !== 1) {
        return { problem: `[${field}] holds ${certs.length} certificates; give exactly one` };
    }
    if (rule.count === "some" && certs.length === 0) {
        return { problem: `[${field}] holds no certificate; give at least one "-----BEGIN CERTIFICATE-----" block` };
    }
    for (const [i, c] of certs.entries()) {
        if (rule.ca && !c.ca) {
            return { problem: `[${field}] certificate ${i + 1} (${JSON.stringify(c.subject)}) is not a CA certificate; give the CA's certificate, not a leaf` };
        }
        if (rule.root && !(c.checkIssued(c) && c.verify(c.publicKey))) {
            return { problem: `[${field}] certificate ${i + 1} (${JSON.stringify(c.subject)}) is not self-signed; give the root of the chain` };
        }
    }
    return { value: certs };
}

/** The certificates as PEM text written by Node: LF line ends, one block after another. */
export function encodeCertificates(certs: X509Certificate[]): string {
    return certs.map((c) => c.toString()).join("");
}

/** Lower-case hex SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it without colons. */
export function fingerprint(cert: X509Certificate): string {
    return cert.fingerprint256.replace(/:/g, "").toLowerCase();
}

/** Parses and re-encodes, or throws with the problem (for values only known when Outputs resolve). */
export function certificatesOrThrow(field: string, text: string, rule: CertificateRule): X509Certificate[] {
    const parsed = parseCertificates(field, text, rule);
    if (parsed.problem !== undefined) throw new Error(parsed.problem);
    return parsed.value;
}

const CSR = /-----BEGIN CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE REQUEST-----/g;

/**
 * Exactly one CSR out of a host step's output, re-encoded strictly (64-character lines, LF, one
 * final newline). A login banner, an rc file's echo, CRLF or trailing blank lines would otherwise
 * reach `tls.LocallySignedCert`, whose provider replaces the certificate only when the stored CSR
 * matches its strict PEM pattern: anything else updates in place and renewal silently stops.
 */
export function extractCsr(field: string, text: string): string {
    const found = [...text.matchAll(CSR)];
    if (found.length !== 1) {
        throw new Error(`[${field}] printed ${found.length} certificate requests; the CSR step must print exactly one`);
    }
    const der = Buffer.from(found[0][1].replace(/\s+/g, ""), "base64");
    const body = der.toString("base64").match(/.{1,64}/g)!.join("\n");
    return `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A short, stable, non-secret identifier (16 hex digits) for owner records and anchor names. */
export function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
