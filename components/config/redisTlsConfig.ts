import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { DEFAULT_TLS_DIR } from "../host/layout";
import {
    assertValid,
    found,
    checkAbsolutePath,
    checkAclUser,
    checkIpAddress,
    checkKeyFilePass,
    checkOneOf,
    checkPort,
    checkServerAddress,
    checkServiceName,
    checkUnixName,
    Problem,
    show,
} from "../validation/fields";
import { checked } from "../validation/outputs";
import { RELOAD_DEFAULTS } from "../reload/scripts";
import { ACL_DEFAULTS, AclUserArgs, checkAclUsers, checkPasswordHash, CLIENT_LOGINS, ClientLogin, renderAppUsers } from "./acl";
import { encodeSections } from "../host/shell";
import { Flavor, FLAVOR_NAMES, flavorOf } from "../server/flavor";
import { renderInstallConfScript, renderRedisTlsConf } from "./render";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { checkReplicaSet, checkReplicationPassword, REPLICATION_DEFAULTS, ReplicaSetArgs, renderReplicationUser, ResolvedReplicaSet } from "../replication/replicaSet";
import { checkSentinel, renderSentinelDataUser, SENTINEL_DEFAULTS } from "../sentinel/render";

/** `tls-auth-clients`: whether a client must present a certificate from the client CA. */
export const AuthClients = {
    /** Required (the default). */
    yes: "yes",
    /** Checked when presented; a client without one must log in with a password. */
    optional: "optional",
    /** Not asked for. */
    no: "no",
} as const;
export type AuthClients = (typeof AuthClients)[keyof typeof AuthClients];
export const AUTH_CLIENTS = Object.values(AuthClients);

/** TLS versions the server accepts. */
export const TlsProtocol = { TLSv1_2: "TLSv1.2", TLSv1_3: "TLSv1.3" } as const;
export type TlsProtocol = (typeof TlsProtocol)[keyof typeof TlsProtocol];
export const TLS_PROTOCOLS = Object.values(TlsProtocol);

export interface RedisTlsConfigArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /**
     * TLS port.
     * @default 6379
     */
    tlsPort?: number;
    /**
     * Plaintext port; 0 turns plaintext off. Only for migrations, and only with authClients
     * "optional" or "no": clients on it must authenticate as an ACL user (the default user is off).
     * @default 0
     */
    plaintextPort?: number;
    /**
     * Addresses to listen on (Redis `bind` syntax; a leading "-" marks one that may be missing).
     * @default ["*", "-::*"]
     */
    bind?: string[];
    /**
     * Root-owned directory with the served files (`live/`), users.acl, passwords and the drop-in.
     * @default "/etc/redis-tls"
     */
    tlsDir?: string;
    /** Pass phrase of an encrypted key (`tls-key-file-pass`); secret, sent on stdin only. */
    keyFilePass?: pulumi.Input<string>;
    /**
     * `tls-auth-clients`: "yes" requires a client certificate from the client CA (zero trust).
     * A certificate only opens the connection: data needs an ACL user's credentials.
     * @default "yes"
     */
    authClients?: AuthClients;
    /**
     * `tls-replication`: replicas connect to their primary over TLS.
     * @default true
     */
    replication?: boolean;
    /**
     * `tls-cluster`: the cluster bus uses TLS.
     * @default true
     */
    cluster?: boolean;
    /**
     * `tls-protocols`.
     * @default ["TLSv1.2", "TLSv1.3"]
     */
    protocols?: TlsProtocol[];
    /**
     * Root-only unix socket for the certificate hot reload; "" turns it off.
     * @default "/run/redis/redis-server.sock"
     */
    adminSocket?: string;
    /**
     * ACL user for administrators: every command but CONFIG REWRITE, ACL SAVE/LOAD, DEBUG and
     * MODULE; its password is made on the host in `<tlsDir>/admin.pass` (root, 0600).
     * @default "redis-tls-admin"
     */
    adminUser?: string;
    /**
     * ACL user the certificate hot reload runs as, allowed only CONFIG SET; its password is made on
     * the host in `<tlsDir>/reload.pass` (root, 0600) and never leaves it.
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
    /**
     * ACL user that applies users.acl to the running server over adminSocket (ACL SETUSER/DELUSER
     * only); its password is made on the host in `<tlsDir>/acl.pass` (root, 0600).
     * @default "redis-tls-acl"
     */
    aclUser?: string;
    /**
     * The applications' ACL users. A change of users alone is applied without a restart (when
     * adminSocket is on); a user no longer listed is deleted and its connections closed.
     * @default []
     */
    users?: AclUserArgs[];
    /**
     * How applications log in as their user: "password" (certificate, then AUTH; every server) or
     * "certificate" (the certificate's CN is the user; Valkey 9.0+, Redis 8.6+, checked on the host).
     * @default "password"
     */
    clientLogin?: ClientLogin;
    /**
     * This server's replica set: the replication identity in users.acl, the login it replicates
     * with, and on a replica its primary (see RedisTlsServerArgs.replicaSet).
     */
    replicaSet?: ReplicaSetArgs;
    /**
     * A Redis Cluster member: `cluster-enabled yes`, the bus on tlsPort + 10000 (RedisCluster sets it
     * and forms the cluster). Needs `cluster` (TLS on the bus) and no `replicaSet.primary`.
     * @default false
     */
    clusterNode?: boolean;
    /**
     * The server, "redis" or "valkey": the defaults of redisConfPath, serviceName, redisGroup and
     * adminSocket, and the CLI the host scripts use.
     * @default "redis"
     */
    flavor?: Flavor;
    /**
     * The distro's redis.conf, which gets one `include` line for the drop-in, kept last.
     * @default "/etc/redis/redis.conf" ("/etc/valkey/valkey.conf" for valkey)
     */
    redisConfPath?: string;
    /**
     * systemd unit restarted when the config changes.
     * @default "redis-server"
     */
    serviceName?: string;
    /**
     * Group of the Redis service, which may read the drop-in.
     * @default "redis"
     */
    redisGroup?: string;
}

export const CONFIG_DEFAULTS = {
    tlsPort: 6379,
    plaintextPort: 0,
    bind: ["*", "-::*"],
    tlsDir: DEFAULT_TLS_DIR,
    authClients: "yes",
    replication: true,
    cluster: true,
    protocols: ["TLSv1.2", "TLSv1.3"],
    adminSocket: "/run/redis/redis-server.sock",
    redisConfPath: "/etc/redis/redis.conf",
    serviceName: "redis-server",
    redisGroup: "redis",
    clientLogin: "password",
} as const;

/** The defaults that depend on the flavor (Debian's names for each server). */
export function configDefaults(flavor: string | undefined) {
    const f = flavorOf(flavor);
    return { ...CONFIG_DEFAULTS, adminSocket: f.adminSocket, redisConfPath: f.redisConfPath, serviceName: f.serviceName, redisGroup: f.group };
}

/** Validates RedisTlsConfig args; returns every problem found. */
export function validateRedisTlsConfigArgs(args: RedisTlsConfigArgs): string[] {
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    if (args.flavor !== undefined) problems.push(checkOneOf("flavor", args.flavor, FLAVOR_NAMES));
    const CONFIG_DEFAULTS = configDefaults(args.flavor);
    const tlsPort = args.tlsPort ?? CONFIG_DEFAULTS.tlsPort;
    const plaintextPort = args.plaintextPort ?? CONFIG_DEFAULTS.plaintextPort;
    const authClients = args.authClients ?? CONFIG_DEFAULTS.authClients;
    const tlsPortProblem = checkPort("tlsPort", tlsPort);
    problems.push(tlsPortProblem);
    if (plaintextPort !== 0) {
        problems.push(checkPort("plaintextPort", plaintextPort));
        if (plaintextPort === tlsPort) {
            problems.push(`[plaintextPort] ${plaintextPort} is also tlsPort; use another port, or 0 to turn plaintext off`);
        } else if (authClients === "yes") {
            problems.push(
                `[plaintextPort] ${plaintextPort} would accept clients without the certificate authClients "yes" demands; set plaintextPort 0, or authClients "optional" for a migration (clients then log in as ACL users)`,
            );
        }
    }
    const cluster = args.cluster ?? CONFIG_DEFAULTS.cluster;
    if (cluster && tlsPortProblem === undefined && tlsPort + 10000 > 65535) {
        problems.push(`[tlsPort] ${tlsPort} leaves no room for the cluster bus port (tlsPort + 10000); use a port up to 55535 or set cluster false`);
    }
    const bind = args.bind ?? CONFIG_DEFAULTS.bind;
    if (bind.length === 0) {
        problems.push(`[bind] [] listens nowhere; give addresses such as ["*", "-::*"]`);
    }
    for (const b of bind) {
        if (!/^-?[A-Za-z0-9.:*%]+$/.test(b)) {
            problems.push(`[bind] ${show(b)} is not an address Redis can bind; use an IP, "*" or "-::*"`);
        }
    }
    for (const field of ["tlsDir", "redisConfPath"] as const) {
        problems.push(checkAbsolutePath(field, args[field] ?? CONFIG_DEFAULTS[field]));
    }
    const socket = args.adminSocket ?? CONFIG_DEFAULTS.adminSocket;
    if (socket !== "") problems.push(checkAbsolutePath("adminSocket", socket));
    const adminUser = args.adminUser ?? ACL_DEFAULTS.adminUser;
    const reloadUser = args.reloadUser ?? RELOAD_DEFAULTS.user;
    const aclUser = args.aclUser ?? ACL_DEFAULTS.aclUser;
    problems.push(checkAclUser("adminUser", adminUser), checkAclUser("reloadUser", reloadUser), checkAclUser("aclUser", aclUser));
    if (adminUser === reloadUser) {
        problems.push(`[reloadUser] ${show(reloadUser)} is also adminUser; give the reload identity its own name`);
    }
    if (aclUser === adminUser || aclUser === reloadUser) {
        problems.push(`[aclUser] ${show(aclUser)} is also ${aclUser === adminUser ? "adminUser" : "reloadUser"}; give the ACL identity its own name`);
    }
    const clientLogin = args.clientLogin ?? CONFIG_DEFAULTS.clientLogin;
    problems.push(checkOneOf("clientLogin", clientLogin, CLIENT_LOGINS));
    const reserved = [adminUser, reloadUser, aclUser];
    if (args.replicaSet !== undefined) {
        const replicationUser = args.replicaSet.user ?? REPLICATION_DEFAULTS.user;
        problems.push(...checkReplicaSet("replicaSet", args.replicaSet, { host: args.connection.host, tlsPort }));
        if (reserved.includes(replicationUser)) {
            problems.push(`[replicaSet.user] ${show(replicationUser)} is also one of redis-tls's other users (${reserved.join(", ")}); give the replication identity its own name`);
        }
        if (!(args.replication ?? CONFIG_DEFAULTS.replication)) {
            problems.push(`[replication] false with a replicaSet: replicas would connect in plaintext to a server that has no plaintext port; leave replication true`);
        }
        reserved.push(replicationUser);
        const sentinel = args.replicaSet.sentinel;
        if (sentinel !== undefined) {
            const sentinelUser = sentinel.user ?? SENTINEL_DEFAULTS.user;
            problems.push(...checkSentinel("replicaSet.sentinel", sentinel, { tlsPort, sshPort: args.connection.port ?? 22 }));
            if (reserved.includes(sentinelUser)) {
                problems.push(`[replicaSet.sentinel.user] ${show(sentinelUser)} is also one of redis-tls's other users (${reserved.join(", ")}); give the sentinel identity its own name`);
            }
            if (args.clusterNode) problems.push(`[replicaSet.sentinel] is set on a cluster member; a Redis Cluster fails over by itself, without Sentinel`);
            if (args.keyFilePass !== undefined) problems.push(`[replicaSet.sentinel] is set with keyFilePass; Sentinel would need the pass phrase in its own file, so leave keyFilePass unset`);
            reserved.push(sentinelUser);
        }
    }
    problems.push(...checkAclUsers("users", args.users ?? [], { reserved, login: clientLogin }));
    if (args.clusterNode) {
        if (typeof args.connection.host === "string" && net.isIP(args.connection.host) === 0) {
            problems.push(`[connection.host] ${show(args.connection.host)} is not an IP address; a cluster member announces the address it is reached at, and clients verify it: give the member's IP`);
        }
        if (!cluster) problems.push(`[cluster] false on a cluster member: the bus would be plaintext; leave cluster true`);
        if (args.replicaSet?.primary !== undefined) {
            problems.push(`[replicaSet.primary] is set on a cluster member, where Redis refuses replicaof; a cluster replica follows its primary by CLUSTER REPLICATE (RedisCluster's replicaOf)`);
        }
        if (plaintextPort !== 0 && plaintextPort === tlsPort + 10000) {
            problems.push(`[plaintextPort] ${plaintextPort} is the cluster bus port (tlsPort + 10000); use another port, or 0`);
        }
    }
    problems.push(checkOneOf("authClients", authClients, AUTH_CLIENTS));
    const protocols = args.protocols ?? CONFIG_DEFAULTS.protocols;
    if (protocols.length === 0) {
        problems.push(`[protocols] [] allows no TLS version; use ["TLSv1.2", "TLSv1.3"] or ["TLSv1.3"]`);
    }
    protocols.forEach((p) => problems.push(checkOneOf("protocols", p, TLS_PROTOCOLS)));
    if (typeof args.keyFilePass === "string") problems.push(checkKeyFilePass("keyFilePass", args.keyFilePass));
    problems.push(checkServiceName("serviceName", args.serviceName ?? CONFIG_DEFAULTS.serviceName));
    problems.push(checkUnixName("redisGroup", args.redisGroup ?? CONFIG_DEFAULTS.redisGroup));
    return found(problems);
}

/**
 * The `users` section of a config install: the applications' users.acl lines, each password hash
 * checked when it resolves (with password login every user needs one; with certificate login none
 * is stored).
 */
export function appUsersSection(component: string, users: AclUserArgs[], clientLogin: ClientLogin): pulumi.Output<string> {
    return pulumi.all(users.map((u) => pulumi.output(u.passwordHash))).apply((hashes) =>
        renderAppUsers(
            users.map((u, i) => {
                const passwordHash = clientLogin === "password" ? hashes[i] : undefined;
                if (clientLogin === "password") {
                    assertValid(component, found([
                        passwordHash === undefined
                            ? `[users[${i}].passwordHash] resolved to nothing; with clientLogin "password" pass RedisClientCertificate.passwordHash of a password-login identity`
                            : checkPasswordHash(`users[${i}].passwordHash`, passwordHash),
                    ]));
                }
                return { name: u.name, rules: u.rules, passwordHash };
            }),
        ),
    );
}

/** A membership with its password and primary checked when they resolve. */
function resolvedReplicaSet(component: string, rs: ReplicaSetArgs | undefined): pulumi.Output<ResolvedReplicaSet> | undefined {
    if (rs === undefined) return undefined;
    const primary = rs.primary;
    return pulumi
        .all([
            checked(component, rs.password, (p) => [checkReplicationPassword("replicaSet.password", p)]),
            primary === undefined ? undefined : checked(component, primary.host, (h) => [checkServerAddress("replicaSet.primary.host", h)]),
            rs.sentinel === undefined ? undefined : checked(component, rs.sentinel.password, (p) => [checkReplicationPassword("replicaSet.sentinel.password", p)]),
        ])
        .apply(([password, host, sentinelPassword]) => ({
            user: rs.user ?? REPLICATION_DEFAULTS.user,
            password,
            ...(host === undefined ? {} : { primary: { host, port: primary!.port ?? CONFIG_DEFAULTS.tlsPort } }),
            ...(sentinelPassword === undefined ? {} : { sentinel: { user: rs.sentinel!.user ?? SENTINEL_DEFAULTS.user, password: sentinelPassword } }),
        }));
}

/**
 * The TLS part of redis.conf as a drop-in included last from the distro's file, with the ACL users
 * that make a certificate an identity rather than an admin key, installed on the host. Redis is
 * restarted only when the drop-in, the users or the include changed.
 */
export class RedisTlsConfig extends pulumi.ComponentResource {
    /** The rendered drop-in (secret when it carries tls-key-file-pass). */
    public readonly rendered: pulumi.Output<string>;
    /** "restarted redis-server" or "unchanged", as the install step reported. */
    public readonly applied: pulumi.Output<string>;

    constructor(name: string, args: RedisTlsConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        const component = `RedisTlsConfig ${name}`;
        assertValid(component, validateRedisTlsConfigArgs(args));
        super("redis-tls:index:RedisTlsConfig", name, visibleArgs(args), opts);

        const CONFIG_DEFAULTS = configDefaults(args.flavor);
        const flavor = flavorOf(args.flavor);
        const clientLogin = args.clientLogin ?? CONFIG_DEFAULTS.clientLogin;
        const socket = args.adminSocket ?? CONFIG_DEFAULTS.adminSocket;
        const tlsDir = args.tlsDir ?? CONFIG_DEFAULTS.tlsDir;
        const values = {
            tlsPort: args.tlsPort ?? CONFIG_DEFAULTS.tlsPort,
            plaintextPort: args.plaintextPort ?? CONFIG_DEFAULTS.plaintextPort,
            bind: [...(args.bind ?? CONFIG_DEFAULTS.bind)],
            tlsDir,
            authClients: args.authClients ?? CONFIG_DEFAULTS.authClients,
            replication: args.replication ?? CONFIG_DEFAULTS.replication,
            cluster: args.cluster ?? CONFIG_DEFAULTS.cluster,
            protocols: [...(args.protocols ?? CONFIG_DEFAULTS.protocols)],
            adminSocket: socket === "" ? undefined : socket,
            clientLogin,
            clusterNode: args.clusterNode ?? false,
        };
        const group = args.redisGroup ?? CONFIG_DEFAULTS.redisGroup;
        const replicaSet = resolvedReplicaSet(component, args.replicaSet);
        // A cluster member announces the address its certificate names, whatever interface a peer met it on.
        const announceIp = values.clusterNode ? checked(component, args.connection.host, (h) => [checkIpAddress("connection.host", h)]) : undefined;
        const resolved = pulumi
            .all([args.keyFilePass === undefined ? undefined : checked(component, args.keyFilePass, (p) => [checkKeyFilePass("keyFilePass", p)]), replicaSet, announceIp])
            .apply(([keyFilePass, rs, clusterAnnounceIp]) => renderRedisTlsConf({ ...values, keyFilePass, replicaSet: rs, clusterAnnounceIp }));
        // Secret when it carries a pass phrase or the replication password.
        const rendered = args.keyFilePass !== undefined || replicaSet !== undefined ? pulumi.secret(resolved) : resolved;

        const appUsers = appUsersSection(component, args.users ?? [], clientLogin);
        const users =
            replicaSet === undefined
                ? appUsers
                : pulumi
                      .all([replicaSet, appUsers])
                      .apply(
                          ([rs, u]) =>
                              renderReplicationUser(rs.user, createHash("sha256").update(rs.password).digest("hex")) +
                              (rs.sentinel === undefined ? "" : renderSentinelDataUser(rs.sentinel.user, rs.sentinel.password)) +
                              u,
                      );
        const install = new command.remote.Command(
            `${name}-install`,
            {
                connection: toCommandConnection(args.connection, this),
                create: asRoot(
                    renderInstallConfScript({
                        tlsDir,
                        redisConfPath: args.redisConfPath ?? CONFIG_DEFAULTS.redisConfPath,
                        serviceName: args.serviceName ?? CONFIG_DEFAULTS.serviceName,
                        group,
                        adminUser: args.adminUser ?? ACL_DEFAULTS.adminUser,
                        reloadUser: socket === "" ? undefined : args.reloadUser ?? RELOAD_DEFAULTS.user,
                        aclUser: socket === "" ? undefined : args.aclUser ?? ACL_DEFAULTS.aclUser,
                        socket: socket === "" ? undefined : socket,
                        server: flavor.server,
                        cli: flavor.cli,
                        clientLogin,
                    }),
                    args.connection.user,
                ),
                stdin: pulumi.all([rendered, users]).apply(([dropin, u]) => encodeSections({ dropin, users: u })),
                logging: "stdoutAndStderr",
            },
            // Children do not inherit the component's dependsOn; the files it names must exist first.
            { parent: this, dependsOn: opts?.dependsOn },
        );

        this.rendered = rendered;
        this.applied = install.stdout;
        this.registerOutputs({ rendered: this.rendered, applied: this.applied });
    }
}
