import { createCipheriv, createHash, createHmac, createPrivateKey, pbkdf2Sync, randomBytes, X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { certificatesOrThrow } from "../pem";
import { assertValid, checkServerAddress } from "../validation/fields";

/**
 * Everything a client needs to reach a server over verified TLS, in one value: what
 * RedisTlsServer.connection (the server's part) and RedisClientCertificate.connection (with the
 * application's identity) output, and what the renderers below turn into the shapes apps read.
 */
export interface RedisConnection {
    /** `rediss://[user[:password]@]host:port`; clients must still verify `serverName`. */
    url: string;
    /** Address or DNS name to connect to. */
    host: string;
    /** The TLS port. */
    port: number;
    /** The name to verify in the server's certificate (SNI and hostname check). */
    serverName: string;
    /** The root to verify the server against. */
    caPem: string;
    /** The ACL user, for an application. */
    username?: string;
    /** The ACL password (secret), with password login. */
    password?: string;
    /** The client certificate chain, for an application. */
    certPem?: string;
    /** The client key (secret), when it is kept in state. */
    keyPem?: string;
    /** Where the chain is on the application's host, when its key was made there. */
    certPath?: string;
    /** Where the key is on the application's host (it never leaves it). */
    keyPath?: string;
    /** Where the servers' root is on the application's host. */
    caPath?: string;
}

/** `host` as a URL authority writes it (IPv6 in brackets). */
export function hostForUrl(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}

/** `rediss://[user[:password]@]host:port`, user and password percent-encoded. */
export function redissUrl(host: string, port: number, username?: string, password?: string): string {
    const auth = username === undefined ? "" : `${encodeURIComponent(username)}${password === undefined ? "" : `:${encodeURIComponent(password)}`}@`;
    return `rediss://${auth}${hostForUrl(host)}:${port}`;
}

/**
 * A connection checked before it is rendered: host and serverName are names or addresses, and no
 * value holds a control character but the newlines of PEM text (a carriage return would end a YAML
 * block early and start a key of its own).
 */
export function checkRedisConnection(renderer: string, conn: RedisConnection): void {
    const problems = [checkServerAddress("host", conn.host), checkServerAddress("serverName", conn.serverName)];
    for (const [k, v] of Object.entries(conn)) {
        if (typeof v === "string" && /[\u0000-\u0009\u000b-\u001f\u007f]/.test(v)) problems.push(`[${k}] holds a control character; give the value as the component output it`);
    }
    if (!Number.isInteger(conn.port) || conn.port < 1 || conn.port > 65535) problems.push(`[port] ${JSON.stringify(conn.port)} is not a TCP port`);
    assertValid(renderer, problems);
}

/** A Kubernetes Secret manifest, as `kubectl apply` or `@pulumi/kubernetes` takes it. */
export interface SecretManifest {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    type: string;
    stringData: Record<string, string>;
}

/**
 * The connection as a Service Binding for Kubernetes Secret (type `servicebinding.io/redis`): the
 * spec's well-known entries (`type`, `provider`, `host`, `port`, `uri`, `username`, `password`,
 * `ssl`) and the TLS files (`ca.crt`, `tls.crt`, `tls.key`), plus `server-name`, the name to verify,
 * which the spec has no entry for. Mounted as files, libraries that read bindings (Spring Cloud
 * Bindings, the Service Binding libraries for Node, Python, Go) connect with no code change.
 */
export function renderServiceBindingSecret(conn: RedisConnection, meta: { name: string; namespace?: string }): SecretManifest {
    checkRedisConnection("renderServiceBindingSecret", conn);
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(meta.name)) {
        throw new Error(`[name] ${JSON.stringify(meta.name)} is not a Kubernetes object name; use lower-case letters, digits, "-" and "."`);
    }
    if (conn.keyPath !== undefined && conn.keyPem === undefined) {
        throw new Error(`[connection] holds a key path (${conn.keyPath}), not a key: a key made on a host never leaves it; issue this application's certificate without connection to keep its key in state`);
    }
    const entries: Record<string, string | undefined> = {
        type: "redis",
        provider: "redis-tls",
        host: conn.host,
        port: String(conn.port),
        uri: conn.url,
        username: conn.username,
        password: conn.password,
        ssl: "true",
        "server-name": conn.serverName,
        "ca.crt": conn.caPem,
        "tls.crt": conn.certPem,
        "tls.key": conn.keyPem,
    };
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: meta.name, ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }), labels: { "app.kubernetes.io/managed-by": "redis-tls" } },
        type: "servicebinding.io/redis",
        stringData: Object.fromEntries(Object.entries(entries).filter((e): e is [string, string] => e[1] !== undefined)),
    };
}

/**
 * `@pulumi/kubernetes`'s Secret for the connection, when that package is installed (an optional
 * peer dependency: nothing else in this library loads it).
 */
export function serviceBindingSecret(name: string, conn: pulumi.Input<RedisConnection>, args: { namespace?: string }, opts?: pulumi.CustomResourceOptions): unknown {
    let k8s: any;
    try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        k8s = require("@pulumi/kubernetes");
    } catch {
        throw new Error(`serviceBindingSecret ${name}: @pulumi/kubernetes is not installed; npm install @pulumi/kubernetes, or apply renderServiceBindingSecret's manifest yourself`);
    }
    const manifest = pulumi.secret(pulumi.output(conn).apply((c) => renderServiceBindingSecret(c as RedisConnection, { name, namespace: args.namespace })));
    return new k8s.core.v1.Secret(name, { metadata: manifest.metadata, type: manifest.type, stringData: manifest.stringData }, opts);
}

/**
 * A YAML scalar for ESC: JSON's quoting (YAML reads it), or a literal block for multi-line text; `$`
 * doubled, since ESC reads `${...}` in any string as an interpolation and `$$` as `$`.
 */
function yamlScalar(raw: string, indent: string): string {
    const value = raw.replace(/\$/g, "$$$$");
    if (!value.includes("\n")) return JSON.stringify(value);
    const chomp = value.endsWith("\n") ? "|" : "|-";
    const lines = value.replace(/\n$/, "").split("\n");
    return `${chomp}\n${lines.map((l) => (l === "" ? "" : `${indent}${l}`)).join("\n")}`;
}

/**
 * A Pulumi ESC environment for the connection: `REDIS_URL` (and the server name, user and
 * password) as environment variables and the CA, certificate and key as files (`REDIS_CA_FILE`,
 * `REDIS_CERT_FILE`, `REDIS_KEY_FILE` hold their paths once the environment is opened, e.g. by
 * `esc run`), secrets as `fn::secret`. Store it with `esc env set`/`esc env edit`.
 */
export function renderEscEnvironment(conn: RedisConnection): string {
    checkRedisConnection("renderEscEnvironment", conn);
    const secret = (v: string, indent: string) => `\n${indent}fn::secret: ${yamlScalar(v, indent + "  ")}`;
    const entry = (key: string, v: string | undefined, isSecret: boolean, indent: string) =>
        v === undefined ? [] : [`${indent}${key}:${isSecret ? secret(v, indent + "  ") : ` ${yamlScalar(v, indent + "  ")}`}`];
    const hasSecret = conn.password !== undefined;
    return [
        "# Managed by redis-tls: how applications reach Redis over verified TLS.",
        "values:",
        "  environmentVariables:",
        ...entry("REDIS_URL", conn.url, hasSecret, "    "),
        ...entry("REDIS_HOST", conn.host, false, "    "),
        ...entry("REDIS_PORT", String(conn.port), false, "    "),
        ...entry("REDIS_SERVER_NAME", conn.serverName, false, "    "),
        ...entry("REDIS_USERNAME", conn.username, false, "    "),
        ...entry("REDIS_PASSWORD", conn.password, true, "    "),
        "  files:",
        ...entry("REDIS_CA_FILE", conn.caPem, false, "    "),
        ...entry("REDIS_CERT_FILE", conn.certPem, false, "    "),
        ...entry("REDIS_KEY_FILE", conn.keyPem, true, "    "),
        "",
    ].join("\n");
}

// --- PKCS#12, for Java clients (a KeyStore of type PKCS12 that keytool and JSSE read) ---

const OID = {
    data: "1.2.840.113549.1.7.1",
    encryptedData: "1.2.840.113549.1.7.6",
    pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
    certBag: "1.2.840.113549.1.12.10.1.3",
    x509Certificate: "1.2.840.113549.1.9.22.1",
    friendlyName: "1.2.840.113549.1.9.20",
    localKeyId: "1.2.840.113549.1.9.21",
    pbes2: "1.2.840.113549.1.5.13",
    pbkdf2: "1.2.840.113549.1.5.12",
    hmacSha256: "1.2.840.113549.2.9",
    aes256Cbc: "2.16.840.1.101.3.4.1.42",
    sha256: "2.16.840.1.101.3.4.2.1",
    // Java's trusted-certificate marker on a certBag (keytool's "trustedCertEntry").
    oracleTrustedKeyUsage: "2.16.840.1.113894.746875.1.1",
    anyExtendedKeyUsage: "2.5.29.37.0",
};

function derLength(n: number): Buffer {
    if (n < 0x80) return Buffer.from([n]);
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items.sort(Buffer.compare)));
const octets = (b: Buffer) => tlv(0x04, b);
const explicit0 = (b: Buffer) => tlv(0xa0, b);
const bmp = (s: string) => tlv(0x1e, Buffer.from(s, "utf16le").swap16());
function integer(n: number): Buffer {
    const bytes: number[] = [];
    for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
    if (bytes.length === 0 || bytes[0] & 0x80) bytes.unshift(0);
    return tlv(0x02, Buffer.from(bytes));
}
function oid(dotted: string): Buffer {
    const [a, b, ...rest] = dotted.split(".").map(Number);
    const out = [40 * a + b];
    for (const n of rest) {
        const chunk = [n & 0x7f];
        for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
        out.push(...chunk);
    }
    return tlv(0x06, Buffer.from(out));
}
const NULL = Buffer.from([0x05, 0x00]);

// PBKDF2 and the MAC key derivation: 100,000 rounds of SHA-256 each (OpenSSL 3 uses 2,048; Java 10,000).
const ITERATIONS = 100_000;

/** PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC): the algorithm identifier and the ciphertext. */
function pbes2Encrypt(password: string, plaintext: Buffer): { algorithm: Buffer; ciphertext: Buffer } {
    const salt = randomBytes(16);
    const iv = randomBytes(16);
    const key = pbkdf2Sync(Buffer.from(password, "utf8"), salt, ITERATIONS, 32, "sha256");
    const cipher = createCipheriv("aes-256-cbc", key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const algorithm = seq(
        oid(OID.pbes2),
        seq(
            seq(oid(OID.pbkdf2), seq(octets(salt), integer(ITERATIONS), integer(32), seq(oid(OID.hmacSha256), NULL))),
            seq(oid(OID.aes256Cbc), octets(iv)),
        ),
    );
    return { algorithm, ciphertext };
}

/** The PKCS#12 key derivation (RFC 7292 appendix B) with SHA-256, for the MAC key (ID 3). */
function pkcs12Kdf(password: string, salt: Buffer, iterations: number, size: number): Buffer {
    const u = 32;
    const v = 64;
    const fill = (b: Buffer, len: number) => {
        const out = Buffer.alloc(len);
        for (let i = 0; i < len; i++) out[i] = b[i % b.length];
        return out;
    };
    const pass = Buffer.concat([Buffer.from(password, "utf16le").swap16(), Buffer.alloc(2)]);
    const D = Buffer.alloc(v, 3);
    const S = salt.length === 0 ? Buffer.alloc(0) : fill(salt, v * Math.ceil(salt.length / v));
    const P = fill(pass, v * Math.ceil(pass.length / v));
    let I = Buffer.concat([S, P]);
    const chunks: Buffer[] = [];
    for (let got = 0; got < size; got += u) {
        let A = createHash("sha256").update(Buffer.concat([D, I])).digest();
        for (let i = 1; i < iterations; i++) A = createHash("sha256").update(A).digest();
        chunks.push(A);
        const B = fill(A, v);
        const next = Buffer.alloc(I.length);
        for (let j = 0; j < I.length / v; j++) {
            let carry = 1;
            for (let k = v - 1; k >= 0; k--) {
                const sum = I[j * v + k] + B[k] + carry;
                next[j * v + k] = sum & 0xff;
                carry = sum >> 8;
            }
        }
        I = next;
    }
    return Buffer.concat(chunks).subarray(0, size);
}

/**
 * A PKCS#12 keystore (DER) holding the application's key and chain under `alias`, and the servers'
 * root as a trusted certificate, protected by `password`: PBES2 with AES-256 and an HMAC-SHA256
 * MAC, as OpenSSL 3 writes them, which Java (keytool, JSSE's KeyManagerFactory and
 * TrustManagerFactory) reads. Only for a key kept in state: a key made on a host never leaves it.
 */
export function renderPkcs12(conn: Pick<RedisConnection, "certPem" | "keyPem" | "caPem" | "keyPath">, password: string, alias = "redis-client"): Buffer {
    if (conn.keyPem === undefined || conn.certPem === undefined) {
        throw new Error(`[connection] has no ${conn.keyPem === undefined ? "key" : "certificate"}${conn.keyPath ? ` (the key is on the host at ${conn.keyPath} and never leaves it)` : ""}; a PKCS#12 bundle needs the application's key kept in state`);
    }
    if (password.length < 8) throw new Error(`[password] is ${password.length} characters; give at least 8 (it protects the key)`);
    const chain = certificatesOrThrow("certPem", conn.certPem, { count: "any" }).map((c) => c.raw);
    const roots = certificatesOrThrow("caPem", conn.caPem, { count: "any" }).map((c) => c.raw);
    const key = createPrivateKey(conn.keyPem);
    if (!new X509Certificate(chain[0]).checkPrivateKey(key)) throw new Error("[keyPem] does not match the certificate's public key");
    const keyId = createHash("sha1").update(chain[0]).digest();
    const pkcs8 = key.export({ format: "der", type: "pkcs8" });

    const shrouded = pbes2Encrypt(password, pkcs8);
    const keyBag = seq(
        oid(OID.pkcs8ShroudedKeyBag),
        explicit0(seq(shrouded.algorithm, octets(shrouded.ciphertext))),
        set(seq(oid(OID.friendlyName), set(bmp(alias))), seq(oid(OID.localKeyId), set(octets(keyId)))),
    );
    const certBag = (der: Buffer, attrs: Buffer[]) =>
        seq(oid(OID.certBag), explicit0(seq(oid(OID.x509Certificate), explicit0(octets(der)))), ...(attrs.length ? [set(...attrs)] : []));
    const certBags = [
        certBag(chain[0], [seq(oid(OID.friendlyName), set(bmp(alias))), seq(oid(OID.localKeyId), set(octets(keyId)))]),
        ...chain.slice(1).map((c) => certBag(c, [])),
        ...roots.map((r, i) => certBag(r, [seq(oid(OID.friendlyName), set(bmp(`redis-ca${i === 0 ? "" : `-${i + 1}`}`))), seq(oid(OID.oracleTrustedKeyUsage), set(oid(OID.anyExtendedKeyUsage)))])),
    ];
    const encryptedCerts = pbes2Encrypt(password, seq(...certBags));
    const authSafe = seq(
        seq(oid(OID.data), explicit0(octets(seq(keyBag)))),
        seq(oid(OID.encryptedData), explicit0(seq(integer(0), seq(oid(OID.data), encryptedCerts.algorithm, tlv(0x80, encryptedCerts.ciphertext))))),
    );
    const macSalt = randomBytes(16);
    const macKey = pkcs12Kdf(password, macSalt, ITERATIONS, 32);
    const mac = createHmac("sha256", macKey).update(authSafe).digest();
    return seq(integer(3), seq(oid(OID.data), explicit0(octets(authSafe))), seq(seq(seq(oid(OID.sha256), NULL), octets(mac)), octets(macSalt), integer(ITERATIONS)));
}
