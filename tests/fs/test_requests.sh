#!/usr/bin/env bash
# MOUNT/.zpool/requests: every FUSE request the daemon answers is counted by
# opcode. A known workload of namespace calls (N of each) must add exactly N
# to its opcodes, whatever else reading the stats itself costs; stats.json
# carries the same counts; ZPOOLFS_TEST_DELAY=OP:MS makes every such request
# take at least MS ms, in the daemon's own time too; a bad value is refused
# before anything is mounted.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

N=${N:-25}
stats_mount -o size=64m

# req FILE OPNAME: that opcode's count in a saved requests file (0 if absent).
req() {
	awk -v op="$2" '$1 == op { c = $2 } END { print c + 0 }' "$1"
}

# The layout: a header, then "NAME count total_us mean_us uring" per opcode seen.
cat "$S/requests" >"$WORK/r0"
assert_eq "$(head -1 "$WORK/r0" | tr -s ' ')" "opcode count total_us mean_us uring" "header"
awk 'NR > 1 && (NF != 5 || $5 !~ /^[0-9]+$/ || $5 > $2 || $1 !~ /^[A-Z_0-9]+$/ || $2 !~ /^[0-9]+$/ || $2 == 0 ||
	$3 !~ /^[0-9]+$/ || $4 !~ /^[0-9.]+$/) { bad = 1 } END { exit bad }' "$WORK/r0" ||
	fail "bad requests line: $(cat "$WORK/r0")"
[ "$(req "$WORK/r0" INIT)" = 1 ] || fail "INIT not counted once: $(cat "$WORK/r0")"
[ "$(req "$WORK/r0" LOOKUP)" -ge 2 ] || fail "no LOOKUP counted for .zpool/requests: $(cat "$WORK/r0")"

# The workload: opcodes that reading the stats file never sends.
cd "$MNT"
mkdir w
for ((i = 0; i < N; i++)); do
	mkdir "w/d$i"
	mknod "w/p$i" p
	ln -s target "w/s$i"
	touch "w/f$i"		# CREATE (counted, but touch also sends SETATTR: not compared)
	ln "w/f$i" "w/h$i"
	mv "w/h$i" "w/m$i"
	setfattr -n user.k -v "$i" "w/f$i"
	stat -f . >/dev/null
done
for ((i = 0; i < N; i++)); do
	rm "w/m$i"
	rmdir "w/d$i"
done
cd /
cat "$S/requests" >"$WORK/r1"
for op in MKNOD SYMLINK LINK RENAME2:RENAME SETXATTR STATFS UNLINK RMDIR; do
	# The kernel sends RENAME2 or RENAME depending on the call: count both.
	got=0 was=0
	for o in ${op//:/ }; do
		got=$((got + $(req "$WORK/r1" "$o")))
		was=$((was + $(req "$WORK/r0" "$o")))
	done
	assert_eq $((got - was)) "$N" "$op requests for $N calls"
done
assert_eq $(($(req "$WORK/r1" MKDIR) - $(req "$WORK/r0" MKDIR))) $((N + 1)) "MKDIR requests"
assert_eq $(($(req "$WORK/r1" CREATE) - $(req "$WORK/r0" CREATE))) "$N" "CREATE requests"
# N stat(2)s of names that do not exist: at least one LOOKUP each.
before=$(req "$S/requests" LOOKUP)
for ((i = 0; i < N; i++)); do
	stat "$MNT/w/none$i" >/dev/null 2>&1 && fail "w/none$i exists"
done
after=$(req "$S/requests" LOOKUP)
[ $((after - before)) -ge "$N" ] || fail "LOOKUP went from $before to $after for $N stat calls"

# stats.json: the same counts, and the time in ns agrees with total_us.
cat "$S/stats.json" >"$WORK/j"
cat "$S/requests" >"$WORK/r2"
for op in MKDIR MKNOD SYMLINK SETXATTR RMDIR; do
	assert_eq "$(jq ".requests.$op.count" "$WORK/j")" "$(req "$WORK/r2" "$op")" "$op in stats.json"
	us=$(awk -v op=$op '$1 == op { print $3 }' "$WORK/r2")
	assert_eq $(($(jq ".requests.$op.ns" "$WORK/j") / 1000)) "$us" "$op time in stats.json"
done
[ "$(jq '[.requests[].count] | add' "$WORK/j")" -gt $((9 * N)) ] || fail "json total too small"
stats_umount

# The test hook: every MKDIR sleeps 100 ms in the daemon.
ZPOOLFS_TEST_DELAY=MKDIR:100,READLINK:0 stats_mount -o size=64m
t0=$(date +%s%N)
mkdir "$MNT/a" "$MNT/b"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 200 ] || fail "two delayed mkdirs took $(((t1 - t0) / 1000000)) ms"
cat "$S/requests" >"$WORK/r3"
assert_eq "$(req "$WORK/r3" MKDIR)" 2 "delayed MKDIR count"
[ "$(awk '$1 == "MKDIR" { print $3 }' "$WORK/r3")" -ge 200000 ] ||
	fail "MKDIR time does not include the delay: $(grep MKDIR "$WORK/r3")"
stats_umount

# A bad hook value is refused before mounting, with a clear line.
for bad in NOPE:5 MKDIR MKDIR:x MKDIR:-1 MKDIR:5x; do
	M2=$(mktemp -d "$WORK/bad.XXXXXX")
	if ZPOOLFS_TEST_DELAY=$bad "$ZPOOLFS" "$M2" -f -o size=1m >"$WORK/bad.log" 2>&1; then
		fusermount3 -u "$M2" 2>/dev/null || true
		fail "ZPOOLFS_TEST_DELAY=$bad was accepted"
	fi
	grep -q "ZPOOLFS_TEST_DELAY=" "$WORK/bad.log" || fail "no message for $bad: $(cat "$WORK/bad.log")"
	zfs_mounted "$M2" && fail "mounted with ZPOOLFS_TEST_DELAY=$bad"
done
echo "requests: exact counts for $N calls of each namespace opcode, json, delay hook"
