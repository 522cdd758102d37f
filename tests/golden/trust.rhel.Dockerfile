# Made by redis-tls; the base image and the CA root are build args.
ARG BASE
FROM ${BASE} AS trust
USER root
RUN set -e; set --; command -v update-ca-trust > /dev/null || set -- "$@" ca-certificates; if [ "$#" -gt 0 ]; then pm=$(command -v dnf || command -v microdnf || command -v yum) && "$pm" install -y "$@" && "$pm" clean all; fi
ARG REDIS_TLS_ROOT
RUN set -e; printf '%s' "$REDIS_TLS_ROOT" | base64 -d > /etc/pki/ca-trust/source/anchors/redis-tls.pem; chmod 644 /etc/pki/ca-trust/source/anchors/redis-tls.pem; grep -q -- '-----BEGIN CERTIFICATE-----' /etc/pki/ca-trust/source/anchors/redis-tls.pem; update-ca-trust extract; mkdir -p /redis-tls-store/etc/pki; cp -a /etc/pki/ca-trust /redis-tls-store/etc/pki/
FROM ${BASE}
COPY --from=trust /redis-tls-store/ /
USER app:app
