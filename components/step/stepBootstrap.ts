import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { DEFAULT_TLS_DIR } from "../host/layout";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { certificatesOrThrow, fingerprint } from "../pem";
import { assertValid, checkAbsolutePath, checkHttpsUrl, found, Problem, show } from "../validation/fields";
import { checked } from "../validation/outputs";
import { renderStepBootstrapScript } from "./scripts";

export interface StepBootstrapArgs {
    /** The host, over SSH; smallstep's `step` must be installed there. */
    connection: SshConnectionArgs;
    /** e.g. "https://ca.internal:9443" (StepCa.caUrl, or an existing CA's). */
    caUrl: pulumi.Input<string>;
    /** SHA-256 of the CA's root, 64 hex digits: the root is taken only if it has it. */
    rootFingerprint: pulumi.Input<string>;
    /**
     * The host's STEPPATH: root-owned (0700), never the CA's own directory.
     * @default "/etc/redis-tls/step"
     */
    stepPath?: string;
}

export const STEP_BOOTSTRAP_DEFAULTS = { stepPath: `${DEFAULT_TLS_DIR}/step` } as const;

/** A 64-hex-digit SHA-256 fingerprint, as `step certificate fingerprint` prints it. */
export function checkFingerprint(field: string, fp: string): Problem {
    if (!/^[0-9a-fA-F]{64}$/.test(fp)) {
        return `[${field}] ${show(fp)} is not a SHA-256 fingerprint; give the 64 hex digits \`step certificate fingerprint root_ca.crt\` prints`;
    }
    return undefined;
}

/** A step-ca URL. */
export function checkCaUrl(field: string, url: string): Problem {
    return checkHttpsUrl(field, url, `the step-ca URL, e.g. "https://ca.internal:9443"`);
}

/** Validates StepBootstrap args; returns every problem found. */
export function validateStepBootstrapArgs(args: StepBootstrapArgs): string[] {
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    if (typeof args.caUrl === "string") problems.push(checkCaUrl("caUrl", args.caUrl));
    if (typeof args.rootFingerprint === "string") problems.push(checkFingerprint("rootFingerprint", args.rootFingerprint));
    problems.push(checkAbsolutePath("stepPath", args.stepPath ?? STEP_BOOTSTRAP_DEFAULTS.stepPath));
    return found(problems);
}

/**
 * `step ca bootstrap` on a host (a Redis host, or a client host that runs `step`): the root is
 * fetched into a scratch STEPPATH and taken only if it has the pinned fingerprint, then it and
 * defaults.json land in a root-owned STEPPATH. A wrong fingerprint fails this step and changes
 * nothing on the host.
 */
export class StepBootstrap extends pulumi.ComponentResource {
    /** The CA's root, as the host took it. */
    public readonly rootCertPem: pulumi.Output<string>;
    /** STEPPATH on the host. */
    public readonly stepPath: string;
    /** The CA URL, checked again when it resolves. */
    public readonly caUrl: pulumi.Output<string>;
    /** The root's fingerprint (lower case), checked again when it resolves. */
    public readonly rootFingerprint: pulumi.Output<string>;

    constructor(name: string, args: StepBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = `StepBootstrap ${name}`;
        assertValid(component, validateStepBootstrapArgs(args));
        super("redis-tls:index:StepBootstrap", name, visibleArgs(args), opts);

        const stepPath = args.stepPath ?? STEP_BOOTSTRAP_DEFAULTS.stepPath;
        const caUrl = checked(component, args.caUrl, (u) => [checkCaUrl("caUrl", u)]);
        const rootFingerprint = checked(component, args.rootFingerprint, (f) => [checkFingerprint("rootFingerprint", f)]).apply((f) => f.toLowerCase());
        const bootstrap = new command.remote.Command(
            name,
            {
                connection: toCommandConnection(args.connection, this),
                create: pulumi.all([caUrl, rootFingerprint]).apply(([url, fp]) => asRoot(renderStepBootstrapScript({ stepPath, caUrl: url, rootFingerprint: fp }), args.connection.user)),
                logging: "stderr",
            },
            { parent: this },
        );
        this.rootCertPem = pulumi.all([bootstrap.stdout, rootFingerprint]).apply(([out, fp]) => {
            const [root] = certificatesOrThrow(`${name} stdout`, out, { count: "one" });
            if (fingerprint(root) !== fp) throw new Error(`[rootFingerprint] the host took a root of fingerprint ${fingerprint(root)}, not ${fp}`);
            return root.toString();
        });
        this.stepPath = stepPath;
        this.caUrl = caUrl;
        this.rootFingerprint = rootFingerprint;
        this.registerOutputs({ rootCertPem: this.rootCertPem, caUrl, rootFingerprint });
    }
}
