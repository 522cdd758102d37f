import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    encodeSections,
    fingerprint,
    KeyAlgorithm,
    renderInstallCertScript,
    renderKeyAndCsrScript,
    renderRedisTlsConf,
    renderUsersAcl,
    shellLib,
    shellQuote,
    tlsLayout,
} from "../../components";
import { freePort, RedisProcess } from "./redisProcess";
import { run, RunResult, runScript } from "./run";
import { TestCa } from "./testCa";

export interface LocalRedisOptions {
    name?: string;
    authClients?: string;
    keyFilePass?: string;
    protocols?: string[];
    /** The server key's algorithm. @default "ECDSA_P256" */
    keyAlgorithm?: KeyAlgorithm;
    /** Also listen without TLS on a port of its own (for comparisons only). @default false */
    plaintext?: boolean;
}

const ADMIN = "redis-tls-admin";
const RELOAD = "redis-tls-reload";

/**
 * A TLS-only redis-server on loopback, set up exactly as the components set up a host: the key and
 * CSR made by the host script, the chain installed by the install script (with the hot reload), the
 * drop-in from the renderer and users.acl from the same lines the config install runs.
 */
export class LocalRedis {
    readonly files: ReturnType<typeof tlsLayout>;
    readonly socket: string;
    redis!: RedisProcess;
    port = 0;
    /** The plaintext port, when `plaintext`; else 0. */
    plaintextPort = 0;
    client!: { cert: string; key: string };

    private constructor(
        readonly dir: string,
        readonly ca: TestCa,
        readonly opts: LocalRedisOptions,
    ) {
        this.files = tlsLayout(path.join(dir, "tls"));
        this.socket = path.join(dir, "redis.sock");
    }

    get name(): string {
        return this.opts.name ?? "redis-1.test";
    }

    static async start(opts: LocalRedisOptions = {}): Promise<LocalRedis> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-tls-"));
        fs.chmodSync(dir, 0o755);
        const local = new LocalRedis(dir, await TestCa.create(path.join(dir, "ca")), opts);
        local.client = await local.ca.client("app");
        const installed = await local.install(await local.issue());
        if (installed.code !== 0) throw new Error(`install failed: ${installed.stderr}`);
        const users = await runScript(local.usersScript());
        if (users.code !== 0) throw new Error(`users.acl failed: ${users.stderr}`);
        local.port = await freePort();
        if (opts.plaintext) local.plaintextPort = await freePort();
        fs.writeFileSync(`${dir}/tls.conf`, local.dropIn());
        await local.startRedis();
        return local;
    }

    dropIn(): string {
        return renderRedisTlsConf({
            tlsPort: this.port, plaintextPort: this.plaintextPort, bind: ["127.0.0.1"], tlsDir: this.files.tlsDir, authClients: this.opts.authClients ?? "yes",
            replication: true, cluster: false, protocols: this.opts.protocols ?? ["TLSv1.2", "TLSv1.3"], adminSocket: this.socket, keyFilePass: this.opts.keyFilePass,
        });
    }

    /** The users.acl part of the config install, as a script of its own. */
    usersScript(): string {
        return `set -euo pipefail
umask 077
${shellLib("root_dir", "put")}tls=${shellQuote(this.files.tlsDir)} group=redis
root_dir "$tls" "$group" 750
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/users"
users_changed=no
${renderUsersAcl({ tlsDir: this.files.tlsDir, adminUser: ADMIN, reloadUser: RELOAD })}`;
    }

    async startRedis(): Promise<void> {
        this.redis = await RedisProcess.start(this.dir, `${this.dir}/tls.conf`, this.socket);
    }

    async restart(): Promise<void> {
        await this.redis.stop();
        fs.rmSync(this.socket, { force: true });
        await this.startRedis();
    }

    csrScript(name = this.name): string {
        return renderKeyAndCsrScript({
            tlsDir: this.files.tlsDir, group: "redis", keyAlgorithm: this.opts.keyAlgorithm ?? "ECDSA_P256", commonName: name, dnsNames: [name], ipAddresses: ["127.0.0.1"],
            encryptKey: this.opts.keyFilePass !== undefined,
        });
    }

    installScript(reload = true): string {
        const fp = fingerprint(new X509Certificate(this.ca.rootCert));
        return renderInstallCertScript({
            tlsDir: this.files.tlsDir, group: "redis", dnsNames: [this.name], ipAddresses: ["127.0.0.1"], rootFingerprint: fp, clientCaFingerprint: fp,
            reload: reload ? { tlsDir: this.files.tlsDir, socket: this.socket, user: RELOAD } : undefined,
        });
    }

    /** A leaf for a fresh CSR from the host script (signed for `name`, or expired). */
    async issue(opts: { expired?: boolean; name?: string } = {}): Promise<string> {
        const csr = await runScript(this.csrScript(opts.name), this.opts.keyFilePass === undefined ? undefined : `${this.opts.keyFilePass}\n`);
        if (csr.code !== 0) throw new Error(`CSR step failed: ${csr.stderr}`);
        return this.ca.sign(csr.stdout, opts);
    }

    /** The install step's stdin for a leaf (the sections as the component sends them). */
    sections(leaf: string, override: { chain?: string; root?: string; clientCa?: string } = {}): string {
        return encodeSections({
            chain: override.chain ?? leaf + this.ca.intermediateCert,
            root: override.root ?? this.ca.rootCert,
            "client-ca": override.clientCa ?? this.ca.rootCert,
        });
    }

    install(leaf: string, override: Parameters<LocalRedis["sections"]>[1] = {}): Promise<RunResult> {
        return runScript(this.installScript(), this.sections(leaf, override));
    }

    pass(who: "admin" | "reload"): string {
        return fs.readFileSync(who === "admin" ? this.files.adminPass : this.files.reloadPass, "utf8").trim();
    }

    /** redis-cli over the unix socket as the admin (or another user), the password in the environment. */
    cli(args: string[], as: { user: string; pass: string } = { user: ADMIN, pass: this.pass("admin") }): Promise<RunResult> {
        return run("redis-cli", ["-s", this.socket, "--user", as.user, ...args], { env: { ...process.env, REDISCLI_AUTH: as.pass } });
    }

    conn(extra: { servername?: string; cert?: { cert: string; key: string } | null } = {}) {
        return {
            port: this.port,
            ca: this.ca.rootCert,
            servername: extra.servername ?? this.name,
            ...(extra.cert === null ? {} : extra.cert ?? this.client),
        };
    }

    async stop(): Promise<void> {
        await this.redis?.stop();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

export const USERS = { admin: ADMIN, reload: RELOAD } as const;
