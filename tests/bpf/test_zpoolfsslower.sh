#!/usr/bin/env bash
# zpoolfsslower on a mounted zpoolfs whose daemon sleeps 800 ms in every FSYNC
# (ZPOOLFS_TEST_DELAY, fs/stats/requests.c): over a workload of creates, writes,
# reads, fsyncs and unlinks (tests/bpf/req_workload.py), `zpoolfsslower -j
# MOUNT 400` prints exactly the K fsyncs, with the workload's pid, comm and
# file names, a latency and a daemon share of at least the delay; then
# `zpoolfsslower -d MOUNT 0` prints every call of a workload once, in
# ext4slower's columns (plus DMN(ms)), and never a daemon share above the
# latency. The delay is long so that no other call, on a machine as busy as
# CI's, is slow enough to be printed too.
. "$(dirname "$0")/lib.sh"
require_bpf
. "$(dirname "$0")/../fs/lib.sh"
zfs_need_fuse
zfs_workdir
# set +e: under set -e the (exit $rc) that hands zfs_cleanup the status would end the trap.
trap 'rc=$?; set +e; cleanup; (exit $rc); zfs_cleanup' EXIT
SLOWER=$BUILD/zpoolfsslower
WL=$(dirname "$0")/req_workload.py
CHECK=$(dirname "$0")/req_check.py
[ -x "$SLOWER" ] || fail "$SLOWER not built"
DELAY=800

M=$WORK/m
export ZPOOLFS_TEST_DELAY=FSYNC:$DELAY
zfs_mount "$M" || fail "mount"
unset ZPOOLFS_TEST_DELAY
# First uses (the first create of a mount, python's start-up) out of the window.
python3 "$WL" "$M" warm 2 2 1 1 >/dev/null

start_tracer slow '^Tracing file operations' "$SLOWER" -j "$M" $((DELAY / 2))
python3 "$WL" "$M" f 20 40 4 5 >"$T/want.json"
sleep 0.3
stop_tracer
python3 "$CHECK" slower "$T/slow.out" "$T/want.json" "$DELAY" ||
	fail "zpoolfsslower: $(cat "$T/slow.out" "$T/slow.err")"

start_tracer all '^Tracing every file operation' "$SLOWER" -d "$M" 0
python3 "$WL" "$M" a 8 12 2 3 >"$T/want-all.json"
sleep 0.3
stop_tracer
python3 "$CHECK" slower-all "$T/all.out" "$T/want-all.json" ||
	fail "zpoolfsslower 0: $(cat "$T/all.out" "$T/all.err")"

# Bad input: a clear message and exit 1.
for args in "$M x" "$M -1" "$WORK" "-p 0 $M"; do
	rc=0
	# shellcheck disable=SC2086
	"$SLOWER" $args >"$T/bad.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "zpoolfsslower $args succeeded"
	grep -qE 'invalid|not a mount point' "$T/bad.out" || fail "zpoolfsslower $args: $(cat "$T/bad.out")"
done
zfs_umount "$M"
echo "zpoolfsslower ok"
