// The docker provider's effects (pulumi-docker, bridged from kreuzwerker/terraform-provider-docker),
// performed for real against a Docker engine through its HTTP API, as the provider does: container
// create, network connects, uploads, start, then the provider's wait until running (and healthy
// with `wait`); networks and volumes; deletes with the provider's options. Fields the harness does
// not perform fail loudly rather than being ignored.
import * as crypto from "crypto";
import * as http from "http";

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

const SUPPORTED_CONTAINER = new Set([
    "name", "image", "command", "entrypoints", "envs", "ports", "networksAdvanced", "volumes", "mounts", "restart", "maxRetryCount", "healthcheck",
    "user", "labels", "capabilities", "readOnly", "wait", "waitTimeout", "mustRun", "start", "rm", "destroyGraceSeconds", "uploads", "tmpfs",
    "networkMode", "hostname", "init", "removeVolumes", "memory", "cpuShares",
]);

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
    header.write(Math.floor(Date.now() / 1000).toString(8).padStart(11, "0") + "\0", 136);
    header.write("        ", 148);
    header.write("0", 156);
    header.write("ustar\0" + "00", 257);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
    return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

/** The provider's create: a container from the inputs, connected, uploaded to, started and waited for. */
export async function createContainer(host: string, logicalName: string, inputs: Plain): Promise<{ id: string; outputs: Plain }> {
    const unknown = Object.keys(inputs).filter((k) => !SUPPORTED_CONTAINER.has(k));
    if (unknown.length > 0) throw new Error(`the harness does not perform docker container fields ${unknown.join(", ")}`);
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
        if (v.fromContainer !== undefined) throw new Error("the harness does not perform volumes from containers");
        binds.push(`${v.volumeName ?? v.hostPath}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
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
        Healthcheck: hc === undefined ? undefined : {
            Test: hc.tests, Interval: nanos(hc.interval ?? "0s"), Timeout: nanos(hc.timeout ?? "0s"), StartPeriod: nanos(hc.startPeriod ?? "0s"), Retries: hc.retries ?? 0,
        },
        HostConfig: {
            PortBindings: bindings,
            Binds: binds,
            Mounts: mounts,
            RestartPolicy: { Name: inputs.restart ?? "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
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
    try {
        if ((inputs.networksAdvanced ?? []).length > 0) {
            const d = await api(host, "POST", `/networks/bridge/disconnect`, { Container: id, Force: false });
            if (d.status >= 300 && !/is not connected to the network bridge|not found/.test(String(d.body?.message))) throw new Error(`disconnecting the default network: ${d.body?.message}`);
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
        await waitRunning(host, id, inputs);
    } catch (e) {
        // The provider removes a container that did not come up, then fails.
        await api(host, "DELETE", `/containers/${id}?force=true&v=true`);
        throw e;
    }
    return { id, outputs: await containerOutputs(host, id) };
}

/** The provider's read after create: running within containerReadRefreshTimeout (must_run), then healthy within waitTimeout (wait). */
async function waitRunning(host: string, id: string, inputs: Plain): Promise<void> {
    if (!(inputs.start ?? true)) return;
    const deadline = Date.now() + 15_000;
    for (;;) {
        const c = await ok(host, "GET", `/containers/${id}/json`);
        if (c.State.Running) break;
        if (c.State.Status === "exited" || Date.now() > deadline) {
            if (inputs.mustRun ?? true) throw new Error(`container ${c.Name} exited immediately (status ${c.State.ExitCode}): container failed to be in running state`);
            return;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    if (!inputs.wait) return;
    const healthDeadline = Date.now() + (inputs.waitTimeout ?? 60) * 1000;
    for (;;) {
        const c = await ok(host, "GET", `/containers/${id}/json`);
        const status = c.State.Health?.Status;
        if (status === undefined) throw new Error(`container ${c.Name} has no healthcheck to wait for`);
        if (status === "healthy") return;
        if (Date.now() > healthDeadline) {
            throw new Error(`container ${c.Name} did not become healthy within ${inputs.waitTimeout ?? 60} s: ${JSON.stringify(c.State.Health.Log?.slice(-1)[0]?.Output ?? "")}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

async function containerOutputs(host: string, id: string): Promise<Plain> {
    const c = await ok(host, "GET", `/containers/${id}/json`);
    return {
        name: c.Name.replace(/^\//, ""),
        hostname: c.Config.Hostname,
        networkData: Object.entries<any>(c.NetworkSettings.Networks ?? {}).map(([networkName, n]) => ({
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

export async function deleteNetwork(host: string, id: string): Promise<void> {
    const r = await api(host, "DELETE", `/networks/${id}`);
    if (r.status >= 300 && r.status !== 404) throw new Error(`removing network ${id}: ${r.body?.message}`);
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
    const r = await api(host, "DELETE", `/volumes/${id}`);
    if (r.status >= 300 && r.status !== 404) throw new Error(`removing volume ${id}: ${r.body?.message}`);
}
