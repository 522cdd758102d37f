// The docker provider's effects (pulumi-docker 5.x, bridged from kreuzwerker/terraform-provider-docker
// v4.5), performed for real against a Docker engine through its HTTP API, as the provider does:
// container create, network connects, uploads, start, then with `wait` healthy within
// `waitTimeout`; networks and volumes; deletes with the provider's options and retries. Fields the
// harness does not perform fail loudly rather than being ignored.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { realNow } from "./clock";

type Plain = Record<string, any>;

/** Where the provider talks to the engine: `docker:host` config, else DOCKER_HOST, else the default socket. */
export function dockerHost(config: Record<string, string>): string {
    return config["docker:host"] ?? process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
}

interface ApiReply {
    status: number;
    body: any;
}

function api(host: string, method: string, path: string, body?: unknown, raw?: Buffer): Promise<ApiReply> {
    if (!host.startsWith("unix://")) throw new Error(`the harness talks to Docker over a unix socket only (${host})`);
    return new Promise((resolve, reject) => {
        const payload = raw ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
        const req = http.request(
            {
                socketPath: host.slice("unix://".length), method, path,
                headers: payload === undefined ? {} : { "Content-Type": raw ? "application/x-tar" : "application/json", "Content-Length": payload.length },
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (d: Buffer) => chunks.push(d));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString();
                    let parsed: any = text;
                    try {
                        parsed = text ? JSON.parse(text) : undefined;
                    } catch {
                        /* plain text */
                    }
                    resolve({ status: res.statusCode ?? 0, body: parsed });
                });
            },
        );
        req.on("error", reject);
        if (payload !== undefined) req.write(payload);
        req.end();
    });
}

async function ok(host: string, method: string, path: string, body?: unknown, raw?: Buffer): Promise<any> {
    const r = await api(host, method, path, body, raw);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${typeof r.body === "object" ? r.body?.message : r.body}`);
    return r.body;
}

/** Pulumi's autonaming: the logical name, a dash and seven random hex digits. */
export const autoname = (name: string): string => `${name}-${crypto.randomBytes(4).toString("hex").slice(0, 7)}`;

/** pulumi-docker sets DeleteBeforeReplace on docker_container; the bridge asks for it too when a user-set name would be replaced. */
export function providerDeletesBeforeReplace(type: string, autonamed: boolean): boolean {
    return type === "docker:index/container:Container" || !autonamed;
}

const NESTED: Record<string, string[]> = {
    uploads: ["file", "content", "contentBase64", "executable", "permissions"],
    healthcheck: ["tests", "interval", "timeout", "startPeriod", "retries"],
    networksAdvanced: ["name", "aliases", "ipv4Address", "ipv6Address"],
    mounts: ["type", "source", "target", "readOnly"],
    volumes: ["volumeName", "hostPath", "containerPath", "readOnly"],
    ports: ["internal", "external", "ip", "protocol"],
    labels: ["label", "value"],
    capabilities: ["adds", "drops"],
};

/** Fails, before anything is touched, for a field (or nested field) the harness does not perform, and for what the provider refuses. */
export function checkContainerFields(inputs: Plain): void {
    const unknown = Object.keys(inputs).filter((k) => !SUPPORTED_CONTAINER.has(k));
    for (const [field, allowed] of Object.entries(NESTED)) {
        const v = inputs[field];
        for (const item of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
            for (const k of Object.keys(item)) if (!allowed.includes(k)) unknown.push(`${field}.${k}`);
        }
    }
    if (unknown.length > 0) throw new Error(`the harness does not perform docker container fields ${unknown.join(", ")}`);
    if ((inputs.command ?? []).some((c: string) => c === "")) throw new Error("values for command may not be empty");
}

const SUPPORTED_CONTAINER = new Set([
    "name", "image", "command", "entrypoints", "envs", "ports", "networksAdvanced", "volumes", "mounts", "restart", "maxRetryCount", "healthcheck",
    "user", "labels", "capabilities", "readOnly", "wait", "waitTimeout", "start", "rm", "destroyGraceSeconds", "uploads", "tmpfs",
    "networkMode", "hostname", "init", "removeVolumes", "memory", "cpuShares", "securityOpts",
]);

/** The container's anonymous volumes (a `volumes` entry with neither host path nor volume name). */
const anonymous = (inputs: Plain): Plain =>
    Object.fromEntries((inputs.volumes ?? []).filter((v: Plain) => v.hostPath === undefined && v.volumeName === undefined).map((v: Plain) => [v.containerPath, {}]));

/** "30s", "1m30s", "500ms" as nanoseconds (Go's time.ParseDuration, as the provider uses). */
function nanos(d: string | undefined): number | undefined {
    if (d === undefined) return undefined;
    let total = 0;
    const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
    const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    let m: RegExpExecArray | null;
    let seen = "";
    while ((m = re.exec(d)) !== null) {
        total += Number(m[1]) * units[m[2]];
        seen += m[0];
    }
    if (seen !== d) throw new Error(`[healthcheck] ${JSON.stringify(d)} is not a Go duration`);
    return total;
}

/** A one-file tar archive, as the provider builds each upload (owner root, mode 0644, 0744 executable, or `permissions`). */
function tarOf(file: string, content: Buffer, mode: number): Buffer {
    const header = Buffer.alloc(512);
    const name = file.replace(/^\/+/, "");
    if (name.length > 99) throw new Error(`the harness uploads paths of up to 99 characters (${file})`);
    header.write(name, 0, "utf8");
    header.write(mode.toString(8).padStart(7, "0") + "\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(content.length.toString(8).padStart(11, "0") + "\0", 124);
    header.write(Math.floor(realNow() / 1000).toString(8).padStart(11, "0") + "\0", 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0" + "00", 257);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
    return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

/**
 * The provider's create: a container from the inputs, off the default bridge and onto each network,
 * uploaded to, started, and with `wait` waited for until healthy. A container that then fails is
 * left where it is, as the provider leaves it (its ID is set right after the create).
 */
export async function createContainer(host: string, logicalName: string, inputs: Plain): Promise<{ id: string; outputs: Plain }> {
    checkContainerFields(inputs);
    const name: string = inputs.name ?? autoname(logicalName);
    const exposed: Plain = {};
    const bindings: Plain = {};
    for (const p of inputs.ports ?? []) {
        const key = `${p.internal}/${p.protocol ?? "tcp"}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external === undefined ? "" : String(p.external) });
    }
    const binds: string[] = [];
    for (const v of inputs.volumes ?? []) {
        // The provider's order: a host path wins over a volume name; neither is an anonymous volume.
        const source = v.hostPath ?? v.volumeName;
        if (source !== undefined) binds.push(`${source}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
    }
    const mounts = (inputs.mounts ?? []).map((m: Plain) => ({ Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.readOnly ?? false }));
    const hc = inputs.healthcheck;
    const config = {
        Image: inputs.image,
        Hostname: inputs.hostname,
        Cmd: inputs.command,
        Entrypoint: inputs.entrypoints,
        Env: inputs.envs,
        User: inputs.user,
        Labels: Object.fromEntries((inputs.labels ?? []).map((l: Plain) => [l.label, l.value])),
        ExposedPorts: exposed,
        Volumes: anonymous(inputs),
        Healthcheck: hc === undefined ? undefined : {
            Test: hc.tests, Interval: nanos(hc.interval ?? "0s"), Timeout: nanos(hc.timeout ?? "0s"), StartPeriod: nanos(hc.startPeriod ?? "0s"), Retries: hc.retries ?? 0,
        },
        HostConfig: {
            PortBindings: bindings,
            Binds: binds,
            Mounts: mounts,
            RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
            SecurityOpt: inputs.securityOpts,
            CapAdd: inputs.capabilities?.adds,
            CapDrop: inputs.capabilities?.drops,
            ReadonlyRootfs: inputs.readOnly ?? false,
            AutoRemove: inputs.rm ?? false,
            Tmpfs: inputs.tmpfs,
            NetworkMode: inputs.networkMode ?? "bridge",
            Init: inputs.init,
            Memory: inputs.memory === undefined ? undefined : inputs.memory * 1024 * 1024,
            CpuShares: inputs.cpuShares,
        },
    };
    const created = await ok(host, "POST", `/containers/create?name=${encodeURIComponent(name)}`, config);
    const id: string = created.Id;
    const failed = (e: Error) => new Error(`${e.message} (container ${id} is left as the provider leaves it; the harness keeps no initialisation-failed resource in state)`);
    try {
        if ((inputs.networksAdvanced ?? []).length > 0) {
            const d = await api(host, "POST", `/networks/bridge/disconnect`, { Container: id, Force: false });
            if (d.status >= 300 && !/is not connected to the network bridge/.test(String(d.body?.message))) throw new Error(`Unable to disconnect the default network: ${d.body?.message}`);
            for (const n of inputs.networksAdvanced) {
                await ok(host, "POST", `/networks/${encodeURIComponent(n.name)}/connect`, {
                    Container: id, EndpointConfig: { Aliases: n.aliases, IPAMConfig: { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address } },
                });
            }
        }
        for (const u of inputs.uploads ?? []) {
            const content = u.content !== undefined ? Buffer.from(u.content) : u.contentBase64 !== undefined ? Buffer.from(u.contentBase64, "base64") : undefined;
            if (content === undefined) throw new Error("the harness uploads content or contentBase64 only");
            const mode = u.permissions !== undefined ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
            await ok(host, "PUT", `/containers/${id}/archive?path=/`, undefined, tarOf(u.file, content, mode));
        }
        if (inputs.start ?? true) await ok(host, "POST", `/containers/${id}/start`);
        await waitHealthy(host, id, inputs);
    } catch (e) {
        throw failed(e as Error);
    }
    return { id, outputs: await containerOutputs(host, id) };
}

/** The provider's `wait`: the healthcheck's status polled every second until healthy, for up to `waitTimeout` seconds. */
async function waitHealthy(host: string, id: string, inputs: Plain): Promise<void> {
    if (!inputs.wait || !(inputs.start ?? true)) return;
    const healthDeadline = realNow() + (inputs.waitTimeout ?? 60) * 1000;
    for (;;) {
        const c = await ok(host, "GET", `/containers/${id}/json`);
        const status = c.State.Health?.Status;
        if (status === undefined) throw new Error(`container ${c.Name} has no healthcheck to wait for`);
        if (status === "healthy") return;
        if (realNow() > healthDeadline) {
            throw new Error(`container ${c.Name} did not become healthy within ${inputs.waitTimeout ?? 60} s: ${JSON.stringify(c.State.Health.Log?.slice(-1)[0]?.Output ?? "")}`);
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
}

async function containerOutputs(host: string, id: string): Promise<Plain> {
    const c = await ok(host, "GET", `/containers/${id}/json`);
    return {
        name: c.Name.replace(/^\//, ""),
        hostname: c.Config.Hostname,
        networkDatas: Object.entries<any>(c.NetworkSettings.Networks ?? {}).map(([networkName, n]) => ({
            networkName, ipAddress: n.IPAddress, ipPrefixLength: n.IPPrefixLen, gateway: n.Gateway, macAddress: n.MacAddress,
        })),
    };
}

/** The provider's update: only the restart policy and resources reach the engine; the other in-place fields are state only. */
export async function updateContainer(host: string, id: string, inputs: Plain): Promise<Plain> {
    await ok(host, "POST", `/containers/${id}/update`, {
        RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
        ...(inputs.memory === undefined ? {} : { Memory: inputs.memory * 1024 * 1024 }),
        ...(inputs.cpuShares === undefined ? {} : { CpuShares: inputs.cpuShares }),
    });
    return containerOutputs(host, id);
}

/** The provider's delete: stopped first with destroyGraceSeconds, then removed with its anonymous volumes (removeVolumes). */
export async function deleteContainer(host: string, id: string, inputs: Plain): Promise<void> {
    if (inputs.destroyGraceSeconds) await api(host, "POST", `/containers/${id}/stop?t=${inputs.destroyGraceSeconds}`);
    const r = await api(host, "DELETE", `/containers/${id}?force=true&v=${inputs.removeVolumes ?? true}`);
    if (r.status >= 300 && r.status !== 404) throw new Error(`removing container ${id}: ${r.body?.message}`);
}

export async function createNetwork(host: string, logicalName: string, inputs: Plain): Promise<{ id: string; outputs: Plain }> {
    const unknown = Object.keys(inputs).filter((k) => !["name", "driver", "internal", "attachable", "labels", "options"].includes(k));
    if (unknown.length > 0) throw new Error(`the harness does not perform docker network fields ${unknown.join(", ")}`);
    const name: string = inputs.name ?? autoname(logicalName);
    const r = await ok(host, "POST", "/networks/create", {
        Name: name, Driver: inputs.driver ?? "bridge", Internal: inputs.internal ?? false, Attachable: inputs.attachable ?? false, CheckDuplicate: true,
        Options: inputs.options, Labels: Object.fromEntries((inputs.labels ?? []).map((l: Plain) => [l.label, l.value])),
    });
    return { id: r.Id, outputs: { name, scope: "local" } };
}

/** A delete retried as the provider retries it: `again` says which failures are worth another try, for up to 30 s. */
async function deleteRetrying(host: string, path: string, what: string, again: RegExp): Promise<void> {
    const deadline = realNow() + 30_000;
    for (;;) {
        const r = await api(host, "DELETE", path);
        if (r.status < 300 || r.status === 404) return;
        if (!again.test(String(r.body?.message)) || realNow() > deadline) throw new Error(`removing ${what}: ${r.body?.message}`);
        await new Promise((res) => setTimeout(res, 1000));
    }
}

export async function deleteNetwork(host: string, id: string): Promise<void> {
    await deleteRetrying(host, `/networks/${id}`, `network ${id}`, /has active endpoints/);
}

export async function createVolume(host: string, logicalName: string, inputs: Plain): Promise<{ id: string; outputs: Plain }> {
    const unknown = Object.keys(inputs).filter((k) => !["name", "driver", "labels", "driverOpts"].includes(k));
    if (unknown.length > 0) throw new Error(`the harness does not perform docker volume fields ${unknown.join(", ")}`);
    const name: string = inputs.name ?? autoname(logicalName);
    const r = await ok(host, "POST", "/volumes/create", {
        Name: name, Driver: inputs.driver ?? "local", DriverOpts: inputs.driverOpts, Labels: Object.fromEntries((inputs.labels ?? []).map((l: Plain) => [l.label, l.value])),
    });
    return { id: r.Name, outputs: { name, mountpoint: r.Mountpoint, driver: r.Driver } };
}

export async function deleteVolume(host: string, id: string): Promise<void> {
    await deleteRetrying(host, `/volumes/${id}?force=true`, `volume ${id}`, /in use/);
}

const IMAGE_FIELDS = ["imageName", "build", "skipPush", "buildOnPreview"];
const BUILD_FIELDS = ["context", "dockerfile", "builderVersion", "args", "platform", "contextDigest"];

/**
 * The provider's Check of docker.Image (pulumi-docker's native image.go): context "." and dockerfile
 * `<context>/Dockerfile` by default, relative to the program's directory; the Dockerfile must exist,
 * at preview too; `build.contextDigest` is the SHA-256 of the Dockerfile, then of each file's
 * path, mode and content, so a changed file is a changed input. Only local builds are performed.
 */
export function checkImage(inputs: Plain): Plain {
    const unknown = Object.keys(inputs).filter((k) => !IMAGE_FIELDS.includes(k));
    unknown.push(...Object.keys(inputs.build ?? {}).filter((k) => !BUILD_FIELDS.includes(k)).map((k) => `build.${k}`));
    if (unknown.length > 0) throw new Error(`the harness does not perform docker image fields ${unknown.join(", ")}`);
    if (inputs.skipPush !== true) throw new Error("the harness builds images locally only: set skipPush: true");
    const build = { ...(inputs.build ?? {}) };
    // The provider's Check fills in the machine's platform and buildOnPreview false.
    build.platform ??= `linux/${({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" } as Record<string, string>)[process.arch] ?? process.arch}`;
    build.context ??= ".";
    build.dockerfile ??= path.join(build.context, "Dockerfile");
    const checked = { ...inputs, buildOnPreview: inputs.buildOnPreview ?? false, build };
    if (typeof build.dockerfile !== "string" || typeof build.context !== "string") return checked;
    if (!fs.existsSync(build.dockerfile)) {
        throw new Error(path.isAbsolute(build.dockerfile) ? `expected a relative Dockerfile path, got ${build.dockerfile}` : `could not open dockerfile at relative path ${build.dockerfile}`);
    }
    const hash = crypto.createHash("sha256");
    hash.update(fs.readFileSync(build.dockerfile));
    const walk = (dir: string): string[] =>
        fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
    for (const f of walk(build.context)) {
        hash.update(path.relative(build.context, f));
        hash.update((fs.statSync(f).mode & 0o7777).toString(8));
        hash.update(crypto.createHash("sha256").update(fs.readFileSync(f)).digest());
        hash.update("\0");
    }
    build.contextDigest = hash.digest("hex");
    return checked;
}

/**
 * The provider's create and update of docker.Image: the context as a tar owned by root, sent to the
 * engine's build API (`builderVersion: "BuilderV1"`, the classic builder; BuildKit needs a session
 * the harness does not open), tagged `imageName`. The id is the image name; with skipPush,
 * `repoDigest` is the local image ID. Delete leaves the image, as the provider does.
 */
export async function buildImage(host: string, inputs: Plain): Promise<{ id: string; outputs: Plain }> {
    const build = inputs.build;
    if (build.builderVersion !== "BuilderV1") throw new Error("the harness builds with the classic builder only: set build.builderVersion BuilderV1");
    const tar = execFileSync("tar", ["-C", build.context, "-c", "--owner=0", "--group=0", "--numeric-owner", "-f", "-", "."], { maxBuffer: 1 << 30 });
    const q = new URLSearchParams({
        t: inputs.imageName, dockerfile: path.relative(build.context, build.dockerfile), buildargs: JSON.stringify(build.args ?? {}), version: "1", rm: "1", forcerm: "1",
        ...(build.platform === undefined ? {} : { platform: build.platform }),
    });
    const r = await api(host, "POST", `/build?${q}`, undefined, tar);
    const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
    const failure = text.split("\n").map((l) => { try { return JSON.parse(l); } catch { return undefined; } }).find((m) => m?.error !== undefined);
    if (r.status >= 300 || failure !== undefined) throw new Error(`docker build of ${inputs.imageName} failed: ${failure?.error ?? text.slice(-2000)}`);
    const image = await ok(host, "GET", `/images/${encodeURIComponent(inputs.imageName)}/json`);
    return {
        id: inputs.imageName,
        outputs: {
            imageName: inputs.imageName, baseImageName: inputs.imageName, repoDigest: image.Id, registryServer: "",
            context: build.context, dockerfile: path.relative(build.context, build.dockerfile), platform: build.platform,
        },
    };
}
