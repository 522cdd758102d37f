#!/usr/bin/env bash
# Usage: launch.sh CGROUP_NAME systemd-nspawn ARGS...
# Moves this process into its own cgroup in both the unified and the name=systemd
# hierarchy, then runs nspawn there. Without this every nspawn on a machine with no
# systemd of its own starts in the root cgroup and two hosts fight over the same
# /payload and /supervisor cgroups. A host that reboots makes nspawn exit 133; it is
# started again on the same root, as systemd-nspawn@.service does. SIGTERM reaches
# nspawn, which halts the host in order.
set -uo pipefail

name=$1
shift
for hierarchy in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
  mkdir -p "$hierarchy/$name"
  echo "$$" >"$hierarchy/$name/cgroup.procs"
done

stop=no
child=
trap 'stop=yes; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM INT
while :; do
  "$@" &
  child=$!
  while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  if [ "$stop" = yes ] || [ "$rc" -ne 133 ]; then
    exit "$rc"
  fi
done
