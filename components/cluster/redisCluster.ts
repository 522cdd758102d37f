import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { visibleArgs } from "../visibleArgs";
import { makeAclPassword } from "../client/redisClientCertificate";
import { ACL_DEFAULTS } from "../config/acl";
import { CONFIG_DEFAULTS, configDefaults } from "../config/redisTlsConfig";
import { asRoot, toCommandConnection } from "../connection";
import { encodeSections } from "../host/shell";
import { flavorOf } from "../server/flavor";
import { assertRedisTlsServerArgs, RedisTlsServer, RedisTlsServerArgs, SERVER_DEFAULTS } from "../server/redisTlsServer";
import { assertValid, checkUnique, found, Problem, show } from "../validation/fields";
import { BUS_PORT_OFFSET, renderClusterJoinScript, slotRange } from "./scripts";

/** One node of a cluster: its name, its server, and (on a replica) its primary's name. */
export interface RedisClusterMemberArgs {
    /** The member's name: its resources are `<cluster>-<name>`. Lower-case letters, digits and "-". */
    name: string;
    /**
     * The member's server, as RedisTlsServer takes it; RedisCluster sets `clusterNode`, `replicaSet`
     * and `authClients`, and members are issued by the CA in state or an organisation CA.
     */
    server: RedisTlsServerArgs;
    /** The `name` of the primary this member replicates; unset: a primary, which serves its share of the slots. */
    replicaOf?: string;
}

export interface RedisClusterArgs {
    /**
     * Every node: at least three primaries, and any number of replicas. Each `server.connection.host` is an
     * IP (CLUSTER MEET takes addresses) that its certificate names in `ipAddresses`, since a cluster
     * sends clients to a node by its address and they verify it.
     */
    members: RedisClusterMemberArgs[];
    /** The replication password (secret); made once when not given. */
    replicationPassword?: pulumi.Input<string>;
}

/** A node as clients reach it. */
export interface ClusterNode {
    /** The node's address (what the cluster sends clients to). */
    host: string;
    /** Its TLS port. */
    port: number;
    /** The name its certificate is verified for. */
    serverName: string;
    /** On a replica, its primary's member name. */
    replicaOf?: string;
}

/** The topology problems of a cluster, found before anything is created. */
export function validateRedisClusterArgs(args: RedisClusterArgs): string[] {
    const m = args.members;
    const problems: Problem[] = [];
    const primaries = m.filter((x) => x.replicaOf === undefined);
    if (primaries.length < 3) {
        problems.push(`[members] has ${primaries.length} primar${primaries.length === 1 ? "y" : "ies"}; Redis Cluster needs at least 3 to agree on a failover: add primaries (members without replicaOf)`);
    }
    problems.push(checkUnique("members[].name", m.map((x) => x.name)));
    problems.push(checkUnique("members[].server.connection.host", m.flatMap((x) => (typeof x.server.connection.host === "string" ? [x.server.connection.host] : []))));
    m.forEach((x, i) => {
        const at = `members[${i}]`;
        if (!/^[a-z][a-z0-9-]{0,30}$/.test(x.name)) problems.push(`[${at}.name] ${show(x.name)} is not a member name; use lower-case letters, digits and "-", starting with a letter`);
        if (x.replicaOf !== undefined) {
            const p = m.find((y) => y.name === x.replicaOf);
            if (x.replicaOf === x.name) problems.push(`[${at}.replicaOf] ${show(x.replicaOf)} is this member itself; name its primary`);
            else if (p === undefined) problems.push(`[${at}.replicaOf] ${show(x.replicaOf)} is not a member's name; name one of ${JSON.stringify(primaries.map((y) => y.name))}`);
            else if (p.replicaOf !== undefined) problems.push(`[${at}.replicaOf] ${show(x.replicaOf)} is itself a replica; name a primary: ${JSON.stringify(primaries.map((y) => y.name))}`);
        }
        const server = x.server;
        const owned: Array<[keyof RedisTlsServerArgs, string]> = [
            ["replicaSet", "is RedisCluster's to set (every member gets the cluster's replication login); leave it unset, and use replicaOf for a replica"],
            ["clusterNode", "is RedisCluster's to set; leave it unset"],
            ["authClients", `is RedisCluster's to set ("optional": applications present no certificate, since one of the cluster's CA would open the bus); leave it unset`],
            ["acme", "cannot issue a cluster member: members verify each other against the CA they trust for clients; use the CA in state or your organisation's CA"],
            ["step", "cannot issue a cluster member: members verify each other against the CA they trust for clients; use the CA in state or your organisation's CA"],
        ];
        for (const [field, why] of owned) if (server[field] !== undefined) problems.push(`[${at}.server.${field}] ${why}`);
        const host = server.connection.host;
        if (typeof host === "string") {
            if (net.isIP(host) === 0) {
                problems.push(`[${at}.server.connection.host] ${show(host)} is not an IP address; CLUSTER MEET and the cluster's redirects use addresses: give the member's IP`);
            } else if (!(server.ipAddresses ?? []).includes(host)) {
                problems.push(`[${at}.server.ipAddresses] ${show(server.ipAddresses ?? [])} does not hold ${show(host)}; the cluster sends clients to this member by that address and they verify it: add it`);
            }
        }
        const tlsPort = server.tlsPort ?? CONFIG_DEFAULTS.tlsPort;
        const ssh = server.connection.port ?? 22;
        if (ssh === tlsPort + BUS_PORT_OFFSET) {
            problems.push(`[${at}.server.tlsPort] ${tlsPort} puts the cluster bus (tlsPort + ${BUS_PORT_OFFSET}) on the SSH port ${ssh}; use another tlsPort`);
        }
        if ((server.clientLogin ?? CONFIG_DEFAULTS.clientLogin) === "certificate") {
            problems.push(`[${at}.server.clientLogin] "certificate" needs application certificates from the cluster's CA, and any certificate of that CA opens the cluster bus; use "password"`);
        }
    });
    return found(problems);
}

/**
 * A Redis Cluster over TLS: every member a RedisTlsServer with `cluster-enabled`, the bus on TLS port +
 * 10000 taking only certificates of the members' CA, then a join step per member over its own root-only
 * socket (meet the first primary, take a share of the 16384 slots, or follow a primary) and, last, one
 * on the first primary that waits for `cluster_state:ok`. Clients log in with ACL passwords and present
 * no certificate: any certificate of the CA would open the bus (see cluster/scripts.ts).
 */
export class RedisCluster extends pulumi.ComponentResource {
    /** Every node as clients reach it: give these to a cluster client (ioredis Cluster, redis-py RedisCluster). */
    public readonly nodes: pulumi.Output<ClusterNode[]>;
    /** The root the members' certificates chain to: what clients verify against. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** What the first primary saw at the end: "cluster_state:ok with N nodes". */
    public readonly state: pulumi.Output<string>;

    constructor(name: string, args: RedisClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        assertValid(`RedisCluster ${name}`, validateRedisClusterArgs(args));
        const pending = "0".repeat(64);
        const memberArgs = (x: RedisClusterMemberArgs, password: pulumi.Input<string>): RedisTlsServerArgs => ({
            ...x.server, clusterNode: true, authClients: "optional", replicaSet: { password },
        });
        for (const x of args.members) assertRedisTlsServerArgs(`${name}-${x.name}`, memberArgs(x, pending));
        super("redis-tls:index:RedisCluster", name, visibleArgs(args), opts);

        const password = args.replicationPassword ?? makeAclPassword(`${name}-replication-password`, { parent: this }).password;
        const servers = args.members.map((x) => new RedisTlsServer(`${name}-${x.name}`, memberArgs(x, password), { parent: this }));
        const primaries = args.members.filter((x) => x.replicaOf === undefined);
        const at = (x: RedisClusterMemberArgs) => pulumi.interpolate`${x.server.connection.host} ${x.server.tlsPort ?? CONFIG_DEFAULTS.tlsPort}`;
        const seed = primaries[0];
        const join = (m: RedisClusterMemberArgs, sections: Record<string, pulumi.Input<string>>, dependsOn: pulumi.Resource[]) => {
            const x = m.server;
            const socket = x.adminSocket ?? configDefaults(x.flavor).adminSocket;
            return new command.remote.Command(
                `${name}-${m.name}-join`,
                {
                    connection: toCommandConnection(x.connection, this),
                    create: asRoot(
                        renderClusterJoinScript({ tlsDir: x.tlsDir ?? SERVER_DEFAULTS.tlsDir, socket, cli: flavorOf(x.flavor).cli, adminUser: x.adminUser ?? ACL_DEFAULTS.adminUser }),
                        x.connection.user,
                    ),
                    stdin: pulumi.all(sections).apply((s) => encodeSections(s)),
                    logging: "stdoutAndStderr",
                },
                { parent: this, dependsOn },
            );
        };
        const seedIndex = args.members.indexOf(seed);
        const shares = (x: RedisClusterMemberArgs) => {
            const k = primaries.indexOf(x);
            return k < 0 ? "" : slotRange(k, primaries.length).join(" ");
        };
        // Primaries first; a replica's step waits for its primary's server and step as well.
        const joins = new Map<RedisClusterMemberArgs, pulumi.Resource>();
        for (const x of [...primaries.filter((p) => p !== seed), ...args.members.filter((y) => y.replicaOf !== undefined)]) {
            const i = args.members.indexOf(x);
            const primary = x.replicaOf === undefined ? undefined : args.members.find((y) => y.name === x.replicaOf)!;
            const after = primary === undefined ? [] : [servers[args.members.indexOf(primary)], ...(joins.has(primary) ? [joins.get(primary)!] : [])];
            joins.set(x, join(x, { seed: at(seed), slots: shares(x), primary: primary === undefined ? "" : at(primary) }, [servers[i], servers[seedIndex], ...after]));
        }
        const joined = [...joins.values()];
        const last = join(seed, { slots: shares(seed), members: String(args.members.length) }, [servers[seedIndex], ...joined]);

        this.nodes = pulumi.all(
            args.members.map((x, i) =>
                pulumi.all([x.server.connection.host, servers[i].serverName]).apply(([host, serverName]) => ({
                    host,
                    port: x.server.tlsPort ?? CONFIG_DEFAULTS.tlsPort,
                    serverName,
                    ...(x.replicaOf === undefined ? {} : { replicaOf: x.replicaOf }),
                })),
            ),
        );
        this.rootCertPem = servers[seedIndex].serverRootCertPem;
        this.state = last.stdout.apply((s) => s.split("\n").filter((l) => l.startsWith("cluster_state")).join("\n"));
        this.registerOutputs({ nodes: this.nodes, rootCertPem: this.rootCertPem, state: this.state });
    }
}
