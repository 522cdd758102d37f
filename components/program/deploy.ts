import * as pulumi from "@pulumi/pulumi";
import { CertificateAuthority } from "../ca/certificateAuthority";
import { CaDistribution } from "../distribution/caDistribution";
import { RedisTlsServer } from "../server/redisTlsServer";
import { StackConfig } from "./stackConfig";

/** Secrets of the default program, read from stack config as Outputs. */
export interface StackSecrets {
    sshPrivateKey: pulumi.Input<string>;
    /** Required with StackConfig.caRootCertPem. */
    caIssuerPrivateKeyPem?: pulumi.Input<string>;
}

/** What the default program exports per Redis host. */
export interface ServerEndpoint {
    endpoint: string;
    serverName: string;
    /** When `pulumi up` next re-issues; absent when the host renews (ACME). */
    renewsAfter?: string;
}

/**
 * The default program: one CA (in Pulumi state, the organisation's, or an ACME directory), a
 * TLS-only Redis on every host, the root on every client host.
 * Every component validates its args before creating anything, so a bad value fails at preview.
 */
export function deploy(config: StackConfig, secrets: StackSecrets) {
    if (config.caRootCertPem !== undefined && secrets.caIssuerPrivateKeyPem === undefined) {
        throw new Error("[redis-tls:caIssuerPrivateKeyPem] is not set but caRootCertPem is; set it with pulumi config set --secret caIssuerPrivateKeyPem < issuer.key");
    }
    // With ACME the hosts get their certificates from the directory; no CA is kept in state.
    const ca =
        config.acme === undefined
            ? new CertificateAuthority("redis-ca", {
                  commonName: config.caCommonName,
                  keyAlgorithm: config.keyAlgorithm,
                  existing:
                      config.caRootCertPem === undefined
                          ? undefined
                          : { rootCertPem: config.caRootCertPem, issuerCertPem: config.caIssuerCertPem, issuerPrivateKeyPem: secrets.caIssuerPrivateKeyPem! },
              })
            : undefined;
    const rootCertPem = ca?.rootCertPem ?? pulumi.output(config.acme!.rootCertPem);

    const servers: Record<string, pulumi.Output<ServerEndpoint>> = {};
    for (const host of config.hosts) {
        const server = new RedisTlsServer(`redis-${host.name}`, {
            connection: { host: host.address, user: host.user, port: host.port, privateKey: secrets.sshPrivateKey },
            dnsNames: host.dnsNames,
            ipAddresses: host.ipAddresses,
            caCertPem: ca?.issuerCertPem,
            caPrivateKeyPem: ca?.issuerPrivateKeyPem,
            chainPem: ca?.chainPem,
            rootCertPem: ca?.rootCertPem,
            acme: config.acme,
            validityHours: config.validityHours,
            keyAlgorithm: config.keyAlgorithm,
            tlsPort: config.tlsPort,
            authClients: config.authClients,
        });
        servers[host.name] = pulumi
            .all([server.endpoint, server.serverName, server.renewsAfter])
            .apply(([endpoint, serverName, renewsAfter]) => ({ endpoint, serverName, ...(renewsAfter === undefined ? {} : { renewsAfter }) }));
    }

    new CaDistribution("redis-ca-clients", {
        rootCertPem,
        hosts: config.clients.map((c) => ({
            name: c.name,
            osFamily: c.osFamily,
            connection: { host: c.address, user: c.user, port: c.port, privateKey: secrets.sshPrivateKey },
        })),
    });

    return { rootCertPem, servers: pulumi.output(servers) };
}
