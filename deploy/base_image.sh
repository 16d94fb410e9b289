#!/usr/bin/env bash
# Build the Python base image that BentoML's generated Dockerfile starts from, locally,
# from Debian's packages, so `bentoml containerize` needs no container registry.
#
#   deploy/base_image.sh [podman|buildah|docker]     (make base-image BACKEND=...)
#
# The image gets a name of the project's own (BASE_IMAGE, default
# localhost/iris-mlops/python:3.11, deploy/containers.py's LOCAL_BASE_IMAGE), never a public
# image's: `make containerize` and the step images start from it when the store has it,
# and pull the public python:3.11-slim otherwise. It trusts the
# host's extra CA certificates, so pip/uv inside the build work behind a TLS-inspecting
# proxy. Debian 12 ships Python 3.11, the version the bento is built for. Needs root
# (debootstrap, chroot) and Debian's debootstrap package.
set -euo pipefail

backend=${1:-${BACKEND:-podman}}
tag=${BASE_IMAGE:-localhost/iris-mlops/python:3.11}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

for tool in debootstrap "$backend"; do
  command -v "$tool" >/dev/null || {
    echo "base-image: '$tool' is not installed (apt-get install $tool)" >&2
    exit 1
  }
done
[ "$(id -u)" -eq 0 ] || { echo "base-image: debootstrap needs root (run with sudo)" >&2; exit 1; }
if [ "$backend" = docker ] && ! docker info >/dev/null 2>&1; then
  echo "base-image: no Docker engine answers; use BACKEND=podman or BACKEND=buildah" >&2
  exit 1
fi

# Any failure says which step and command failed, with the end of the step's output
# (quiet steps write it to $log), instead of set -e's silent exit.
step="starting"
failed() {
  echo "base-image: failed while $step: line $2: $3 (exit $1)" >&2
  if [ -s "${log:-}" ]; then
    echo "base-image: last lines of its output:" >&2
    tail -n 20 "$log" >&2
  fi
  exit "$1"
}
trap 'failed $? $LINENO "$BASH_COMMAND"' ERR

# Announces a step and empties $log, so a failure shows this step's output only.
begin() {
  step=$1
  echo "base-image: $step"
  : >"$log"
}

# Host-side temp paths honour TMPDIR (mktemp does).
log=$(mktemp)
root=$(mktemp -d)
# --one-file-system: never into a /proc or /sys a failed debootstrap may have left mounted.
trap 'rm -rf --one-file-system "$root" "$log"' EXIT

begin "bootstrapping Debian $suite from $mirror"
debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates \
  "$suite" "$root" "$mirror" >"$log" 2>&1

# Trust what the host trusts beyond Debian's bundle (a company proxy's CA, say).
begin "adding the host's extra CA certificates"
for certificate in /usr/local/share/ca-certificates/*.crt; do
  [ -e "$certificate" ] || continue  # the glob matched nothing
  cp "$certificate" "$root/usr/local/share/ca-certificates/"
done
# A chroot inherits TMPDIR, a host path missing inside the new root, where mktemp (used by
# update-ca-certificates) fails on it. (debootstrap unsets TMPDIR itself.)
env -u TMPDIR chroot "$root" update-ca-certificates >"$log" 2>&1

# The build runs `pip install uv` into the system Python unless uv is there already: put the
# project's pinned uv in (UV_BIN), so an offline build (make containerize OFFLINE=1) needs
# no index at all.
begin "adding uv and tidying up"
rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
# uv trusts the system's certificates with UV_SYSTEM_CERTS (ours), UV_NATIVE_TLS (older).
uv_bin=${UV_BIN:-$(dirname "$0")/../.venv/bin/uv}
if [ -x "$uv_bin" ]; then
  install -m 0755 "$uv_bin" "$root/usr/local/bin/uv"
  uv_certs='ENV UV_SYSTEM_CERTS=1'
else
  echo "base-image: no uv at $uv_bin; the build will pip-install uv from PyPI" >&2
  uv_certs='ENV UV_NATIVE_TLS=1'
fi

# Nothing a server needs: package caches, docs, man pages, translations.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/var/log/*

changes=(
  'ENV LANG=C.UTF-8'
  'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
  'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt'
  'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt'
  "$uv_certs"
  'CMD ["python3"]'
)

begin "importing the root filesystem as $tag with $backend"
if [ "$backend" = buildah ]; then
  container=$(buildah from scratch)
  mount=$(buildah mount "$container")
  tar -C "$root" -c . | tar -C "$mount" -x
  buildah umount "$container" >/dev/null
  for change in "${changes[@]}"; do
    case $change in
      ENV\ *) buildah config --env "${change#ENV }" "$container" ;;
      CMD\ *) buildah config --cmd "${change#CMD }" "$container" ;;
    esac
  done
  buildah commit --rm "$container" "$tag" >/dev/null
else
  args=()
  for change in "${changes[@]}"; do args+=(--change "$change"); done
  tar -C "$root" -c . | "$backend" import "${args[@]}" - "$tag" >"$log" 2>&1
fi
echo "base-image: built $tag with $backend"
