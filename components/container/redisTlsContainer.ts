import { createHash } from "node:crypto";
import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { visibleArgs } from "../visibleArgs";
import { CERTIFICATE_DEFAULTS, checkLifetime, checkSubjectNames } from "../certificate/hostCertificate";
import { csrFromStdout } from "../certificate/hostSteps";
import { defaultRenewBeforeHours, renewalDeadline, renewalSlot } from "../certificate/renewal";
import { renderInstallCertScript, renderKeyAndCsrScript } from "../certificate/scripts";
import { checkStateCaArgs, resolveStateCa, signWithStateCa, StateCaArgs } from "../certificate/stateCaSigning";
import { RedisConnection, redissUrl } from "../client/connectionSettings";
import { ACL_DEFAULTS, AclUserArgs, checkAclUsers, CLIENT_LOGINS, ClientLogin } from "../config/acl";
import { AUTH_CLIENTS, AuthClients, appUsersSection, TLS_PROTOCOLS, TlsProtocol } from "../config/redisTlsConfig";
import { CERTIFICATE_LOGIN_SINCE, renderRedisTlsConf } from "../config/render";
import { DEFAULT_TLS_DIR } from "../host/layout";
import { encodeSections } from "../host/shell";
import { KEY_ALGORITHMS, KeyAlgorithm, keyUsages } from "../keyAlgorithm";
import { RELOAD_DEFAULTS, renderReloadFunction } from "../reload/scripts";
import { Flavor, FLAVOR_NAMES, flavorOf } from "../server/flavor";
import { assertValid, checkIpAddress, checkOneOf, checkPort, found, Problem, show } from "../validation/fields";
import { checked } from "../validation/outputs";
import { dockerfileContext } from "./buildContext";
import { checkDockerName, checkImageName, checkImageRef, IMAGE_FAMILIES, ImageFamily, renderDerivedDockerfile } from "./images";
import { inHelperContainer, inServerContainer, renderContainerConfScript, renderHealthCheck } from "./scripts";

/** The docker restart policies. */
export const RestartPolicy = { no: "no", onFailure: "on-failure", always: "always", unlessStopped: "unless-stopped" } as const;
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];
export const RESTART_POLICIES = Object.values(RestartPolicy);

export interface RedisTlsContainerArgs extends StateCaArgs {
    /**
     * The server image: Redis 7+ or Valkey, with a shell. A derived image adds bash and openssl
     * where it lacks them (the key is made and checked with them inside it, and the health check
     * verifies TLS with them); that build needs the family's package mirror unless the image has both.
     * @default "redis:7.4" ("valkey/valkey:9" with flavor "valkey")
     */
    image?: pulumi.Input<string>;
    /**
     * The image's family, for adding packages.
     * @default "debian"
     */
    imageFamily?: ImageFamily;
    /**
     * Tag of the derived server image.
     * @default "redis-tls/<name>:server" (lower-case)
     */
    imageName?: string;
    /**
     * "redis" or "valkey": the server binary, CLI and user in the image.
     * @default "redis"
     */
    flavor?: Flavor;
    /**
     * DNS names clients verify. Plain, so they are checked at preview.
     * @default ["localhost"] when ipAddresses is not given either
     */
    dnsNames?: string[];
    /**
     * IP addresses clients verify.
     * @default ["127.0.0.1"] when dnsNames is not given either
     */
    ipAddresses?: string[];
    /**
     * The TLS port, inside the container and published.
     * @default 6379
     */
    tlsPort?: number;
    /**
     * Host address the TLS port is published on; "0.0.0.0" publishes it on every interface.
     * @default "127.0.0.1"
     */
    publishAddress?: string;
    /**
     * Host port the TLS port is published on.
     * @default tlsPort
     */
    publishPort?: number;
    /**
     * A Docker network to attach the container to (its name), instead of the engine's default
     * bridge; other containers on it reach the server by its DNS names (network aliases).
     */
    network?: pulumi.Input<string>;
    /**
     * Restart policy.
     * @default "unless-stopped"
     */
    restart?: RestartPolicy;
    /**
     * `tls-auth-clients`.
     * @default "yes"
     */
    authClients?: AuthClients;
    /**
     * TLS versions served.
     * @default ["TLSv1.2", "TLSv1.3"]
     */
    protocols?: TlsProtocol[];
    /**
     * How applications log in (see RedisTlsServer.clientLogin).
     * @default "password"
     */
    clientLogin?: ClientLogin;
    /**
     * The applications' ACL users (RedisClientCertificate makes each identity). A change recreates
     * the container.
     * @default []
     */
    users?: AclUserArgs[];
    /**
     * Certificate lifetime.
     * @default 720
     */
    validityHours?: number;
    /**
     * Hours before expiry at which `pulumi up` re-issues, hot-loaded into the running container.
     * @default validityHours / 3
     */
    renewBeforeHours?: number;
    /**
     * Key algorithm of the key made in the container's volume.
     * @default "ECDSA_P256"
     */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * The engine the `docker` CLI steps talk to (DOCKER_HOST), e.g. "unix:///var/run/docker.sock".
     * Give the same engine as the docker provider's `docker:host`. Unset: the CLI's default.
     */
    dockerHost?: pulumi.Input<string>;
}

export const CONTAINER_DEFAULTS = {
    /** The official image of each flavor. */
    image: { redis: "redis:7.4", valkey: "valkey/valkey:9" },
    imageFamily: "debian",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    tlsPort: 6379,
    publishAddress: "127.0.0.1",
    restart: "unless-stopped",
    authClients: "yes",
    protocols: ["TLSv1.2", "TLSv1.3"],
    clientLogin: "password",
    /** Where the TLS volume is mounted, in the server and in the helper containers. */
    tlsDir: DEFAULT_TLS_DIR,
    /** Where the data volume is mounted; also the directory of the root-only reload socket. */
    dataDir: "/data",
} as const;

/** The names the certificate carries: the given ones, else localhost and 127.0.0.1. */
function subjectNames(args: RedisTlsContainerArgs): { dnsNames: string[]; ipAddresses: string[] } {
    if (args.dnsNames === undefined && args.ipAddresses === undefined) {
        return { dnsNames: [...CONTAINER_DEFAULTS.dnsNames], ipAddresses: [...CONTAINER_DEFAULTS.ipAddresses] };
    }
    return { dnsNames: args.dnsNames ?? [], ipAddresses: args.ipAddresses ?? [] };
}

const defaultImageName = (name: string) => `redis-tls/${name.toLowerCase().replace(/[^a-z0-9._-]/g, "-")}:server`;

/** An address of the engine's host to publish on: one of its own, or every interface ("0.0.0.0", "::"). */
function checkPublishAddress(address: string): Problem {
    return address === "0.0.0.0" || address === "::" ? undefined : checkIpAddress("publishAddress", address);
}

/** Validates RedisTlsContainer args; returns every problem found. */
export function validateRedisTlsContainerArgs(name: string, args: RedisTlsContainerArgs): string[] {
    const { dnsNames, ipAddresses } = subjectNames(args);
    const tlsPort = args.tlsPort ?? CONTAINER_DEFAULTS.tlsPort;
    const clientLogin = args.clientLogin ?? CONTAINER_DEFAULTS.clientLogin;
    const problems: Problem[] = [
        ...checkStateCaArgs(args),
        ...checkSubjectNames(dnsNames, ipAddresses),
        ...checkLifetime(args.validityHours, args.renewBeforeHours),
        checkOneOf("keyAlgorithm", args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm, KEY_ALGORITHMS),
        checkOneOf("imageFamily", args.imageFamily ?? CONTAINER_DEFAULTS.imageFamily, IMAGE_FAMILIES),
        checkImageName("imageName", args.imageName ?? defaultImageName(name)),
        checkPort("tlsPort", tlsPort),
        checkPort("publishPort", args.publishPort ?? tlsPort),
        checkPublishAddress(args.publishAddress ?? CONTAINER_DEFAULTS.publishAddress),
        checkOneOf("restart", args.restart ?? CONTAINER_DEFAULTS.restart, RESTART_POLICIES),
        checkOneOf("authClients", args.authClients ?? CONTAINER_DEFAULTS.authClients, AUTH_CLIENTS),
        checkOneOf("clientLogin", clientLogin, CLIENT_LOGINS),
        ...checkAclUsers("users", args.users ?? [], { reserved: [ACL_DEFAULTS.adminUser, RELOAD_DEFAULTS.user], login: clientLogin }),
    ];
    if (typeof args.image === "string") problems.push(checkImageRef("image", args.image));
    if (typeof args.network === "string") problems.push(checkDockerName("network", args.network));
    if (args.flavor !== undefined) problems.push(checkOneOf("flavor", args.flavor, FLAVOR_NAMES));
    const protocols = args.protocols ?? CONTAINER_DEFAULTS.protocols;
    if (protocols.length === 0) problems.push(`[protocols] [] allows no TLS version; use ["TLSv1.2", "TLSv1.3"] or ["TLSv1.3"]`);
    protocols.forEach((p) => problems.push(checkOneOf("protocols", p, TLS_PROTOCOLS)));
    if (clientLogin === "certificate" && args.image === undefined && (args.flavor ?? "redis") === "redis") {
        problems.push(
            `[clientLogin] "certificate" needs Redis ${CERTIFICATE_LOGIN_SINCE.Redis}+ or Valkey ${CERTIFICATE_LOGIN_SINCE.Valkey}+, and the default image ${CONTAINER_DEFAULTS.image.redis} is older; set image (e.g. "redis:8.6") or flavor "valkey"`,
        );
    }
    if (clientLogin === "certificate") {
        (args.users ?? []).forEach((u, i) => {
            if ([...dnsNames, ...ipAddresses].includes(u.name)) {
                problems.push(`[users[${i}].name] ${show(u.name)} is also this server's name, so its own certificate would log in as that user; rename the user`);
            }
        });
    }
    return found(problems);
}

/**
 * A TLS-only Redis (or Valkey) in a Docker container on one engine: only the TLS port published
 * (`port 0`), the same drop-in, key-and-CSR, verify-then-move install and hot reload the hosts get,
 * with the key made by openssl inside a container of the server's image, straight into the TLS
 * volume (root:redis 0640 in a 0750 directory: the server reads it, no other user in the
 * container can), never in Pulumi state. A renewal by `pulumi up` installs the new certificate in
 * the volume and hot-loads it over the root-only socket, without recreating the container.
 */
export class RedisTlsContainer extends pulumi.ComponentResource {
    /** Where clients on the engine's machine connect: publishAddress (loopback for a wildcard) and publishPort. */
    public readonly endpoint: pulumi.Output<string>;
    /** The name clients verify: the first DNS name, else the first IP. */
    public readonly serverName: pulumi.Output<string>;
    /** The root the server's chain ends in. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** The served leaf certificate. */
    public readonly certPem: pulumi.Output<string>;
    /** The first moment a `pulumi up` re-issues the certificate (ISO 8601). */
    public readonly renewsAfter: pulumi.Output<string>;
    /** The install step's report: the serial it installed (or that nothing changed). */
    public readonly installed: pulumi.Output<string>;
    /** The reload step's report: the serial the running server loaded. */
    public readonly reloaded: pulumi.Output<string>;
    /** The container's ID. */
    public readonly containerId: pulumi.Output<string>;
    /** The derived server image's ID. */
    public readonly imageId: pulumi.Output<string>;
    /** What a client needs, without an identity (see RedisClientCertificate.connection). */
    public readonly connection: pulumi.Output<RedisConnection>;

    constructor(name: string, args: RedisTlsContainerArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = `RedisTlsContainer ${name}`;
        assertValid(component, validateRedisTlsContainerArgs(name, args));
        super("redis-tls:index:RedisTlsContainer", name, visibleArgs(args), opts);

        const { dnsNames, ipAddresses } = subjectNames(args);
        const serverName = dnsNames[0] ?? ipAddresses[0];
        const flavor = flavorOf(args.flavor);
        const group = flavor.group;
        const tlsDir = CONTAINER_DEFAULTS.tlsDir;
        const dataDir = CONTAINER_DEFAULTS.dataDir;
        const socket = `${dataDir}/${flavor.server}.sock`;
        const tlsPort = args.tlsPort ?? CONTAINER_DEFAULTS.tlsPort;
        const publishAddress = args.publishAddress ?? CONTAINER_DEFAULTS.publishAddress;
        const publishPort = args.publishPort ?? tlsPort;
        const clientLogin = args.clientLogin ?? CONTAINER_DEFAULTS.clientLogin;
        const validityHours = args.validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
        const renewAfterHours = validityHours - (args.renewBeforeHours ?? defaultRenewBeforeHours(validityHours));
        const keyAlgorithm = (args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
        const now = Date.now();
        const family = (args.imageFamily ?? CONTAINER_DEFAULTS.imageFamily) as ImageFamily;

        // The server image, with what the key, install and health check need.
        const base = checked(component, args.image ?? CONTAINER_DEFAULTS.image[args.flavor ?? "redis"], (v) => [checkImageRef("image", v)]);
        const build = dockerfileContext(
            renderDerivedDockerfile({ family, needs: [{ command: "bash", pkg: "bash" }, { command: "openssl", pkg: "openssl" }], trustRoot: false }),
        );
        const image = new docker.Image(
            `${name}-image`,
            { imageName: args.imageName ?? defaultImageName(name), build: { ...build, builderVersion: "BuilderV1", args: { BASE: base } }, skipPush: true },
            { parent: this },
        );
        // The local image ID (skipPush): a rebuilt image is a new ID, so the container follows it.
        const imageId = image.repoDigest;
        const tlsVolume = new docker.Volume(`${name}-tls`, {}, { parent: this });
        const dataVolume = new docker.Volume(`${name}-data`, {}, { parent: this });
        const environment = (extra: Record<string, pulumi.Input<string>> = {}) => ({
            REDIS_TLS_IMAGE: imageId,
            REDIS_TLS_VOLUME: tlsVolume.name,
            ...(args.dockerHost === undefined ? {} : { DOCKER_HOST: args.dockerHost }),
            ...extra,
        });

        // Key and CSR, made in the volume; a new pair in each renewal slot.
        const target = { dnsNames, ipAddresses };
        const csr = new command.local.Command(
            `${name}-csr`,
            {
                create: inHelperContainer(
                    renderKeyAndCsrScript({ tlsDir, group, keyAlgorithm, commonName: serverName, dnsNames, ipAddresses, encryptKey: false }),
                    { tlsDir },
                ),
                environment: environment(),
                triggers: [renewalSlot(now, renewAfterHours)],
                logging: "stdout",
            },
            { parent: this },
        );
        const certRequestPem = csr.stdout.apply((out) => csrFromStdout(`${name}-csr stdout`, out, target));
        const { certPem, chainPem, root } = signWithStateCa(this, component, name, certRequestPem, resolveStateCa(component, args), {
            validityHours,
            allowedUses: [...keyUsages(keyAlgorithm), "server_auth", "client_auth"],
        });
        const install = new command.local.Command(
            `${name}-install`,
            {
                create: root.apply((r) =>
                    inHelperContainer(
                        renderInstallCertScript({ tlsDir, group, dnsNames, ipAddresses, rootFingerprint: r.fingerprints[0], clientCaFingerprint: r.fingerprints[0] }),
                        { tlsDir },
                    ),
                ),
                stdin: pulumi.all([chainPem, root]).apply(([chain, r]) => encodeSections({ chain, root: r.pem, "client-ca": r.pem })),
                environment: environment(),
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );

        // The whole configuration: the hosts' drop-in, with the data directory and socket in the data volume.
        const dropin = renderRedisTlsConf({
            tlsPort,
            plaintextPort: 0,
            bind: ["*", "-::*"],
            tlsDir,
            authClients: args.authClients ?? CONTAINER_DEFAULTS.authClients,
            replication: true,
            cluster: false,
            protocols: [...(args.protocols ?? CONTAINER_DEFAULTS.protocols)],
            adminSocket: socket,
            adminSocketGroup: true,
            clientLogin,
        });
        const users = appUsersSection(component, args.users ?? [], clientLogin);
        const confStdin = users.apply((u) => encodeSections({ dropin, users: u }));
        const config = new command.local.Command(
            `${name}-config`,
            {
                create: inHelperContainer(
                    renderContainerConfScript({ tlsDir, group, dataDir, adminUser: ACL_DEFAULTS.adminUser, reloadUser: RELOAD_DEFAULTS.user, server: flavor.server, clientLogin }),
                    { tlsDir, dataDir },
                ),
                stdin: confStdin,
                environment: environment({ REDIS_TLS_DATA: dataVolume.name }),
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );

        const container = new docker.Container(
            name,
            {
                image: imageId,
                // The drop-in says port 0 and tls-port; repeated here (the command line wins over the
                // file), so `docker inspect` and policies on containers see a TLS-only server.
                command: [flavor.server, `${tlsDir}/redis-tls.conf`, "--port", "0", "--tls-port", String(tlsPort), "--dir", dataDir],
                user: group,
                volumes: [
                    { volumeName: tlsVolume.name, containerPath: tlsDir },
                    { volumeName: dataVolume.name, containerPath: dataDir },
                ],
                ports: [{ internal: tlsPort, external: publishPort, ip: publishAddress }],
                // On the user's network, other containers reach it by the names its certificate carries.
                networksAdvanced: args.network === undefined ? undefined : [{ name: args.network, aliases: dnsNames.filter((d) => d !== "localhost") }],
                restart: args.restart ?? CONTAINER_DEFAULTS.restart,
                // The server runs as its own user, no setuid binary may raise it, and no process in
                // the container has a capability (root's reload included: it goes through the group).
                securityOpts: ["no-new-privileges:true"],
                capabilities: { drops: ["ALL"] },
                healthcheck: {
                    tests: ["CMD", "/bin/bash", "-c", renderHealthCheck({ tlsPort, serverName, serverNameIsIp: net.isIP(serverName) !== 0, tlsDir })],
                    interval: "5s",
                    timeout: "5s",
                    startPeriod: "2s",
                    retries: 3,
                },
                // `pulumi up` fails unless verified TLS answers; the container reads its configuration
                // only at start, so a changed one (its digest here) is a new container.
                wait: true,
                waitTimeout: 60,
                labels: [{ label: "redis-tls.config", value: confStdin.apply((s) => createHash("sha256").update(s).digest("hex")) }],
            },
            { parent: this, dependsOn: [install, config] },
        );

        // Every installed certificate is loaded by the running server, through its root-only socket.
        const reload = new command.local.Command(
            `${name}-reload`,
            {
                create: inServerContainer(
                    `set -euo pipefail\n${renderReloadFunction({ tlsDir, socket, user: RELOAD_DEFAULTS.user, cli: flavor.cli })}reload_tls\n`,
                    group,
                ),
                environment: environment({ REDIS_TLS_CONTAINER: container.id }),
                triggers: [install.stdout, container.id],
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );

        // Published on every interface, it is reached on the engine's machine through loopback.
        const reachAt = publishAddress === "0.0.0.0" ? "127.0.0.1" : publishAddress === "::" ? "::1" : publishAddress;
        this.endpoint = pulumi.output(`${net.isIPv6(reachAt) ? `[${reachAt}]` : reachAt}:${publishPort}`);
        this.serverName = pulumi.output(serverName);
        this.rootCertPem = root.pem;
        this.certPem = certPem;
        this.renewsAfter = pulumi.output(renewalDeadline(now, renewAfterHours).toISOString());
        this.installed = install.stdout;
        this.reloaded = reload.stdout;
        this.containerId = container.id;
        this.imageId = imageId;
        this.connection = root.pem.apply((caPem) => ({ url: redissUrl(reachAt, publishPort), host: reachAt, port: publishPort, serverName, caPem }));
        this.registerOutputs({
            endpoint: this.endpoint,
            serverName: this.serverName,
            rootCertPem: this.rootCertPem,
            certPem: this.certPem,
            renewsAfter: this.renewsAfter,
            installed: this.installed,
            reloaded: this.reloaded,
            containerId: this.containerId,
            imageId: this.imageId,
            connection: this.connection,
        });
    }
}
