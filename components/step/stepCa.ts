import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { certificatesOrThrow, fingerprint } from "../pem";
import { assertValid, checkAbsolutePath, checkDnsName, checkHours, checkIpAddress, checkPort, checkUnique, found, Problem, show } from "../validation/fields";
import { renderStepCaInitScript } from "./scripts";

/** Where StepCa signs CSRs: on its own host over SSH, with the provisioner password in a root-only file. */
export interface StepSigner {
    /** The CA host. */
    connection: SshConnectionArgs;
    /** The CA's STEPPATH on that host. */
    stepPath: string;
    /** The CA's URL as seen from its own host. */
    caUrl: string;
}

/** A step-ca to issue from: where it is, the root it must have, and where its CSRs are signed. */
export interface StepIssuer {
    /** e.g. "https://ca.internal:9443" */
    caUrl: pulumi.Input<string>;
    /** SHA-256 of the CA's root, 64 hex digits (`step certificate fingerprint root_ca.crt`). */
    rootFingerprint: pulumi.Input<string>;
    /**
     * The JWK provisioner that signs server certificates.
     * @default "redis"
     */
    provisioner?: string;
    /**
     * The provisioner's password (secret): CSRs are then signed on the machine running Pulumi by
     * the `step` CLI (`stepCli`), the password on its stdin. Give this or `signer`.
     */
    provisionerPassword?: pulumi.Input<string>;
    /** Sign on the CA's own host over SSH instead, where the password is a root-only file (StepCa sets this). */
    signer?: StepSigner;
    /**
     * The `step` CLI where Pulumi runs (with `provisionerPassword`).
     * @default "step"
     */
    stepCli?: string;
}

export interface StepCaArgs {
    /** The CA host, over SSH; `step` and `step-ca` must be installed there. */
    connection: SshConnectionArgs;
    /**
     * The CA's name, in its root's and intermediate's subjects.
     * @default "Redis"
     */
    name?: string;
    /** DNS names clients reach the CA by; the first is in caUrl. */
    dnsNames?: string[];
    /** IP addresses clients reach the CA by (used in caUrl when there is no DNS name). */
    ipAddresses?: string[];
    /**
     * The CA's HTTPS port.
     * @default 9443
     */
    port?: number;
    /**
     * Name of the JWK provisioner that signs Redis certificates.
     * @default "redis"
     */
    provisioner?: string;
    /**
     * Default and maximum lifetime of certificates from that provisioner.
     * @default 720 (as the smallstep recipe)
     */
    validityHours?: number;
    /**
     * Also add an ACME provisioner "acme" (directory `<caUrl>/acme/acme/directory`).
     * @default false
     */
    acme?: boolean;
    /**
     * step-ca's STEPPATH on the CA host (root-owned, group step, 0750).
     * @default "/etc/step-ca"
     */
    stepPath?: string;
}

export const STEP_CA_DEFAULTS = { name: "Redis", port: 9443, provisioner: "redis", validityHours: 720, stepPath: "/etc/step-ca" } as const;

/** A provisioner name as step-ca takes it on its command line and in ca.json. */
export function checkProvisionerName(field: string, name: string): Problem {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(name)) {
        return `[${field}] ${show(name)} is not a provisioner name this library accepts; use letters, digits, ".", "_", "@" and "-"`;
    }
    return undefined;
}

/** Validates StepCa args; returns every problem found. */
export function validateStepCaArgs(args: StepCaArgs): string[] {
    const dns = args.dnsNames ?? [];
    const ips = args.ipAddresses ?? [];
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    if (dns.length === 0 && ips.length === 0) {
        problems.push(`[dnsNames] [] and [ipAddresses] [] are both empty; give the name or address Redis hosts reach the CA by`);
    }
    dns.forEach((d) => problems.push(checkDnsName("dnsNames", d)));
    ips.forEach((ip) => problems.push(checkIpAddress("ipAddresses", ip)));
    problems.push(checkUnique("dnsNames", dns), checkUnique("ipAddresses", ips));
    const name = args.name ?? STEP_CA_DEFAULTS.name;
    if (!/^[A-Za-z0-9]([A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$/.test(name)) {
        problems.push(`[name] ${show(name)} is not a CA name this library accepts; use letters, digits, spaces (not at the end), ".", "_" and "-"`);
    }
    problems.push(checkPort("port", args.port ?? STEP_CA_DEFAULTS.port));
    problems.push(checkProvisionerName("provisioner", args.provisioner ?? STEP_CA_DEFAULTS.provisioner));
    problems.push(checkHours("validityHours", args.validityHours ?? STEP_CA_DEFAULTS.validityHours));
    problems.push(checkAbsolutePath("stepPath", args.stepPath ?? STEP_CA_DEFAULTS.stepPath));
    return found(problems);
}

/**
 * A step-ca stood up on a host, as smallstep's recipe does: `step ca init`, the JWK provisioner
 * `redis` issuing 720h certificates, a `step-ca` unit. Its passwords are made on the CA host and
 * never leave it: CSRs are signed there (`issuer.signer`), so no provisioner password reaches a
 * Redis host or Pulumi state.
 */
export class StepCa extends pulumi.ComponentResource {
    /** `https://<first DNS name or IP>:<port>` */
    public readonly caUrl: pulumi.Output<string>;
    /** The CA's root, as its host printed it after `step ca init`. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** SHA-256 of the root, 64 lower-case hex digits. */
    public readonly rootFingerprint: pulumi.Output<string>;
    /** The ACME directory, when `acme` is set. */
    public readonly acmeDirectoryUrl: pulumi.Output<string | undefined>;
    /** What StepCertificate (or RedisTlsServer's `step`) takes to issue from this CA. */
    public readonly issuer: StepIssuer;

    constructor(name: string, args: StepCaArgs, opts?: pulumi.ComponentResourceOptions) {
        assertValid(`StepCa ${name}`, validateStepCaArgs(args));
        super("redis-tls:index:StepCa", name, visibleArgs(args), opts);

        const port = args.port ?? STEP_CA_DEFAULTS.port;
        const stepPath = args.stepPath ?? STEP_CA_DEFAULTS.stepPath;
        const provisioner = args.provisioner ?? STEP_CA_DEFAULTS.provisioner;
        const host = (args.dnsNames ?? [])[0] ?? (args.ipAddresses ?? [])[0];
        const caUrl = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
        if (args.acme) {
            pulumi.log.warn(
                `StepCa ${name}: acme is on, so anyone who can answer an HTTP-01 challenge for a name (as this CA resolves and reaches it) gets a certificate from the root your clients trust; turn it on only where that is acceptable`,
                this,
            );
        }
        const init = new command.remote.Command(
            `${name}-init`,
            {
                connection: toCommandConnection(args.connection, this),
                create: asRoot(
                    renderStepCaInitScript({
                        stepPath,
                        name: args.name ?? STEP_CA_DEFAULTS.name,
                        dnsNames: [...(args.dnsNames ?? []), ...(args.ipAddresses ?? [])],
                        port,
                        provisioner,
                        validityHours: args.validityHours ?? STEP_CA_DEFAULTS.validityHours,
                        acme: args.acme ?? false,
                    }),
                    args.connection.user,
                ),
                logging: "stderr",
            },
            { parent: this },
        );
        const root = init.stdout.apply((out) => certificatesOrThrow(`${name}-init stdout`, out, { count: "one", ca: true, root: true })[0]);

        this.caUrl = pulumi.output(caUrl);
        this.rootCertPem = root.apply((c) => c.toString());
        this.rootFingerprint = root.apply(fingerprint);
        this.acmeDirectoryUrl = pulumi.output(args.acme ? `${caUrl}/acme/acme/directory` : undefined);
        // Signing waits for the CA to be up: the issuer's values come from the init step.
        this.issuer = {
            caUrl: this.rootFingerprint.apply(() => caUrl),
            rootFingerprint: this.rootFingerprint,
            provisioner,
            // The SSH key stays a secret wherever this value goes (construct() returns it to other languages).
            signer: { connection: { ...args.connection, privateKey: pulumi.secret(args.connection.privateKey) }, stepPath, caUrl: `https://127.0.0.1:${port}` },
        };
        this.registerOutputs({ caUrl: this.caUrl, rootCertPem: this.rootCertPem, rootFingerprint: this.rootFingerprint, acmeDirectoryUrl: this.acmeDirectoryUrl });
    }
}
