import * as pulumi from "@pulumi/pulumi";

/** Arg names whose values are secrets (keys, passwords, a CA with its key): never a component input. */
const SECRET_ARGS = new Set(["privateKey", "caPrivateKeyPem", "issuerPrivateKeyPem", "keyFilePass", "password", "provisionerPassword", "ca", "keyPem"]);

/**
 * A component's args as its registered inputs, with every secret-bearing field left out: what
 * `pulumi preview` shows for the component and what policies (policy/policies.ts) see. Plain
 * objects and lists are copied without their secret fields, and so are the values inside Outputs.
 */
export function visibleArgs(args: object): pulumi.Inputs {
    const walk = (v: unknown): unknown => {
        // An Output or Promise may hold a whole object (other languages send one): strip inside it too.
        if (pulumi.Output.isInstance(v)) return (v as pulumi.Output<unknown>).apply(walk);
        if (v instanceof Promise) return v.then(walk);
        if (v === null || typeof v !== "object") return v;
        if (Array.isArray(v)) return v.map(walk);
        return Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
                .filter(([k, x]) => !SECRET_ARGS.has(k) && x !== undefined)
                .map(([k, x]) => [k, walk(x)]),
        );
    };
    return walk(args) as pulumi.Inputs;
}
