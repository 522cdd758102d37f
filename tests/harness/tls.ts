// Real key and certificate effects for the four tls:index/* resources,
// following the terraform tls provider (Go crypto/x509) that @pulumi/tls bridges.
import * as crypto from "crypto";
import * as net from "net";
import * as der from "./der";
import { opensshFields } from "./openssh";
import { realNow } from "./clock";

type Inputs = Record<string, any>;
export interface Effect {
  id: string;
  outputs: Record<string, unknown>;
}

const CURVES: Record<string, string> = { P224: "P-224", P256: "P-256", P384: "P-384", P521: "P-521" };

const KEY_USAGE_BITS: Record<string, number> = {
  digital_signature: 0, content_commitment: 1, key_encipherment: 2, data_encipherment: 3,
  key_agreement: 4, cert_signing: 5, crl_signing: 6, encipher_only: 7, decipher_only: 8,
};
const EXT_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0", server_auth: "1.3.6.1.5.5.7.3.1", client_auth: "1.3.6.1.5.5.7.3.2",
  code_signing: "1.3.6.1.5.5.7.3.3", email_protection: "1.3.6.1.5.5.7.3.4", ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6", ipsec_user: "1.3.6.1.5.5.7.3.7", timestamping: "1.3.6.1.5.5.7.3.8",
  ocsp_signing: "1.3.6.1.5.5.7.3.9", microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1", microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};
// Go's pkix.Name.ToRDNSequence order.
const SUBJECT_OIDS: Array<[string, string]> = [
  ["country", "2.5.4.6"], ["province", "2.5.4.8"], ["locality", "2.5.4.7"], ["streetAddresses", "2.5.4.9"],
  ["postalCode", "2.5.4.17"], ["organization", "2.5.4.10"], ["organizationalUnit", "2.5.4.11"],
  ["commonName", "2.5.4.3"], ["serialNumber", "2.5.4.5"], ["emailAddress", "1.2.840.113549.1.9.1"],
];
const OID = {
  ku: "2.5.29.15", eku: "2.5.29.37", bc: "2.5.29.19", ski: "2.5.29.14", aki: "2.5.29.35", san: "2.5.29.17",
  extensionRequest: "1.2.840.113549.1.9.14",
};

const sha1hex = (b: Buffer): string => crypto.createHash("sha1").update(b).digest("hex");

function required(inputs: Inputs, field: string): any {
  if (inputs[field] === undefined || inputs[field] === null) throw new Error(`missing required property "${field}"`);
  return inputs[field];
}

function algorithmOf(key: crypto.KeyObject): string {
  return ({ rsa: "RSA", ec: "ECDSA", ed25519: "ED25519" } as Record<string, string>)[key.asymmetricKeyType ?? ""] ?? "unknown";
}

function parseKey(pemText: string, field: string): crypto.KeyObject {
  try {
    return crypto.createPrivateKey(String(pemText));
  } catch (e) {
    throw new Error(`[${field}] failed to parse private key PEM: ${(e as Error).message}`);
  }
}

export function privateKey(inputs: Inputs): Effect {
  const algorithm = required(inputs, "algorithm");
  const rsaBits = inputs.rsaBits ?? 2048;
  const ecdsaCurve = inputs.ecdsaCurve ?? "P224";
  let pair: crypto.KeyPairKeyObjectResult;
  if (algorithm === "RSA") pair = crypto.generateKeyPairSync("rsa", { modulusLength: rsaBits });
  else if (algorithm === "ECDSA") {
    if (!CURVES[ecdsaCurve]) throw new Error(`[ecdsaCurve] "${ecdsaCurve}" is not supported; use one of ${Object.keys(CURVES).join(", ")}`);
    pair = crypto.generateKeyPairSync("ec", { namedCurve: CURVES[ecdsaCurve] });
  } else if (algorithm === "ED25519") pair = crypto.generateKeyPairSync("ed25519");
  else throw new Error(`[algorithm] "${algorithm}" is not supported; use one of RSA, ECDSA, ED25519`);
  const { privateKey: key, publicKey: pub } = pair;
  const format = algorithm === "RSA" ? "pkcs1" : algorithm === "ECDSA" ? "sec1" : "pkcs8";
  const spki = pub.export({ type: "spki", format: "der" });
  return {
    id: sha1hex(spki),
    outputs: {
      algorithm, rsaBits, ecdsaCurve,
      privateKeyPem: key.export({ type: format, format: "pem" }),
      privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }),
      publicKeyPem: pub.export({ type: "spki", format: "pem" }),
      ...opensshFields(key),
    },
  };
}

// ---- X.509 ----

function subjectName(subject: Inputs | undefined): Buffer {
  const rdns: Buffer[] = [];
  for (const [field, id] of SUBJECT_OIDS) {
    const v = subject?.[field];
    const values = (Array.isArray(v) ? v : [v]).filter((s) => s !== undefined && s !== null && s !== "");
    if (values.length) rdns.push(der.set(...values.map((s) => der.seq(der.oid(id), der.dirString(String(s))))));
  }
  return der.seq(...rdns);
}

function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  if (!net.isIPv6(ip)) throw new Error(`[ipAddresses] failed to parse "${ip}" as an IP address`);
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipBytes(v4[1]);
    text = text.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return Buffer.concat(groups.map((g) => Buffer.from(parseInt(g, 16).toString(16).padStart(4, "0"), "hex")));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return der.seq(der.oid(id), ...(critical ? [der.bool(true)] : []), der.octet(value));
}

/** Go orders SANs DNS, email, IP, URI; tag bytes are [2] dNSName, [7] iPAddress, [6] URI. */
function sanExtension(dns: string[], ips: Buffer[], uris: string[], subject: Buffer): Buffer | undefined {
  const names = [
    ...dns.map((d) => der.tlv(0x82, Buffer.from(d))),
    ...ips.map((ip) => der.tlv(0x87, ip)),
    ...uris.map((u) => der.tlv(0x86, Buffer.from(u))),
  ];
  // RFC 5280: SAN must be critical when the subject is empty.
  return names.length ? extension(OID.san, subject.length === 2, der.seq(...names)) : undefined;
}

function spkiOf(key: crypto.KeyObject): Buffer {
  return crypto.createPublicKey(key).export({ type: "spki", format: "der" });
}

/** The provider's generateSubjectKeyID: SHA-1 of the key as Go marshals it. */
function subjectKeyId(spki: Buffer, algorithm: string): Buffer {
  const keyBits = der.children(der.read(spki).content)[1].content.subarray(1);
  return crypto.createHash("sha1").update(algorithm === "ED25519" ? der.octet(keyBits) : keyBits).digest();
}

function signatureAlgorithm(key: crypto.KeyObject): { alg: Buffer; hash: string | null } {
  if (key.asymmetricKeyType === "rsa") return { alg: der.seq(der.oid("1.2.840.113549.1.1.11"), der.nul()), hash: "sha256" };
  if (key.asymmetricKeyType === "ed25519") return { alg: der.seq(der.oid("1.3.101.112")), hash: null };
  if (key.asymmetricKeyType === "ec") {
    // Go hashes by curve size; P-224 and P-256 use SHA-256.
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const [hash, id] = curve === "secp384r1" ? ["sha384", "3"] : curve === "secp521r1" ? ["sha512", "4"] : ["sha256", "2"];
    return { alg: der.seq(der.oid(`1.2.840.10045.4.3.${id}`)), hash };
  }
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
}

function signed(tbs: Buffer, key: crypto.KeyObject): Buffer {
  const { alg, hash } = signatureAlgorithm(key);
  return der.seq(tbs, alg, der.bits(crypto.sign(hash, tbs, key)));
}

interface CertSpec {
  inputs: Inputs;
  subject: Buffer;
  issuer: Buffer;
  spki: Buffer;
  algorithm: string;
  signer: crypto.KeyObject;
  san?: Buffer;
  /** Set for locally signed certs: the CA's subject key id. */
  issuerKeyId?: Buffer;
  selfSigned: boolean;
}

/** The provider's createCertificate + Go's x509.CreateCertificate extension layout. */
function createCertificate(c: CertSpec): Effect {
  const hours = Number(required(c.inputs, "validityPeriodHours"));
  const uses: string[] = required(c.inputs, "allowedUses");
  const isCa = c.inputs.isCaCertificate === true;
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + hours * 3600_000);
  const serial = BigInt("0x" + crypto.randomBytes(16).toString("hex"));

  const kuBits: number[] = [];
  const ekus: string[] = [];
  for (const use of uses) {
    if (use in KEY_USAGE_BITS) kuBits.push(KEY_USAGE_BITS[use]);
    else if (use in EXT_KEY_USAGES) ekus.push(EXT_KEY_USAGES[use]);
    else throw new Error(`[allowedUses] "${use}" is not supported; use one of ${[...Object.keys(KEY_USAGE_BITS), ...Object.keys(EXT_KEY_USAGES)].sort().join(", ")}`);
  }
  if (isCa && c.subject.length === 2) {
    throw new Error("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
  }
  const ski = isCa || c.inputs.setSubjectKeyId === true ? subjectKeyId(c.spki, c.algorithm) : undefined;
  let aki: Buffer | undefined;
  if (c.selfSigned && c.inputs.setAuthorityKeyId === true) {
    if (!ski) throw new Error("Invalid Certificate Authority: Could not determine Authority Key Identifier");
    aki = ski;
  } else if (!c.selfSigned && c.issuerKeyId && !c.issuer.equals(c.subject)) {
    aki = c.issuerKeyId;
  }
  const maxPath = Number(c.inputs.maxPathLength ?? -1);
  const exts = [
    kuBits.length ? extension(OID.ku, true, der.namedBits(kuBits)) : undefined,
    ekus.length ? extension(OID.eku, false, der.seq(...ekus.map(der.oid))) : undefined,
    extension(OID.bc, true, der.seq(...(isCa ? [der.bool(true)] : []), ...(maxPath > 0 ? [der.int(maxPath)] : []))),
    ski ? extension(OID.ski, false, der.octet(ski)) : undefined,
    aki ? extension(OID.aki, false, der.seq(der.tlv(0x80, aki))) : undefined,
    c.san,
  ].filter((e): e is Buffer => e !== undefined);
  const tbs = der.seq(
    der.explicit(0, der.int(2)), der.int(serial), signatureAlgorithm(c.signer).alg, c.issuer,
    der.seq(der.time(notBefore), der.time(notAfter)), c.subject, c.spki, der.explicit(3, der.seq(...exts)),
  );
  return {
    id: serial.toString(),
    outputs: {
      certPem: der.pem("CERTIFICATE", signed(tbs, c.signer)),
      validityStartTime: notBefore.toISOString(),
      validityEndTime: notAfter.toISOString(),
      readyForRenewal: false,
      earlyRenewalHours: c.inputs.earlyRenewalHours ?? 0,
      isCaCertificate: isCa,
      setSubjectKeyId: c.inputs.setSubjectKeyId ?? false,
    },
  };
}

function sanFromInputs(inputs: Inputs, subject: Buffer): Buffer | undefined {
  return sanExtension(inputs.dnsNames ?? [], (inputs.ipAddresses ?? []).map(ipBytes), inputs.uris ?? [], subject);
}

export function selfSignedCert(inputs: Inputs): Effect {
  const key = parseKey(required(inputs, "privateKeyPem"), "privateKeyPem");
  const subject = subjectName(inputs.subject);
  const algorithm = algorithmOf(key);
  const cert = createCertificate({
    inputs, subject, issuer: subject, spki: spkiOf(key), algorithm, signer: key, selfSigned: true,
    san: sanFromInputs(inputs, subject),
  });
  cert.outputs = { ...cert.outputs, keyAlgorithm: algorithm, setAuthorityKeyId: inputs.setAuthorityKeyId ?? false };
  return cert;
}

export function certRequest(inputs: Inputs): Effect {
  const key = parseKey(required(inputs, "privateKeyPem"), "privateKeyPem");
  const subject = subjectName(inputs.subject);
  const san = sanFromInputs(inputs, subject);
  const attributes = der.tlv(0xa0, san ? der.seq(der.oid(OID.extensionRequest), der.set(der.seq(san))) : Buffer.alloc(0));
  const csr = signed(der.seq(der.int(0), subject, spkiOf(key), attributes), key);
  return { id: sha1hex(csr), outputs: { certRequestPem: der.pem("CERTIFICATE REQUEST", csr), keyAlgorithm: algorithmOf(key) } };
}

/** Subject, SPKI and the DNS/IP/URI SANs of a CSR: what the provider copies into the cert. */
function parseCsr(csrDer: Buffer): { subject: Buffer; spki: Buffer; dns: string[]; ips: Buffer[]; uris: string[] } {
  const [info] = der.children(der.read(csrDer).content);
  const [, subject, spki, attrs] = der.children(info.content);
  const out = { subject: subject.raw, spki: spki.raw, dns: [] as string[], ips: [] as Buffer[], uris: [] as string[] };
  for (const attr of attrs ? der.children(attrs.content) : []) {
    const [type, values] = der.children(attr.content);
    if (der.oidString(type.content) !== OID.extensionRequest) continue;
    for (const ext of der.children(der.children(values.content)[0].content)) {
      const parts = der.children(ext.content);
      if (der.oidString(parts[0].content) !== OID.san) continue;
      const names = der.children(der.read(parts[parts.length - 1].content).content);
      for (const n of names) {
        if (n.tag === 0x82) out.dns.push(n.content.toString());
        if (n.tag === 0x87) out.ips.push(Buffer.from(n.content));
        if (n.tag === 0x86) out.uris.push(n.content.toString());
      }
    }
  }
  return out;
}

function parseCaCert(certDer: Buffer): { subject: Buffer; spki: Buffer; keyId?: Buffer } {
  const tbs = der.children(der.children(der.read(certDer).content)[0].content);
  const at = tbs[0].tag === 0xa0 ? 1 : 0;
  let keyId: Buffer | undefined;
  const exts = tbs.find((t) => t.tag === 0xa3);
  for (const ext of exts ? der.children(der.read(exts.content).content) : []) {
    const parts = der.children(ext.content);
    if (der.oidString(parts[0].content) === OID.ski) keyId = der.read(parts[parts.length - 1].content).content;
  }
  return { subject: tbs[at + 4].raw, spki: tbs[at + 5].raw, keyId };
}

export function locallySignedCert(inputs: Inputs): Effect {
  const csr = parseCsr(der.unpem(required(inputs, "certRequestPem"), "CERTIFICATE REQUEST", "certRequestPem"));
  const ca = parseCaCert(der.unpem(required(inputs, "caCertPem"), "CERTIFICATE", "caCertPem"));
  const caKey = parseKey(required(inputs, "caPrivateKeyPem"), "caPrivateKeyPem");
  // Go's x509.CreateCertificate refuses a key that does not match the parent.
  if (!spkiOf(caKey).equals(ca.spki)) {
    throw new Error("Failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey");
  }
  const spkiAlg = der.oidString(der.children(der.children(der.read(csr.spki).content)[0].content)[0].content);
  const algorithm = ({ "1.2.840.113549.1.1.1": "RSA", "1.2.840.10045.2.1": "ECDSA", "1.3.101.112": "ED25519" } as Record<string, string>)[spkiAlg] ?? "unknown";
  const cert = createCertificate({
    inputs, subject: csr.subject, issuer: ca.subject, spki: csr.spki, algorithm, signer: caKey, selfSigned: false,
    issuerKeyId: ca.keyId, san: sanExtension(csr.dns, csr.ips, csr.uris, csr.subject),
  });
  cert.outputs = { ...cert.outputs, caKeyAlgorithm: algorithmOf(caKey) };
  return cert;
}

/** The provider's plan-time check: past (end - earlyRenewalHours) the cert is replaced. */
export function dueForRenewal(outputs: Record<string, unknown>): boolean {
  const end = Date.parse(String(outputs.validityEndTime ?? ""));
  if (Number.isNaN(end)) return false;
  return realNow() >= end - Number(outputs.earlyRenewalHours ?? 0) * 3600_000;
}
