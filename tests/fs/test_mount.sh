#!/usr/bin/env bash
# mount(8) and /etc/fstab: with zpoolfs on PATH, "mount -t fuse.zpoolfs
# zpoolfs DIR -o size=..." and an fstab line (read from a private fstab with
# mount --fstab) mount a detached daemon that umount(8) stops again.
# mount(8) runs its helpers with the standard PATH, so for the length of each
# mount command the binary under test is linked as /usr/local/sbin/zpoolfs
# (under a lock; never over a zpoolfs installed there) - or, if one is
# installed, only the path-free form "mount -t fuse BINARY#SOURCE" is tried.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need mount umount
[ "$(id -u)" = 0 ] || skip "needs root (mount(8))"
command -v mount.fuse3 >/dev/null || command -v mount.fuse >/dev/null || skip "no mount.fuse3"
zfs_need flock
zfs_workdir
LINK=/usr/local/sbin/zpoolfs
M=$WORK/m
mkdir -p "$M"
zfs_on_exit 'grep -q " $M " /proc/mounts && umount -l "$M"'

# daemon_of DIR: the pid of the zpoolfs process serving DIR (found by its command line).
daemon_of() {
	local p
	for p in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep "zpoolfs.* $1 " >/dev/null; then
			echo "${p#/proc/}"
			return 0
		fi
	done
	return 1
}
# stopped DIR PID: unmount and wait for the daemon to exit (a detached
# daemon's zombie waits for init to reap it: that counts as exited).
stopped() {
	umount "$1" || fail "umount $1 failed"
	for _ in $(seq 100); do
		[ -e "/proc/$2" ] || return 0
		grep -q '^State:.*Z' "/proc/$2/status" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the daemon $2 did not exit after umount"
}

# on_path CMD...: run CMD with $ZPOOLFS reachable as "zpoolfs" on mount's PATH.
on_path() {
	(
		flock 9
		rm_link=false
		if [ ! -e "$LINK" ] && [ ! -L "$LINK" ]; then
			mkdir -p "$(dirname "$LINK")"
			ln -s "$ZPOOLFS" "$LINK"
			rm_link=true
		fi
		rc=0
		"$@" || rc=$?
		$rm_link && rm -f "$LINK"
		exit $rc
	) 9>/tmp/.zpoolfs-mount-test.lock
}

# The path-free form: type fuse, "program#source".
mount -t fuse "$ZPOOLFS#zpoolfs" "$M" -o size=1m || fail "mount -t fuse BINARY#zpoolfs failed"
grep -q " $M fuse" /proc/mounts || fail "mount -t fuse: not mounted"
assert_eq "$(stat -f -c %b "$M")" 256 "size=1m through mount -t fuse"
pid=$(daemon_of "$M") || fail "no daemon found for $M"
stopped "$M" "$pid"

if [ -e "$LINK" ] && [ "$(readlink -f "$LINK")" != "$(readlink -f "$ZPOOLFS")" ]; then
	echo "a zpoolfs is installed as $LINK: mount -t fuse.zpoolfs would run that one; not tried"
	echo ok
	exit 0
fi
on_path mount -t fuse.zpoolfs zpoolfs "$M" -o size=2m,comp=zstd || fail "mount -t fuse.zpoolfs failed"
grep -q "^zpoolfs $M fuse.zpoolfs " /proc/mounts || fail "not in /proc/mounts: $(grep " $M " /proc/mounts)"
assert_eq "$(stat -f -c %b "$M")" 512 "size=2m through mount(8)"
grep -q '^compressor: zstd' "$M/.zpool/pool" || fail "comp=zstd through mount(8)"
echo hello >"$M/f"
assert_eq "$(cat "$M/f")" hello "I/O through mount(8)"
pid=$(daemon_of "$M") || fail "no daemon found for $M"
stopped "$M" "$pid"

# The fstab line documented in the README.
cat >"$WORK/fstab" <<EOF
zpoolfs  $M  fuse.zpoolfs  size=1g,backend=zbud,comp=lz4,mode=1777,noauto  0  0
EOF
on_path mount --fstab "$WORK/fstab" "$M" || fail "mount from an fstab line failed"
assert_eq "$(stat -f -c %b "$M")" 262144 "size=1g from fstab"
assert_eq "$(stat -c %a "$M")" 1777 "mode from fstab"
grep -q '^backend: zbud' "$M/.zpool/pool" || fail "backend=zbud from fstab"
pid=$(daemon_of "$M") || fail "no daemon found for $M"
stopped "$M" "$pid"

# A bad option through mount(8) fails and mounts nothing.
on_path mount -t fuse.zpoolfs zpoolfs "$M" -o size=lots 2>"$WORK/err" && fail "mount with size=lots succeeded"
grep -q "size=lots" "$WORK/err" || fail "mount(8) did not pass the message on: $(cat "$WORK/err")"
grep -q " $M " /proc/mounts && fail "a failed mount left a mount"
echo ok
