import type { ClientLogin } from "../config/acl";
import type { AuthClients } from "../config/redisTlsConfig";
import type { ImageFamily } from "../container/images";
import type { OsFamily } from "../distribution/scripts";
import type { KeyAlgorithm } from "../keyAlgorithm";
import type { Flavor } from "../server/flavor";
import { show } from "../validation/fields";

/** One Redis host from stack config. */
export interface HostConfig {
    name: string;
    address: string;
    /** The host's SSH public key ("ssh-ed25519 AAAA..."); required, so no machine on the path can answer for it. */
    hostKey: string;
    user?: string;
    port?: number;
    dnsNames?: string[];
    ipAddresses?: string[];
    /** The host is gone: no step touches it any more, and removing it from `hosts` later deletes nothing on it. */
    decommissioned?: boolean;
    /** The `name` of the host this one replicates from (a primary: a host without replicaOf). */
    replicaOf?: string;
}

/** One client host from stack config. */
export interface ClientConfig {
    name: string;
    address: string;
    hostKey: string;
    user?: string;
    port?: number;
    osFamily?: OsFamily;
    /** Also `step ca bootstrap` this host (step-ca issuers only; smallstep's `step` must be on it). */
    stepBootstrap?: boolean;
    decommissioned?: boolean;
}

/** One application identity from stack config: its ACL user on every host, and its client certificate. */
export interface AppConfig {
    name: string;
    rules: string;
    /** The `clients` host the application runs on: its key is made there, not in state. */
    client?: string;
    /** On that host, the group the application runs as (may read the key). */
    group?: string;
}

/** The application the default program declares when `apps` is not set: its own keys, read and write, nothing dangerous. */
export const DEFAULT_APPS: AppConfig[] = [{ name: "app", rules: "~app:* resetchannels +@connection +@read +@write -@dangerous" }];

/**
 * The `container` stack config object: the TLS-only server the default program runs on the local
 * Docker engine when no `hosts` are given (see RedisTlsContainer).
 */
export interface ContainerConfig {
    image?: string;
    imageFamily?: ImageFamily;
    imageName?: string;
    publishAddress?: string;
    publishPort?: number;
    network?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
}

/** The default program's stack config, parsed; secrets are read separately as Outputs. */
export interface StackConfig {
    /** Redis hosts over SSH; none: one container on the local Docker engine. */
    hosts: HostConfig[];
    /** The container, when there are no hosts. */
    container?: ContainerConfig;
    clients: ClientConfig[];
    /** Application identities (default: DEFAULT_APPS); `[]` declares none. */
    apps: AppConfig[];
    /** "password" or "certificate" (see RedisTlsServer.clientLogin). */
    clientLogin?: ClientLogin;
    /** "redis" or "valkey". */
    flavor?: Flavor;
    /** Every member of every replica set also runs a Sentinel over TLS. */
    sentinel?: boolean;
    caCommonName?: string;
    keyAlgorithm?: KeyAlgorithm;
    validityHours?: number;
    tlsPort?: number;
    authClients?: AuthClients;
    /** An existing CA's root; with it, caIssuerPrivateKeyPem (secret) must be set. */
    caRootCertPem?: string;
    caIssuerCertPem?: string;
    /** Issue every host's certificate from this ACME directory, renewed on the hosts. */
    acme?: AcmeConfig;
    /** Issue from an existing step-ca (its provisioner password is the secret stepProvisionerPassword). */
    step?: StepConfig;
    /** Stand a step-ca up on this host and issue from it. */
    stepCa?: StepCaConfig;
}

/** The `step` stack config object: an existing step-ca. */
export interface StepConfig {
    caUrl: string;
    rootFingerprint: string;
    provisioner?: string;
    /** The step CLI where `pulumi up` runs. */
    stepCli?: string;
}

/** The `stepCa` stack config object: a host to stand step-ca up on. */
export interface StepCaConfig {
    address: string;
    hostKey: string;
    user?: string;
    port?: number;
    name?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    caPort?: number;
    acme?: boolean;
}

/** The `acme` stack config object. */
export interface AcmeConfig {
    directoryUrl: string;
    email: string;
    rootCertPem: string;
    serverCaPem?: string;
    httpPort?: number;
}

/** The config keys the default program reads, without the project prefix. */
export const CONFIG_KEYS = [
    "hosts",
    "container",
    "clients",
    "caCommonName",
    "keyAlgorithm",
    "validityHours",
    "tlsPort",
    "authClients",
    "caRootCertPem",
    "caIssuerCertPem",
    "acme",
    "step",
    "stepCa",
    "apps",
    "clientLogin",
    "flavor",
    "sentinel",
] as const;

const PROJECT = "redis-tls";

function parseJson(raw: string): unknown {
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

function parseList<T>(key: string, raw: string | undefined, fields: readonly string[]): T[] {
    if (raw === undefined) return [];
    const value = parseJson(raw);
    if (!Array.isArray(value)) {
        throw new Error(`[${PROJECT}:${key}] ${show(raw)} is not a list of objects; set entries with pulumi config set --path '${key}[0].address' ...`);
    }
    value.forEach((entry, i) => {
        if (typeof entry !== "object" || entry === null) {
            throw new Error(`[${PROJECT}:${key}[${i}]] ${show(entry)} is not an object; give {"name": ..., "address": ...}`);
        }
        for (const f of ["name", "address"]) {
            if (typeof (entry as Record<string, unknown>)[f] !== "string") {
                throw new Error(`[${PROJECT}:${key}[${i}].${f}] is missing; set it with pulumi config set --path '${key}[${i}].${f}' ...`);
            }
        }
        const unknown = Object.keys(entry).find((k) => !fields.includes(k));
        if (unknown !== undefined) {
            throw new Error(`[${PROJECT}:${key}[${i}]] has unknown field ${show(unknown)}; the fields are ${fields.join(", ")}`);
        }
        checkFlags(`${key}[${i}]`, entry as Record<string, unknown>);
        const replicaOf = (entry as Record<string, unknown>).replicaOf;
        if (replicaOf !== undefined && typeof replicaOf !== "string") {
            throw new Error(`[${PROJECT}:${key}[${i}].replicaOf] ${show(replicaOf)} is not a string; give the name of the host to replicate from: pulumi config set --path '${key}[${i}].replicaOf' redis1`);
        }
        if (typeof (entry as Record<string, unknown>).hostKey !== "string") {
            const address = (entry as Record<string, unknown>).address;
            throw new Error(
                `[${PROJECT}:${key}[${i}].hostKey] is missing; pin the host's SSH key so no machine on the path can answer for it: pulumi config set --path '${key}[${i}].hostKey' "$(ssh-keyscan -t ed25519 ${address} | cut -d' ' -f2-)"`,
            );
        }
    });
    return value as T[];
}

function parseApps(raw: string | undefined): AppConfig[] {
    if (raw === undefined) return DEFAULT_APPS;
    const value = parseJson(raw);
    if (!Array.isArray(value)) {
        throw new Error(`[${PROJECT}:apps] ${show(raw)} is not a list; set entries with pulumi config set --path 'apps[0].name' orders && pulumi config set --path 'apps[0].rules' '~orders:* +@read +@write -@dangerous'`);
    }
    value.forEach((entry, i) => {
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            throw new Error(`[${PROJECT}:apps[${i}]] ${show(entry)} is not an object; give {"name": ..., "rules": ...}`);
        }
        for (const f of ["name", "rules", "client", "group"]) {
            const v = (entry as Record<string, unknown>)[f];
            if ((v !== undefined || f === "name" || f === "rules") && typeof v !== "string") {
                throw new Error(`[${PROJECT}:apps[${i}].${f}] is missing or not a string; set it with pulumi config set --path 'apps[${i}].${f}' ...`);
            }
        }
        const unknown = Object.keys(entry).find((k) => !["name", "rules", "client", "group"].includes(k));
        if (unknown !== undefined) throw new Error(`[${PROJECT}:apps[${i}]] has unknown field ${show(unknown)}; the fields are name, rules, client, group`);
    });
    return value as AppConfig[];
}

function parseInteger(key: string, raw: string | undefined): number | undefined {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n)) {
        throw new Error(`[${PROJECT}:${key}] ${show(raw)} is not a whole number; set e.g. pulumi config set ${key} 720`);
    }
    return n;
}

function parseBoolean(key: string, raw: string | undefined): boolean | undefined {
    if (raw === undefined) return undefined;
    if (raw !== "true" && raw !== "false") throw new Error(`[${PROJECT}:${key}] ${show(raw)} is not true or false; set pulumi config set ${key} true`);
    return raw === "true";
}

/** Fields that switch something on: JSON's "false" (a string) would be truthy, so only true or false. */
const FLAGS = ["decommissioned", "stepBootstrap", "acme"];

function checkFlags(key: string, value: Record<string, unknown>): void {
    for (const f of FLAGS) {
        const v = value[f];
        if (v !== undefined && typeof v !== "boolean") {
            throw new Error(`[${PROJECT}:${key}.${f}] ${show(v)} is not true or false; set it with pulumi config set --path '${key}.${f}' true`);
        }
    }
}

/** An object-valued config key: its required fields are strings, and no field is unknown. */
function parseObject<T>(key: string, raw: string | undefined, required: string[], optional: string[], example: string): T | undefined {
    if (raw === undefined) return undefined;
    const value = parseJson(raw) as Record<string, unknown>;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new Error(`[${PROJECT}:${key}] ${show(raw)} is not an object; give ${example}`);
    }
    for (const f of required) {
        if (value[f] === undefined) {
            throw new Error(`[${PROJECT}:${key}.${f}] is missing; set it with pulumi config set --path '${key}.${f}' ...`);
        }
        if (typeof value[f] !== "string") {
            throw new Error(`[${PROJECT}:${key}.${f}] ${show(value[f])} is not a string; set it with pulumi config set --path '${key}.${f}' ...`);
        }
    }
    const fields = [...required, ...optional];
    const unknown = Object.keys(value).find((k) => !fields.includes(k));
    if (unknown !== undefined) {
        throw new Error(`[${PROJECT}:${key}] has unknown field ${show(unknown)}; the fields are ${fields.join(", ")}`);
    }
    checkFlags(key, value);
    return value as unknown as T;
}

/**
 * Parses the default program's plain stack config (values as `pulumi config` stores them: strings,
 * with lists as JSON). Fails naming the config key. Field values are checked later by the components.
 */
export function parseStackConfig(raw: Partial<Record<(typeof CONFIG_KEYS)[number], string>>): StackConfig {
    return {
        hosts: parseList<HostConfig>("hosts", raw.hosts, ["name", "address", "hostKey", "user", "port", "dnsNames", "ipAddresses", "decommissioned", "replicaOf"]),
        container: parseObject<ContainerConfig>(
            "container", raw.container, [], ["image", "imageFamily", "imageName", "publishAddress", "publishPort", "network", "dnsNames", "ipAddresses"], `{"image": "redis:7.4", "publishPort": 6379}`,
        ),
        clients: parseList<ClientConfig>("clients", raw.clients, ["name", "address", "hostKey", "user", "port", "osFamily", "stepBootstrap", "decommissioned"]),
        apps: parseApps(raw.apps),
        // Closed sets stay strings here: the components check them and name the config key's field.
        clientLogin: raw.clientLogin as ClientLogin | undefined,
        flavor: raw.flavor as Flavor | undefined,
        sentinel: parseBoolean("sentinel", raw.sentinel),
        caCommonName: raw.caCommonName,
        keyAlgorithm: raw.keyAlgorithm as KeyAlgorithm | undefined,
        validityHours: parseInteger("validityHours", raw.validityHours),
        tlsPort: parseInteger("tlsPort", raw.tlsPort),
        authClients: raw.authClients as AuthClients | undefined,
        caRootCertPem: raw.caRootCertPem,
        caIssuerCertPem: raw.caIssuerCertPem,
        acme: parseObject<AcmeConfig>("acme", raw.acme, ["directoryUrl", "email", "rootCertPem"], ["serverCaPem", "httpPort"], `{"directoryUrl": ..., "email": ..., "rootCertPem": ...}`),
        step: parseObject<StepConfig>("step", raw.step, ["caUrl", "rootFingerprint"], ["provisioner", "stepCli"], `{"caUrl": ..., "rootFingerprint": ...}`),
        stepCa: parseObject<StepCaConfig>("stepCa", raw.stepCa, ["address", "hostKey"], ["user", "port", "name", "dnsNames", "ipAddresses", "caPort", "acme"], `{"address": ..., "hostKey": ..., "dnsNames": [...]}`),
    };
}
