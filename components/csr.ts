import * as net from "node:net";

/**
 * What a PKCS#10 CSR asks for: its subject and the names of its subjectAltName request. The host
 * makes the CSR, so a host that is not what it should be could ask for any name, or for another
 * identity's CN; the CA in Pulumi state copies subject and SANs into the certificate, so they are
 * checked against what the host was configured with before anything is signed.
 */
export interface CsrNames {
    /** Every attribute of the subject, as "OID=value" (CN as "CN=value"). */
    subject: string[];
    dnsNames: string[];
    /** In canonical text form. */
    ipAddresses: string[];
    uris: string[];
    /** SAN entries of any other kind (e-mail, otherName, directoryName...). */
    otherNames: number;
}

interface Tlv {
    tag: number;
    start: number;
    end: number;
}

function tlv(buf: Buffer, at: number, limit: number): Tlv {
    if (at + 2 > limit) throw new Error("truncated");
    const tag = buf[at];
    let len = buf[at + 1];
    let start = at + 2;
    if (len & 0x80) {
        const n = len & 0x7f;
        if (n === 0 || n > 3 || start + n > limit) throw new Error("bad length");
        len = 0;
        for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i];
        start += n;
    }
    if (start + len > limit) throw new Error("truncated");
    return { tag, start, end: start + len };
}

function children(buf: Buffer, parent: Tlv): Tlv[] {
    const out: Tlv[] = [];
    for (let at = parent.start; at < parent.end; ) {
        const c = tlv(buf, at, parent.end);
        out.push(c);
        at = c.end;
    }
    return out;
}

const hex = (buf: Buffer, t: Tlv) => buf.subarray(t.start, t.end).toString("hex");
const OID_CN = "550403";
const OID_EXTENSION_REQUEST = "2a864886f70d01090e";
const OID_SAN = "551d11";

function ipText(bytes: Buffer): string {
    if (bytes.length === 4) return [...bytes].join(".");
    if (bytes.length === 16) return canonicalIp(Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16)).join(":"));
    return `<${bytes.length} bytes>`;
}

/** An IP address in one text form, so "fd00:0::5" and "fd00::5" compare equal. */
export function canonicalIp(ip: string): string {
    if (net.isIPv4(ip)) return ip.split(".").map((p) => String(Number(p))).join(".");
    if (!net.isIPv6(ip)) return ip;
    // Node's URL parser writes IPv6 hosts in RFC 5952 form.
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** Parses a PEM CSR's subject and requested SANs; throws on anything that is not a well-formed CSR. */
export function csrNames(pem: string): CsrNames {
    const body = /-----BEGIN CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE REQUEST-----/.exec(pem);
    if (!body) throw new Error("no CERTIFICATE REQUEST block");
    const der = Buffer.from(body[1].replace(/\s+/g, ""), "base64");
    const top = tlv(der, 0, der.length);
    const info = children(der, top)[0];
    const [, subject, , attributes] = children(der, info);
    if (top.tag !== 0x30 || info?.tag !== 0x30 || subject?.tag !== 0x30) throw new Error("not a CSR");
    const names: CsrNames = { subject: [], dnsNames: [], ipAddresses: [], uris: [], otherNames: 0 };
    for (const rdn of children(der, subject)) {
        for (const atv of children(der, rdn)) {
            const [oid, value, extra] = children(der, atv);
            // UTF8String or PrintableString only: other string types decode differently elsewhere.
            if (extra !== undefined || (value?.tag !== 0x0c && value?.tag !== 0x13)) throw new Error("unexpected subject attribute encoding");
            const text = der.subarray(value.start, value.end).toString("utf8");
            names.subject.push(`${hex(der, oid) === OID_CN ? "CN" : hex(der, oid)}=${text}`);
        }
    }
    if (attributes !== undefined && attributes.tag === 0xa0) {
        for (const attr of children(der, attributes)) {
            const [oid, values] = children(der, attr);
            if (hex(der, oid) !== OID_EXTENSION_REQUEST) continue;
            for (const exts of children(der, values)) {
                for (const ext of children(der, exts)) {
                    // Extension ::= SEQUENCE { OID, critical BOOLEAN OPTIONAL, OCTET STRING }: exactly
                    // that, read as the signer reads it (a trailing extra element would be ignored there).
                    const parts = children(der, ext);
                    if (parts[0]?.tag !== 0x06 || hex(der, parts[0]) !== OID_SAN) continue;
                    const shapeOk = parts.length === 2 || (parts.length === 3 && parts[1].tag === 0x01);
                    const octets = parts[parts.length - 1];
                    if (!shapeOk || octets.tag !== 0x04) throw new Error("malformed subjectAltName extension");
                    const seq = tlv(der, octets.start, octets.end);
                    if (seq.tag !== 0x30 || seq.end !== octets.end) throw new Error("malformed subjectAltName value");
                    for (const gn of children(der, seq)) {
                        const value = der.subarray(gn.start, gn.end);
                        if (gn.tag === 0x82) names.dnsNames.push(value.toString("ascii"));
                        else if (gn.tag === 0x87) names.ipAddresses.push(ipText(value));
                        else if (gn.tag === 0x86) names.uris.push(value.toString("ascii"));
                        else names.otherNames++;
                    }
                }
            }
        }
    }
    return names;
}

/**
 * Throws unless the CSR asks for exactly `CN=commonName` and exactly the expected SANs (in any
 * order): a host that asks for any other name or identity gets nothing signed.
 */
export function assertCsrNames(
    field: string,
    pem: string,
    want: { commonName: string; dnsNames: string[]; ipAddresses: string[]; uris?: string[] },
): void {
    let got: CsrNames;
    try {
        got = csrNames(pem);
    } catch (e) {
        throw new Error(`[${field}] is not a well-formed CSR (${(e as Error).message}); re-run the CSR step`);
    }
    const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
    const problems: string[] = [];
    if (!same(got.subject, [`CN=${want.commonName}`])) problems.push(`subject ${JSON.stringify(got.subject)} instead of ["CN=${want.commonName}"]`);
    if (!same(got.dnsNames.map((d) => d.toLowerCase()), want.dnsNames.map((d) => d.toLowerCase()))) problems.push(`DNS names ${JSON.stringify(got.dnsNames)}`);
    if (!same(got.ipAddresses, want.ipAddresses.map(canonicalIp))) problems.push(`IP addresses ${JSON.stringify(got.ipAddresses)}`);
    if (!same(got.uris, want.uris ?? [])) problems.push(`URIs ${JSON.stringify(got.uris)}`);
    if (got.otherNames > 0) problems.push(`${got.otherNames} other SAN entries`);
    if (problems.length > 0) {
        throw new Error(
            `[${field}] the host's CSR asks for ${problems.join(", ")}, not what it is configured with (CN=${want.commonName}, DNS ${JSON.stringify(want.dnsNames)}, IP ${JSON.stringify(want.ipAddresses)}${want.uris?.length ? `, URI ${JSON.stringify(want.uris)}` : ""}); nothing was signed. Check the host: only it makes this CSR`,
        );
    }
}
