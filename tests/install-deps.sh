#!/usr/bin/env bash
# Installs every Debian package the test suites need, and node_modules when missing; a no-op when
# all is present. With arguments, installs just those packages when missing (tests/step/build.sh
# uses it for the Go toolchain and sources). Run as root. No service of these packages may start on this machine: the tests
# start their own redis-server and sshd on loopback, so policy-rc.d forbids starts during the install.
# --no-install-recommends matters: systemd-container's recommends would rewrite /etc/nsswitch.conf.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=(
  redis-server redis-tools openssl shellcheck              # real Redis, certificates, script lint
  openssh-server openssh-client                           # the harness's loopback sshd, ssh to test hosts
  debootstrap systemd-container zstd iproute2             # test hosts
  pebble                                                  # ACME test CA the hosts' lego talks to
  python3-redis default-jre-headless                      # redis-py and Java's keytool: clients of the rendered settings
  docker.io                                               # the Docker engine the tests start themselves (tests/docker/)
)
if (($# > 0)); then packages=("$@"); else packages=("${suite[@]}"); fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$0: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  policy=/usr/sbin/policy-rc.d
  made_policy=no
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 0755 "$policy"
    made_policy=yes
  fi
  trap '[ "$made_policy" = no ] || rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if (($# == 0)) && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund
fi
