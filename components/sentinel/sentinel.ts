import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { asRoot, SshConnectionArgs, toCommandConnection } from "../connection";
import { encodeSections } from "../host/shell";
import { checkReplicationPassword, ReplicaOfArgs } from "../replication/replicaSet";
import { CONFIG_DEFAULTS } from "../config/redisTlsConfig";
import { flavorOf } from "../server/flavor";
import { checked } from "../validation/outputs";
import { checkServerAddress } from "../validation/fields";
import {
    renderSentinelConf,
    renderSentinelInstallScript,
    renderSentinelRemoveScript,
    renderSentinelService,
    SENTINEL_DEFAULTS,
    SentinelArgs,
} from "./render";

export interface SentinelInstallArgs {
    connection: SshConnectionArgs;
    sentinel: SentinelArgs;
    /** The primary the replica set follows; unset on the primary, whose sentinel watches this server. */
    primary?: ReplicaOfArgs;
    /** This server's TLS port: what the primary's sentinel watches on the primary itself. */
    tlsPort: number;
    tlsDir: string;
    bind: string[];
    authClients: string;
    protocols: string[];
    flavor?: string;
    redisUser: string;
}

/**
 * The sentinel beside one replica set member: its config (secret: it carries the sentinels'
 * password) and units, sent on stdin to one install step that runs after the member's own config.
 */
export function installSentinel(component: string, name: string, a: SentinelInstallArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
    const s = a.sentinel;
    const primary = a.primary ?? { host: a.connection.host, port: a.tlsPort };
    const unit = { server: flavorOf(a.flavor).server, user: a.redisUser };
    const conf = pulumi
        .all([
            checked(component, primary.host, (h) => [checkServerAddress(a.primary === undefined ? "connection.host" : "replicaSet.primary.host", h)]),
            checked(component, s.password, (p) => [checkReplicationPassword("replicaSet.sentinel.password", p)]),
        ])
        .apply(([host, password]) =>
            renderSentinelConf({
                tlsDir: a.tlsDir,
                port: s.port ?? SENTINEL_DEFAULTS.port,
                bind: a.bind,
                authClients: a.authClients,
                protocols: a.protocols,
                masterName: s.masterName ?? SENTINEL_DEFAULTS.masterName,
                primary: { host, port: primary.port ?? CONFIG_DEFAULTS.tlsPort },
                quorum: s.quorum ?? SENTINEL_DEFAULTS.quorum,
                downAfterMs: s.downAfterMs ?? SENTINEL_DEFAULTS.downAfterMs,
                failoverTimeoutMs: s.failoverTimeoutMs ?? SENTINEL_DEFAULTS.failoverTimeoutMs,
                user: s.user ?? SENTINEL_DEFAULTS.user,
                password,
            }),
        );
    return new command.remote.Command(
        name,
        {
            connection: toCommandConnection(a.connection),
            create: asRoot(renderSentinelInstallScript({ tlsDir: a.tlsDir, user: a.redisUser }), a.connection.user),
            stdin: pulumi.secret(
                conf.apply((c) =>
                    encodeSections({ conf: c, service: renderSentinelService(unit) }),
                ),
            ),
            delete: asRoot(renderSentinelRemoveScript({ tlsDir: a.tlsDir }), a.connection.user),
            logging: "stdoutAndStderr",
        },
        opts,
    );
}
