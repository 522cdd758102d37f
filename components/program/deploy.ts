import * as pulumi from "@pulumi/pulumi";
import type { RedisConnection } from "../client/connectionSettings";
import { CertificateAuthority } from "../ca/certificateAuthority";
import { CaDistribution } from "../distribution/caDistribution";
import { makeAclPassword, RedisClientCertificate, RedisServerEndpoint } from "../client/redisClientCertificate";
import { AclUserArgs } from "../config/acl";
import { assertRedisTlsServerArgs, RedisTlsServer, RedisTlsServerArgs } from "../server/redisTlsServer";
import { StepBootstrap } from "../step/stepBootstrap";
import { StepCa, StepIssuer } from "../step/stepCa";
import { CONTAINER_DEFAULTS, RedisTlsContainer, RedisTlsContainerArgs, validateRedisTlsContainerArgs } from "../container/redisTlsContainer";
import { assertValid } from "../validation/fields";
import { HostConfig, StackConfig } from "./stackConfig";
import { ReplicaSetArgs } from "../replication/replicaSet";
import { SENTINEL_DEFAULTS } from "../sentinel/render";
import { show } from "../validation/fields";

/** The default program's container, when there are no hosts. */
export const CONTAINER_NAME = "redis-container";

/** Secrets of the default program, read from stack config as Outputs. */
export interface StackSecrets {
    /** Required with hosts, clients or stepCa. */
    sshPrivateKey?: pulumi.Input<string>;
    /** Required with StackConfig.caRootCertPem. */
    caIssuerPrivateKeyPem?: pulumi.Input<string>;
    /** Required with StackConfig.step. */
    stepProvisionerPassword?: pulumi.Input<string>;
    /** The engine the container steps use (the docker provider's `docker:host`), when there are no hosts. */
    dockerHost?: pulumi.Input<string>;
}

/** What the default program exports per application (a secret: it holds the key and password). */
export type AppConnection = RedisConnection;

/** What the default program exports per Redis host. */
export interface ServerEndpoint {
    endpoint: string;
    serverName: string;
    /** When `pulumi up` next re-issues; absent when the host renews (ACME). */
    renewsAfter?: string;
    /** The host this one replicates from (read-only; write to the primary). */
    replicaOf?: string;
    /** With redis-tls:sentinel, this member's sentinel (`host:port`), which names the current primary. */
    sentinel?: string;
}

/**
 * What runs for a host that is gone: `retainOnDelete`, so removing the host later deletes nothing on
 * it (a delete would fail dialling SSH), and every input ignored, so no step dials it meanwhile
 * (a new renewal slot would otherwise replace its CSR step).
 */
const decommissioned = (only?: (name: string) => boolean): pulumi.ResourceTransformation => (args) =>
    only !== undefined && !only(args.name)
        ? undefined
        : { props: args.props, opts: pulumi.mergeOptions(args.opts, { retainOnDelete: true, ignoreChanges: Object.keys(args.props) }) };

/**
 * With Sentinel, every replica set has at least three members in service: a failover needs a
 * majority of the sentinels, and with two, losing the primary's host loses that majority too.
 */
function checkSentinelSets(hosts: HostConfig[]): void {
    for (const p of hosts.filter((h) => h.replicaOf === undefined && !h.decommissioned)) {
        const members = hosts.filter((h) => !h.decommissioned && (h === p || h.replicaOf === p.name));
        if (members.length === 2) {
            throw new Error(
                `[redis-tls:sentinel] true with the replica set of ${show(p.name)} at 2 members in service; its sentinels could not fail over once one host is lost (a failover needs a majority of them): add a replica, or set sentinel false`,
            );
        }
    }
}

/** `replicaOf` names another host, which is a primary (one level: no replica of a replica). */
function checkReplicaOf(hosts: HostConfig[]): void {
    hosts.forEach((h, i) => {
        if (h.replicaOf === undefined) return;
        const field = `[redis-tls:hosts[${i}].replicaOf]`;
        const primary = hosts.find((p) => p.name === h.replicaOf);
        if (h.replicaOf === h.name) throw new Error(`${field} ${show(h.replicaOf)} is this host itself, which cannot replicate from itself; name its primary, or drop replicaOf on the primary`);
        if (primary === undefined) throw new Error(`${field} ${show(h.replicaOf)} is not the name of an entry of redis-tls:hosts; name one of ${JSON.stringify(hosts.map((x) => x.name))}`);
        if (primary.decommissioned && !h.decommissioned) {
            throw new Error(`${field} ${show(h.replicaOf)} is decommissioned; name a primary in service, or decommission this host too`);
        }
        if (primary.replicaOf !== undefined) {
            throw new Error(`${field} ${show(h.replicaOf)} is itself a replica (of ${show(primary.replicaOf)}); replicate from the primary: set replicaOf ${show(primary.replicaOf)}`);
        }
        if (primary.address === h.address && (primary.port ?? 22) === (h.port ?? 22)) {
            throw new Error(`${field} ${show(h.replicaOf)} is the same host (${h.address}); a replica needs a host of its own`);
        }
    });
    const seen = new Map<string, string>();
    // A decommissioned entry may share its address with the host that replaced it.
    for (const h of hosts.filter((x) => !x.decommissioned)) {
        const at = `${h.address.toLowerCase()}:${h.port ?? 22}`;
        const other = seen.get(at);
        if (other !== undefined) {
            throw new Error(`[redis-tls:hosts] ${show(other)} and ${show(h.name)} are the same host (${h.address}, SSH port ${h.port ?? 22}); list each host once`);
        }
        seen.set(at, h.name);
    }
}

/**
 * The default program: one CA (in Pulumi state or the organisation's) that clients are trusted by,
 * server certificates from it or from an ACME directory, a TLS-only Redis on every host, the root on
 * every client host. Every component validates its args before creating anything, so a bad value
 * fails at preview.
 */
export function deploy(config: StackConfig, secrets: StackSecrets) {
    if (config.caRootCertPem !== undefined && secrets.caIssuerPrivateKeyPem === undefined) {
        throw new Error("[redis-tls:caIssuerPrivateKeyPem] is not set but caRootCertPem is; set it with pulumi config set --secret caIssuerPrivateKeyPem < issuer.key");
    }
    const issuers = (["acme", "step", "stepCa"] as const).filter((k) => config[k] !== undefined);
    if (issuers.length > 1) {
        throw new Error(`[redis-tls:${issuers.join(", redis-tls:")}] are all set; choose one issuer for the servers' certificates`);
    }
    const inContainer = config.hosts.length === 0;
    if (inContainer && issuers.length > 0) {
        throw new Error(
            `[redis-tls:${issuers[0]}] is set but redis-tls:hosts is not; the container the default program runs without hosts is issued by the CA in state or your organisation's: unset ${issuers[0]}, or add hosts`,
        );
    }
    if (!inContainer && config.container !== undefined) {
        throw new Error("[redis-tls:container] is set but so is redis-tls:hosts; the container runs only when there are no hosts: unset one of them");
    }
    const needsSsh = config.hosts.length > 0 ? "hosts" : config.clients.length > 0 ? "clients" : config.stepCa !== undefined ? "stepCa" : undefined;
    if (needsSsh !== undefined && secrets.sshPrivateKey === undefined) {
        throw new Error(`[redis-tls:sshPrivateKey] is not set but ${needsSsh} is; set it with pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519`);
    }
    const sshPrivateKey = secrets.sshPrivateKey!;
    const bootstrapped = config.clients.findIndex((c) => c.stepBootstrap);
    if (bootstrapped >= 0 && config.step === undefined && config.stepCa === undefined) {
        throw new Error(
            `[redis-tls:clients[${bootstrapped}].stepBootstrap] is true but neither redis-tls:step nor redis-tls:stepCa is set, so there is no step-ca to bootstrap from; set one, or drop stepBootstrap`,
        );
    }
    if (config.step !== undefined && secrets.stepProvisionerPassword === undefined) {
        throw new Error("[redis-tls:stepProvisionerPassword] is not set but step is; set it with pulumi config set --secret stepProvisionerPassword < provisioner.pass");
    }
    const stepCa =
        config.stepCa === undefined
            ? undefined
            : new StepCa("redis-step-ca", {
                  connection: {
                      host: config.stepCa.address, user: config.stepCa.user, port: config.stepCa.port, privateKey: sshPrivateKey, hostKey: config.stepCa.hostKey,
                  },
                  name: config.stepCa.name,
                  dnsNames: config.stepCa.dnsNames,
                  ipAddresses: config.stepCa.ipAddresses,
                  port: config.stepCa.caPort,
                  acme: config.stepCa.acme,
              });
    const step: StepIssuer | undefined =
        stepCa?.issuer ??
        (config.step === undefined
            ? undefined
            : {
                  caUrl: config.step.caUrl,
                  rootFingerprint: config.step.rootFingerprint,
                  provisioner: config.step.provisioner,
                  stepCli: config.step.stepCli,
                  provisionerPassword: secrets.stepProvisionerPassword,
              });
    // Also with ACME or step-ca: this CA, not the issuer, is what Redis trusts for client certificates.
    const ca = new CertificateAuthority("redis-ca", {
        commonName: config.caCommonName,
        keyAlgorithm: config.keyAlgorithm,
        existing:
            config.caRootCertPem === undefined
                ? undefined
                : { rootCertPem: config.caRootCertPem, issuerCertPem: config.caIssuerCertPem, issuerPrivateKeyPem: secrets.caIssuerPrivateKeyPem! },
    });

    // Passwords first: every server stores each application's hash, and each application gets the
    // servers' names. With certificate login there are none.
    const login = config.clientLogin ?? "password";
    const hostNames = new Set(config.hosts.flatMap((h) => [...(h.dnsNames ?? []), ...(h.ipAddresses ?? [])]));
    const clash = config.apps.findIndex((a) => login === "certificate" && hostNames.has(a.name));
    if (clash >= 0) {
        throw new Error(`[redis-tls:apps[${clash}].name] "${config.apps[clash].name}" is also a Redis host's name, so that host's certificate would log in as the app; rename the app`);
    }
    checkReplicaOf(config.hosts);
    if (config.sentinel) checkSentinelSets(config.hosts);
    const pending = pulumi.output("0".repeat(64));
    /** A replica set's passwords, by its primary's name: replication, and the sentinels' with Sentinel. */
    type SetPasswords = (primary: string) => { replication: pulumi.Input<string>; sentinel?: pulumi.Input<string> };
    const replicaSet = (host: HostConfig, passwords: SetPasswords): ReplicaSetArgs | undefined => {
        const primary = host.replicaOf === undefined ? undefined : config.hosts.find((h) => h.name === host.replicaOf)!;
        if (primary === undefined && !config.hosts.some((h) => h.replicaOf === host.name)) return undefined;
        const { replication, sentinel } = passwords(primary?.name ?? host.name);
        return {
            password: replication,
            primary: primary === undefined ? undefined : { host: primary.address, port: config.tlsPort },
            ...(sentinel === undefined ? {} : { sentinel: { password: sentinel } }),
        };
    };
    const serverArgs = (host: HostConfig, users: AclUserArgs[], passwords: SetPasswords): RedisTlsServerArgs => ({
        connection: { host: host.address, user: host.user, port: host.port, privateKey: sshPrivateKey, hostKey: host.hostKey },
        dnsNames: host.dnsNames,
        ipAddresses: host.ipAddresses,
        caCertPem: ca.issuerCertPem,
        caPrivateKeyPem: ca.issuerPrivateKeyPem,
        chainPem: ca.chainPem,
        rootCertPem: ca.rootCertPem,
        acme: config.acme,
        step,
        validityHours: config.validityHours,
        keyAlgorithm: config.keyAlgorithm,
        tlsPort: config.tlsPort,
        authClients: config.authClients,
        flavor: config.flavor,
        clientLogin: config.clientLogin,
        users,
        replicaSet: replicaSet(host, passwords),
    });
    // Every host and application is checked before the passwords are made: a bad value runs nothing.
    config.apps.forEach((a, i) => {
        if (a.client !== undefined && !config.clients.some((c) => c.name === a.client)) {
            throw new Error(`[redis-tls:apps[${i}].client] "${a.client}" is not the name of an entry of redis-tls:clients; name one of ${JSON.stringify(config.clients.map((c) => c.name))}`);
        }
    });
    const pendingUsers = config.apps.map((a) => ({ ...a, passwordHash: login === "password" ? pending : undefined }));
    for (const host of config.hosts) {
        assertRedisTlsServerArgs(`redis-${host.name}`, serverArgs(host, pendingUsers, () => ({ replication: pending, sentinel: config.sentinel ? pending : undefined })));
    }
    const containerArgs = (users: AclUserArgs[]): RedisTlsContainerArgs => ({
        ...config.container,
        ca: ca.issuer,
        dockerHost: secrets.dockerHost,
        tlsPort: config.tlsPort,
        authClients: config.authClients,
        validityHours: config.validityHours,
        keyAlgorithm: config.keyAlgorithm,
        flavor: config.flavor,
        clientLogin: config.clientLogin,
        users,
    });
    if (inContainer) assertValid(`RedisTlsContainer ${CONTAINER_NAME}`, validateRedisTlsContainerArgs(CONTAINER_NAME, containerArgs(pendingUsers)));
    const passwords = config.apps.map((a) => (login === "password" ? makeAclPassword(`redis-app-${a.name}-password`) : undefined));
    const users = config.apps.map((a, i) => ({ name: a.name, rules: a.rules, passwordHash: passwords[i]?.passwordHash }));
    // One replication password per primary and its replicas.
    const replication = new Map(
        config.hosts.filter((h) => h.replicaOf === undefined && config.hosts.some((r) => r.replicaOf === h.name)).map((h) => [h.name, makeAclPassword(`redis-replication-${h.name}-password`).password]),
    );
    // And, with Sentinel, one sentinel password per replica set.
    const sentinels = new Map(config.sentinel ? [...replication.keys()].map((p) => [p, makeAclPassword(`redis-sentinel-${p}-password`).password]) : []);

    const servers: Record<string, pulumi.Output<ServerEndpoint>> = {};
    const serverRoots: pulumi.Output<string>[] = [];
    const endpoints: RedisServerEndpoint[] = [];
    // Each host after the first is declared in a later turn of the event loop, one after another:
    // the registrations declared so far complete in between, and the SDK frees what each held,
    // instead of every host's resources waiting at once (npm run bench, a thousand hosts under
    // preview mocks: about 4 s and 0.4-0.5 GiB, where at once took 10 s and 1.5 GiB). Every host
    // was checked above, so nothing declared here fails on input; what depends on a server takes
    // its outputs when it exists.
    let previous: Promise<unknown> = Promise.resolve();
    config.hosts.forEach((host, i) => {
        const declare = () =>
            new RedisTlsServer(
                `redis-${host.name}`,
                serverArgs(host, users, (primary) => ({ replication: replication.get(primary)!, sentinel: sentinels.get(primary) })),
                host.decommissioned ? { transformations: [decommissioned()] } : undefined,
            );
        const later = i === 0 ? Promise.resolve(declare()) : previous.then(() => new Promise<RedisTlsServer>((resolve) => setImmediate(() => resolve(declare()))));
        previous = later;
        const serverName = pulumi.output(later.then((s) => s.serverName));
        serverRoots.push(pulumi.output(later.then((s) => s.serverRootCertPem)));
        endpoints.push({ host: host.address, port: config.tlsPort, serverName });
        servers[host.name] = pulumi
            .all([pulumi.output(later.then((s) => s.endpoint)), serverName, pulumi.output(later.then((s) => s.renewsAfter))])
            .apply(([endpoint, serverName, renewsAfter]) => ({
                endpoint,
                serverName,
                ...(renewsAfter === undefined ? {} : { renewsAfter }),
                ...(host.replicaOf === undefined ? {} : { replicaOf: host.replicaOf }),
                ...(config.sentinel && replication.has(host.replicaOf ?? host.name) ? { sentinel: `${host.address}:${SENTINEL_DEFAULTS.port}` } : {}),
            }));
    });

    if (inContainer) {
        const c = containerArgs(users);
        const container = new RedisTlsContainer(CONTAINER_NAME, c);
        serverRoots.push(container.rootCertPem);
        endpoints.push({ host: container.connection.host, port: c.publishPort ?? c.tlsPort ?? CONTAINER_DEFAULTS.tlsPort, serverName: container.serverName });
        servers.container = pulumi
            .all([container.endpoint, container.serverName, container.renewsAfter])
            .apply(([endpoint, serverName, renewsAfter]) => ({ endpoint, serverName, renewsAfter }));
    }

    // Clients verify servers against the root that signs them.
    const rootCertPem = stepCa?.rootCertPem ?? serverRoots[0] ?? ca.rootCertPem;
    const gone = new Set(config.clients.filter((c) => c.decommissioned).map((c) => `redis-ca-clients-${c.name}`));
    new CaDistribution(
        "redis-ca-clients",
        {
            rootCertPem,
            hosts: config.clients.map((c) => ({
                name: c.name,
                osFamily: c.osFamily,
                connection: { host: c.address, user: c.user, port: c.port, privateKey: sshPrivateKey, hostKey: c.hostKey },
            })),
        },
        gone.size > 0 ? { transformations: [decommissioned((n) => gone.has(n))] } : undefined,
    );

    // Client hosts that run `step` themselves get the same pinned bootstrap as the Redis hosts.
    for (const c of config.clients.filter((c) => c.stepBootstrap)) {
        new StepBootstrap(
            `redis-step-bootstrap-${c.name}`,
            {
                connection: { host: c.address, user: c.user, port: c.port, privateKey: sshPrivateKey, hostKey: c.hostKey },
                caUrl: step!.caUrl,
                rootFingerprint: step!.rootFingerprint,
            },
            c.decommissioned ? { transformations: [decommissioned()] } : undefined,
        );
    }

    // Each application's identity: a client certificate whose key stays in state (a secret), its
    // password, and the servers to reach. Apps on hosts use RedisClientCertificate with a connection.
    const apps: Record<string, pulumi.Output<AppConnection>> = {};
    config.apps.forEach((a, i) => {
        const on = a.client === undefined ? undefined : config.clients.find((c) => c.name === a.client);
        const app = new RedisClientCertificate(`redis-app-${a.name}`, {
            connection: on === undefined ? undefined : { host: on.address, user: on.user, port: on.port, privateKey: sshPrivateKey, hostKey: on.hostKey },
            keyGroup: a.group,
            username: a.name,
            servers: endpoints,
            caCertPem: ca.issuerCertPem,
            caPrivateKeyPem: ca.issuerPrivateKeyPem,
            chainPem: ca.chainPem,
            rootCertPem: ca.rootCertPem,
            serverRootCertPem: rootCertPem,
            clientLogin: config.clientLogin,
            password: passwords[i]?.password,
            validityHours: config.validityHours,
            keyAlgorithm: config.keyAlgorithm,
        });
        apps[a.name] = pulumi.secret(app.connection);
    });

    return { rootCertPem, servers: pulumi.output(servers), apps: pulumi.output(apps) };
}
