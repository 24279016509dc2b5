#!/usr/bin/env bash
# The backing file (-o backing=PATH, fs/tier/backing.c) at mount and unmount: a
# file created by the daemon is removed at unmount, an existing one has its
# contents discarded at mount and is kept (empty) at unmount, a loop block
# device works; a directory, a path on the mount itself, a path on a
# read-only filesystem, a FIFO and a missing directory are refused with a
# message naming the option and nothing is mounted. The zram control files:
# bd_stat's three columns, writeback_limit and writeback_limit_enable (owner
# only), writeback refusing unknown words, and ENODEV without a backing file.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

zfs_need_fuse
zfs_need jq setpriv
zfs_workdir

# refused OPTS WANT [DIR]: mounting (at DIR, else a new directory) with OPTS
# fails, says WANT, mounts nothing.
refused() {
	local d=${3:-}
	[ -n "$d" ] || d=$(mktemp -d "$WORK/bad.XXXXXX")
	if timeout 20 "$ZPOOLFS" "$d" -f -o "$1" >"$WORK/bad.log" 2>&1; then
		fusermount3 -u "$d" 2>/dev/null || true
		fail "-o $1 was accepted"
	fi
	grep -q "backing=" "$WORK/bad.log" || fail "-o $1: no message naming backing= ($(cat "$WORK/bad.log"))"
	grep -q "$2" "$WORK/bad.log" || fail "-o $1: message lacks '$2': $(cat "$WORK/bad.log")"
	zfs_mounted "$d" && fail "-o $1: mounted anyway"
	return 0
}

# ---- a file the daemon creates goes away at unmount
B=$WORK/backing.img
stats_mount -o "backing=$B"
[ -f "$B" ] || fail "backing file not created"
assert_eq "$(stat -c %s "$B")" 0 "new backing file size"
read -r c r w rest <"$S/bd_stat"
assert_eq "$c $r $w ${rest:-}" "0 0 0 " "bd_stat columns"
grep -qE '^ {7}0 {8}0 {8}0$' "$S/bd_stat" || fail "bd_stat is not zram's %8llu columns"
assert_eq "$(cat "$S/writeback_limit")" 0 "writeback_limit"
assert_eq "$(cat "$S/writeback_limit_enable")" 0 "writeback_limit_enable"
echo 1 >"$S/writeback_limit_enable"
echo 4096 >"$S/writeback_limit"
assert_eq "$(cat "$S/writeback_limit")" 4096 "writeback_limit set"
assert_eq "$(cat "$S/writeback_limit_enable")" 1 "writeback_limit_enable set"
jq -e '.bd_stat.backing == true and .bd_stat.writeback_limit == 4096 and
	.bd_stat.writeback_limit_enable == 1 and .bd_stat.bd_count == 0 and
	.counters.bd_bytes == 0' "$S/stats.json" >/dev/null || fail "stats.json bd_stat"
if echo bogus >"$S/writeback" 2>"$WORK/err"; then fail "writeback took 'bogus'"; fi
grep -q "Invalid argument" "$WORK/err" || fail "writeback bogus: $(cat "$WORK/err")"
if echo -1 >"$S/writeback_limit" 2>/dev/null; then fail "writeback_limit took -1"; fi
if as_nobody sh -c "echo 1 >'$S/writeback_limit'" 2>/dev/null; then
	fail "nobody changed writeback_limit"
fi
if cat "$S/writeback" >/dev/null 2>&1; then fail "writeback is readable"; fi
assert_eq "$(stat -c %a "$S/writeback")" 200 "writeback mode"
assert_eq "$(stat -c %a "$S/writeback_limit")" 644 "writeback_limit mode"
stats_umount
[ ! -e "$B" ] || fail "created backing file left after unmount"

# ---- an existing file: contents discarded at mount, kept empty at unmount
head -c 100000 /dev/urandom >"$B"
stats_mount -o "backing=$B"
assert_eq "$(stat -c %s "$B")" 0 "existing backing file emptied at mount"
stats_umount
[ -f "$B" ] || fail "existing backing file removed at unmount"
assert_eq "$(stat -c %s "$B")" 0 "existing backing file after unmount"
rm -f "$B"

# ---- without a backing file the controls say ENODEV, bd_stat is zeros
stats_mount
if echo idle >"$S/writeback" 2>"$WORK/err"; then fail "writeback without backing"; fi
grep -q "No such device" "$WORK/err" || fail "writeback without backing: $(cat "$WORK/err")"
if echo 1 >"$S/writeback_limit_enable" 2>/dev/null; then fail "limit without backing"; fi
grep -qE '^ +0 +0 +0$' "$S/bd_stat" || fail "bd_stat without backing"
jq -e '.bd_stat.backing == false' "$S/stats.json" >/dev/null || fail "stats.json: backing"
stats_umount

# ---- refusals
mkdir "$WORK/dir"
refused "backing=$WORK/dir" "is a directory"
refused "backing=$WORK/nodir/file" "its directory cannot be used"
mkfifo "$WORK/fifo"
refused "backing=$WORK/fifo" "not a regular file or block device"
d=$(mktemp -d "$WORK/m.XXXXXX")
refused "backing=$d/file" "on the mount itself" "$d"
ln -s "$d" "$WORK/link"
refused "backing=$WORK/link/file" "on the mount itself" "$d"
[ ! -e "$d/file" ] || fail "a refused backing file was created"
# A read-only filesystem: a read-only bind mount of a directory of ours.
mkdir "$WORK/ro"
if mount --bind "$WORK/ro" "$WORK/ro" 2>/dev/null; then
	zfs_on_exit "umount '$WORK/ro'"
	mount -o remount,bind,ro "$WORK/ro"
	refused "backing=$WORK/ro/file" "cannot open it for reading and writing"
else
	echo "no bind mounts here: read-only case not run"
fi

# ---- a loop block device
if command -v losetup >/dev/null && [ "$(id -u)" = 0 ]; then
	truncate -s 64m "$WORK/loop.img"
	if LOOP=$(losetup -f --show "$WORK/loop.img" 2>/dev/null); then
		zfs_on_exit "losetup -d '$LOOP'"
		stats_mount -o "backing=$LOOP"
		jq -e '.bd_stat.capacity == 67108864' "$S/stats.json" >/dev/null ||
			fail "loop device capacity: $(jq .bd_stat "$S/stats.json")"
		stats_umount
		[ -b "$LOOP" ] || fail "the loop device went away"
	fi
fi
echo "backing: ok"
