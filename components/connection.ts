import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import { checkHostKey, checkPort, checkUnixName, Problem, show } from "./validation/fields";
import { checked } from "./validation/outputs";

export { asRoot, shellQuote } from "./host/shell";

/** How to reach a host over SSH. */
export interface SshConnectionArgs {
    /** Address or DNS name of the host. */
    host: pulumi.Input<string>;
    /**
     * SSH port.
     * @default 22
     */
    port?: number;
    /**
     * Login user. Anyone but root runs the host scripts through `sudo -n`.
     * @default "root"
     */
    user?: string;
    /** The SSH private key (PEM or OpenSSH). Always handled as a Pulumi secret. */
    privateKey: pulumi.Input<string>;
    /**
     * The host's SSH public key, one line as `ssh-keyscan -t ed25519 HOST` prints it without the
     * host name ("ssh-ed25519 AAAA..."). Without it the provider accepts any host key, so a machine
     * on the path could answer in the host's place.
     */
    hostKey?: pulumi.Input<string>;
}

const DEFAULT_SSH_PORT = 22;
/** Hosts already warned about in this run: one warning per host, not one per component. */
const warned = new Set<string>();
const DEFAULT_SSH_USER = "root";

/**
 * The `@pulumi/command` connection for these args, with the key marked secret by us and the host
 * key checked when it resolves. Warns on `resource` when the host key is not pinned.
 */
export function toCommandConnection(c: SshConnectionArgs, resource?: pulumi.Resource): command.types.input.remote.ConnectionArgs {
    const host = typeof c.host === "string" ? c.host : undefined;
    if (c.hostKey === undefined && resource !== undefined && !(host !== undefined && warned.has(host))) {
        if (host !== undefined) warned.add(host);
        pulumi.log.warn(
            `SSH host key of ${host ?? "this host"} is not pinned (connection.hostKey): a machine on the path could receive its secrets and answer for it`,
            resource,
        );
    }
    return {
        host: c.host,
        port: c.port ?? DEFAULT_SSH_PORT,
        user: c.user ?? DEFAULT_SSH_USER,
        privateKey: pulumi.secret(c.privateKey),
        // A plain key was checked at preview; an Output is checked when it resolves.
        hostKey:
            typeof c.hostKey === "string" || c.hostKey === undefined
                ? c.hostKey?.trim()
                : checked("connection", c.hostKey, (k) => [checkHostKey("connection.hostKey", k)]).apply((k) => k.trim()),
    };
}

/** Validates the plain parts of a connection. */
export function checkConnection(field: string, c: SshConnectionArgs): Problem[] {
    const problems: Problem[] = [];
    if (typeof c.host === "string" && !/^[A-Za-z0-9.:-]+$/.test(c.host)) {
        problems.push(`[${field}.host] ${show(c.host)} is not a host name or address; give e.g. "10.0.0.5" or "redis-1.example.internal"`);
    }
    if (c.port !== undefined) {
        problems.push(checkPort(`${field}.port`, c.port));
    }
    if (c.user !== undefined) {
        problems.push(checkUnixName(`${field}.user`, c.user));
    }
    if (typeof c.hostKey === "string") {
        problems.push(checkHostKey(`${field}.hostKey`, c.hostKey));
    }
    return problems;
}
