import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertCsrNames, CertificateAuthority, csrNames, RedisTlsServer } from "../components";
import { recordResources, settle } from "./support/mocks";

/** A CSR as openssl on a host makes it, with the given subject and SANs. */
function opensslCsr(subject: string, san?: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-csr-"));
    try {
        return execFileSync("openssl", [
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "k"), "-subj", subject,
            ...(san === undefined ? [] : ["-addext", `subjectAltName=${san}`]),
        ], { stdio: ["ignore", "pipe", "ignore"] }).toString();
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const want = { commonName: "redis-1.test", dnsNames: ["redis-1.test"], ipAddresses: ["10.0.0.5", "fd00::5"] };
const refused = (csr: string) => assert.throws(() => assertCsrNames("redis-1-csr stdout", csr, want), /^Error: \[redis-1-csr stdout\] the host's CSR asks for .*nothing was signed/);

describe("a host's CSR is signed only for the names the host is configured with", () => {
    it("reads subject and SANs from an openssl CSR", () => {
        assert.deepEqual(csrNames(opensslCsr("/CN=a.test", "DNS:a.test,IP:10.0.0.5,IP:fd00:0:0::5,URI:urn:redis-tls:user:a,email:x@y")), {
            subject: ["CN=a.test"], dnsNames: ["a.test"], ipAddresses: ["10.0.0.5", "fd00::5"], uris: ["urn:redis-tls:user:a"], otherNames: 1,
        });
    });

    it("accepts exactly the configured names, in any order and IPv6 spelling", () => {
        assertCsrNames("f", opensslCsr("/CN=redis-1.test", "IP:fd00:0::5,DNS:redis-1.test,IP:10.0.0.5"), want);
    });

    it("refuses another CN (an application's user, the admin), an extra subject attribute, an extra or missing SAN, and other SAN kinds", () => {
        refused(opensslCsr("/CN=redis-tls-admin", "DNS:redis-1.test,IP:10.0.0.5,IP:fd00::5"));
        refused(opensslCsr("/O=x/CN=redis-1.test", "DNS:redis-1.test,IP:10.0.0.5,IP:fd00::5"));
        refused(opensslCsr("/CN=redis-1.test", "DNS:redis-1.test,DNS:redis-2.test,IP:10.0.0.5,IP:fd00::5"));
        refused(opensslCsr("/CN=redis-1.test", "DNS:redis-1.test,IP:10.0.0.5"));
        refused(opensslCsr("/CN=redis-1.test", "DNS:redis-1.test,IP:10.0.0.5,IP:fd00::5,URI:urn:redis-tls:user:orders"));
        refused(opensslCsr("/CN=redis-1.test", "DNS:redis-1.test,IP:10.0.0.5,IP:fd00::5,email:a@b"));
        assert.throws(() => assertCsrNames("f", "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n", want), /\[f\] is not a well-formed CSR/);
    });

    it("refuses a SAN extension with a second value (the signer reads the first) and a CN that is not UTF8String or PrintableString", () => {
        // DER by hand: a CSR info whose SAN extension is {OID, OCTET(DNS:other.test), OCTET(DNS:redis-1.test)}.
        const tlv = (tag: number, ...parts: Buffer[]) => {
            const body = Buffer.concat(parts);
            return Buffer.concat([Buffer.from([tag, body.length]), body]);
        };
        const oid = (hex: string) => tlv(0x06, Buffer.from(hex, "hex"));
        const dns = (name: string) => tlv(0x30, tlv(0x82, Buffer.from(name)));
        const csr = (cnTag: number, ...sanValues: Buffer[]) => {
            const subject = tlv(0x30, tlv(0x31, tlv(0x30, oid("550403"), tlv(cnTag, Buffer.from("redis-1.test")))));
            const ext = tlv(0x30, oid("551d11"), ...sanValues.map((v) => tlv(0x04, v)));
            const attrs = tlv(0xa0, tlv(0x30, oid("2a864886f70d01090e"), tlv(0x31, tlv(0x30, ext))));
            const info = tlv(0x30, tlv(0x02, Buffer.from([0])), subject, tlv(0x30), attrs);
            const der = tlv(0x30, info, tlv(0x30), tlv(0x03, Buffer.from([0])));
            return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
        };
        const one = { commonName: "redis-1.test", dnsNames: ["redis-1.test"], ipAddresses: [] };
        assertCsrNames("f", csr(0x0c, dns("redis-1.test")), one);
        assert.throws(() => assertCsrNames("f", csr(0x0c, dns("other.test"), dns("redis-1.test")), one), /\[f\] is not a well-formed CSR \(malformed subjectAltName extension\)/);
        // A CN as BMPString (UTF-16) reads differently elsewhere: refused too.
        assert.throws(() => assertCsrNames("f", csr(0x1e, dns("redis-1.test")), one), /\[f\] is not a well-formed CSR \(unexpected subject attribute encoding\)/);
    });

    it("a RedisTlsServer whose host answers with a CSR for another identity gets nothing signed and nothing installed", async () => {
        const evil = opensslCsr("/CN=redis-tls-admin", "DNS:redis-1.test");
        const recorded = recordResources(false, { csrStdout: () => evil });
        const ca = new CertificateAuthority("ca", {});
        const errors: string[] = [];
        const onError = (e: Error) => errors.push(e.message);
        process.on("unhandledRejection", onError);
        try {
            new RedisTlsServer("redis-1", {
                connection: { host: "10.0.0.5", privateKey: "k", hostKey: "ssh-ed25519 AAAA" }, dnsNames: ["redis-1.test"],
                caCertPem: ca.issuerCertPem, caPrivateKeyPem: ca.issuerPrivateKeyPem, chainPem: ca.chainPem, rootCertPem: ca.rootCertPem,
            });
            await settle(recorded);
        } finally {
            process.off("unhandledRejection", onError);
        }
        assert.deepEqual(recorded.filter((r) => r.name === "redis-1-cert-signed" || r.name === "redis-1-cert-install"), []);
        assert.ok(errors.some((m) => /\[redis-1-cert-csr stdout\] the host's CSR asks for subject \["CN=redis-tls-admin"\]/.test(m)), JSON.stringify(errors));
    });
});
