import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import { checkPort, checkUnixName, Problem, show } from "./validation/fields";

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
}

const DEFAULT_SSH_PORT = 22;
const DEFAULT_SSH_USER = "root";

/** The `@pulumi/command` connection for these args, with the key marked secret by us. */
export function toCommandConnection(c: SshConnectionArgs): command.types.input.remote.ConnectionArgs {
    return {
        host: c.host,
        port: c.port ?? DEFAULT_SSH_PORT,
        user: c.user ?? DEFAULT_SSH_USER,
        privateKey: pulumi.secret(c.privateKey),
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
    return problems;
}

/** Quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs a rendered host script with bash as root for the given login user.
 * The login shell may be dash, which lacks `pipefail`, so the script always goes to bash. It goes as
 * a quoted here-document, so `pulumi preview` shows it verbatim, and stdin stays free for data.
 */
export function asRoot(script: string, user: string | undefined): string {
    const bash = `/bin/bash -c "$(cat <<'${SCRIPT_END}'\n${script.trimEnd()}\n${SCRIPT_END}\n)"`;
    return (user ?? DEFAULT_SSH_USER) === "root" ? bash : `sudo -n ${bash}`;
}

const SCRIPT_END = "REDIS_TLS_SCRIPT";
