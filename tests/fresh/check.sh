#!/usr/bin/env bash
# tests/fresh/check.sh - make check-fresh: the README's two commands on a fresh Debian 12 root.
#
# A copy of the cached base root (tests/fresh/base.sh: debootstrap --variant=minbase bookworm
# plus make and git, none of the project's packages) gets a clean `git clone` of this
# checkout's HEAD at /src/zpoolfs; with /dev, /proc and /sys bound in, and as root in a
# chroot, it runs what the README tells a new user to run:
#
#   make run                               (installs the packages: tools/deps.sh; builds; mounts)
#   a file written through /tmp/zpoolfs and read back, cat /tmp/zpoolfs/.zpool/mm_stat
#   fusermount3 -u /tmp/zpoolfs
#   make check                             (every test: unit, debug unit, install, fs, BPF)
#
# with CI=true, so a test that finds a tool missing fails rather than skips: a package that
# tools/deps.sh forgets fails this check. Each phase is timed.
#
# Everything happens in a private mount namespace (unshare -m), so the binds and the FUSE
# mounts of the chroot are nobody else's business and die with it; on every exit path the
# trap also stops the processes still running in the chroot, unmounts what is mounted
# below it and removes the scratch copy.
#
# Knobs: FRESH_KEEP=1 keeps the scratch root; FRESH_DROP="pkg ..." removes packages from the
# clone's tools/deps.sh first (to see this check fail); FRESH_CHECK=0 stops after make run;
# FRESH_CACHE (tests/fresh/base.sh). Downloaded .deb files are kept between runs in
# $FRESH_CACHE/apt-archives (a download cache outside the root: apt still resolves and
# installs every package in the fresh root).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${FRESH_CACHE:-/var/cache/zpoolfs/fresh}

[ "$(id -u)" = 0 ] || { echo "check-fresh: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
if [ -z "${FRESH_IN_NS:-}" ]; then
	FRESH_IN_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
# Copies of other FUSE mounts would keep their connections (and daemons) alive while we run.
while read -r target fstype; do
	case $fstype in
	fuse | fuse.*) umount -l "$(printf '%b' "$target")" 2>/dev/null || true ;;
	esac
done < <(findmnt -rn -o TARGET,FSTYPE)

t0=$(date +%s)
phase_start=$t0
phase() {
	local now
	now=$(date +%s)
	printf '\n==== check-fresh: %s (previous step %d s, %d s so far) ====\n' "$1" \
		$((now - phase_start)) $((now - t0))
	phase_start=$now
}

phase "base root"
BASE=$(bash "$REPO/tests/fresh/base.sh")
SCRATCH=$(mktemp -d "${TMPDIR:-/var/tmp}/zpoolfs-fresh.XXXXXX")
ROOT=$SCRATCH/root

# Processes whose root is our chroot: only ever ones this script started.
chroot_pids() {
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$r" = "$ROOT" ] && echo "${p#/proc/}"
	done
	return 0
}

cleanup() {
	local rc=$? pids m i
	cd /
	for i in 1 2 3; do
		pids=$(chroot_pids)
		[ -n "$pids" ] || break
		# shellcheck disable=SC2086
		kill $([ "$i" = 3 ] && echo -9) $pids 2>/dev/null || true
		sleep 1
	done
	# Deepest first; FUSE mounts included (the namespace would drop them too).
	for m in $(awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if awk -v r="$ROOT" 'index($2, r) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
		echo "check-fresh: mounts left below $ROOT; $SCRATCH not removed" >&2
		rc=1
	elif [ "${FRESH_KEEP:-}" = 1 ]; then
		echo "check-fresh: root kept in $ROOT"
	else
		rm -rf --one-file-system "$SCRATCH"
	fi
	printf 'check-fresh: %s after %d s\n' "$([ $rc = 0 ] && echo passed || echo FAILED)" \
		$(($(date +%s) - t0))
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$ROOT"
chmod 755 "$SCRATCH" "$ROOT"
tar -C "$ROOT" --numeric-owner -xpf "$BASE"
chmod 755 "$ROOT"	# everyone may enter "/" (the tests run commands as uid 65534)
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# What booting adds to a Debian root (systemd-tmpfiles, tmpfiles.d/debian.conf); a user's
# fusermount3 -u needs it.
[ -e "$ROOT/etc/mtab" ] || ln -s ../proc/self/mounts "$ROOT/etc/mtab"
git clone -q --no-hardlinks "$REPO" "$ROOT/src/zpoolfs"
echo "check-fresh: $(git -C "$ROOT/src/zpoolfs" log -1 --format='%h %s') in a fresh root"
for p in ${FRESH_DROP:-}; do
	echo "check-fresh: dropping $p from the clone's tools/deps.sh (FRESH_DROP)"
	sed -i -E "s/(^|[[:space:]])$p([[:space:]]|\$)/\1\2/" "$ROOT/src/zpoolfs/tools/deps.sh"
done

# "/" of a real machine is a mount point (unshare --propagation and the like need it to be).
mount --bind "$ROOT" "$ROOT"
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mkdir -p "$CACHE/apt-archives/partial" "$ROOT/var/cache/apt/archives"
mount --bind "$CACHE/apt-archives" "$ROOT/var/cache/apt/archives"
[ -e "$ROOT/dev/fuse" ] || { echo "check-fresh: no /dev/fuse in the chroot" >&2; exit 1; }

# in_root CMD: run a shell command in the chroot as a fresh login would: root, a clean
# environment, the clone as the working directory.
in_root() {
	chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash -euo pipefail -c "cd /src/zpoolfs && $1"
}

phase "make run (installs the packages, builds, mounts /tmp/zpoolfs)"
in_root 'make run'

phase "a file through the mount, the stats, the unmount"
in_root '
	seq 1 100000 > /tmp/zpoolfs/numbers
	cmp <(seq 1 100000) /tmp/zpoolfs/numbers
	echo "read back $(wc -c < /tmp/zpoolfs/numbers) bytes"
	cat /tmp/zpoolfs/.zpool/mm_stat
	read -r orig compr _ < /tmp/zpoolfs/.zpool/mm_stat
	[ "$orig" -gt 0 ] && [ "$compr" -gt 0 ] && [ "$compr" -lt "$orig" ]
	fusermount3 -u /tmp/zpoolfs
	for i in $(seq 50); do grep -q " /tmp/zpoolfs " /proc/mounts || break; sleep 0.1; done
	! grep -q " /tmp/zpoolfs " /proc/mounts
	echo unmounted'

if [ "${FRESH_CHECK:-1}" != 0 ]; then
	phase "make check"
	in_root 'make check'
fi
phase "done"
