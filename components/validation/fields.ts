import * as net from "node:net";
import * as path from "node:path";
import { DEFAULT_TLS_DIR } from "../host/layout";

/**
 * Field validators shared by every component. Each returns the problem as one message in the
 * house style (`[field] "value" is wrong because ...; the fix`) or `undefined` when the value is fine.
 * They run before any resource is created, so bad input fails at `pulumi preview`.
 */
export type Problem = string | undefined;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** Quotes a user value for a message, so empty strings and whitespace stay visible. */
export function show(value: unknown): string {
    return JSON.stringify(value) ?? String(value);
}

/** A DNS name a server certificate may carry: no wildcard, no trailing dot, RFC 1123 labels. */
export function checkDnsName(field: string, name: string): Problem {
    if (name === "") {
        return `[${field}] "" is empty; give a host name such as "redis-1.example.internal"`;
    }
    if (name.startsWith("*")) {
        return `[${field}] ${show(name)} is a wildcard; a Redis server certificate names its own host, so list each name`;
    }
    if (name.endsWith(".")) {
        return `[${field}] ${show(name)} ends with a dot; drop the trailing dot`;
    }
    if (net.isIP(name) !== 0) {
        return `[${field}] ${show(name)} is an IP address; put it in ipAddresses`;
    }
    if (name.length > 253) {
        return `[${field}] ${show(name.slice(0, 20) + "...")} is ${name.length} characters long; a DNS name has at most 253`;
    }
    const long = name.split(".").find((label) => label.length > 63);
    if (long !== undefined) {
        return `[${field}] ${show(name)} has a label of ${long.length} characters; a DNS label has at most 63`;
    }
    if (!name.split(".").every((label) => LABEL.test(label))) {
        return `[${field}] ${show(name)} is not a valid DNS name; use letters, digits and hyphens, with no hyphen at either end of a label`;
    }
    return undefined;
}

/** Where a client connects, or the name it verifies: a DNS name or a literal IP address. */
export function checkServerAddress(field: string, value: string): Problem {
    return net.isIP(value) !== 0 ? checkIpAddress(field, value) : checkDnsName(field, value);
}

/** A literal IPv4 or IPv6 address, not a network and not the unspecified address. */
export function checkIpAddress(field: string, ip: string): Problem {
    if (ip.includes("/")) {
        return `[${field}] ${show(ip)} is a network; give the host's own address without a prefix length`;
    }
    if (ip.includes("%")) {
        return `[${field}] ${show(ip)} has an IPv6 zone id, which certificates cannot carry; give the address without "%..."`;
    }
    if (net.isIP(ip) === 0) {
        return `[${field}] ${show(ip)} is not an IP address; use dotted IPv4 such as "10.0.0.5" or IPv6 such as "fd00::5"`;
    }
    if (ip === "0.0.0.0" || ip === "::") {
        return `[${field}] ${show(ip)} is the unspecified address; clients cannot connect to it, give the host's real address`;
    }
    return undefined;
}

/** A TCP port number. */
export function checkPort(field: string, port: number): Problem {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        return `[${field}] ${show(port)} is not a TCP port; use a whole number from 1 to 65535`;
    }
    return undefined;
}

/**
 * An absolute path safe to write into redis.conf and shell scripts. Redis resolves relative paths
 * against its working directory, which differs between the service and a shell, so only absolute paths.
 */
export function checkAbsolutePath(field: string, p: string): Problem {
    if (!p.startsWith("/")) {
        return `[${field}] ${show(p)} is a relative path; give an absolute path such as "${DEFAULT_TLS_DIR}/${path.basename(p) || "file"}"`;
    }
    if (!/^\/[A-Za-z0-9._/@+-]*$/.test(p)) {
        return `[${field}] ${show(p)} has characters redis.conf and the host scripts cannot carry safely; use letters, digits and . _ - + @ /`;
    }
    if (p.split("/").includes("..")) {
        return `[${field}] ${show(p)} contains ".."; give the resolved absolute path`;
    }
    // One spelling per file: "/x//a" and "/x/./a" would pass a distinct-files check yet be "/x/a".
    if (p !== "/" && (p.includes("//") || p.endsWith("/") || p.split("/").includes("."))) {
        return `[${field}] ${show(p)} is not in normal form; write it as ${show(normalPath(p))}`;
    }
    return undefined;
}

/** The path with empty and "." segments and a trailing slash removed. */
export function normalPath(p: string): string {
    return "/" + p.split("/").filter((s) => s !== "" && s !== ".").join("/");
}

/** A whole number of hours greater than zero. */
export function checkHours(field: string, hours: number): Problem {
    if (!Number.isInteger(hours) || hours <= 0) {
        return `[${field}] ${show(hours)} is not a positive whole number of hours; use e.g. 720 for 30 days`;
    }
    return undefined;
}

/** One of a fixed set of strings. */
export function checkOneOf(field: string, value: string, allowed: readonly string[]): Problem {
    if (!allowed.includes(value)) {
        return `[${field}] ${show(value)} is not supported; use one of ${allowed.map((a) => show(a)).join(", ")}`;
    }
    return undefined;
}

/** A POSIX user or group name as useradd accepts it. */
export function checkUnixName(field: string, name: string): Problem {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) {
        return `[${field}] ${show(name)} is not a valid user or group name; use lower-case letters, digits, "_" and "-", starting with a letter`;
    }
    return undefined;
}

/** A systemd service name without the `.service` suffix. */
export function checkServiceName(field: string, name: string): Problem {
    if (name.endsWith(".service")) {
        return `[${field}] ${show(name)} includes ".service"; give the unit name without it, e.g. "redis-server"`;
    }
    if (name.startsWith("-")) {
        return `[${field}] ${show(name)} starts with "-", which systemctl would read as an option; give the unit's name, e.g. "redis-server"`;
    }
    if (!/^[A-Za-z0-9:_.@-]+$/.test(name)) {
        return `[${field}] ${show(name)} is not a valid systemd unit name; use letters, digits and ":-_.@"`;
    }
    return undefined;
}

/** A pass phrase that redis.conf (double-quoted) and openssl (one line of stdin) both carry intact. */
export function checkKeyFilePass(field: string, pass: string): Problem {
    if (pass === "" || /[\x00-\x1f\x7f]/.test(pass)) {
        return `[${field}] must be a non-empty single line without control characters; leave it unset for an unencrypted key`;
    }
    return undefined;
}

/** An SSH host public key as authorized_keys and `ssh-keyscan` print it: "ssh-ed25519 AAAA...". */
export function checkHostKey(field: string, key: string): Problem {
    if (!/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$/.test(key.trim())) {
        return `[${field}] ${show(key.length > 40 ? key.slice(0, 40) + "..." : key)} is not an SSH host key; give one line of ssh-keyscan -t ed25519 HOST without the host name, e.g. "ssh-ed25519 AAAAC3..."`;
    }
    return undefined;
}

/** An ACL user name that redis.conf and the host scripts carry unquoted. */
export function checkAclUser(field: string, name: string): Problem {
    if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name)) {
        return `[${field}] ${show(name)} is not an ACL user name this library accepts; use lower-case letters, digits, "_" and "-", starting with a letter`;
    }
    if (name === "default") {
        return `[${field}] "default" is Redis's own user, which redis-tls keeps off; choose another name`;
    }
    return undefined;
}

/** A plain string that must look like one or more PEM blocks of the given label. */
export function checkPem(field: string, pem: string, label: "CERTIFICATE" | "PRIVATE KEY"): Problem {
    const blocks = pem.match(/-----BEGIN ([A-Z0-9 ]+)-----/g) ?? [];
    if (blocks.length === 0) {
        return `[${field}] is not PEM; give the ${label === "CERTIFICATE" ? "certificate" : "private key"} as "-----BEGIN ${label}-----" text`;
    }
    const wrong = blocks.find((b) => (label === "CERTIFICATE" ? b !== "-----BEGIN CERTIFICATE-----" : !b.includes("PRIVATE KEY")));
    if (wrong !== undefined) {
        const what = wrong.includes("PRIVATE KEY") ? "a private key" : show(wrong.slice(11, -5));
        return `[${field}] contains ${what}; give only ${label === "CERTIFICATE" ? "certificates" : "the private key"} here`;
    }
    return undefined;
}

/** Reports the first duplicate in a list. */
export function checkUnique(field: string, values: readonly string[]): Problem {
    const seen = new Set<string>();
    for (const v of values) {
        const key = v.toLowerCase();
        if (seen.has(key)) {
            return `[${field}] ${show(v)} is listed twice; list each value once`;
        }
        seen.add(key);
    }
    return undefined;
}

/** An https URL a host script can carry: host (name, IPv4 or [IPv6]), port and a plain path only. */
export function checkHttpsUrl(field: string, url: string, what: string): Problem {
    if (!/^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/.test(url)) {
        return `[${field}] ${show(url)} is not an https URL; give ${what}`;
    }
    return undefined;
}

/** The problems actually found, without the `undefined`s of checks that passed. */
export function found(problems: Problem[]): string[] {
    return problems.filter((p): p is string => p !== undefined);
}

/** Thrown when arguments fail validation; its message lists every problem, one per line. */
export class ValidationError extends Error {
    constructor(
        component: string,
        public readonly problems: string[],
    ) {
        super(`${component}: invalid arguments:\n  ${problems.join("\n  ")}`);
        this.name = "ValidationError";
    }
}

/** Throws a ValidationError naming the component if any problem was found. */
export function assertValid(component: string, problems: Problem[]): void {
    const real = found(problems);
    if (real.length > 0) {
        throw new ValidationError(component, real);
    }
}
