#!/usr/bin/env bash
# A thread holding several mappings at once: libzpool keeps the map times of
# a thread's last 8 live mappings for zpool:unmap_return (alloc/probes.c).
# Up to 8 at once, every pair is timed exactly; beyond that the oldest
# mappings' map times are dropped, and zmaplat counts exactly those as
# unmatched: the difference is explained and bounded, never guessed.
. "$(dirname "$0")/lib.sh"
require_bpf

# Sizes whose classes (64, 128, 256 with the handle header) divide 4096, so
# that no object straddles: zsmalloc lets a thread hold one straddling
# mapping at a time only.
SIZES=56,120,248

start_workload -n 24000 -k 8 -s $SIZES
start_zmaplat k8 -p "$WL_PID" -j -H -C
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/k8.err")"
python3 "$(dirname "$0")/zm_check.py" json "$T/wl.json" "$T/k8.out" --hold --class

# 12 at once, 2000 rounds of 12 maps then 12 unmaps (last mapped first):
# each round, the 4 oldest mappings' map times were pushed out of the ring.
start_workload -n 24000 -k 12 -s $SIZES
start_zmaplat k12 -p "$WL_PID" -j -H
go_workload
wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/k12.err")"
python3 - "$T/wl.json" "$T/k12.out" <<'PY'
import json, sys
wl = json.load(open(sys.argv[1]))
docs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
hist = {k: sum(h["count"] for d in docs for h in d["histograms"] if h["kind"] == k)
        for k in ("map", "unmap", "hold")}
ev = {k: sum(d["events"][k] for d in docs) for k in docs[0]["events"]}
rounds, dropped = wl["maps"] // 12, wl["maps"] // 12 * 4
want = {"map": wl["maps"] - dropped, "unmap": wl["unmaps"], "hold": wl["maps"] - dropped}
print(f"workload {wl['maps']} maps in {rounds} rounds; zmaplat {hist}, events {ev}")
assert hist == want, f"histograms {hist}, expected {want}"
assert ev["map_unmatched"] == dropped and ev["hold_unmatched"] == dropped, ev
assert ev["maps"] + ev["map_unmatched"] == wl["maps"] and ev["unmaps"] == wl["unmaps"], ev
assert ev["unmap_unmatched"] == 0 and ev["lost"] == 0 and ev["straddled"] == 0, ev
print(f"ok: {dropped} map times dropped beyond 8 live mappings, all counted as unmatched")
PY
echo "nested mappings ok"
