import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";

// The plugin as `pulumi package add` starts it: @pulumi/pulumi's run-plugin on the repository
// directory (what PulumiPlugin.yaml's nodejs runtime runs), serving the provider protocol over gRPC;
// its GetSchema is what the CLI generates SDKs from.
const ROOT = path.join(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const provproto = require("@pulumi/pulumi/proto/provider_pb");

describe("the component plugin, started as the Pulumi CLI starts it", function () {
    this.timeout(120_000);
    let child: ChildProcess;
    let client: any;
    let stderr = "";

    before(async () => {
        child = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/run-plugin"), "--pwd", ROOT, ROOT], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        child.stderr!.on("data", (d) => (stderr += d));
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            child.stdout!.on("data", (d) => {
                out += d;
                const m = /^(\d+)\n/.exec(out);
                if (m) resolve(m[1]);
            });
            child.on("exit", (code) => reject(new Error(`run-plugin exited ${code}: ${stderr}`)));
        });
        client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        child?.kill();
    });

    it("serves the schema of schema.json, built from the library (the stack program is not loaded)", async () => {
        const req = new provproto.GetSchemaRequest();
        req.setVersion(0);
        const schema = await new Promise<any>((resolve, reject) => client.getSchema(req, (e: Error | null, r: any) => (e ? reject(e) : resolve(JSON.parse(r.getSchema())))));
        assert.deepEqual(schema, JSON.parse(fs.readFileSync(path.join(ROOT, "schema.json"), "utf8")));
        assert.equal(stderr, "", "nothing on stderr: no stack config was read");
    });
});
