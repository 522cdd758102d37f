#!/usr/bin/env bash
# Installs what tests/harness needs beyond node_modules: the ssh client, an sshd
# binary for the loopback ssh tests, and the openssl CLI. Idempotent.
# The tests start their own sshd on 127.0.0.1; the package's own service must
# never start, so policy-rc.d forbids it during the install and any systemd
# unit is disabled afterwards.
set -euo pipefail

if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v openssl >/dev/null; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (apt-get install)" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  made_policy=1
fi
cleanup() {
  if [ "$made_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends openssh-server openssh-client openssl >/dev/null

if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
fi
if [ -e /run/sshd.pid ]; then
  kill "$(cat /run/sshd.pid)" 2>/dev/null || true
fi
