#!/usr/bin/env bash
# An ordinary user (uid/gid 65534) mounts zpoolfs through fusermount3 on a mount point it
# owns, writes a file, reads it back, reads the stats, unmounts; and what such a user cannot
# have is refused with one line that says why and what to do:
#   /dev/fuse mode 0600 (as on these machines), readahead= (root only),
#   allow_other / allow_root without user_allow_other in /etc/fuse.conf.
#
# Nothing on the machine is changed: the test runs in a private mount namespace where a
# device node of its own (the same FUSE device, c 10:229, mode 0666 as Debian ships it, or
# 0600) is bound over /dev/fuse and a fuse.conf of its own over /etc/fuse.conf; libfuse,
# fusermount3 and zpoolfs see those, everyone else sees the machine's. The namespace and
# its binds end with the test, whatever the exit path; the mounts are undone by the trap.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need setpriv unshare getfattr
[ "$(id -u)" = 0 ] || skip "needs root (runs zpoolfs as uid 65534 with a /dev/fuse of its own)"
[ -u "$(command -v fusermount3)" ] || fail "fusermount3 is not set-uid root (fuse3's package makes it so)"
[ -e /etc/fuse.conf ] || fail "no /etc/fuse.conf (the fuse3 package ships one)"
if [ -z "${ZFS_USER_NS:-}" ]; then
	ZFS_USER_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
zfs_detach_inherited_fuse
zfs_workdir
cd "$WORK"

# The daemon, where uid 65534 can reach it (the build tree may be under a private home).
install -m 755 "$ZPOOLFS" "$WORK/zpoolfs"
ZP=$WORK/zpoolfs
# Device nodes and configuration files of our own: on a tmpfs, since /tmp may be nodev.
mkdir "$WORK/dev"
mount -t tmpfs -o mode=755,size=1m zfs-test-user "$WORK/dev"
zfs_on_exit "umount -l '$WORK/dev'"
mknod -m 0600 "$WORK/dev/fuse-0600" c 10 229
mknod -m 0666 "$WORK/dev/fuse-0666" c 10 229
grep -v '^[[:space:]]*user_allow_other' /etc/fuse.conf >"$WORK/dev/fuse.conf-no" || true
{ cat "$WORK/dev/fuse.conf-no"; echo "user_allow_other"; } >"$WORK/dev/fuse.conf-yes"
# use_dev MODE, use_conf yes|no: bind ours on top (later binds hide earlier ones).
use_dev() { mount --bind "$WORK/dev/fuse-$1" /dev/fuse; }
use_conf() { mount --bind "$WORK/dev/fuse.conf-$1" /etc/fuse.conf; }
use_conf no

M=$WORK/m
mkdir "$M"
chown 65534:65534 "$M"
PID=
zfs_on_exit 'if [ -n "$PID" ]; then fusermount3 -u "$M" 2>/dev/null || umount -l "$M" 2>/dev/null; kill "$PID" 2>/dev/null; fi'

# refused WANT... -- ARGS: zpoolfs ARGS as uid 65534 fails with one line holding every WANT
# and mounts nothing.
refused() {
	local wants=() rc=0 w lines
	while [ "$1" != -- ]; do wants+=("$1"); shift; done
	shift
	timeout 20 setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ZP" "$M" "$@" \
		>"$WORK/out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		fusermount3 -u "$M" 2>/dev/null || true
		fail "uid 65534: zpoolfs $* mounted"
	fi
	[ "$rc" -ne 124 ] || fail "uid 65534: zpoolfs $* hung"
	! zfs_mounted "$M" || fail "uid 65534: zpoolfs $* left a mount"
	lines=$(wc -l <"$WORK/out")
	[ "$lines" -eq 1 ] || fail "uid 65534: zpoolfs $*: want one line, got $lines: $(cat "$WORK/out")"
	for w in "${wants[@]}"; do
		grep -qF -- "$w" "$WORK/out" || fail "uid 65534: zpoolfs $*: message lacks '$w': $(cat "$WORK/out")"
	done
	echo "  uid 65534: zpoolfs $* -> $(cat "$WORK/out")"
}

# mount_user ARGS: mount as uid 65534 (in the foreground, in our background, so that we
# know its pid and how it ends; ZPOOLFS_TEST_OPTS first, as lib.sh does); wait until the
# kernel shows the mount.
mount_user() {
	local i
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ZP" "$M" -f \
		${ZPOOLFS_TEST_OPTS:+-o "$ZPOOLFS_TEST_OPTS"} "$@" >"$WORK/daemon.log" 2>&1 &
	PID=$!
	for ((i = 0; i < 200; i++)); do
		zfs_mounted "$M" && return 0
		kill -0 "$PID" 2>/dev/null || { cat "$WORK/daemon.log" >&2; fail "uid 65534: zpoolfs $* did not mount"; }
		sleep 0.05
	done
	fail "uid 65534: zpoolfs $* did not mount in 10 s"
}

# umount_user: fusermount3 -u as uid 65534; the daemon must then exit cleanly.
umount_user() {
	local rc=0 i
	as_nobody fusermount3 -u "$M" || fail "uid 65534 cannot unmount its own mount"
	! zfs_mounted "$M" || fail "still mounted after fusermount3 -u"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$PID" || rc=$?
	PID=
	if [ "$rc" -ne 0 ] || grep -qE 'Sanitizer|runtime error:' "$WORK/daemon.log"; then
		cat "$WORK/daemon.log" >&2
		fail "the user's daemon exited with status $rc or a sanitizer report (above)"
	fi
}

echo "/dev/fuse mode 0600: the daemon says it cannot open it, and what to do"
use_dev 0600
refused "cannot open /dev/fuse" "Permission denied" "mode 0600" "chmod 0666 /dev/fuse" "as root" --
refused "cannot open /dev/fuse" -- -f -o size=1m

echo "/dev/fuse mode 0666 (Debian's default): uid 65534 mounts, uses and unmounts"
use_dev 0666
mount_user -o size=64m
grep " $M fuse.zpoolfs " /proc/mounts | grep -q 'user_id=65534,group_id=65534' ||
	fail "the mount is not the user's: $(grep " $M " /proc/mounts)"
grep " $M fuse.zpoolfs " /proc/mounts | grep -q 'nosuid,nodev' ||
	fail "a user's mount without nosuid,nodev: $(grep " $M " /proc/mounts)"
assert_eq "$(as_nobody stat -c "%u %g %a" "$M")" "65534 65534 1777" "the root directory of a user's mount"
head -c 1048576 /dev/urandom >"$WORK/random"
chmod 644 "$WORK/random"
as_nobody sh -c "seq 1 200000 > '$M/numbers' && cp '$WORK/random' '$M/random' && mkdir '$M/d' && echo hi > '$M/d/hi'"
as_nobody cmp "$M/random" "$WORK/random" || fail "random data read back differ"
seq 1 200000 >"$WORK/numbers"
as_nobody cat "$M/numbers" | cmp - "$WORK/numbers" || fail "the numbers read back differ"
assert_eq "$(as_nobody cat "$M/d/hi")" hi "a small file read back"
assert_eq "$(as_nobody stat -c %u "$M/numbers")" 65534 "the owner of the user's file"
read -r orig compr used _ < <(as_nobody cat "$M/.zpool/mm_stat")
logical=$(( $(stat -c %s "$WORK/numbers") + 1048576 + 3 ))
pages=$(( ($(stat -c %s "$WORK/numbers") + 4095) / 4096 + 256 + 1 ))
assert_eq "$orig" $((pages * 4096)) "mm_stat orig_data_size (the user's pages)"
[ "$compr" -gt 1048576 ] && [ "$compr" -lt "$orig" ] || fail "mm_stat compr_data_size $compr (orig $orig)"
[ "$used" -ge "$compr" ] || fail "mm_stat mem_used_total $used < compr_data_size $compr"
as_nobody cat "$M/.zpool/pool" | grep -q '^backend: zsmalloc' || fail "the user cannot read .zpool/pool"
as_nobody getfattr --absolute-names --only-values -n user.zpool.stat "$M/numbers" | grep -q "logical=$(stat -c %s "$WORK/numbers") " ||
	fail "user.zpool.stat of the user's file: $(as_nobody getfattr --absolute-names --only-values -n user.zpool.stat "$M/numbers")"
echo "  wrote $logical bytes, read them back; mm_stat: $orig $compr $used"
# Without allow_other nobody else, root included, may look inside (FUSE's rule).
ls "$M" >/dev/null 2>&1 && fail "root reads a user's mount made without allow_other"
umount_user

echo "options that need root, refused for a user with the reason"
refused "readahead=8m needs root" "read_ahead_kb" -- -o readahead=8m
refused "allow_other needs a line user_allow_other in /etc/fuse.conf" -- -o allow_other
refused "allow_root needs a line user_allow_other in /etc/fuse.conf" -- -o size=1m,allow_root
# readahead=0 asks for nothing root-only.
mount_user -o readahead=0
umount_user

echo "allow_other with user_allow_other in /etc/fuse.conf: root may look inside"
use_conf yes
mount_user -o allow_other
as_nobody sh -c "echo shared > '$M/f'"
assert_eq "$(cat "$M/f")" shared "root reads a user's allow_other mount"
umount_user
echo ok
