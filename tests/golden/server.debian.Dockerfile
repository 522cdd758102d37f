# Made by redis-tls; the base image and the CA root are build args.
ARG BASE
FROM ${BASE}
USER root
RUN set -e; set --; command -v bash > /dev/null || set -- "$@" bash; command -v openssl > /dev/null || set -- "$@" openssl; if [ "$#" -gt 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" && rm -rf /var/lib/apt/lists/*; fi
