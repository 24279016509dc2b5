#!/usr/bin/env bash
# Install the Debian packages zpoolfs needs to build, test and benchmark, but only the ones missing.
# Called by make before building, so a fresh Debian 12 machine needs nothing but `make check`.
set -euo pipefail

PKGS=(
	build-essential pkg-config
	libcmocka-dev liblz4-dev libzstd-dev libxxhash-dev
	libfuse3-dev fuse3
	libbpf-dev bpftool clang llvm libelf-dev zlib1g-dev
	systemtap-sdt-dev valgrind libclang-rt-14-dev
	bpftrace libbpf-tools
	fio attr acl jq python3 util-linux linux-perf
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
