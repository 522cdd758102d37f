import * as pulumi from "@pulumi/pulumi";
import { visibleArgs } from "../visibleArgs";
import * as command from "@pulumi/command";
import { CONFIG_DEFAULTS } from "../config/redisTlsConfig";
import { asRoot, checkConnection, SshConnectionArgs, toCommandConnection } from "../connection";
import { LIBEXEC, tlsLayout } from "../host/layout";
import { ownerId } from "../owner";
import { RELOAD_DEFAULTS, renderReloadScript } from "../reload/scripts";
import { Flavor, FLAVOR_NAMES, flavorOf } from "../server/flavor";
import { assertValid, found, checkAbsolutePath, checkAclUser, checkOneOf, checkServiceName, Problem, show } from "../validation/fields";
import {
    RENEWER_DEFAULTS,
    renderNeedsRenewal,
    renderRenewerInstallScript,
    renderRenewerOverride,
    renderRenewerRemoveScript,
    renderRenewerService,
    renderRenewerTimer,
} from "./units";

export interface CertRenewerArgs {
    /** The Redis host, over SSH. */
    connection: SshConnectionArgs;
    /**
     * The issuer's renew script (e.g. AcmeCertificate.renewScript), installed as
     * `/usr/local/libexec/redis-tls/renew-<serviceName>` and run as `renew-<service> CERT KEY`.
     * It must leave a verified new generation as `live`, the one before as `previous`.
     */
    renewScript: pulumi.Input<string>;
    /**
     * The service whose certificate is renewed: the timer is `cert-renewer@<serviceName>.timer`.
     * @default "redis-server"
     */
    serviceName?: string;
    /**
     * Where the key, chain and CA files live on the host.
     * @default "/etc/redis-tls"
     */
    tlsDir?: string;
    /** STEPPATH for a step-ca issuer; unset for others. */
    stepPath?: string;
    /**
     * Root-only socket the hot reload uses (RedisTlsConfig.adminSocket).
     * @default "/run/redis/redis-server.sock"
     */
    reloadSocket?: string;
    /**
     * The ACL user that may only hot-reload the certificate.
     * @default "redis-tls-reload"
     */
    reloadUser?: string;
    /**
     * The server, "redis" or "valkey": the defaults of serviceName and reloadSocket, and the CLI
     * the reload runs.
     * @default "redis"
     */
    flavor?: Flavor;
    /**
     * When to check, as a systemd calendar expression.
     * @default "*:1/5" (every 5 minutes)
     */
    onCalendar?: string;
    /**
     * Jitter added to each check.
     * @default "5m"
     */
    randomizedDelaySec?: string;
    /**
     * Percent of the lifetime after which a certificate is renewed; unset, each host renews at its
     * own point of 34-90% of the lifetime (from its machine ID), so that a fleet whose certificates
     * were issued together does not renew together.
     * @default each host's own point of 34-90%
     */
    renewAfterPercent?: number;
}

/** Validates CertRenewer args; returns every problem found. */
export function validateCertRenewerArgs(args: CertRenewerArgs): string[] {
    const problems: Problem[] = [...checkConnection("connection", args.connection)];
    const flavor = flavorOf(args.flavor);
    if (args.flavor !== undefined) problems.push(checkOneOf("flavor", args.flavor, FLAVOR_NAMES));
    problems.push(checkServiceName("serviceName", args.serviceName ?? flavor.serviceName));
    problems.push(checkAbsolutePath("tlsDir", args.tlsDir ?? CONFIG_DEFAULTS.tlsDir));
    problems.push(checkAbsolutePath("reloadSocket", args.reloadSocket ?? flavor.adminSocket));
    if (args.reloadUser !== undefined) problems.push(checkAclUser("reloadUser", args.reloadUser));
    if (args.stepPath !== undefined) problems.push(checkAbsolutePath("stepPath", args.stepPath));
    const calendar = args.onCalendar ?? RENEWER_DEFAULTS.onCalendar;
    if (!/^[A-Za-z0-9*:/.,~ -]+$/.test(calendar)) {
        problems.push(`[onCalendar] ${show(calendar)} is not a systemd calendar expression; use e.g. "*:1/5" for every 5 minutes`);
    }
    const delay = args.randomizedDelaySec ?? RENEWER_DEFAULTS.randomizedDelaySec;
    if (!/^\d+(us|ms|s|min|m|h)?$/.test(delay)) {
        problems.push(`[randomizedDelaySec] ${show(delay)} is not a systemd time span; use e.g. "5m" or "30s"`);
    }
    const pct = args.renewAfterPercent;
    if (pct !== undefined && (!Number.isInteger(pct) || pct < 1 || pct > 99)) {
        problems.push(`[renewAfterPercent] ${show(pct)} is not a whole percentage of the lifetime from 1 to 99; use 66 for two thirds`);
    }
    return found(problems);
}

/**
 * Renewal on the host: smallstep-style `cert-renewer@.service` / `.timer` templates, the issuer's
 * renew script, and an override for the Redis service that blanks the template's restart and
 * hot-loads the new certificate instead. Removed on `pulumi destroy` by its last owner.
 */
export class CertRenewer extends pulumi.ComponentResource {
    /** The timer unit that drives renewal. */
    public readonly timerUnit: pulumi.Output<string>;
    /** What the install step reported. */
    public readonly installed: pulumi.Output<string>;

    constructor(name: string, args: CertRenewerArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validated before super(), so bad input registers nothing at all.
        assertValid(`CertRenewer ${name}`, validateCertRenewerArgs(args));
        super("redis-tls:index:CertRenewer", name, visibleArgs(args), opts);

        const flavor = flavorOf(args.flavor);
        const service = args.serviceName ?? flavor.serviceName;
        const tlsDir = args.tlsDir ?? CONFIG_DEFAULTS.tlsDir;
        const files = tlsLayout(tlsDir);
        const owner = ownerId(this, `${name}-install`);
        const reload = `reload-${service}`;
        const renew = `renew-${service}`;
        const script = pulumi.all([args.renewScript, owner]).apply(([renewScript, id]) =>
            renderRenewerInstallScript(
                [
                    { path: "/etc/systemd/system/cert-renewer@.service", mode: "644", content: renderRenewerService() },
                    {
                        path: "/etc/systemd/system/cert-renewer@.timer",
                        mode: "644",
                        content: renderRenewerTimer({
                            onCalendar: args.onCalendar ?? RENEWER_DEFAULTS.onCalendar,
                            randomizedDelaySec: args.randomizedDelaySec ?? RENEWER_DEFAULTS.randomizedDelaySec,
                        }),
                    },
                    {
                        path: `/etc/systemd/system/cert-renewer@${service}.service.d/override.conf`,
                        mode: "644",
                        content: renderRenewerOverride({ certPath: files.certPath, keyPath: files.keyPath, stepPath: args.stepPath, reloadCommand: reload }),
                    },
                    { path: `${LIBEXEC}/needs-renewal`, mode: "755", content: renderNeedsRenewal(args.renewAfterPercent) },
                    {
                        path: `${LIBEXEC}/${reload}`,
                        mode: "700",
                        content: renderReloadScript({
                            tlsDir,
                            socket: args.reloadSocket ?? flavor.adminSocket,
                            user: args.reloadUser ?? RELOAD_DEFAULTS.user,
                            cli: flavor.cli,
                        }),
                    },
                    { path: `${LIBEXEC}/${renew}`, mode: "700", content: renewScript },
                ],
                service,
                id,
            ),
        );
        const install = new command.remote.Command(
            `${name}-install`,
            {
                connection: toCommandConnection(args.connection, this),
                create: script.apply((s) => asRoot(s, args.connection.user)),
                delete: owner.apply((id) => asRoot(renderRenewerRemoveScript(service, id), args.connection.user)),
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );

        this.timerUnit = pulumi.output(`cert-renewer@${service}.timer`);
        this.installed = install.stdout;
        this.registerOutputs({ timerUnit: this.timerUnit, installed: this.installed });
    }
}
