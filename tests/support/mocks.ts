import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "../harness/tls";

/** One resource as the mock monitor saw it. */
export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    state: Record<string, any>;
}

/** A value the mocks received with every secret wrapper taken off. */
function unwrapAll(v: unknown): any {
    if (isSecretInput(v)) return unwrapAll(v.value);
    if (Array.isArray(v)) return v.map(unwrapAll);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapAll(x)]));
    return v;
}

/** A real CSR for the names the CSR step's script asks for (`-subj '/CN=…'`, `subjectAltName=…`), as the host prints it. */
function hostCsr(script: string): string {
    const key = tls.privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).outputs.privateKeyPem as string;
    const commonName = /-subj '\/CN=([^']*)'/.exec(script)?.[1] ?? "unnamed";
    const sans = (/subjectAltName=([^']*)'/.exec(script)?.[1] ?? "").split(",").filter((x) => x !== "");
    const of = (kind: string) => sans.filter((x) => x.startsWith(`${kind}:`)).map((x) => x.slice(kind.length + 1));
    return tls.certRequest({ privateKeyPem: key, subject: { commonName }, dnsNames: of("DNS"), ipAddresses: of("IP"), uris: of("URI") }).outputs.certRequestPem as string;
}

/** A CA for the mocks' step-ca steps: `-init` and `-bootstrap` print its root, `-sign` a leaf for the CSR on stdin, then the root. */
function mockStepCa(): { root: string; sign(csr: string): string } {
    const key = tls.privateKey({ algorithm: "ECDSA", ecdsaCurve: "P256" }).outputs.privateKeyPem as string;
    const root = tls.selfSignedCert({
        privateKeyPem: key, subject: { commonName: "Mock step-ca Root" }, isCaCertificate: true, validityPeriodHours: 48, allowedUses: ["cert_signing"],
    }).outputs.certPem as string;
    return {
        root,
        sign: (csr) =>
            (tls.locallySignedCert({ certRequestPem: csr, caCertPem: root, caPrivateKeyPem: key, validityPeriodHours: 24, allowedUses: ["server_auth"] }).outputs.certPem as string) + root,
    };
}

/**
 * Mocks that record every resource and give each provider resource the outputs its real provider
 * would have: real keys and certificates from the harness's tls effects, a real CSR for a host's CSR
 * step, a step-ca's root for its init and bootstrap steps and signatures for its sign steps, and "ok" for other commands.
 */
export function recordResources(preview = false, opts: { csrStdout?: (csr: string) => string } = {}): Recorded[] {
    const recorded: Recorded[] = [];
    let stepCa: ReturnType<typeof mockStepCa> | undefined;
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                const state: Record<string, any> = { ...args.inputs };
                const inputs = unwrapAll(args.inputs);
                switch (args.type) {
                    case "tls:index/privateKey:PrivateKey":
                        Object.assign(state, tls.privateKey(inputs).outputs);
                        break;
                    case "tls:index/certRequest:CertRequest":
                        Object.assign(state, tls.certRequest(inputs).outputs);
                        break;
                    case "tls:index/selfSignedCert:SelfSignedCert":
                        Object.assign(state, tls.selfSignedCert(inputs).outputs);
                        break;
                    case "tls:index/locallySignedCert:LocallySignedCert":
                        Object.assign(state, tls.locallySignedCert(inputs).outputs);
                        break;
                    case "command:local:Command":
                        // What makeAclPassword's command prints: 32 random bytes in hex; a container's CSR step, a CSR.
                        if (args.name.endsWith("-password")) state.stdout = randomBytes(32).toString("hex");
                        if (args.name.endsWith("-csr")) state.stdout = (opts.csrStdout ?? ((c) => c))(hostCsr(String(inputs.create)));
                        break;
                    case "docker:index/image:Image":
                        // skipPush: the local image ID.
                        state.repoDigest = `sha256:${randomBytes(32).toString("hex")}`;
                        break;
                    case "command:remote:Command":
                        stepCa ??= mockStepCa();
                        state.stdout = args.name.endsWith("-csr")
                            ? (opts.csrStdout ?? ((c) => c))(hostCsr(String(inputs.create)))
                            : args.name.endsWith("-init") || args.name.endsWith("-bootstrap")
                              ? stepCa.root
                              : args.name.endsWith("-sign")
                                ? stepCa.sign(inputs.stdin)
                                : "ok";
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

/** Waits until the mocks have seen every registration the program has started (none for 100 ms). */
export async function settle(recorded: Recorded[]): Promise<void> {
    let seen = -1;
    let quiet = 0;
    while (quiet < 5) {
        quiet = recorded.length === seen ? quiet + 1 : 0;
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

/** The named values of a host step's stdin (the `name base64` lines encodeSections writes). */
export function sections(stdin: string): Record<string, string> {
    return Object.fromEntries(
        stdin
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => {
                const [name, data] = l.split(" ");
                return [name, Buffer.from(data, "base64").toString()];
            }),
    );
}
