#!/usr/bin/env bash
# Usage: build-image.sh SUITE MIRROR PACKAGES(comma-separated) OUT.tar.zst
# Builds a Debian root file system for systemd-nspawn hosts and writes it as a zstd
# tarball. Builds happen in a temp dir beside OUT and land with one rename, so a
# crashed or concurrent build never leaves a half-written OUT.
set -euo pipefail

suite=$1 mirror=$2 packages=$3 out=$4

outdir=$(dirname "$out")
mkdir -p "$outdir"
tmp=$(mktemp -d "$outdir/.build.XXXXXX")
# debootstrap mounts /proc and /sys inside the target; if it dies mid-way they are
# still mounted, and a plain rm -rf would descend into the machine's /sys.
cleanup() {
  findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | xargs -r umount -l || true
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
root=$tmp/root

debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
  tail -n 30 "$tmp/debootstrap.log" >&2
  exit 1
}

# nspawn gives every host its own name only when the image has none; an empty
# machine-id makes systemd generate a fresh one per boot instead of sharing one.
rm -f "$root/etc/hostname"
: >"$root/etc/machine-id"

# Host keys are made once here so the fixture can pin them from the image.
ssh-keygen -A -f "$root" >/dev/null
install -d -m 0700 "$root/root/.ssh"

rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

tar --numeric-owner --xattrs --acls -C "$root" -I 'zstd -T0 -3 -q' -cf "$tmp/image.tar.zst" .
mv -f "$tmp/image.tar.zst" "$out"
