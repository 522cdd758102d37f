import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { defaultRenewBeforeHours, renewalDeadline, renewalSlot } from "../certificate/renewal";
import { CERTIFICATE_DEFAULTS, checkHostCertificateArgs, checkLifetime, checkSubjectNames, HostCertificateArgs } from "../certificate/hostCertificate";
import { hostCsrStep, hostInstallStep } from "../certificate/hostSteps";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { KeyAlgorithm } from "../keyAlgorithm";
import { certificatesOrThrow, encodeCertificates, fingerprint } from "../pem";
import { assertValid, checkAbsolutePath, found, Problem, show } from "../validation/fields";
import { checkCertificatesInput, checked, checkedCertificates } from "../validation/outputs";
import { checkProvisionerName, STEP_CA_DEFAULTS, StepIssuer } from "./stepCa";
import { checkCaUrl, checkFingerprint, StepBootstrap } from "./stepBootstrap";
import { renderStepRenewScript, renderStepSignLocalScript, renderStepSignOnCaScript } from "./scripts";

export interface StepCertificateArgs extends HostCertificateArgs {
    /** The Redis host, over SSH; smallstep's `step` must be installed there (bootstrap and renewal). */
    connection: SshConnectionArgs;
    /** DNS names clients use for this host. */
    dnsNames?: string[];
    /** IP addresses clients use for this host. */
    ipAddresses?: string[];
    /** The step-ca to issue from (StepCa.issuer, or an existing CA). */
    issuer: StepIssuer;
    /** The one CA Redis trusts for client certificates (CertificateAuthority.rootCertPem). */
    clientCaPem: pulumi.Input<string>;
    /**
     * Certificate lifetime asked of the provisioner (at most its maximum).
     * @default 720
     */
    validityHours?: number;
    /**
     * When a `pulumi up` re-issues (the host renews well before, with `step ca renew`; this brings
     * back a certificate that expired, which step cannot renew).
     * @default a third of validityHours
     */
    renewBeforeHours?: number;
}

export const STEP_HOST_DEFAULTS = { stepCli: "step" } as const;

/** Validates StepCertificate args; returns every problem found. */
export function validateStepCertificateArgs(args: StepCertificateArgs): string[] {
    const i = args.issuer;
    const problems: Problem[] = [
        ...checkHostCertificateArgs(args),
        ...checkSubjectNames(args.dnsNames ?? [], args.ipAddresses ?? []),
        ...checkLifetime(args.validityHours, args.renewBeforeHours),
    ];
    if (typeof i.caUrl === "string") problems.push(checkCaUrl("issuer.caUrl", i.caUrl));
    if (typeof i.rootFingerprint === "string") problems.push(checkFingerprint("issuer.rootFingerprint", i.rootFingerprint));
    problems.push(checkProvisionerName("issuer.provisioner", i.provisioner ?? STEP_CA_DEFAULTS.provisioner));
    if ((i.provisionerPassword === undefined) === (i.signer === undefined)) {
        problems.push(`[issuer] gives ${i.signer === undefined ? "neither provisionerPassword nor signer" : "both provisionerPassword and signer"}; give the password of an existing CA's provisioner, or StepCa.issuer`);
    }
    if (i.stepCli !== undefined) {
        // The program gets the provisioner password on its stdin: only smallstep's CLI, by name.
        const p = checkAbsolutePath("issuer.stepCli", i.stepCli);
        problems.push(p ?? (/\/step(-cli)?$/.test(i.stepCli) ? undefined : `[issuer.stepCli] ${show(i.stepCli)} is not smallstep's step CLI; give its path, named step or step-cli, e.g. "/usr/bin/step"`));
    }
    if (i.signer !== undefined) problems.push(...checkConnection("issuer.signer.connection", i.signer.connection));
    problems.push(checkCertificatesInput("clientCaPem", args.clientCaPem, { count: "one", ca: true }));
    return found(problems);
}

/**
 * A Redis server certificate from step-ca, as smallstep's "Redis TLS" recipe gets one, without its
 * exposure. The host is bootstrapped (`step ca bootstrap`, root pinned by fingerprint, STEPPATH
 * root-owned in the TLS directory); the key and CSR are made on the host; where the provisioner
 * password lives (the CA host, or the machine running Pulumi) a single-use token is minted for
 * exactly the host's configured names and the CSR signed with it, so the CA signs no other name,
 * and neither password nor token is ever on a command line or on the Redis host; the chain goes
 * through the same install as every issuer. `renewScript` renews on the host with `step ca renew` (give it to CertRenewer).
 */
export class StepCertificate extends pulumi.ComponentResource {
    /** The leaf step-ca issued. */
    public readonly certPem: pulumi.Output<string>;
    /** The name clients verify: the first DNS name, else the first IP address. */
    public readonly serverName: pulumi.Output<string>;
    /** When `pulumi up` next re-issues (a backstop: the host renews before). */
    public readonly renewsAfter: pulumi.Output<string>;
    /** The step-ca root the chain ends in. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** The host script that renews this certificate; give it to CertRenewer (with `stepPath`). */
    public readonly renewScript: pulumi.Output<string>;
    /** STEPPATH on the host, for CertRenewer. */
    public readonly stepPath: string;
    /** The install step's output, for ordering. */
    public readonly installed: pulumi.Output<string>;

    constructor(name: string, args: StepCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = `StepCertificate ${name}`;
        assertValid(component, validateStepCertificateArgs(args));
        super("redis-tls:index:StepCertificate", name, visibleArgs(args), opts);

        const dnsNames = args.dnsNames ?? [];
        const ipAddresses = args.ipAddresses ?? [];
        const issuer = args.issuer;
        const provisioner = issuer.provisioner ?? STEP_CA_DEFAULTS.provisioner;
        const validityHours = args.validityHours ?? CERTIFICATE_DEFAULTS.validityHours;
        const renewAfterHours = validityHours - (args.renewBeforeHours ?? defaultRenewBeforeHours(validityHours));
        const keyAlgorithm = (args.keyAlgorithm ?? CERTIFICATE_DEFAULTS.keyAlgorithm) as KeyAlgorithm;
        const dir = { tlsDir: args.tlsDir ?? CERTIFICATE_DEFAULTS.tlsDir, group: args.redisGroup ?? CERTIFICATE_DEFAULTS.redisGroup };
        const serverName = dnsNames[0] ?? ipAddresses[0];
        const now = Date.now();
        // Checked here first, so a bad value names the field this component was given.
        const caUrl = checked(component, issuer.caUrl, (u) => [checkCaUrl("issuer.caUrl", u)]);
        const rootFingerprint = checked(component, issuer.rootFingerprint, (f) => [checkFingerprint("issuer.rootFingerprint", f)]).apply((f) => f.toLowerCase());
        const bootstrap = new StepBootstrap(`${name}-bootstrap`, { connection: args.connection, caUrl, rootFingerprint, stepPath: `${dir.tlsDir}/step` }, { parent: this });
        const stepPath = bootstrap.stepPath;
        const target = { connection: args.connection, ...dir, dnsNames, ipAddresses };
        const request = hostCsrStep(this, name, target, { keyAlgorithm, slot: renewalSlot(now, renewAfterHours), dependsOn: [bootstrap] });
        // The token is minted for exactly these names, so the CA refuses a CSR that asks for others.
        const names = { provisioner, validityHours, subject: serverName, sans: [...dnsNames, ...ipAddresses] };
        const sign =
            issuer.signer !== undefined
                ? new command.remote.Command(
                      `${name}-sign`,
                      {
                          connection: toCommandConnection(issuer.signer.connection, this),
                          create: rootFingerprint.apply(() =>
                              asRoot(renderStepSignOnCaScript({ stepPath: issuer.signer!.stepPath, caUrl: issuer.signer!.caUrl, ...names }), issuer.signer!.connection.user),
                          ),
                          stdin: request,
                          logging: "none",
                      },
                      { parent: this },
                  )
                : new command.local.Command(
                      `${name}-sign`,
                      {
                          create: pulumi
                              .all([caUrl, rootFingerprint])
                              .apply(([url, fp]) =>
                                  renderStepSignLocalScript({ caUrl: url, rootFingerprint: fp, ...names, stepCli: issuer.stepCli ?? STEP_HOST_DEFAULTS.stepCli }),
                              ),
                          environment: { REDIS_TLS_CSR: request },
                          stdin: pulumi.secret(pulumi.interpolate`${issuer.provisionerPassword!}`),
                          logging: "none",
                      },
                      { parent: this },
                  );
        // stdout: leaf, intermediate(s), then the root, which must be the pinned one.
        const signed = pulumi.all([sign.stdout, rootFingerprint]).apply(([out, fp]) => {
            const certs = certificatesOrThrow(`${name}-sign stdout`, out, { count: "some" });
            const root = certs[certs.length - 1];
            if (certs.length < 2 || fingerprint(root) !== fp) {
                throw new Error(`[issuer.rootFingerprint] the CA answered with a root of fingerprint ${fingerprint(root)}, not ${fp}; refusing its certificate`);
            }
            return { chain: encodeCertificates(certs.slice(0, -1)), root: encodeCertificates([root]), leaf: certs[0].toString() };
        });
        const clientCa = checkedCertificates(component, "clientCaPem", args.clientCaPem, { count: "one", ca: true });
        const install = hostInstallStep(this, name, target, {
            chainPem: signed.apply((x) => x.chain),
            rootPem: signed.root,
            rootFingerprint,
            clientCa,
            reloadSocket: args.reloadSocket,
            reloadUser: args.reloadUser,
            flavor: args.flavor,
        });
        this.renewScript = pulumi
            .all([rootFingerprint, clientCa])
            .apply(([fp, client]) =>
                renderStepRenewScript({ ...dir, dnsNames, ipAddresses, stepPath, rootFingerprint: fp, clientCaFingerprint: client.fingerprints[0] }),
            );
        this.stepPath = stepPath;
        this.certPem = signed.leaf;
        this.rootCertPem = signed.root;
        this.serverName = pulumi.output(serverName);
        this.renewsAfter = pulumi.output(renewalDeadline(now, renewAfterHours).toISOString());
        this.installed = install.stdout;
        this.registerOutputs({ certPem: this.certPem, serverName: this.serverName, renewsAfter: this.renewsAfter, rootCertPem: this.rootCertPem, installed: this.installed });
    }
}
