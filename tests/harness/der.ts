// Just enough DER to build and read X.509 certificates and CSRs: node's crypto
// makes keys and signatures but cannot create certificates, and the openssl CLI
// cannot express validity in hours or Go's exact extension layout.

export interface Tlv {
  tag: number;
  /** Whole element, header included. */
  raw: Buffer;
  content: Buffer;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

export const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
export const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
export const octet = (b: Buffer): Buffer => tlv(0x04, b);
export const bool = (b: boolean): Buffer => tlv(0x01, Buffer.from([b ? 0xff : 0]));
export const nul = (): Buffer => Buffer.from([0x05, 0]);
/** Explicit context tag [n], constructed. */
export const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content);

export function int(v: bigint | number): Buffer {
  let hex = BigInt(v).toString(16);
  if (hex.length % 2) hex = "0" + hex;
  let b = Buffer.from(hex, "hex");
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const group = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) group.unshift(0x80 | (v & 0x7f));
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

export function oidString(content: Buffer): string {
  const parts = [Math.floor(content[0] / 40), content[0] % 40];
  let v = 0;
  for (const byte of content.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

/** BIT STRING with no unused bits (keys, signatures). */
export const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));

/** Named-bit BIT STRING (KeyUsage): DER drops trailing zero bits. */
export function namedBits(bitNumbers: number[]): Buffer {
  const bytes = Buffer.alloc(2);
  for (const n of bitNumbers) bytes[n >> 3] |= 0x80 >> (n & 7);
  let len = bytes[1] ? 2 : bytes[0] ? 1 : 0;
  if (len === 0) return tlv(0x03, Buffer.from([0]));
  const last = bytes[len - 1];
  let unused = 0;
  while (!(last & (1 << unused))) unused++;
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes.subarray(0, len)]));
}

/** Go picks PrintableString when it can, UTF8String otherwise. */
export function dirString(s: string): Buffer {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
  return tlv(printable ? 0x13 : 0x0c, Buffer.from(s, "utf8"));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
export function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

export function read(buf: Buffer, offset = 0): Tlv {
  const tag = buf[offset];
  let len = buf[offset + 1];
  let header = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i];
    header += n;
  }
  const end = offset + header + len;
  if (end > buf.length) throw new Error("DER: element runs past the end of its buffer");
  return { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

export function children(content: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let off = 0; off < content.length; ) {
    const t = read(content, off);
    out.push(t);
    off += t.raw.length;
  }
  return out;
}

export function pem(type: string, body: Buffer): string {
  const lines = body.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

export function unpem(text: string, type: string, field: string): Buffer {
  const m = new RegExp(`-----BEGIN ${type}-----([^-]+)-----END ${type}-----`).exec(String(text ?? ""));
  if (!m) throw new Error(`[${field}] failed to decode PEM of expected type "${type}"`);
  return Buffer.from(m[1].replace(/\s+/g, ""), "base64");
}
