#!/usr/bin/env bash
# Builds the local base image of the docker provider, vlmhyperbench-base:bookworm-py3.11, without any
# image registry: debootstrap a minimal Debian bookworm (python3 3.11, venv, pip, CA certificates)
# from the Debian package mirror, then `docker import` it.
#
#   deployments/build_base_image.sh            # skips when the image already exists
#   deployments/build_base_image.sh --force    # re-imports the image from the cached root filesystem
#   deployments/build_base_image.sh --refresh  # also re-runs debootstrap (picks up Debian updates)
#
# `--env docker` runs it by itself on first use when the image is missing (environments/base_image.py).
#
# The root filesystem is cached as a tarball under $VLMHB_CACHE_DIR/base-image (default
# ~/.cache/vlmhyperbench), so re-importing takes seconds. debootstrap needs root and the
# `debootstrap` package; importing needs only access to the Docker engine.
#
# Environment: VLMHB_BASE_IMAGE (tag), VLMHB_CACHE_DIR, DEBIAN_MIRROR (default deb.debian.org),
# DEBIAN_SECURITY_MIRROR.
set -euo pipefail

IMAGE=${VLMHB_BASE_IMAGE:-vlmhyperbench-base:bookworm-py3.11}
SUITE=bookworm
PYTHON_VERSION=3.11
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
CACHE=${VLMHB_CACHE_DIR:-$HOME/.cache/vlmhyperbench}/base-image
PACKAGES=python3,python3-venv,python3-pip,ca-certificates

force=0
refresh=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --refresh) force=1; refresh=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_base_image.sh: unknown argument '$arg' (allowed: --force, --refresh, --help)" >&2; exit 2 ;;
  esac
done

say() { echo "[build_base_image] $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v docker >/dev/null || die "no docker CLI on PATH (apt-get install docker.io; see deployments/ci-docker.sh)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (start dockerd; see deployments/ci-docker.sh)"

if [[ $force == 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE exists; nothing to do (--force re-imports it)"
  exit 0
fi

arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
tarball="$CACHE/rootfs-$SUITE-$arch.tar"
mkdir -p "$CACHE"

# One build at a time per cache folder: CI jobs and developers may call this concurrently. The one that
# waited finds the image made and stops there.
exec 9>"$CACHE/.lock"
flock 9
if [[ $force == 0 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "$IMAGE was built while this build waited; nothing to do"
  exit 0
fi

rootfs=""
cleanup() {
  if [[ -n $rootfs && -d $rootfs ]]; then
    umount "$rootfs/proc" 2>/dev/null || true
    rm -rf --one-file-system "$rootfs"
  fi
  rm -f "$tarball.partial"
}
trap cleanup EXIT

if [[ $refresh == 1 || ! -s $tarball ]]; then
  [[ $(id -u) == 0 ]] || die "debootstrap needs root (run with sudo, or copy a cached $tarball here)"
  command -v debootstrap >/dev/null || die "no debootstrap on PATH (apt-get install debootstrap)"
  rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  say "debootstrap $SUITE ($arch, minbase) from $MIRROR into $rootfs"
  debootstrap --variant=minbase --arch="$arch" --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >&2

  # Security and point-release updates, which debootstrap alone does not fetch.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mount -t proc proc "$rootfs/proc"
  say "apt-get upgrade in the rootfs ($SUITE-updates, $SUITE-security)"
  # --force-unsafe-io: no fsync per file; a build cut short leaves nothing (the trap removes the rootfs).
  chroot "$rootfs" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
    sh -c 'apt-get -o APT::Sandbox::User=root update -qq && apt-get -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0 -y -qq -o Dpkg::Options::=--force-confold -o Dpkg::Options::=--force-unsafe-io upgrade >/dev/null' >&2
  umount "$rootfs/proc"

  found=$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [[ $found == "$PYTHON_VERSION" ]] || die "the $SUITE rootfs has Python $found, expected $PYTHON_VERSION"

  # Keep it small: package lists, caches, docs, man pages, locales and logs are of no use in an image.
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/debconf/*-old \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
         "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* \
         "$rootfs"/tmp/* "$rootfs"/root/.cache
  find "$rootfs/usr/lib/python3" "$rootfs/usr/lib/python$PYTHON_VERSION" -name __pycache__ -type d \
       -prune -exec rm -rf {} + 2>/dev/null || true
  : >"$rootfs/etc/resolv.conf"  # Docker mounts its own (the host's, with host networking)
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/01-vlmhb-nodoc"

  say "writing $tarball"
  tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  rm -rf --one-file-system "$rootfs"
  rootfs=""
fi

built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
say "docker import $tarball -> $IMAGE"
docker import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change "ENV PYTHONUNBUFFERED=1" \
  --change "LABEL vlmhyperbench.base=$SUITE-py$PYTHON_VERSION vlmhyperbench.python=$PYTHON_VERSION vlmhyperbench.built=$built" \
  --change 'CMD ["python3"]' \
  --message "vlmhyperbench base: debootstrap $SUITE minbase + $PACKAGES" \
  "$tarball" "$IMAGE" >/dev/null
# A re-import leaves the previous base untagged; drop it unless env images are still built on it.
docker image prune -f --filter "label=vlmhyperbench.base=$SUITE-py$PYTHON_VERSION" >/dev/null
docker image ls "$IMAGE" >&2
