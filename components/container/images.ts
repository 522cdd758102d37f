import * as path from "node:path";
import { show, Problem } from "../validation/fields";

/**
 * The image families a derived image is built on: how packages are added and where the system trust
 * store takes a root. Official Redis and Valkey images are Debian (the default tags) or Alpine.
 */
export const ImageFamily = {
    /** apt-get; anchors in /usr/local/share/ca-certificates, update-ca-certificates (Debian, Ubuntu). */
    debian: "debian",
    /** apk; the same anchor directory and update-ca-certificates (Alpine). */
    alpine: "alpine",
    /** dnf, microdnf or yum; anchors in /etc/pki/ca-trust/source/anchors, update-ca-trust (RHEL, UBI, Fedora, Rocky, Alma). */
    rhel: "rhel",
} as const;
export type ImageFamily = (typeof ImageFamily)[keyof typeof ImageFamily];
export const IMAGE_FAMILIES = Object.values(ImageFamily);

const INSTALL: Record<ImageFamily, (packages: string) => string> = {
    debian: (p) => `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${p} && rm -rf /var/lib/apt/lists/*`,
    alpine: (p) => `apk add --no-cache ${p}`,
    rhel: (p) =>
        `pm=$(command -v dnf || command -v microdnf || command -v yum) && "$pm" install -y ${p} && "$pm" clean all`,
};

/** Where the first stage gathers the trust store for the final stage. */
const STAGE = "/redis-tls-store";

const TRUST: Record<ImageFamily, { anchor: string; refresh: string; tool: string; store: string[] }> = {
    debian: {
        anchor: "/usr/local/share/ca-certificates/redis-tls.crt", refresh: "update-ca-certificates", tool: "update-ca-certificates",
        store: ["/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/ssl/certs"],
    },
    alpine: {
        anchor: "/usr/local/share/ca-certificates/redis-tls.crt", refresh: "update-ca-certificates", tool: "update-ca-certificates",
        store: ["/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/ssl/certs"],
    },
    rhel: { anchor: "/etc/pki/ca-trust/source/anchors/redis-tls.pem", refresh: "update-ca-trust extract", tool: "update-ca-trust", store: ["/etc/pki/ca-trust"] },
};

/** Where a derived image of each family keeps the root, and the bundle its store is read from. */
export const TRUST_BUNDLE: Record<ImageFamily, string> = {
    debian: "/etc/ssl/certs/ca-certificates.crt",
    alpine: "/etc/ssl/certs/ca-certificates.crt",
    rhel: "/etc/pki/tls/certs/ca-bundle.crt",
};

export interface DerivedImageArgs {
    family: ImageFamily;
    /** Commands the image must have, each with the package that provides it; installed only where missing. */
    needs: { command: string; pkg: string }[];
    /** Put the root (build arg REDIS_TLS_ROOT, base64 of the PEM) into the system trust store. */
    trustRoot: boolean;
    /** The user the image runs as afterwards. Unset: the base image's own (with trustRoot), else root. */
    user?: string;
}

/**
 * A Dockerfile that derives an image from the build arg BASE. Values are build args (data), never
 * Dockerfile text: the base image and the root reach the build as `--build-arg`s, so the file is
 * the same for every base and every CA. A package is installed only when its command is missing, so
 * an image that has it builds offline. With trustRoot the store is made as root in a first stage
 * and copied onto the base, so the image keeps the base's user, entrypoint and everything else.
 */
export function renderDerivedDockerfile(a: DerivedImageArgs): string {
    const needs = a.trustRoot ? [...a.needs, { command: TRUST[a.family].tool, pkg: "ca-certificates" }] : a.needs;
    const missing = needs.map((n) => `command -v ${n.command} > /dev/null || set -- "$@" ${n.pkg}`).join("; ");
    const t = TRUST[a.family];
    const lines = [
        "# Made by redis-tls; the base image and the CA root are build args.",
        "ARG BASE",
        a.trustRoot ? "FROM ${BASE} AS trust" : "FROM ${BASE}",
        "USER root",
        ...(needs.length === 0 ? [] : [`RUN set -e; set --; ${missing}; if [ "$#" -gt 0 ]; then ${INSTALL[a.family]('"$@"')}; fi`]),
        ...(a.trustRoot
            ? [
                  "ARG REDIS_TLS_ROOT",
                  // The store goes over in one COPY that always adds the anchor: the classic builder on
                  // vfs fails ("layer does not exist") on a COPY that changes nothing.
                  `RUN set -e; printf '%s' "$REDIS_TLS_ROOT" | base64 -d > ${t.anchor}; chmod 644 ${t.anchor}; grep -q -- '-----BEGIN CERTIFICATE-----' ${t.anchor}; ${t.refresh}; ` +
                      t.store.map((d) => `mkdir -p ${STAGE}${path.posix.dirname(d)}; cp -a ${d} ${STAGE}${path.posix.dirname(d)}/`).join("; "),
                  "FROM ${BASE}",
                  `COPY --from=trust ${STAGE}/ /`,
              ]
            : []),
        ...(a.user === undefined ? [] : [`USER ${a.user}`]),
    ];
    return lines.join("\n") + "\n";
}

// distribution/reference's grammar, less what a local engine never needs (digests alone are allowed).
const NAME_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?";
const IMAGE_REF = new RegExp(`^${DOMAIN}${NAME_COMPONENT}(?:/${NAME_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`);
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/** An image reference as `docker run` takes it: `redis:7.4`, `registry:5000/team/redis@sha256:…`, or an image ID. */
export function checkImageRef(field: string, ref: string): Problem {
    if (IMAGE_ID.test(ref) || (ref.length <= 255 && IMAGE_REF.test(ref))) return undefined;
    return `[${field}] ${show(ref)} is not an image reference; use e.g. "redis:7.4", "valkey/valkey:9" or "registry.example.com:5000/team/redis@sha256:<64 hex>"`;
}

/** A name the engine accepts for a new image tag: a reference with a tag and no digest. */
export function checkImageName(field: string, ref: string): Problem {
    if (IMAGE_ID.test(ref) || ref.includes("@") || !IMAGE_REF.test(ref)) {
        return `[${field}] ${show(ref)} cannot name a built image; use lower-case "repository:tag", e.g. "team/app-with-ca:1"`;
    }
    return undefined;
}

/** A container, network or volume name as the engine accepts it. */
export function checkDockerName(field: string, name: string): Problem {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(name)) {
        return `[${field}] ${show(name)} is not a Docker object name; use letters, digits, "_", "." and "-", starting with a letter or digit`;
    }
    return undefined;
}

/** A user an image runs as: a name or a numeric uid, optionally with a group. */
export function checkImageUser(field: string, user: string): Problem {
    if (!/^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})(:([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}))?$/.test(user)) {
        return `[${field}] ${show(user)} is not a user; use a name such as "app" or a uid such as "10001", optionally ":group"`;
    }
    return undefined;
}
