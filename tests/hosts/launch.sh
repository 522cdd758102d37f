#!/usr/bin/env bash
# Usage: launch.sh CGROUP_NAME systemd-nspawn ARGS...
# Moves this process into its own cgroup in both the unified and the name=systemd
# hierarchy, then execs nspawn there. Without this every nspawn on a machine with no
# systemd of its own starts in the root cgroup and two hosts fight over the same
# /payload and /supervisor cgroups.
set -euo pipefail

name=$1
shift
for hierarchy in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
  mkdir -p "$hierarchy/$name"
  echo "$$" >"$hierarchy/$name/cgroup.procs"
done
exec "$@"
