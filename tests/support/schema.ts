// The multi-language schema as `pulumi package add` would infer it: Pulumi's component analyzer run
// offline over the library's entry (index.ts, not the stack program), as the nodejs plugin host does.
import * as path from "path";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental";

export const ROOT = path.join(__dirname, "..", "..");

/** The provider the plugin host would build: the package name, the components index.ts exports. */
export function componentProvider(): ComponentProvider {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const components = getPulumiComponents(require(path.join(ROOT, "index.ts")));
    return new ComponentProvider({ name: "redis-tls", dirname: ROOT, components });
}

/** The inferred schema, parsed. */
export async function inferSchema(): Promise<any> {
    return JSON.parse(await componentProvider().getSchema());
}

if (require.main === module) {
    inferSchema().then(
        (s) => process.stdout.write(JSON.stringify(s, null, 2) + "\n"),
        (e) => {
            console.error(e.message);
            process.exit(1);
        },
    );
}
