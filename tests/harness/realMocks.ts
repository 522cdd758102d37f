// Mocks for pulumi.runtime.setMocks that perform each resource's real effect
// and keep Pulumi-like state between runs. See README.md.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "./docker";
import * as exec from "./exec";
import { plan } from "./plan";
import * as tls from "./tls";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

// The providers' schemas mark these outputs secret; the engine applies them.
const SECRET_OUTPUTS: Record<string, string[]> = {
  "tls:index/privateKey:PrivateKey": ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"],
  "tls:index/selfSignedCert:SelfSignedCert": ["privateKeyPem"],
  "tls:index/certRequest:CertRequest": ["privateKeyPem"],
  "tls:index/locallySignedCert:LocallySignedCert": ["caPrivateKeyPem"],
  "command:remote:Command": ["connection"],
  "command:remote:CopyToRemote": ["connection"],
  "command:local:Command": [],
  "docker:index/container:Container": [],
  "docker:index/network:Network": [],
  "docker:index/volume:Volume": [],
  "docker:index/image:Image": [],
};

const DOCKER = new Set(["docker:index/container:Container", "docker:index/network:Network", "docker:index/volume:Volume", "docker:index/image:Image"]);
const IMAGE = "docker:index/image:Image";

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
  /** The stack config, for providers that read their own (`docker:host`). */
  config?: Record<string, string>;
}

/** The resource options of a registration, which the mock monitor drops and the child process hands over (see child.ts). */
export interface RegistrationOptions {
  urn: string;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  deleteBeforeReplace: boolean;
  deleteBeforeReplaceDefined: boolean;
  aliases: number;
}

export interface ResourceRecord {
  type: string;
  name: string;
  urn: string;
  /** Inputs with secrets unwrapped and assets as {__asset|__archive, path|text, sha256}. */
  inputs: Plain;
  outputs: Plain;
  /** True when the effect ran (or failed) in this run; false when state was reused, in a preview, and for components. */
  performed: boolean;
  /** "create", "update", "replace", "same", or "delete" (run at the end, for removed and replaced resources). */
  step: string;
  secretInputs: string[];
  secretOutputs: string[];
  error?: string;
  /** When the registration reached the harness and when it settled, in ms since the epoch (the real clock). */
  startedMs?: number;
  endedMs?: number;
}

interface Stored {
  type: string;
  name: string;
  id?: string;
  inputs: Plain;
  outputs: Plain;
  retainOnDelete?: boolean;
  /** Creation order: deleting in reverse order deletes dependents before what they depend on. */
  order: number;
  /** The provider made up `name` (Pulumi autonaming): kept while the resource lives, made anew when it is replaced. */
  autonamed?: boolean;
}

interface State {
  version: 2;
  counter: number;
  resources: Record<string, Stored>;
  /** Old versions of replaced resources (and removed ones) whose delete has not succeeded yet. */
  pendingDeletes: Array<{ urn: string } & Stored>;
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

const uniqueHex = (prefix: string): string => prefix + crypto.randomBytes(4).toString("hex");

export class RealMocks implements pulumi.runtime.Mocks {
  readonly resources: ResourceRecord[] = [];
  readonly errors: string[] = [];
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();
  private readonly state: State;
  private next?: RegistrationOptions;

  constructor(private readonly opts: RealMocksOptions) {
    this.state = fs.existsSync(opts.stateFile)
      ? JSON.parse(fs.readFileSync(opts.stateFile, "utf8"))
      : { version: 2, counter: 0, resources: {}, pendingDeletes: [] };
  }

  /** Every command's stdout/stderr as Pulumi would show it (the `logging` input decides). */
  get log(): string {
    return this.lines.join("\n");
  }

  /** The options of the registration whose newResource comes next (called synchronously before it). */
  nextOptions(o: RegistrationOptions): void {
    this.next = o;
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    throw new Error(`the harness has no real effect for the function ${args.token}`);
  }

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    const options = this.next;
    this.next = undefined;
    if (options === undefined) throw new Error(`the harness got no resource options for ${args.type} ${args.name}; run programs through runProgram`);
    const secretInputs = Object.keys(args.inputs).filter((k) => isSecretValue(args.inputs[k]));
    const record: ResourceRecord = {
      type: args.type, name: args.name, urn: options.urn, inputs: await normalise(args.inputs), outputs: {}, performed: false, step: "same",
      secretInputs, secretOutputs: [], startedMs: performance.timeOrigin + performance.now(),
    };
    this.resources.push(record);
    try {
      return await this.register(args, options, record);
    } catch (e) {
      record.error = (e as Error).message;
      this.errors.push(`${args.type} ${args.name}: ${record.error}`);
      throw e;
    } finally {
      record.endedMs = performance.timeOrigin + performance.now();
    }
  }

  /**
   * At the end of a successful `up`, as the engine does: the old versions of replaced resources and
   * the resources the program no longer declares are deleted, dependents first, with their old
   * inputs; `retainOnDelete` ones only leave state. A failed delete fails the run and is retried next time.
   */
  async finish(succeeded: boolean): Promise<void> {
    if (this.opts.preview) return;
    if (succeeded) {
      // A removed resource whose delete fails stays in state as it was; a replaced one stays pending.
      const removed = Object.entries(this.state.resources).filter(([urn]) => !this.seen.has(urn)).map(([urn, stored]) => ({ urn, ...stored, removed: true }));
      const queue = [...this.state.pendingDeletes.map((p) => ({ ...p, removed: false })), ...removed].sort((a, b) => b.order - a.order);
      for (const old of queue) {
        const record: ResourceRecord = {
          type: old.type, name: old.name, urn: old.urn, inputs: old.inputs, outputs: old.outputs, performed: false, step: "delete",
          secretInputs: [], secretOutputs: [],
        };
        this.resources.push(record);
        try {
          record.performed = !old.retainOnDelete && (await this.delete(old));
          if (old.removed) delete this.state.resources[old.urn];
          else this.state.pendingDeletes = this.state.pendingDeletes.filter((p) => !(p.urn === old.urn && p.order === old.order));
          this.save();
        } catch (e) {
          record.error = (e as Error).message;
          this.errors.push(`${old.type} ${old.name} (delete): ${record.error}`);
          break;
        }
      }
    }
    this.save();
  }

  private save(): void {
    if (this.opts.preview) return;
    fs.mkdirSync(path.dirname(this.opts.stateFile), { recursive: true, mode: 0o700 });
    const tmp = `${this.opts.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, this.opts.stateFile);
  }

  private async register(args: pulumi.runtime.MockResourceArgs, options: RegistrationOptions, record: ResourceRecord): Promise<pulumi.runtime.MockResourceResult> {
    const key = options.urn;
    if (this.seen.has(key)) throw new Error(`duplicate resource URN ${key}`);
    this.seen.add(key);
    // @pulumi/docker gives every Image the alias of its old type token (docker:image:Image); the
    // engine would look for that URN in state, where the harness never puts one: it changes nothing.
    const sdkAlias = args.type === IMAGE && options.aliases === 1;
    if (options.aliases > 0 && !sdkAlias) throw new Error(`the harness does not emulate aliases (${key})`);
    if (!args.custom) {
      record.outputs = record.inputs;
      return { id: undefined, state: args.inputs };
    }
    if (args.id) throw new Error(`the harness does not emulate reading or importing resources (${key}, id ${args.id})`);
    if (!(args.type in SECRET_OUTPUTS)) throw new Error(`the harness has no real effect for ${args.type}`);

    const previous = this.state.resources[key];
    const raw: Plain = unwrap(args.inputs);
    // ignoreChanges: the engine keeps the old value of each ignored property.
    for (const k of options.ignoreChanges) {
      if (k.includes(".") || k.includes("[")) throw new Error(`the harness emulates ignoreChanges on top-level properties only (${k})`);
      if (previous !== undefined && k in previous.inputs) {
        raw[k] = previous.inputs[k];
        record.inputs[k] = previous.inputs[k];
      }
    }
    // The image provider's Check (at preview too): defaults, the Dockerfile opened, the context hashed.
    if (args.type === IMAGE) {
      const checked = docker.checkImage(raw);
      raw.build = checked.build;
      raw.buildOnPreview = checked.buildOnPreview;
      record.inputs.build = await normalise(checked.build);
      record.inputs.buildOnPreview = checked.buildOnPreview;
    }
    // Autonaming, as the bridge's Check does it: the old name is kept for the diff (docker.Image is native and takes imageName).
    const autonamed = DOCKER.has(args.type) && args.type !== IMAGE && raw.name === undefined;
    if (autonamed && previous?.autonamed) raw.name = record.inputs.name = previous.inputs.name;
    const renew = previous !== undefined && args.type.endsWith("Cert") && tls.dueForRenewal(previous.outputs);
    const step = renew ? "replace" : plan(args.type, previous, record.inputs, options.replaceOnChanges);
    // A replacement is checked again without the old inputs, so it gets a name of its own.
    if (autonamed && (step === "replace" || previous === undefined) && !this.opts.preview) raw.name = record.inputs.name = docker.autoname(args.name);
    record.step = previous === undefined ? "create" : step;
    let id: string | undefined;
    let outputs: Plain;
    if (step === "same") {
      // Unchanged: the engine neither calls the provider nor changes state.
      id = previous!.id;
      outputs = { ...previous!.outputs, ...raw };
    } else if (this.opts.preview) {
      // Preview of a create/update: computed outputs stay unknown.
      outputs = Object.fromEntries(Object.entries(raw).filter(([, v]) => !pulumi.containsUnknowns(v)));
    } else {
      record.performed = true;
      // deleteBeforeReplace (the program's when it set one, else the provider's): the engine deletes
      // the old resource before it creates the new one (a retained one only leaves state).
      const dbr = options.deleteBeforeReplaceDefined ? options.deleteBeforeReplace : DOCKER.has(args.type) && docker.providerDeletesBeforeReplace(args.type, autonamed);
      const deletedFirst = step === "replace" && previous !== undefined && dbr;
      if (args.type === "docker:index/container:Container") docker.checkContainerFields(raw);
      if (deletedFirst) {
        if (!previous!.retainOnDelete) await this.delete(previous!);
        // Gone from state at once: if the create then fails, the next run creates it.
        delete this.state.resources[key];
        this.save();
      }
      if (step === "update" && args.type === IMAGE) {
        // Every change to an image is an update: it is built again; the id stays the first imageName.
        id = previous!.id;
        outputs = { ...previous!.outputs, ...raw, ...(await this.logged(args.name, args.type, "update", docker.buildImage(this.dockerHost, raw))).outputs };
      } else if (step === "update" && args.type === "docker:index/container:Container") {
        id = previous!.id;
        outputs = { ...previous!.outputs, ...raw, ...(await docker.updateContainer(this.dockerHost, id!, raw)) };
      } else if (step === "update" && !args.type.startsWith("command:")) {
        // tls update: the new inputs go to state, the old certificate (and every computed output) stays.
        id = previous!.id;
        outputs = { ...previous!.outputs, ...raw };
      } else {
        const done = await this.perform(args.type, args.name, record.inputs, raw, step === "replace" ? undefined : previous);
        id = done.id;
        outputs = { ...raw, ...done.outputs };
      }
      if (step === "replace" && previous !== undefined && !deletedFirst) this.state.pendingDeletes.push({ urn: key, ...previous });
      this.state.resources[key] = {
        type: args.type, name: args.name, id, inputs: record.inputs, outputs: await normalise(outputs), retainOnDelete: options.retainOnDelete,
        order: step === "replace" || previous === undefined ? ++this.state.counter : previous.order, autonamed: autonamed || undefined,
      };
      this.save();
    }
    if (step === "same" && previous !== undefined && previous.retainOnDelete !== options.retainOnDelete) {
      // An options-only change reaches state without a provider call.
      previous.retainOnDelete = options.retainOnDelete;
      this.save();
    }

    // The engine's rule: an output is secret when the schema says so, the program asked
    // (additionalSecretOutputs), or the input of the same name was secret. Nothing else: a secret
    // stdin or create does not make a command's stdout secret.
    const secret = new Set([...SECRET_OUTPUTS[args.type], ...options.additionalSecretOutputs, ...record.secretInputs]);
    record.secretOutputs = Object.keys(outputs).filter((k) => secret.has(k));
    record.outputs = await normalise(outputs);
    const state = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, secret.has(k) ? { [SIG_KEY]: SECRET_SIG, value: v } : v]));
    return { id, state };
  }

  private async perform(type: string, name: string, inputs: Plain, raw: Plain, previous?: Stored): Promise<{ id: string; outputs: Plain }> {
    switch (type) {
      case "tls:index/privateKey:PrivateKey":
        return tls.privateKey(raw);
      case "tls:index/selfSignedCert:SelfSignedCert":
        return tls.selfSignedCert(raw);
      case "tls:index/certRequest:CertRequest":
        return tls.certRequest(raw);
      case "tls:index/locallySignedCert:LocallySignedCert":
        return tls.locallySignedCert(raw);
      case "command:remote:CopyToRemote":
        return this.copy(name, inputs, raw, previous);
      case "docker:index/container:Container":
        return this.logged(name, type, "create", docker.createContainer(this.dockerHost, name, raw));
      case "docker:index/network:Network":
        return this.logged(name, type, "create", docker.createNetwork(this.dockerHost, name, raw));
      case "docker:index/volume:Volume":
        return this.logged(name, type, "create", docker.createVolume(this.dockerHost, name, raw));
      case IMAGE:
        return this.logged(name, type, "create", docker.buildImage(this.dockerHost, raw));
      default:
        return this.command(type, name, raw, previous);
    }
  }

  /** create on a create or replace, `update ?? create` on an update, with the previous output in the environment. */
  private async command(type: string, name: string, raw: Plain, previous?: Stored): Promise<{ id: string; outputs: Plain }> {
    const id = previous?.id ?? uniqueHex(name);
    const command: string | undefined = previous === undefined ? raw.create : raw.update ?? raw.create;
    if (command === undefined) return { id, outputs: { stdout: "", stderr: "" } };
    const r = await this.run(type, name, previous === undefined ? "create" : "update", command, raw, previous?.outputs);
    return { id, outputs: { stdout: exec.trimOne(r.stdout), stderr: exec.trimOne(r.stderr) } };
  }

  /**
   * The provider's Delete: the stored delete command, with the stored connection, environment and
   * stdin; without one, no dial. tls resources and CopyToRemote have no Delete. Returns whether it ran.
   */
  private async delete(old: Stored): Promise<boolean> {
    if (DOCKER.has(old.type)) {
      const host = this.dockerHost;
      // The image provider's Delete does nothing: the built image stays on the engine.
      if (old.type === IMAGE) return false;
      if (old.type === "docker:index/container:Container") await docker.deleteContainer(host, old.id!, old.inputs);
      else if (old.type === "docker:index/network:Network") await docker.deleteNetwork(host, old.id!);
      else await docker.deleteVolume(host, old.id!);
      this.lines.push(`[${old.name}] ${old.type} deleted ${old.id}`);
      return true;
    }
    if (!old.type.startsWith("command:") || old.type === "command:remote:CopyToRemote" || old.inputs.delete === undefined) return false;
    await this.run(old.type, old.name, "delete", old.inputs.delete, old.inputs, old.outputs);
    return true;
  }

  private get dockerHost(): string {
    return docker.dockerHost(this.opts.config ?? {});
  }

  private async logged(name: string, type: string, verb: string, done: Promise<{ id: string; outputs: Plain }>): Promise<{ id: string; outputs: Plain }> {
    const r = await done;
    this.lines.push(`[${name}] ${type} ran ${verb}: ${r.id}`);
    return r;
  }

  private async run(type: string, name: string, verb: string, command: string, raw: Plain, previousOutputs?: Plain): Promise<exec.Output> {
    const local = type === "command:local:Command";
    for (const k of ["assetPaths", "archivePaths"]) if (raw[k] !== undefined) throw new Error(`the harness does not emulate ${k}`);
    const extraEnv: Record<string, string> = {};
    if (previousOutputs !== undefined && raw.addPreviousOutputInEnv !== false) {
      if (previousOutputs.stdout) extraEnv.PULUMI_COMMAND_STDOUT = previousOutputs.stdout;
      if (previousOutputs.stderr) extraEnv.PULUMI_COMMAND_STDERR = previousOutputs.stderr;
    }
    const r = local
      ? await exec.runLocal(command, raw, extraEnv)
      : await exec.runRemote(command, raw as Parameters<typeof exec.runRemote>[1], extraEnv, this.opts);
    const logging = raw.logging ?? "stdoutAndStderr";
    const show = (stream: string, text: string, label: string): void => {
      if (!text || (logging !== "stdoutAndStderr" && logging !== stream)) return;
      for (const line of exec.trimOne(text).split("\n")) this.lines.push(`[${name}${label}] ${line}`);
    };
    this.lines.push(`[${name}] ${type} ran ${verb}${local ? "" : ` on ${raw.connection.host}`}: status ${r.code ?? r.signal}`);
    show("stdout", r.stdout, "");
    show("stderr", r.stderr, " stderr");
    if (r.code !== 0) {
      // The provider's errors: Go's ExitError text, the command, then all output.
      const why = r.dialError ?? (local ? (r.signal ? `signal: ${r.signal}` : `exit status ${r.code}`) : `Process exited with status ${r.code}`);
      throw new Error(r.dialError ? why : `${why}: running ${JSON.stringify(command)}:\n${r.combined}`);
    }
    return r;
  }

  private async copy(name: string, inputs: Plain, raw: Plain, previous?: Stored): Promise<{ id: string; outputs: Plain }> {
    const id = previous?.id ?? uniqueHex("");
    // The provider re-copies on update only when the content or the remote path changed.
    if (previous !== undefined && JSON.stringify(previous.inputs.source) === JSON.stringify(inputs.source) && previous.inputs.remotePath === inputs.remotePath) {
      return { id, outputs: {} };
    }
    const src = inputs.source as Plain;
    let source: exec.Source;
    if (src?.__asset === "text") source = { kind: "text", text: src.text };
    else if (src?.__asset === "file" || src?.__archive === "file") source = { kind: "path", path: src.path };
    else throw new Error("[source] must be a FileAsset, StringAsset or FileArchive");
    await exec.copyToRemote(raw.connection, source, raw.remotePath, this.opts.knownHostsFile);
    this.lines.push(`[${name}] command:remote:CopyToRemote copied ${source.kind === "text" ? "text" : source.path} to ${raw.connection.host}:${raw.remotePath}`);
    return { id, outputs: {} };
  }
}
