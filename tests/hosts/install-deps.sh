#!/usr/bin/env bash
# Installs the Debian packages the test-host fixture needs; a no-op when they are present.
# --no-install-recommends matters: systemd-container's recommends (libnss-mymachines)
# would rewrite this machine's /etc/nsswitch.conf.
set -euo pipefail

packages=(debootstrap systemd-container zstd openssh-client iproute2)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
