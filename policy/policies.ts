// Policies that flag Redis or Valkey reachable without TLS, whoever declares it. Pure: this module
// only imports @pulumi/policy's types, so it loads (and its policies run) without constructing a
// PolicyPack, which starts a gRPC server. policy/index.ts builds the pack from them.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/** An image whose repository's last component is a Redis or Valkey server (any registry, tag or digest). */
const isRedisImage = (image: unknown) =>
    typeof image === "string" && /^(redis|valkey|redis-stack-server)$/i.test(image.split("/").pop()!.replace(/[@:].*$/, ""));

/** The value after `--flag` (or `--flag=value`) in an argument list. */
function flagValue(args: string[], flag: string): string | undefined {
    for (let i = 0; i < args.length; i++) {
        if (args[i] === flag) return args[i + 1] ?? "";
        if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
    }
    return undefined;
}

/** A docker container running redis or valkey serves TLS only: `--tls-port` given and `--port 0`. */
export const dockerRedisTlsOnly: ResourceValidationPolicy = {
    name: "redis-docker-tls-only",
    description: "A Docker container running Redis or Valkey must serve TLS only: --tls-port set and --port 0.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== "docker:index/container:Container" || !isRedisImage(args.props.image)) return;
        const argv: string[] = [...(args.props.entrypoints ?? []), ...(args.props.command ?? [])].map(String);
        const tlsPort = flagValue(argv, "--tls-port");
        const port = flagValue(argv, "--port");
        if (tlsPort === undefined || tlsPort === "0") report(`${args.name}: ${args.props.image} runs without --tls-port; serve TLS (e.g. --tls-port 6379 --port 0 --tls-cert-file ...)`);
        if (port !== "0") report(`${args.name}: ${args.props.image} serves plaintext (${port === undefined ? "--port defaults to 6379" : `--port ${port}`}); add --port 0`);
    },
};

/** An ElastiCache replication group encrypts in transit, and requires it (not "preferred"). */
export const elastiCacheTransitEncryption: ResourceValidationPolicy = {
    name: "redis-elasticache-transit-encryption",
    description: "ElastiCache replication groups must have transit encryption on and required, not preferred.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== "aws:elasticache/replicationGroup:ReplicationGroup") return;
        if (args.props.transitEncryptionEnabled !== true) report(`${args.name}: transitEncryptionEnabled is not true; clients would reach Redis in plaintext`);
        else if (args.props.transitEncryptionMode === "preferred") report(`${args.name}: transitEncryptionMode is "preferred", which still accepts plaintext clients; set "required"`);
    },
};

/** A remote command that writes `port <non-zero>` into a Redis or Valkey configuration. */
export const remoteCommandPlaintextPort: ResourceValidationPolicy = {
    name: "redis-remote-command-plaintext-port",
    description: "Remote commands must not configure a Redis or Valkey plaintext port (port other than 0).",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== "command:remote:Command") return;
        for (const phase of ["create", "update"] as const) {
            const text = args.props[phase];
            if (typeof text !== "string" || !/redis|valkey/i.test(text)) continue;
            const m = /(?:^|[\s'";|&>]|\\n)port[ \t]+([1-9][0-9]*)\b/m.exec(text.replace(/--port[ =]/g, "port "));
            if (m) report(`${args.name}: its ${phase} command configures Redis with port ${m[1]}, a plaintext listener; use tls-port and port 0`);
        }
    },
};

/** This library's components with client certificates off, or a plaintext port. */
export const redisTlsComponentsStrict: ResourceValidationPolicy = {
    name: "redis-tls-components-strict",
    description: "redis-tls servers must require client certificates (authClients other than \"no\") and open no plaintext port.",
    enforcementLevel: "mandatory",
    validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        if (args.type !== "redis-tls:index:RedisTlsServer" && args.type !== "redis-tls:index:RedisTlsConfig") return;
        if (args.props.authClients === "no") report(`${args.name}: authClients "no" lets any client that reaches the port connect without a certificate; use "yes" (or "optional" with password login)`);
        const plaintext = args.props.plaintextPort;
        if (typeof plaintext === "number" && plaintext !== 0) report(`${args.name}: plaintextPort ${plaintext} opens a plaintext listener; leave it 0`);
    },
};

/** Every policy of the pack. */
export const redisTlsPolicies: ResourceValidationPolicy[] = [dockerRedisTlsOnly, elastiCacheTransitEncryption, remoteCommandPlaintextPort, redisTlsComponentsStrict];
