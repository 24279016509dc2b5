#!/usr/bin/env bash
# Each script in tools/bpftrace/ loads with `bpftrace SCRIPT -p PID`, and on
# Ctrl-C prints non-empty histograms that count exactly the workload's calls
# (in total, per mode for holdtime.bt, per class for byclass.bt). bpftrace
# prints the script's BEGIN line only once every probe is attached, which is
# the workload's cue to start.
. "$(dirname "$0")/lib.sh"
require_bpf
require_cmd bpftrace
SCRIPTS=$(dirname "$0")/../../tools/bpftrace
CHECK=$(dirname "$0")/zm_check.py

# run_script NAME WORKLOAD_ARGS...: trace one workload window; output in $T/NAME.out
run_script() {
	local name=$1 bt
	shift
	# -H: the workload outlives its window until bpftrace has stopped; bpftrace
	# stopped after the traced process is gone fails to undo its USDT
	# semaphores there ("No such process") and exits 1.
	start_workload -H "$@"
	# Emptied here, not only by the redirection below, which happens in the
	# background child: maplat.bt runs twice, and wait_for must not see the
	# first run's "Tracing" line before bpftrace has even started.
	: >"$T/$name.out"
	bpftrace "$SCRIPTS/$name.bt" -p "$WL_PID" >"$T/$name.out" 2>"$T/$name.err" 9>&- &
	bt=$!
	BG_PIDS+=("$bt")
	wait_for "$T/$name.out" '^Tracing libzpool' 60
	go_workload_held
	interrupt_pid "$bt" 30 || fail "bpftrace $name.bt exited with $?: $(cat "$T/$name.err")"
	release_workload
	cat "$T/$name.out"
	grep -qE '^\[[^]]+[])] +[1-9][0-9]* \|@' "$T/$name.out" || fail "$name.bt: no histogram"
}

run_script maplat -n 20000 -t 2
python3 "$CHECK" hist "$(wl_get maps)" "$T/maplat.out" @zsmalloc_map_ns
python3 "$CHECK" hist "$(wl_get unmaps)" "$T/maplat.out" @zsmalloc_unmap_ns

run_script holdtime -n 20000
for m in RW RO WO; do
	want=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["by_mode"][sys.argv[2]])' "$T/wl.json" $m)
	python3 "$CHECK" hist "$want" "$T/holdtime.out" "@hold_ns_$m"
done

run_script byclass -n 20000 -s 100,1500
python3 - "$T/wl.json" "$T/byclass.out" <<'PY'
import json, re, sys
want = json.load(open(sys.argv[1]))["by_class"]
got, cls = {}, None
for line in open(sys.argv[2]):
    m = re.match(r"^@zsmalloc_map_ns\[(\d+)\]:", line)
    if m:
        cls = m.group(1)
        continue
    m = re.match(r"^\[[^\]]*[\])]\s+(\d+) \|", line)
    if m and cls:
        got[cls] = got.get(cls, 0) + int(m.group(1))
    elif not line.strip():
        cls = None
if got != want:
    sys.exit(f"FAIL: byclass.bt counts {got}, the allocator {want}")
print(f"ok: byclass.bt per class = {got}")
PY

# The map/unmap pair of zbud goes to its own histograms.
run_script maplat -B zbud -n 5000 -s 100,3000
python3 "$CHECK" hist 5000 "$T/maplat.out" @zbud_map_ns
echo "bpftrace scripts ok"
