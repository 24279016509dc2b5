#!/usr/bin/env bash
# The same count check on a zbud workload: zbud reports chunk-rounded sizes,
# maps in RW mode, and never straddles.
. "$(dirname "$0")/lib.sh"
require_bpf

start_workload -B zbud -n 30000 -s 100,700,1500,3000
start_zmaplat zm -p "$WL_PID" -C -M -H -u -j
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/zm.err")"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/zm.out" --class --mode --hold
python3 - "$T/zm.out" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert all(d["unit"] == "us" for d in docs), "-u must report microseconds"
assert sum(d["events"]["straddled"] for d in docs) == 0, "zbud objects never straddle"
assert {h["backend"] for d in docs for h in d["histograms"]} == {"zbud"}
print("ok: unit us, no straddles, backend zbud")
PY
