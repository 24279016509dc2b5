#!/usr/bin/env bash
# bcc's funclatency (Debian's libbpf-tools), a plain uprobe+uretprobe on
# zs_map_object, and zmaplat on the USDT probes, both attached to the same
# workload window: each counts exactly the map calls the allocator counted.
. "$(dirname "$0")/lib.sh"
require_bpf
FUNCLATENCY=$(type -P funclatency || echo /usr/sbin/funclatency)
[ -x "$FUNCLATENCY" ] || skip "funclatency is not installed (libbpf-tools)"
require_cmd stdbuf

start_workload -n 20000 -t 2
# ":FUNC" is a uprobe on FUNC in the binary of -p PID; zs_map_object is a
# plain exported function, so this works without any of our probes.
stdbuf -oL "$FUNCLATENCY" -p "$WL_PID" :zs_map_object >"$T/fl.out" 2>"$T/fl.err" &
FL_PID=$!
BG_PIDS+=("$FL_PID")
wait_for "$T/fl.out" '^Tracing' 60
start_zmaplat zm -p "$WL_PID" -j
go_workload
kill -INT "$FL_PID"
wait_pid "$FL_PID" 30 || fail "funclatency exited with $?: $(cat "$T/fl.err")"
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/zm.err")"
cat "$T/fl.out"
python3 "$(dirname "$0")/zm_check.py" hist "$(wl_get maps)" "$T/fl.out"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/zm.out"
echo "funclatency and zmaplat agree with the allocator"
