import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { visibleArgs } from "../visibleArgs";
import { ROOT_RULE } from "../certificate/stateCaSigning";
import { assertValid, checkOneOf, found, Problem } from "../validation/fields";
import { checkCertificatesInput, checked, checkedCertificates } from "../validation/outputs";
import { dockerfileContext } from "./buildContext";
import { checkImageName, checkImageRef, checkImageUser, IMAGE_FAMILIES, ImageFamily, renderDerivedDockerfile } from "./images";

export interface CaTrustImageArgs {
    /** The image to derive from: the application's own. */
    base: pulumi.Input<string>;
    /** Tag of the derived image ("repository:tag"). */
    imageName: string;
    /** The root to trust (CertificateAuthority.rootCertPem, or RedisTlsContainer.rootCertPem). */
    rootCertPem: pulumi.Input<string>;
    /**
     * The base image's family: where its trust store takes a root.
     * @default "debian"
     */
    family?: ImageFamily;
    /**
     * The user the derived image runs as.
     * @default the base image's own (the trust store is made in a first stage and copied onto the base)
     */
    user?: string;
}

/** Validates CaTrustImage args; returns every problem found. */
export function validateCaTrustImageArgs(args: CaTrustImageArgs): string[] {
    const problems: Problem[] = [
        checkImageName("imageName", args.imageName),
        checkOneOf("family", args.family ?? "debian", IMAGE_FAMILIES),
        checkCertificatesInput("rootCertPem", args.rootCertPem, ROOT_RULE),
    ];
    if (typeof args.base === "string") problems.push(checkImageRef("base", args.base));
    if (args.user !== undefined) problems.push(checkImageUser("user", args.user));
    return found(problems);
}

/**
 * An application image that trusts the CA with no code change: the base image with the root added
 * to its system trust store (update-ca-certificates or update-ca-trust, run as root in a first
 * stage; the store is copied onto the base, which keeps its user and entrypoint), built on the
 * engine with @pulumi/docker and kept local (push it with your registry's tooling, or use imageId).
 * A new root rebuilds it. The image then trusts the root for every name, not only Redis's: whoever
 * holds the CA key can impersonate any TLS server to it. Where the client takes a CA file, prefer
 * the connection's caPem.
 */
export class CaTrustImage extends pulumi.ComponentResource {
    /** The tag given. */
    public readonly imageName: pulumi.Output<string>;
    /** The built image's ID; changes whenever the image does. */
    public readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: CaTrustImageArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = `CaTrustImage ${name}`;
        assertValid(component, validateCaTrustImageArgs(args));
        super("redis-tls:index:CaTrustImage", name, visibleArgs(args), opts);

        const family = (args.family ?? "debian") as ImageFamily;
        const root = checkedCertificates(component, "rootCertPem", args.rootCertPem, ROOT_RULE);
        const build = dockerfileContext(renderDerivedDockerfile({ family, needs: [], trustRoot: true, user: args.user }));
        const image = new docker.Image(
            `${name}-image`,
            {
                imageName: args.imageName,
                build: {
                    ...build,
                    builderVersion: "BuilderV1",
                    args: {
                        BASE: checked(component, args.base, (v) => [checkImageRef("base", v)]),
                        REDIS_TLS_ROOT: root.apply((r) => Buffer.from(r.pem).toString("base64")),
                    },
                },
                skipPush: true,
            },
            { parent: this },
        );
        this.imageName = image.imageName;
        this.imageId = image.repoDigest;
        this.registerOutputs({ imageName: this.imageName, imageId: this.imageId });
    }
}
