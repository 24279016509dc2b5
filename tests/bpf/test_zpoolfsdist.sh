#!/usr/bin/env bash
# zpoolfsdist on a mounted zpoolfs: a known workload (N creates, N writes, K
# fsyncs, M reads of known sizes, U unlinks; tests/bpf/req_workload.py) while
# the tool is attached. The callers' counts per operation equal the
# workload's; the daemon's counts per opcode equal the workload's and what the
# daemon's own counters (MOUNT/.zpool/requests) counted over the same window;
# every call was matched with its request, and no request's time in the
# daemon exceeds the call's; the JSON parses. Then tools/bpftrace/requests.bt
# on the same kind of window, and the tool's refusals of bad input.
. "$(dirname "$0")/lib.sh"
require_bpf
. "$(dirname "$0")/../fs/lib.sh"
zfs_need_fuse
zfs_workdir
# set +e: under set -e the (exit $rc) that hands zfs_cleanup the status would end the trap.
trap 'rc=$?; set +e; cleanup; (exit $rc); zfs_cleanup' EXIT
DIST=$BUILD/zpoolfsdist
WL=$(dirname "$0")/req_workload.py
CHECK=$(dirname "$0")/req_check.py
[ -x "$DIST" ] || fail "$DIST not built"

# snap FILE: the requests file, then a pause for the asynchronous RELEASE of
# that read to be served before anything else starts.
snap() {
	cat "$M/.zpool/requests" >"$1"
	sleep 0.5
}

M=$WORK/m
zfs_mount "$M" || fail "mount"
# First uses (the first create of a mount, python's start-up) out of the window.
python3 "$WL" "$M" warm 2 2 1 1 >/dev/null

snap "$T/r0"
start_tracer dist '^Tracing file operations' "$DIST" -j "$M"
python3 "$WL" "$M" f 20 45 7 5 >"$T/want.json"
sleep 0.5
stop_tracer
snap "$T/r1"
snap "$T/r2"
python3 "$CHECK" dist "$T/dist.out" "$T/want.json" "$T/r0" "$T/r1" "$T/r2" ||
	fail "zpoolfsdist: $(cat "$T/dist.out" "$T/dist.err")"

# Text, intervals and -m: a report every second until Ctrl-C (the last one
# then); the creates are counted once over all of them.
start_tracer text '^Tracing file operations' "$DIST" -m -T "$M" 1
python3 "$WL" "$M" t 5 5 2 5 >/dev/null
sleep 1.5
stop_tracer
creates=$(awk '/^create \(ms\): caller / { n += $4 } END { print n + 0 }' FS='[ ,]+' "$T/text.out")
[ "$creates" = 5 ] || fail "$creates creates counted, want 5: $(cat "$T/text.out")"
grep -qE '^ +msecs +caller +distribution +daemon +distribution$' "$T/text.out" ||
	fail "no histogram header: $(cat "$T/text.out")"
reports=$(grep -c '^requests: ' "$T/text.out")
[ "$reports" -ge 2 ] || fail "$reports reports: $(cat "$T/text.out")"
[ "$(grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2}$' "$T/text.out")" = "$reports" ] || fail "no -T timestamps"

# bpftrace's requests.bt over the same kind of window.
if command -v bpftrace >/dev/null; then
	snap "$T/b0"
	start_tracer bt '^Tracing zpoolfs requests' \
		bpftrace "$(dirname "$0")/../../tools/bpftrace/requests.bt" -p "${ZFS_PID[$M]}"
	python3 "$WL" "$M" b 12 30 4 3 >"$T/want-bt.json"
	sleep 0.5
	stop_tracer
	snap "$T/b1"
	snap "$T/b2"
	python3 "$CHECK" bt "$T/bt.out" "$T/want-bt.json" "$T/b0" "$T/b1" "$T/b2" ||
		fail "requests.bt: $(cat "$T/bt.out" "$T/bt.err")"
else
	skip "bpftrace is not installed (tools/deps.sh)"
fi

# Bad input: a clear message, exit 1, nothing attached.
expect_error() {
	local re=$1 rc=0
	shift
	"$DIST" "$@" >"$T/bad.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "zpoolfsdist $* succeeded"
	grep -qE -- "$re" "$T/bad.out" || fail "zpoolfsdist $*: $(cat "$T/bad.out")"
}
expect_error 'not a mount point' "$WORK"
expect_error 'not a FUSE one' /
expect_error 'No such file' "$WORK/nowhere"
expect_error 'invalid interval' "$M" 0
expect_error 'invalid PID' -p x "$M"
expect_error 'give the mount point' -m
expect_error 'no such process' -p 999999999 "$M"
expect_error "PID $$ does not serve" -p $$ "$M"
zfs_umount "$M"
echo "zpoolfsdist ok"
