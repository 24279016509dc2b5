#!/usr/bin/env bash
# The request loop (fs/fuse/loop.c): the spinning leader (spin=50) and the
# plain loop (spin=0).
#
# With one STATFS made to take 5 s in the daemon (ZPOOLFS_TEST_DELAY), other
# callers' requests are served while it runs: in serial mode the watcher
# takes the free reader role, in parallel mode the other threads read. Checked
# before and after four callers at once (which switch the loop to parallel
# mode and back), and with spin=0. Everything written reads back; the daemon
# exits on unmount and on SIGTERM (threads parked, spinning or in the
# kernel's read); bad spin= values are refused before mounting.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

zfs_workdir
M=$WORK/m
DELAY_MS=5000

# Under check-fs-uring (ZPOOLFS_TEST_OPTS=uring) requests come through
# io_uring, each CPU's queue served in turn by one thread (uring.c), not by
# this loop: a slow request holds the requests queued behind it on its CPU.
# Only the rest of the test applies there.
URING=false
[[ ,${ZPOOLFS_TEST_OPTS:-}, == *,uring,* ]] && URING=true

# served_beside_slow TAG: while a 5 s STATFS is in the daemon, 20 creates,
# writes and reads of new files complete.
served_beside_slow() {
	local tag=$1 spid i
	$URING && return 0
	mkdir -p "$M/$tag"
	stat -f "$M" >/dev/null &
	spid=$!
	sleep 0.3	# the STATFS is in the daemon now
	for ((i = 0; i < 20; i++)); do
		echo "$tag $i" >"$M/$tag/s$i"
		[ "$(cat "$M/$tag/s$i")" = "$tag $i" ] || fail "$tag: s$i reads back wrong"
	done
	kill -0 "$spid" 2>/dev/null ||
		fail "$tag: 20 creates waited for a ${DELAY_MS} ms request to end (no other reader took over)"
	wait "$spid" || fail "$tag: the delayed statfs failed"
}

# burst N: N callers at once, each creating, statting and reading 300 files
burst() {
	local n=$1 j pids=()
	for ((j = 0; j < n; j++)); do
		(
			mkdir -p "$M/b$j"
			for ((i = 0; i < 300; i++)); do
				echo "b$j $i" >"$M/b$j/f$i"
				stat "$M/b$j/f$i" >/dev/null
				[ "$(cat "$M/b$j/f$i")" = "b$j $i" ] || exit 1
			done
		) &
		pids+=($!)
	done
	for j in "${pids[@]}"; do
		wait "$j" || fail "a caller of the burst saw wrong data or an error"
	done
}

# The spinning leader (spin=50, the default), four threads at least.
ZPOOLFS_TEST_DELAY=STATFS:$DELAY_MS zfs_mount "$M" -o size=64m,spin=50 || fail "mount"
served_beside_slow serial1
burst 4
served_beside_slow after-parallel
burst 1
served_beside_slow serial2
for ((j = 0; j < 4; j++)); do
	[ "$(cat "$M/b$j/f299")" = "b$j 299" ] || fail "b$j/f299 lost"
done
zfs_umount "$M" || fail "unmount (spinning leader)"

# spin=0: every thread sleeps in the kernel's read, as before the leader.
ZPOOLFS_TEST_DELAY=STATFS:$DELAY_MS zfs_mount "$M" -o size=64m,spin=0 || fail "mount spin=0"
served_beside_slow spin0
burst 4
zfs_umount "$M" || fail "unmount (spin=0)"

# SIGTERM ends the daemon whatever its threads are doing: right after a
# burst (parallel readers in the kernel) and when idle (parked, polling).
for when in burst idle; do
	zfs_mount "$M" -o size=64m,spin=50 || fail "mount ($when)"
	pid=${ZFS_PID[$M]}
	[ "$when" = burst ] && burst 4
	[ "$when" = idle ] && sleep 0.5
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && fail "zpoolfs did not exit 10 s after SIGTERM ($when)"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "zpoolfs exited with $rc after SIGTERM ($when): $(cat "${ZFS_LOG[$M]}")"
	unset "ZFS_PID[$M]"
	fusermount3 -u "$M" 2>/dev/null || true
done

# Bad values are refused before anything is mounted.
for v in abc -1 100001 5x; do
	out=$("$ZPOOLFS" "$M" -f -o spin=$v 2>&1) && fail "spin=$v accepted"
	grep -q "spin" <<<"$out" || fail "spin=$v: the error does not name the option: $out"
	zfs_mounted "$M" && fail "spin=$v mounted"
done
echo "PASS: request loop (spinning leader and spin=0)"
