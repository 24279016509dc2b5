#!/usr/bin/env bash
# -o uring: FUSE requests over io_uring (fs/fuse/uring.c).
#
# With the fuse module's enable_uring=Y, a known workload (N of each of
# MKDIR, SYMLINK, STATFS, MKNOD) must be served through the rings: the
# `uring` column of .zpool/requests grows by exactly N for each, as does
# `count`, and stats.json says the same; INIT stays on /dev/fuse; data of
# large writes and reads comes back intact; no fallback line is printed.
# With enable_uring=N, -o uring mounts, says in one line how to turn it on,
# and serves everything through /dev/fuse (`uring` stays 0). Bad
# uring_depth= values are refused before mounting. A queue that cannot make its
# buffers (ZPOOLFS_URING_FAULT=buffers) sends the kernel back to /dev/fuse: nothing hangs. The parameter's value is
# put back at exit. Needs root (writes the module parameter); under CI=true
# not being able to set it is a failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PARAM=/sys/module/fuse/parameters/enable_uring
N=${N:-20}
zfs_need_fuse
zfs_workdir
[ -e "$PARAM" ] || skip "this kernel has no FUSE over io_uring ($PARAM missing)"
old=$(cat "$PARAM")
zfs_on_exit "echo '$old' > '$PARAM' 2>/dev/null || true"
echo Y >"$PARAM" 2>/dev/null || skip "cannot write $PARAM (not root?)"
[ "$(cat "$PARAM")" = Y ] || fail "$PARAM did not become Y"

# col FILE OP COLUMN: a column (2 = count, 5 = uring) of opcode OP in a saved requests file
col() {
	awk -v op="$2" -v c="$3" '$1 == op { v = $c } END { print v + 0 }' "$1"
}

# workload DIR: N of each of MKDIR, SYMLINK, MKNOD, STATFS under DIR
workload() {
	local i
	for ((i = 0; i < N; i++)); do
		mkdir "$1/d$i"
		ln -s target "$1/s$i"
		mknod "$1/p$i" p
		stat -f "$1" >/dev/null
	done
}

M=$WORK/m
zfs_mount "$M" -o size=64m,uring,uring_depth=2
LOG=${ZFS_LOG[$M]}
S=$M/.zpool
cat "$S/requests" >"$WORK/r0"
assert_eq "$(head -1 "$WORK/r0" | tr -s ' ')" "opcode count total_us mean_us uring" "header"
workload "$M"
cat "$S/requests" >"$WORK/r1"
for op in MKDIR SYMLINK MKNOD STATFS; do
	assert_eq $(($(col "$WORK/r1" $op 2) - $(col "$WORK/r0" $op 2))) "$N" "$op count"
	assert_eq $(($(col "$WORK/r1" $op 5) - $(col "$WORK/r0" $op 5))) "$N" \
		"$op requests served through io_uring"
done
assert_eq "$(col "$WORK/r1" INIT 5)" 0 "INIT through io_uring"
assert_eq "$(col "$WORK/r1" INIT 2)" 1 "INIT count"
# stats.json carries the same column
jq -e --argjson n "$(col "$WORK/r1" MKDIR 5)" '.requests.MKDIR.uring == $n' "$S/stats.json" \
	>/dev/null || fail "stats.json's MKDIR uring differs from the requests file"
# large writes and reads (1 MiB requests, payload buffers of max_write) come back intact
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$WORK/data"
cp "$WORK/data" "$M/data"
cmp "$WORK/data" "$M/data" || fail "data read back through io_uring differs"
dd if="$WORK/data" of="$M/direct" bs=1M count=5 iflag=fullblock oflag=direct status=none
cmp <(head -c $((5 * 1024 * 1024)) "$WORK/data") "$M/direct" ||
	fail "O_DIRECT data through io_uring differs"
[ "$(col "$S/requests" WRITE 5)" -gt 0 ] || fail "no WRITE through io_uring"
[ "$(col "$S/requests" READ 5)" -gt 0 ] || fail "no READ through io_uring"
rm -r "$M"/d[0-9]* "$M"/s[0-9]* "$M"/p[0-9]* "$M/data" "$M/direct"
if grep -q "serving through /dev/fuse" "$LOG"; then
	cat "$LOG" >&2
	fail "fell back to /dev/fuse with enable_uring=Y"
fi
zfs_umount "$M" || fail "unmount"

# A queue that cannot make its buffers after INIT asked for io_uring (test hook): the kernel
# holds requests until the rings are ready, so the daemon must send it back to /dev/fuse
# (a refused REGISTER); nothing may hang.
M4=$WORK/m4
ZPOOLFS_URING_FAULT=buffers zfs_mount "$M4" -o size=16m,uring
LOG=${ZFS_LOG[$M4]}
timeout 60 bash -c "$(declare -f workload); N=$N; workload '$M4'" ||
	fail "requests hung or failed after a queue could not register"
grep -q "cannot make the ring's buffers" "$LOG" || fail "no line about the failed queue: $(cat "$LOG")"
cat "$M4/.zpool/requests" >"$WORK/r4"
assert_eq "$(col "$WORK/r4" MKDIR 2)" "$N" "MKDIR count after a failed queue"
assert_eq "$(col "$WORK/r4" MKDIR 5)" 0 "MKDIR through io_uring after a failed queue"
zfs_umount "$M4" || fail "unmount (failed queue)"

# enable_uring=N: one line saying how to turn it on, everything through /dev/fuse
echo N >"$PARAM"
M2=$WORK/m2
zfs_mount "$M2" -o size=16m,uring,uring_depth=1
LOG=${ZFS_LOG[$M2]}
workload "$M2"
grep -q "echo Y > $PARAM" "$LOG" || fail "no line saying how to enable io_uring: $(cat "$LOG")"
[ "$(grep -c 'uring' "$LOG")" = 1 ] || fail "more than one line about io_uring: $(cat "$LOG")"
cat "$M2/.zpool/requests" >"$WORK/r2"
assert_eq "$(col "$WORK/r2" MKDIR 2)" "$N" "MKDIR count with enable_uring=N"
assert_eq "$(awk 'NR > 1 { s += $5 } END { print s + 0 }' "$WORK/r2")" 0 \
	"requests through io_uring with enable_uring=N"
zfs_umount "$M2" || fail "unmount (enable_uring=N)"
echo Y >"$PARAM"

# uring_depth= is checked before anything is mounted
mkdir -p "$WORK/m3"
for bad in uring_depth=0 uring_depth=65 uring_depth=x; do
	if out=$("$ZPOOLFS" "$WORK/m3" -f -o "uring,$bad" 2>&1); then
		fail "$bad accepted"
	fi
	case $out in *uring_depth*) ;; *) fail "$bad: no clear error: $out" ;; esac
done
out=$("$ZPOOLFS" "$WORK/m3" -f -o uring_depth=2 2>&1) && fail "uring_depth without uring accepted"
case $out in *"needs uring"*) ;; *) fail "uring_depth without uring: $out" ;; esac
echo "ok: $N each of MKDIR/SYMLINK/MKNOD/STATFS through io_uring; fallback with enable_uring=N"
