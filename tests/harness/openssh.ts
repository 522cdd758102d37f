// OpenSSH key encodings as golang.org/x/crypto/ssh writes them (MarshalAuthorizedKey,
// MarshalPrivateKey), which the tls provider uses for its *Openssh outputs.
import * as crypto from "crypto";
import * as der from "./der";

const SSH_CURVES: Record<string, string> = { prime256v1: "nistp256", secp384r1: "nistp384", secp521r1: "nistp521" };

function sshString(b: Buffer | string): Buffer {
  const body = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function mpint(b64url: string | undefined): Buffer {
  let b = Buffer.from(b64url ?? "", "base64url");
  while (b.length && b[0] === 0) b = b.subarray(1);
  if (b.length && b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

function sshParts(key: crypto.KeyObject): { type: string; pub: Buffer[]; priv: Buffer[] } | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  // x/crypto/ssh has no P-224: the provider leaves the OpenSSH fields empty.
  if (key.asymmetricKeyType === "ec" && !SSH_CURVES[curve ?? ""]) return undefined;
  const j = key.export({ format: "jwk" });
  const b = (s?: string): Buffer => Buffer.from(s ?? "", "base64url");
  if (j.kty === "RSA") {
    return { type: "ssh-rsa", pub: [mpint(j.e), mpint(j.n)], priv: [mpint(j.n), mpint(j.e), mpint(j.d), mpint(j.qi), mpint(j.p), mpint(j.q)] };
  }
  if (j.kty === "OKP") {
    const pub = b(j.x);
    return { type: "ssh-ed25519", pub: [sshString(pub)], priv: [sshString(pub), sshString(Buffer.concat([b(j.d), pub]))] };
  }
  const id = SSH_CURVES[curve ?? ""];
  const q = Buffer.concat([Buffer.from([4]), b(j.x), b(j.y)]);
  return { type: `ecdsa-sha2-${id}`, pub: [sshString(id), sshString(q)], priv: [sshString(id), sshString(q), mpint(j.d)] };
}

export function opensshFields(key: crypto.KeyObject): Record<string, string> {
  const parts = sshParts(key);
  if (!parts) return { privateKeyOpenssh: "", publicKeyOpenssh: "", publicKeyFingerprintMd5: "", publicKeyFingerprintSha256: "" };
  const blob = Buffer.concat([sshString(parts.type), ...parts.pub]);
  const check = crypto.randomBytes(4);
  let section = Buffer.concat([check, check, sshString(parts.type), ...parts.priv, sshString("")]);
  for (let i = 1; section.length % 8; i++) section = Buffer.concat([section, Buffer.from([i])]);
  const one = Buffer.from([0, 0, 0, 1]);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""), one, sshString(blob), sshString(section)]);
  const md5 = crypto.createHash("md5").update(blob).digest("hex").match(/../g)?.join(":") ?? "";
  return {
    privateKeyOpenssh: der.pem("OPENSSH PRIVATE KEY", body),
    publicKeyOpenssh: `${parts.type} ${blob.toString("base64")}\n`,
    publicKeyFingerprintMd5: md5,
    publicKeyFingerprintSha256: "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, ""),
  };
}

/**
 * The key as the system ssh client can load it. x/crypto/ssh (the command
 * provider) reads PKCS#1, SEC1, PKCS#8 and OpenSSH keys; OpenSSH's ssh does not
 * read PKCS#8 ED25519, so everything but OpenSSH format is re-encoded.
 */
export function sshClientKey(text: string): string {
  if (text.includes("-----BEGIN OPENSSH PRIVATE KEY-----")) return text;
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(text);
  } catch (e) {
    throw new Error(`[connection.privateKey] failed to parse private key: ${(e as Error).message}`);
  }
  const out = opensshFields(key).privateKeyOpenssh;
  if (!out) throw new Error("[connection.privateKey] ssh does not support this key type (P-224)");
  return out;
}
