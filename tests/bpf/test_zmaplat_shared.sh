#!/usr/bin/env bash
# A process linked with libzpool.so: zmaplat -p finds the library in the
# process's mappings and counts exactly; zmaplat -b LIB (no PID) traces every
# process using that library, and Ctrl-C prints what it saw.
. "$(dirname "$0")/lib.sh"
require_bpf
WORKLOAD=$WORKLOAD-so
[ -x "$WORKLOAD" ] || fail "$WORKLOAD not built"
LIB=$(readlink -f "$BUILD/libzpool.so")

start_workload -n 20000 -t 2
grep -q " $LIB\$" "/proc/$WL_PID/maps" || fail "the workload does not map $LIB"
start_zmaplat zm -p "$WL_PID" -C -j -v
grep -q "^zmaplat: $LIB has zpool probes" "$T/zm.err" ||
	fail "zmaplat did not pick $LIB: $(cat "$T/zm.err")"
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/zm.err")"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/zm.out" --class

# Every process using the library: nothing else maps this build's library
# while the test runs, so the counts are still exact.
start_workload -n 20000 -s 200,3500
start_zmaplat all -b "$LIB" -M -j
grep -q "in every process (libzpool.so)" "$T/all.err" || fail "banner: $(cat "$T/all.err")"
go_workload
kill -INT "$ZM_PID"
wait_pid "$ZM_PID" 10 || fail "zmaplat -b exited with $? on SIGINT: $(cat "$T/all.err")"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/all.out" --mode
echo "shared library tracing ok"
