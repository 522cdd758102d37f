// What the engine does with a resource whose inputs changed, per type, as each provider's source
// says (see README.md, "Plans"): nothing, an in-place update, or a replacement (create the new one,
// delete the old one at the end of the run).

export type Step = "same" | "update" | "replace";

type Plain = Record<string, any>;

// terraform-provider-tls requireReplaceIfStateContainsPEMString: a change to one of these replaces
// the certificate only when the value in state matches this pattern; otherwise the new value is
// written to state and the old certificate is kept.
const STRICT_PEM = /^-----BEGIN [A-Za-z ]+-----\n(.|\s)+\n-----END [A-Za-z ]+-----\n?$/;

interface Rules {
    /** Properties that replace when they change; undefined: every property except `inPlace` and `pemConditional`. */
    replace?: string[];
    /** Properties replaced only when their value in state matches STRICT_PEM. */
    pemConditional?: string[];
    /** Properties updated in place (with `replace` undefined). */
    inPlace?: string[];
    /** Set-typed properties (schema.TypeSet): their order is no change. */
    sets?: string[];
}

const RULES: Record<string, Rules> = {
    // pulumi-command: only `triggers` is replaceOnChanges; `connection` included, everything else updates.
    "command:local:Command": { replace: ["triggers"] },
    "command:remote:Command": { replace: ["triggers"] },
    "command:remote:CopyToRemote": { replace: ["triggers"] },
    "tls:index/privateKey:PrivateKey": {},
    "tls:index/certRequest:CertRequest": {},
    "tls:index/selfSignedCert:SelfSignedCert": { pemConditional: ["privateKeyPem"], inPlace: ["earlyRenewalHours"] },
    "tls:index/locallySignedCert:LocallySignedCert": { pemConditional: ["certRequestPem", "caCertPem", "caPrivateKeyPem"], inPlace: ["earlyRenewalHours"] },
    // terraform-provider-docker v4.5's docker_container: every field is ForceNew except these.
    // Update sends the restart policy and the resource limits to the engine; the rest (healthcheck
    // among them) only reach state: the running container keeps the old ones.
    "docker:index/container:Container": {
        inPlace: ["restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap", "cpuPeriod", "cpuQuota",
            "deviceReadBps", "deviceWriteBps", "deviceReadIops", "deviceWriteIops", "rm", "start", "wait", "waitTimeout", "attach", "logs",
            "mustRun", "removeVolumes", "tmpfs", "destroyGraceSeconds", "healthcheck", "init", "containerReadRefreshTimeoutMilliseconds"],
        sets: ["envs", "labels", "networksAdvanced", "volumes", "mounts", "uploads", "capabilities", "dns", "dnsOpts", "dnsSearch", "groupAdds", "hosts", "ulimits", "devices", "securityOpts"],
    },
    // pulumi-docker's native Image: Diff reports every changed key as an update, never a replacement.
    "docker:index/image:Image": { replace: [] },
    // docker_network and docker_volume: every field is ForceNew.
    "docker:index/network:Network": {},
    "docker:index/volume:Volume": {},
};

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The step for new inputs against the stored ones; `replaceOnChanges` is the resource option. */
export function plan(type: string, old: { inputs: Plain } | undefined, inputs: Plain, replaceOnChanges: string[] = []): Step {
    if (old === undefined) return "replace";
    const rules = RULES[type];
    if (rules === undefined) throw new Error(`the harness has no plan for ${type}`);
    const asSet = (k: string, v: unknown) => (rules.sets?.includes(k) && Array.isArray(v) ? v.map((x) => JSON.stringify(x)).sort() : v);
    const keys = [...new Set([...Object.keys(old.inputs), ...Object.keys(inputs)])].filter((k) => !same(asSet(k, old.inputs[k]), asSet(k, inputs[k])));
    if (keys.length === 0) return "same";
    const replaces = (k: string): boolean => {
        if (replaceOnChanges.includes(k) || replaceOnChanges.includes("*")) return true;
        if (rules.pemConditional?.includes(k)) return STRICT_PEM.test(String(old.inputs[k] ?? ""));
        if (rules.replace !== undefined) return rules.replace.includes(k);
        return !(rules.inPlace ?? []).includes(k);
    };
    return keys.some(replaces) ? "replace" : "update";
}
