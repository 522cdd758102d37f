# Made by redis-tls; the base image and the CA root are build args.
ARG BASE
FROM ${BASE} AS trust
USER root
RUN set -e; set --; command -v update-ca-certificates > /dev/null || set -- "$@" ca-certificates; if [ "$#" -gt 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" && rm -rf /var/lib/apt/lists/*; fi
ARG REDIS_TLS_ROOT
RUN set -e; printf '%s' "$REDIS_TLS_ROOT" | base64 -d > /usr/local/share/ca-certificates/redis-tls.crt; chmod 644 /usr/local/share/ca-certificates/redis-tls.crt; grep -q -- '-----BEGIN CERTIFICATE-----' /usr/local/share/ca-certificates/redis-tls.crt; update-ca-certificates; mkdir -p /redis-tls-store/usr/share; cp -a /usr/share/ca-certificates /redis-tls-store/usr/share/; mkdir -p /redis-tls-store/usr/local/share; cp -a /usr/local/share/ca-certificates /redis-tls-store/usr/local/share/; mkdir -p /redis-tls-store/etc/ssl; cp -a /etc/ssl/certs /redis-tls-store/etc/ssl/
FROM ${BASE}
COPY --from=trust /redis-tls-store/ /
