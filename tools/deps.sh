#!/usr/bin/env bash
# tools/deps.sh [--bench] [--fresh] - install the Debian packages zpoolfs needs, only the missing ones.
#
#   (no flag)  what `make`, `make run` and `make check` need: compilers, libraries, test tools.
#              make runs it before it computes any flag (build/config.mk depends on its stamp),
#              so a fresh Debian 12 machine needs nothing but make and git.
#   --bench    also what the benchmarks alone use (make bench-* run it).
#   --fresh    also what `make check-fresh` uses to build a fresh root (debootstrap).
#
# As root, or through sudo. Waits for the apt/dpkg lock (other apt runs on this machine);
# runs `apt-get update` only when a package has no candidate or the install fails. A failure
# says which packages and why, and exits non-zero.
set -euo pipefail

# Build, run and test: everything make, make run and make check use.
PKGS=(
	build-essential pkg-config
	libcmocka-dev liblz4-dev libzstd-dev libxxhash-dev
	libfuse3-dev fuse3
	libbpf-dev bpftool clang llvm libelf-dev zlib1g-dev
	systemtap-sdt-dev valgrind libclang-rt-14-dev
	bpftrace libbpf-tools
	attr acl jq python3 util-linux
	# -o uring: FUSE requests over io_uring (fs/fuse/uring.c)
	liburing-dev
)
# Benchmarks only (make bench*): never installed by make, make run or make check.
BENCH_PKGS=(
	fio linux-perf
)
# make check-fresh only.
FRESH_PKGS=(
	debootstrap
)

for arg in "$@"; do
	case $arg in
	--bench) PKGS+=("${BENCH_PKGS[@]}") ;;
	--fresh) PKGS+=("${FRESH_PKGS[@]}") ;;
	*) echo "deps: unknown argument '$arg' (want --bench or --fresh)" >&2; exit 2 ;;
	esac
done

# (Outputs are read whole, never piped into grep -q: under pipefail an early exit of grep
# could kill the writer with SIGPIPE and fail the test.)
missing=()
for p in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null ||
		{ echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -y -q)
log=$(mktemp "${TMPDIR:-/tmp}/zpoolfs-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

update() {
	echo "deps: apt-get update" >&2
	"${APT[@]}" update >"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; echo "deps: apt-get update failed (above)" >&2; exit 1; }
}

# A package without a candidate means the package lists are missing or stale.
for p in "${missing[@]}"; do
	policy=$(apt-cache policy "$p" 2>/dev/null || true)
	if ! [[ $policy =~ Candidate:\ [^\(] ]]; then
		update
		break
	fi
done
install() {
	"${APT[@]}" install --no-install-recommends "${missing[@]}" >"$log" 2>&1
}
if ! install; then
	# Lists old enough that the archive no longer has the files they name: refresh, once.
	update
	if ! install; then
		tail -n 20 "$log" >&2
		echo "deps: could not install: ${missing[*]} (apt-get's last lines above)" >&2
		exit 1
	fi
fi
