# shellcheck shell=bash
# Shared helpers of the filesystem tests (tests/fs/test_*.sh). Each test
# sources this file, then mounts real zpoolfs instances in private temporary
# directories:
#
#   . "$(dirname "$0")/lib.sh"
#   zfs_need_fuse                      # exit 77 without /dev/fuse (1 under CI=true)
#   zfs_workdir                        # $WORK: a private temp dir, removed at exit
#   zfs_mount "$WORK/m" -o size=16m    # mount (options passed to zpoolfs as given)
#   ... ; zfs_umount "$WORK/m"         # also done for every mount at exit
#   fail "message"; assert_eq "$got" "$want" "what"; as_nobody cmd args
#   zfs_on_exit 'umount -l "$T"'      # more cleanup, run first at exit
#
# The daemon runs in the foreground (-f) in the background of the test, with
# its output in $WORK/zpoolfs-N.log; zfs_umount waits for it to exit and
# fails the test if it did not exit cleanly or if a sanitizer complained, so
# every test also checks the daemon for crashes, leaks and undefined
# behaviour when it is built with SANITIZE=.
# The binary is $ZPOOLFS, else $BUILD/zpoolfs, else build/zpoolfs.
# ZPOOLFS_TEST_OPTS=OPTS adds -o OPTS to every mount (make check-fs-4k runs
# the suite with cluster=4k that way).

ZFS_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZFS_REPO=$(cd "$ZFS_TESTS_DIR/../.." && pwd)
if [ -z "${ZPOOLFS:-}" ]; then
	case ${BUILD:-build} in
	/*) ZPOOLFS=${BUILD:-build}/zpoolfs ;;
	*) ZPOOLFS=$ZFS_REPO/${BUILD:-build}/zpoolfs ;;
	esac
fi
export ZPOOLFS

declare -a ZFS_MOUNTS=() ZFS_EXIT_HOOKS=()
declare -A ZFS_PID=() ZFS_LOG=()
ZFS_SEQ=0
WORK=${WORK:-}

# fail MSG: print MSG and end the test with status 1.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# assert_eq GOT WANT WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# skip MSG: exit 77 (a failure under CI=true).
skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI): cannot run: $*" >&2
		exit 1
	fi
	echo "skipped: $*"
	exit 77
}

zfs_need_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "no fusermount3"
	[ -x "$ZPOOLFS" ] || fail "no zpoolfs binary at $ZPOOLFS (build it first)"
}

# zfs_need CMD...: the tools a test uses (packages in tools/deps.sh).
zfs_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "no $c (tools/deps.sh installs it)"
	done
}

# as_nobody CMD...: run CMD as uid/gid 65534 without supplementary groups.
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# zfs_on_exit CMD: run CMD (a string for eval) at exit, before the unmounts.
zfs_on_exit() {
	ZFS_EXIT_HOOKS+=("$1")
}

zfs_cleanup() {
	local rc=$? m p h
	cd /	# a shell inside a mount would keep it busy
	for h in "${ZFS_EXIT_HOOKS[@]}"; do
		eval "$h" || true
	done
	for p in $(jobs -p); do
		# Only our helpers, not the daemons (zfs_umount stops those).
		case " ${ZFS_PID[*]} " in *" $p "*) ;; *) kill "$p" 2>/dev/null || true ;; esac
	done
	for m in "${ZFS_MOUNTS[@]}"; do
		if [ -n "${ZFS_PID[$m]:-}" ]; then
			zfs_umount "$m" || rc=1
		fi
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		# Never remove anything through a mount that is still there.
		if ! grep -q " $WORK" /proc/mounts; then
			rm -rf "$WORK"
		else
			echo "warning: $WORK still has mounts; not removed" >&2
		fi
	fi
	exit $rc
}

# zfs_workdir: create $WORK (traversable by everyone) and clean up at exit.
# zfs_detach_inherited_fuse: in a mount namespace just made with unshare -m, detach the
# FUSE mounts copied from the parent. A copy holds its filesystem's connection open, so the
# daemon of a mount that another test (or anyone) unmounts meanwhile would wait for this
# namespace to end before it sees the unmount and exits.
zfs_detach_inherited_fuse() {
	local target fstype
	while read -r target fstype; do
		case $fstype in
		fuse | fuse.*) umount -l "$(printf '%b' "$target")" 2>/dev/null || true ;;
		esac
	done < <(findmnt -rn -o TARGET,FSTYPE)
}

zfs_workdir() {
	if [ -z "$WORK" ] || [ ! -d "$WORK" ]; then
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/zpoolfs-test.XXXXXX")
		chmod 755 "$WORK"
		trap zfs_cleanup EXIT
	fi
}

# zfs_mount DIR [ARGS...]: mount a zpoolfs at DIR (created if missing).
# Return: 0 when mounted; 1 (with the daemon's output) when it did not mount.
zfs_mount() {
	local dir=$1 log pid i
	shift
	zfs_need_fuse
	[ -n "$WORK" ] || zfs_workdir
	mkdir -p "$dir"
	ZFS_SEQ=$((ZFS_SEQ + 1))
	log=$WORK/zpoolfs-$ZFS_SEQ.log
	# ZPOOLFS_TEST_OPTS (e.g. cluster=4k) goes first: a test's own options win.
	"$ZPOOLFS" "$dir" -f ${ZPOOLFS_TEST_OPTS:+-o "$ZPOOLFS_TEST_OPTS"} "$@" >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		if grep -q " $dir fuse" /proc/mounts; then
			ZFS_PID[$dir]=$pid
			ZFS_LOG[$dir]=$log
			ZFS_MOUNTS+=("$dir")
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			echo "zpoolfs $dir $* did not mount:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.05
	done
	kill "$pid" 2>/dev/null
	echo "zpoolfs $dir $* did not mount in 10 s:" >&2
	cat "$log" >&2
	return 1
}

# zfs_umount DIR: unmount, wait for the daemon, check how it ended.
# Return: 0, or 1 after printing FAIL and the daemon's output.
zfs_umount() {
	local dir=$1 pid=${ZFS_PID[$1]:-} log=${ZFS_LOG[$1]:-} rc i
	[ -n "$pid" ] || { fusermount3 -u "$dir" 2>/dev/null || umount -l "$dir"; return 0; }
	unset "ZFS_PID[$dir]"
	if ! fusermount3 -u "$dir" 2>/dev/null; then
		sleep 0.2
		fusermount3 -u "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
	fi
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		echo "FAIL: zpoolfs at $dir did not exit after unmount" >&2
		return 1
	fi
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:|Segmentation|Aborted' "$log"; then
		cat "$log" >&2
		echo "FAIL: zpoolfs at $dir: sanitizer or crash report (above)" >&2
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		cat "$log" >&2
		echo "FAIL: zpoolfs at $dir exited with status $rc" >&2
		return 1
	fi
	return 0
}

# zfs_mounted DIR: is DIR a zpoolfs mount?
zfs_mounted() {
	grep -q " $1 fuse.zpoolfs " /proc/mounts
}

# zfs_stat_field FILE FIELD: one xattr field of user.zpool.stat (e.g. stored).
zfs_stat_field() {
	getfattr --absolute-names --only-values -n user.zpool.stat "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# zfs_wait_empty MNT [SECONDS]: wait until the pool stores no file page (the
# kernel forgets unlinked inodes asynchronously). Return: 1 on timeout.
zfs_wait_empty() {
	local i orig compr
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		read -r orig compr _ <"$1/.zpool/mm_stat"
		[ "$orig $compr" = "0 0" ] && return 0
		sleep 0.05
	done
	echo "pool still stores $orig bytes ($compr compressed)" >&2
	return 1
}
