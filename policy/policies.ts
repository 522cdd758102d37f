// Policies that flag Redis or Valkey reachable without TLS, whoever declares it. Pure: this module
// only imports @pulumi/policy's types, so it loads (and its policies run) without constructing a
// PolicyPack, which starts a gRPC server. policy/index.ts builds the pack from them.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/** An image whose repository's last component is a Redis or Valkey server (any registry, tag or digest). */
const isRedisImage = (image: unknown) =>
    typeof image === "string" && /^(redis|valkey|redis-stack|redis-stack-server)$/i.test(image.split("/").pop()!.replace(/[@:].*$/, ""));

/** An argument list as the server sees it: `sh -c "redis-server --port 0 ..."` split into its words too. */
function words(argv: string[]): string[] {
    return argv.flatMap((a) => (/\s/.test(a) ? a.split(/\s+/).filter((w) => w !== "") : [a]));
}

/** The value of the last `--flag v` (or `--flag=v`): Redis applies options in order, so the last one wins. */
function flagValue(args: string[], flag: string): string | undefined {
    let value: string | undefined;
    for (let i = 0; i < args.length; i++) {
        if (args[i] === flag) value = args[i + 1] ?? "";
        else if (args[i].startsWith(`${flag}=`)) value = args[i].slice(flag.length + 1);
    }
    return value;
}

/** A docker container running redis or valkey serves TLS only: `--tls-port` given and `--port 0`. */
export const dockerRedisTlsOnly: ResourceValidationPolicy = {
    name: "redis-docker-tls-only",
    description: "A Docker container running Redis or Valkey must serve TLS only: --tls-port set and --port 0.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== "docker:index/container:Container") return;
        const argv = words([...(args.props.entrypoints ?? []), ...(args.props.command ?? [])].map(String));
        // By image name, or (an image given by ID or digest) by the server it runs.
        const server = isRedisImage(args.props.image) || argv.some((w) => /(^|\/)(redis|valkey)-server$/.test(w));
        if (!server) return;
        const what = typeof args.props.image === "string" ? args.props.image : "the container";
        const tlsPort = flagValue(argv, "--tls-port");
        const port = flagValue(argv, "--port");
        if (tlsPort === undefined || tlsPort === "0") report(`${args.name}: ${what} runs without --tls-port; serve TLS (e.g. --tls-port 6379 --port 0 --tls-cert-file ...)`);
        if (port !== "0") report(`${args.name}: ${what} serves plaintext (${port === undefined ? "--port defaults to 6379" : `--port ${port}`}); add --port 0`);
    },
};

/** ElastiCache encrypts in transit, and requires it (not "preferred"): replication groups, and clusters of Redis or Valkey. */
export const elastiCacheTransitEncryption: ResourceValidationPolicy = {
    name: "redis-elasticache-transit-encryption",
    description: "ElastiCache replication groups and Redis or Valkey clusters must have transit encryption on and required, not preferred.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const group = args.type === "aws:elasticache/replicationGroup:ReplicationGroup";
        const cluster = args.type === "aws:elasticache/cluster:Cluster" && /^(redis|valkey)$/i.test(String(args.props.engine ?? "")) && args.props.replicationGroupId === undefined;
        if (!group && !cluster) return;
        if (args.props.transitEncryptionEnabled !== true) report(`${args.name}: transitEncryptionEnabled is not true; clients would reach Redis in plaintext`);
        else if (args.props.transitEncryptionMode === "preferred") report(`${args.name}: transitEncryptionMode is "preferred", which still accepts plaintext clients; set "required"`);
    },
};

/**
 * A Redis config directive `port <n>`, n not 0, where a config line starts (also after a quote or a
 * written `\n`, as echo and printf put it), in any letter case (Redis reads keywords so); or
 * `redis-server`/`valkey-server` started with `--port <n>`.
 */
const PLAINTEXT_PORT = [/(?:^[ \t]*|['"]|\\n)port[ \t]+0*([1-9][0-9]*)\b/im, /\b(?:redis|valkey)-server\b[^\n]*?--port[ =]+0*([1-9][0-9]*)\b/i];

/** A remote command that writes `port <non-zero>` into a Redis or Valkey configuration. */
export const remoteCommandPlaintextPort: ResourceValidationPolicy = {
    name: "redis-remote-command-plaintext-port",
    description: "Remote commands must not configure a Redis or Valkey plaintext port (port other than 0).",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== "command:remote:Command") return;
        for (const field of ["create", "update", "stdin"] as const) {
            const text = args.props[field];
            if (typeof text !== "string") continue;
            // stdin is the config itself when the script writes it from there (as this library's do).
            if (field !== "stdin" && !/redis|valkey/i.test(text)) continue;
            if (field === "stdin" && !/redis|valkey/i.test(String(args.props.create ?? ""))) continue;
            for (const pattern of PLAINTEXT_PORT) {
                const m = pattern.exec(text);
                if (m) {
                    report(`${args.name}: its ${field} configures Redis with port ${m[1]}, a plaintext listener; use tls-port and port 0`);
                    break;
                }
            }
        }
    },
};

/** This library's components with client certificates off, or a plaintext port. */
export const redisTlsComponentsStrict: ResourceValidationPolicy = {
    name: "redis-tls-components-strict",
    description: "redis-tls servers must require client certificates (authClients other than \"no\") and open no plaintext port.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (!["redis-tls:index:RedisTlsServer", "redis-tls:index:RedisTlsConfig", "redis-tls:index:RedisTlsContainer"].includes(args.type)) return;
        if (args.props.authClients === "no") report(`${args.name}: authClients "no" lets any client that reaches the port connect without a certificate; use "yes" (or "optional" with password login)`);
        const plaintext = args.props.plaintextPort;
        if (typeof plaintext === "number" && plaintext !== 0) report(`${args.name}: plaintextPort ${plaintext} opens a plaintext listener; leave it 0`);
    },
};

/** Every policy of the pack. */
export const redisTlsPolicies: ResourceValidationPolicy[] = [dockerRedisTlsOnly, elastiCacheTransitEncryption, remoteCommandPlaintextPort, redisTlsComponentsStrict];
