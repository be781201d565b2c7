#!/usr/bin/env bash
# Makes a Docker engine and the local base image ready for the docker tests (CI: root on Debian 12).
# Idempotent: installs docker.io and debootstrap only when missing, starts dockerd only when none
# answers, builds the base image only when it is missing (seconds when its rootfs tarball is cached).
#
# The engine runs without its bridge network or iptables rules: the benchmark's containers use the
# host's network bound to 127.0.0.1, or no network at all, so nothing else is needed.
#
# Environment: DOCKERD_LOG (default /var/log/vlmhb-dockerd.log), VLMHB_CACHE_DIR (base image cache).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log=${DOCKERD_LOG:-/var/log/vlmhb-dockerd.log}
say() { echo "[ci-docker] $*" >&2; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then  # else one is starting: wait for it
    say "starting dockerd (log: $log)"
    mkdir -p "$(dirname "$log")"
    nohup dockerd --bridge=none --iptables=false </dev/null >>"$log" 2>&1 &
  fi
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 60 s; its log ends with:"
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
fi
say "Docker $(docker version --format '{{.Server.Version}}') answers"

"$here/build_base_image.sh"
