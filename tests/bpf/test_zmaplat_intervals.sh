#!/usr/bin/env bash
# Interval output: zmaplat prints one JSON document per interval while the
# workload runs, and the intervals together still count every map call
# exactly once (the generation flip loses nothing). Both python3's json.tool
# and jq accept the stream.
. "$(dirname "$0")/lib.sh"
require_bpf
require_cmd jq

# Long enough (a few seconds traced) to span several 1-second intervals.
start_workload -n 1500000 -t 2
start_zmaplat zm -p "$WL_PID" -j -C 1
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/zm.err")"
lines=$(grep -c . "$T/zm.out")
secs=$(python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["ns"] // 1e9))' \
	"$T/wl.json")
echo "intervals printed: $lines, over a window of ${secs}s"
# The window's length depends on the machine: demand what it allows.
[ "$lines" -ge "$((secs > 1 ? secs : 1))" ] || fail "$lines intervals in ${secs}s"
python3 -m json.tool --json-lines "$T/zm.out" >/dev/null || fail "json.tool rejects the output"
jq -e 'select(.version == 1) | .histograms | length >= 0' "$T/zm.out" >/dev/null ||
	fail "jq rejects the output"
seqs=$(jq -r .interval "$T/zm.out" | tr '\n' ' ')
[ "$seqs" = "$(seq -s ' ' 1 "$lines") " ] || fail "intervals numbered $seqs"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/zm.out" --class

# interval and count: exactly COUNT documents, then zmaplat ends by itself.
start_workload -n 100000000
start_zmaplat cnt -p "$WL_PID" -j 1 2
echo go >&9
wait_pid "$ZM_PID" 20 || fail "zmaplat 1 2 exited with $?"
[ "$(grep -c . "$T/cnt.out")" -eq 2 ] || fail "zmaplat 1 2 printed $(grep -c . "$T/cnt.out") lines"
kill "$WL_PID"
echo "interval output adds up"
