// Mocks for pulumi.runtime.setMocks that perform each resource's real effect
// and keep Pulumi-like state between runs. See README.md.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as exec from "./exec";
import * as tls from "./tls";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

// The SDKs send these as additionalSecretOutputs, which the mock monitor drops;
// the engine would apply them, so the harness does.
const SECRET_OUTPUTS: Record<string, string[]> = {
  "tls:index/privateKey:PrivateKey": ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"],
  "tls:index/selfSignedCert:SelfSignedCert": ["privateKeyPem"],
  "tls:index/certRequest:CertRequest": ["privateKeyPem"],
  "tls:index/locallySignedCert:LocallySignedCert": ["caPrivateKeyPem"],
  "command:remote:Command": ["connection"],
  "command:remote:CopyToRemote": ["connection"],
  "command:local:Command": [],
};

type Plain = Record<string, any>;

export interface RealMocksOptions {
  /** Where stack state lives between runs; written 0600. */
  stateFile: string;
  /** Like `pulumi preview`: nothing is performed and state is not written. */
  preview?: boolean;
  /** Verify ssh host keys against this file instead of ignoring them. */
  knownHostsFile?: string;
  /** See exec.RemoteEnvironment. @default "export" */
  remoteEnvironment?: exec.RemoteEnvironment;
}

export interface ResourceRecord {
  type: string;
  name: string;
  /** Inputs with secrets unwrapped and assets as {__asset|__archive, path|text, sha256}. */
  inputs: Plain;
  outputs: Plain;
  /** True when the effect ran (or failed) in this run; false when state was reused, in a preview, and for components. */
  performed: boolean;
  secretInputs: string[];
  secretOutputs: string[];
  error?: string;
}

interface Stored {
  id?: string;
  inputs: Plain;
  outputs: Plain;
}

interface Ctx {
  type: string;
  name: string;
  inputs: Plain;
  previous?: Stored;
}

const isSecretValue = (v: unknown): v is { value: unknown } =>
  typeof v === "object" && v !== null && (v as Plain)[SIG_KEY] === SECRET_SIG;

function unwrap(v: unknown): any {
  if (isSecretValue(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

function hashPath(p: string): string {
  const h = crypto.createHash("sha256");
  const walk = (abs: string, rel: string): void => {
    const st = fs.statSync(abs);
    if (!st.isDirectory()) return void h.update(`${rel}\0`).update(fs.readFileSync(abs));
    for (const e of fs.readdirSync(abs).sort()) walk(path.join(abs, e), `${rel}/${e}`);
  };
  if (!fs.existsSync(p)) return "missing";
  walk(p, ".");
  return h.digest("hex");
}

/** JSON-safe form used for comparing inputs and for records; file contents count, like the engine's asset hashes. */
async function normalise(v: unknown): Promise<any> {
  if (pulumi.isUnknown(v)) return "<unknown>";
  if (isSecretValue(v)) return normalise(v.value);
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return Promise.all(v.map(normalise));
  const a = v as Plain;
  if (pulumi.asset.Asset.isInstance(v)) {
    const [p, text, uri] = await Promise.all([a.path, a.text, a.uri]);
    if (p !== undefined) return { __asset: "file", path: p, sha256: hashPath(p) };
    return text !== undefined ? { __asset: "text", text } : { __asset: "remote", uri };
  }
  if (pulumi.asset.Archive.isInstance(v)) {
    const [p, uri, assets] = await Promise.all([a.path, a.uri, a.assets]);
    if (p !== undefined) return { __archive: "file", path: p, sha256: hashPath(p) };
    return assets !== undefined ? { __archive: "assets", assets: await normalise(assets) } : { __archive: "remote", uri };
  }
  if (pulumi.Resource.isInstance(v)) return "<resource>";
  const out: Plain = {};
  for (const k of Object.keys(a).sort()) if (a[k] !== undefined) out[k] = await normalise(a[k]);
  return out;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const uniqueHex = (prefix: string): string => prefix + crypto.randomBytes(4).toString("hex");

export class RealMocks implements pulumi.runtime.Mocks {
  readonly resources: ResourceRecord[] = [];
  readonly errors: string[] = [];
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();
  private readonly state: { version: 1; resources: Record<string, Stored> };

  constructor(private readonly opts: RealMocksOptions) {
    this.state = fs.existsSync(opts.stateFile) ? JSON.parse(fs.readFileSync(opts.stateFile, "utf8")) : { version: 1, resources: {} };
  }

  /** Every command's stdout/stderr as Pulumi would show it (the `logging` input decides). */
  get log(): string {
    return this.lines.join("\n");
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    throw new Error(`the harness has no real effect for the function ${args.token}`);
  }

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    const secretInputs = Object.keys(args.inputs).filter((k) => isSecretValue(args.inputs[k]));
    const record: ResourceRecord = {
      type: args.type, name: args.name, inputs: await normalise(args.inputs), outputs: {}, performed: false, secretInputs, secretOutputs: [],
    };
    this.resources.push(record);
    try {
      return await this.register(args, record);
    } catch (e) {
      record.error = (e as Error).message;
      this.errors.push(`${args.type} ${args.name}: ${record.error}`);
      throw e;
    }
  }

  /** After a successful `up`, resources the program no longer declares leave the state (their delete is not run). */
  finish(succeeded: boolean): void {
    if (this.opts.preview || !succeeded) return;
    for (const key of Object.keys(this.state.resources)) if (!this.seen.has(key)) delete this.state.resources[key];
    this.save();
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.opts.stateFile), { recursive: true, mode: 0o700 });
    const tmp = `${this.opts.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.opts.stateFile);
  }

  private async register(args: pulumi.runtime.MockResourceArgs, record: ResourceRecord): Promise<pulumi.runtime.MockResourceResult> {
    const key = `${args.type}::${args.name}`;
    if (this.seen.has(key)) throw new Error(`the harness keys state by type and name, and ${key} was registered twice`);
    this.seen.add(key);
    if (!args.custom) {
      record.outputs = record.inputs;
      return { id: undefined, state: args.inputs };
    }
    if (args.id) throw new Error(`the harness does not emulate reading or importing resources (${key}, id ${args.id})`);
    if (!(args.type in SECRET_OUTPUTS)) throw new Error(`the harness has no real effect for ${args.type}`);

    const raw: Plain = unwrap(args.inputs);
    const previous = this.state.resources[key];
    const renew = previous !== undefined && args.type.endsWith("Cert") && tls.dueForRenewal(previous.outputs);
    let id: string | undefined;
    let outputs: Plain;
    if (previous && same(previous.inputs, record.inputs) && !renew) {
      // Unchanged: the engine neither calls the provider nor changes state.
      id = previous.id;
      outputs = { ...previous.outputs, ...raw };
    } else if (this.opts.preview) {
      // Preview of a create/update: computed outputs stay unknown.
      outputs = Object.fromEntries(Object.entries(raw).filter(([, v]) => !pulumi.containsUnknowns(v)));
    } else {
      record.performed = true;
      const done = await this.perform({ type: args.type, name: args.name, inputs: record.inputs, previous }, raw);
      id = done.id;
      outputs = { ...raw, ...done.outputs };
      this.state.resources[key] = { id, inputs: record.inputs, outputs: await normalise(outputs) };
      this.save();
    }

    const secret = new Set([...SECRET_OUTPUTS[args.type], ...record.secretInputs]);
    // The command provider wires stdout/stderr to create/update only.
    if (args.type.startsWith("command:") && (secret.has("create") || secret.has("update"))) ["stdout", "stderr"].forEach((k) => secret.add(k));
    record.secretOutputs = Object.keys(outputs).filter((k) => secret.has(k));
    record.outputs = await normalise(outputs);
    const state = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, secret.has(k) ? { [SIG_KEY]: SECRET_SIG, value: v } : v]));
    return { id, state };
  }

  private async perform(ctx: Ctx, raw: Plain): Promise<{ id: string; outputs: Plain }> {
    switch (ctx.type) {
      case "tls:index/privateKey:PrivateKey":
        return tls.privateKey(raw);
      case "tls:index/selfSignedCert:SelfSignedCert":
        return tls.selfSignedCert(raw);
      case "tls:index/certRequest:CertRequest":
        return tls.certRequest(raw);
      case "tls:index/locallySignedCert:LocallySignedCert":
        return tls.locallySignedCert(raw);
      case "command:remote:CopyToRemote":
        return this.copy(ctx, raw);
      default:
        return this.command(ctx, raw);
    }
  }

  private async command(ctx: Ctx, raw: Plain): Promise<{ id: string; outputs: Plain }> {
    const local = ctx.type === "command:local:Command";
    for (const k of ["assetPaths", "archivePaths"]) if (raw[k] !== undefined) throw new Error(`the harness does not emulate ${k}`);
    const prev = ctx.previous;
    // triggers (and, for remote, connection) are replaceOnChanges: a replace runs create, an update runs update ?? create.
    const replace = !prev || !same(prev.inputs.triggers, ctx.inputs.triggers) || (!local && !same(prev.inputs.connection, ctx.inputs.connection));
    const id = replace || !prev?.id ? uniqueHex(ctx.name) : prev.id;
    const command: string | undefined = replace ? raw.create : raw.update ?? raw.create;
    if (command === undefined) return { id, outputs: { stdout: "", stderr: "" } };
    const extraEnv: Record<string, string> = {};
    if (!replace && raw.addPreviousOutputInEnv !== false) {
      if (prev?.outputs.stdout) extraEnv.PULUMI_COMMAND_STDOUT = prev.outputs.stdout;
      if (prev?.outputs.stderr) extraEnv.PULUMI_COMMAND_STDERR = prev.outputs.stderr;
    }
    const r = local
      ? await exec.runLocal(command, raw, extraEnv)
      : await exec.runRemote(command, raw as Parameters<typeof exec.runRemote>[1], extraEnv, this.opts);
    const logging = raw.logging ?? "stdoutAndStderr";
    const show = (stream: string, text: string, label: string): void => {
      if (!text || (logging !== "stdoutAndStderr" && logging !== stream)) return;
      for (const line of exec.trimOne(text).split("\n")) this.lines.push(`[${ctx.name}${label}] ${line}`);
    };
    this.lines.push(`[${ctx.name}] ${ctx.type} ran ${replace ? "create" : "update"}${local ? "" : ` on ${raw.connection.host}`}: status ${r.code ?? r.signal}`);
    show("stdout", r.stdout, "");
    show("stderr", r.stderr, " stderr");
    if (r.code !== 0) {
      // The provider's errors: Go's ExitError text, the command, then all output.
      const why = local ? (r.signal ? `signal: ${r.signal}` : `exit status ${r.code}`) : `Process exited with status ${r.code}`;
      throw new Error(`${why}: running ${JSON.stringify(command)}:\n${r.combined}`);
    }
    return { id, outputs: { stdout: exec.trimOne(r.stdout), stderr: exec.trimOne(r.stderr) } };
  }

  private async copy(ctx: Ctx, raw: Plain): Promise<{ id: string; outputs: Plain }> {
    const src = ctx.inputs.source as Plain;
    let source: exec.Source;
    if (src?.__asset === "text") source = { kind: "text", text: src.text };
    else if (src?.__asset === "file" || src?.__archive === "file") source = { kind: "path", path: src.path };
    else throw new Error("[source] must be a FileAsset, StringAsset or FileArchive");
    await exec.copyToRemote(raw.connection, source, raw.remotePath, this.opts.knownHostsFile);
    this.lines.push(`[${ctx.name}] ${ctx.type} copied ${source.kind === "text" ? "text" : source.path} to ${raw.connection.host}:${raw.remotePath}`);
    return { id: ctx.previous?.id ?? uniqueHex(""), outputs: {} };
  }
}
