#!/usr/bin/env bash
# zmaplat attached to a zsmalloc workload of two threads: the map and unmap
# histograms count exactly the calls the allocator counted in the window,
# in total, per size class and per mode; the text output adds up the same and
# fits 80 columns.
. "$(dirname "$0")/lib.sh"
require_bpf

# JSON, one histogram per class and mode, hold time too.
start_workload -t 2 -n 20000 -s 100,700,1500,3000,4000
start_zmaplat zm -p "$WL_PID" -C -M -H -j
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $? after the workload: $(cat "$T/zm.err")"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/zm.out" --class --mode --hold

# Text: the default histograms (one map, one unmap), with timestamps.
start_workload -n 20000 -s 64,2000
start_zmaplat text -p "$WL_PID" -T
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/text.err")"
cat "$T/text.out"
grep -q "^PID $WL_PID exited.$" "$T/text.out" || fail "zmaplat did not notice the exit"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}$' "$T/text.out" || fail "-T printed no timestamp"
python3 "$(dirname "$0")/zm_check.py" text "$T/wl.json" "$T/text.out"
echo "zmaplat counts match the allocator's"
