import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { getPulumiComponents } from "@pulumi/pulumi/provider/experimental";
import { check } from "./support/run";
import { inferSchema, ROOT } from "./support/schema";

// The schema `pulumi package add` infers for Python, Go, C#, Java and YAML, kept as schema.json.
// Regenerate with UPDATE_GOLDEN=1 (or `npm run schema > schema.json`).
const GOLDEN = path.join(ROOT, "schema.json");

/** Closed sets: each must reach other languages as an enum, not a free string. */
const ENUMS: Record<string, string> = {
    keyAlgorithm: "KeyAlgorithm",
    authClients: "AuthClients",
    clientLogin: "ClientLogin",
    flavor: "Flavor",
    osFamily: "OsFamily",
    imageFamily: "ImageFamily",
    family: "ImageFamily",
    restart: "RestartPolicy",
};

/** What other languages must be able to pass from another resource's outputs. */
const MUST_BE_INPUTS = ["ca", "caCertPem", "caPrivateKeyPem", "chainPem", "rootCertPem", "clientCaPem", "serverRootCertPem", "serverCaPem",
    "keyFilePass", "password", "directoryUrl", "caUrl", "rootFingerprint", "renewScript", "host", "privateKey", "hostKey", "serverName", "passwordHash",
    "image", "base", "network", "dockerHost"];

type Props = Record<string, { plain?: boolean; description?: string; $ref?: string; items?: { $ref?: string } }>;

describe("the multi-language schema (Pulumi's component analyzer, offline)", function () {
    this.timeout(120_000);
    let schema: any;
    before(async () => {
        schema = await inferSchema();
    });

    it("matches schema.json", () => {
        const text = JSON.stringify(schema, null, 2) + "\n";
        if (process.env.UPDATE_GOLDEN) fs.writeFileSync(GOLDEN, text);
        assert.equal(text, fs.readFileSync(GOLDEN, "utf8"), "schema changed: review, then regenerate with UPDATE_GOLDEN=1");
    });

    it("is inferred from the library's entry, not the stack program: every exported component and only those", () => {
        const exported = getPulumiComponents(require(path.join(ROOT, "index.ts"))).map((c) => `redis-tls:index:${c.name}`).sort();
        assert.equal(exported.length, 14);
        assert.deepEqual(Object.keys(schema.resources).sort(), exported);
    });

    it("the plugin host's require of the package directory loads the library, never the stack program", async () => {
        // What @pulumi/pulumi's run-plugin does with the plugin's directory (package.json's main, or
        // index.ts when nothing is built yet), then getPulumiComponents on the module.
        const script = `const { getPulumiComponents } = require("@pulumi/pulumi/provider/experimental");
            const m = require(${JSON.stringify(ROOT)});
            console.log(JSON.stringify({ components: getPulumiComponents(m).length, stack: "rootCertPem" in m || "apps" in m }));`;
        const out = JSON.parse(await check("node", ["-r", "ts-node/register/transpile-only", "-e", script]));
        assert.deepEqual(out, { components: 14, stack: false });
    });

    it("documents every argument, output and type field", () => {
        const missing: string[] = [];
        for (const [name, r] of Object.entries<any>(schema.resources)) {
            for (const [kind, props] of [["input", r.inputProperties], ["output", r.properties]] as const) {
                for (const [k, v] of Object.entries<any>(props ?? {})) if (!v.description) missing.push(`${name} ${kind} ${k}`);
            }
        }
        for (const [name, t] of Object.entries<any>(schema.types)) {
            for (const [k, v] of Object.entries<any>(t.properties ?? {})) if (!v.description) missing.push(`${name}.${k}`);
        }
        assert.deepEqual(missing, []);
    });

    it("closed sets are enums wherever they appear", () => {
        const wrong: string[] = [];
        const everyProps = (): Array<[string, Props]> => [
            ...Object.entries<any>(schema.resources).map(([n, r]): [string, Props] => [n, r.inputProperties ?? {}]),
            ...Object.entries<any>(schema.types).map(([n, t]): [string, Props] => [n, t.properties ?? {}]),
        ];
        let seen = 0;
        for (const [owner, props] of everyProps()) {
            for (const [k, v] of Object.entries(props)) {
                if (ENUMS[k] !== undefined) {
                    seen++;
                    if (v.$ref !== `#/types/redis-tls:index:${ENUMS[k]}`) wrong.push(`${owner}.${k}`);
                }
                if (k === "protocols" && v.items?.$ref !== "#/types/redis-tls:index:TlsProtocol") wrong.push(`${owner}.${k}`);
            }
        }
        assert.deepEqual(wrong, []);
        assert.ok(seen >= 15, `${seen} enum-typed args`);
        assert.deepEqual(schema.types["redis-tls:index:AuthClients"].enum.map((e: any) => e.value), ["yes", "optional", "no"]);
        assert.deepEqual(schema.types["redis-tls:index:KeyAlgorithm"].enum.map((e: any) => e.value), ["ECDSA_P256", "ECDSA_P384", "RSA_2048", "RSA_3072", "RSA_4096"]);
    });

    it("PEMs, keys, passwords, URLs and host addresses are Inputs; every plain arg is one the README lists as checked at preview", () => {
        const plainInputs: string[] = [];
        const plainArgs = new Set<string>();
        const check = (owner: string, props: Props, all: boolean) => {
            for (const [k, v] of Object.entries(props)) {
                if (MUST_BE_INPUTS.includes(k) && v.plain) plainInputs.push(`${owner}.${k}`);
                if (all && v.plain) plainArgs.add(k);
            }
        };
        for (const [n, r] of Object.entries<any>(schema.resources)) check(n, r.inputProperties ?? {}, true);
        // StepSigner is StepCa's own output (its CA URL is a loopback address StepCa chose), not an arg users build.
        for (const [n, t] of Object.entries<any>(schema.types)) if (t.properties && !n.endsWith(":StepSigner")) check(n, t.properties, false);
        assert.deepEqual(plainInputs, []);
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const section = /### Plain args[^\n]*\n([\s\S]*?)\n###? /.exec(readme)?.[1] ?? "";
        const listed = new Set([...section.matchAll(/`([a-zA-Z]+)`/g)].map((m) => m[1]));
        assert.deepEqual([...plainArgs].filter((a) => !listed.has(a)).sort(), [], "plain args the README does not list");
    });
});
