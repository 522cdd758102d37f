import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, deploy, parseStackConfig } from "../components";

// The default program: stack config in, a CA (and an issuer), TLS-only Redis hosts (or, with no
// hosts, one TLS-only container on the local Docker engine) and trusting clients out.

// The SDK captures a source-mapped stack for every resource and for each of its promises (its
// source position, and a debugging aid): at a thousand hosts, over half of `pulumi preview`'s time
// (npm run bench). So this program runs with stack capture off: errors keep their messages, and
// REDIS_TLS_STACK_TRACES=1 keeps the stacks and the resources' source positions.
if (!process.env.REDIS_TLS_STACK_TRACES) Error.stackTraceLimit = 0;
const config = new pulumi.Config();
const raw = Object.fromEntries(CONFIG_KEYS.map((key) => [key, config.get(key)]));
const parsed = parseStackConfig(raw);
const result = deploy(parsed, {
    sshPrivateKey: config.getSecret("sshPrivateKey"),
    // The engine the docker provider uses: the container steps' docker CLI talks to the same one.
    dockerHost: new pulumi.Config("docker").get("host"),
    caIssuerPrivateKeyPem: parsed.caRootCertPem === undefined ? undefined : config.requireSecret("caIssuerPrivateKeyPem"),
    stepProvisionerPassword: config.getSecret("stepProvisionerPassword"),
});

/** The CA root clients trust. */
export const rootCertPem = result.rootCertPem;
/** Per host (or `container`): the TLS endpoint, the name to verify, and when `pulumi up` next renews. */
export const servers = result.servers;
/** Per application: its rediss:// URL, user, server name, CA, certificate, key and password (a secret). */
export const apps = result.apps;
