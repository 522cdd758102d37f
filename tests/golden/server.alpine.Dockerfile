# Made by redis-tls; the base image and the CA root are build args.
ARG BASE
FROM ${BASE}
USER root
RUN set -e; set --; command -v bash > /dev/null || set -- "$@" bash; command -v openssl > /dev/null || set -- "$@" openssl; if [ "$#" -gt 0 ]; then apk add --no-cache "$@"; fi
