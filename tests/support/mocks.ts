import * as pulumi from "@pulumi/pulumi";

/** One resource as the mock monitor saw it. */
export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    state: Record<string, any>;
}

const fakePem = (label: string, body: string) => `-----BEGIN ${label}-----\n${Buffer.from(body).toString("base64")}\n-----END ${label}-----\n`;

/**
 * Mocks that record every resource and give each provider resource the outputs its real provider
 * would have, as recognisable placeholders (a CSR for a host's CSR step, PEMs for tls resources).
 */
export function recordResources(preview = false): Recorded[] {
    const recorded: Recorded[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                const state: Record<string, any> = { ...args.inputs };
                switch (args.type) {
                    case "tls:index/privateKey:PrivateKey":
                        state.privateKeyPem = fakePem("EC PRIVATE KEY", args.name);
                        break;
                    case "tls:index/certRequest:CertRequest":
                        state.certRequestPem = fakePem("CERTIFICATE REQUEST", args.name);
                        break;
                    case "tls:index/selfSignedCert:SelfSignedCert":
                    case "tls:index/locallySignedCert:LocallySignedCert":
                        state.certPem = fakePem("CERTIFICATE", args.name);
                        break;
                    case "command:remote:Command":
                        state.stdout = args.name.endsWith("-csr") ? fakePem("CERTIFICATE REQUEST", args.name) : "ok";
                        state.stderr = "";
                        break;
                }
                recorded.push({ type: args.type, name: args.name, inputs: args.inputs, state });
                return { id: args.custom ? `${args.name}-id` : undefined, state };
            },
            call() {
                throw new Error("no provider functions are used");
            },
        },
        "redis-tls",
        "test",
        preview,
    );
    return recorded;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether a value the mocks received was marked secret by the program. */
export function isSecretInput(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && SECRET_SIG in v;
}

/** A received value with the secret wrapper, if any, taken off. */
export function plain(v: unknown): any {
    return isSecretInput(v) ? v.value : v;
}

/** Resolves an Output's value (unwrapping secrets). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Waits until the mocks have seen every registration the program has started. */
export async function settle(recorded: Recorded[]): Promise<void> {
    let seen = -1;
    while (seen !== recorded.length) {
        seen = recorded.length;
        await new Promise((r) => setTimeout(r, 20));
    }
}

/** Every string anywhere inside a value, with its path. */
export function strings(value: unknown, at = ""): Array<[string, string]> {
    if (typeof value === "string") return [[at, value]];
    if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
    if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => strings(v, at ? `${at}.${k}` : k));
    return [];
}
