#!/usr/bin/env bash
# trace_bench.sh - what tracing map/unmap costs (make bench-trace, part of make bench).
#
#   BUILD=build BENCH_ROUNDS=7 bash tools/bench/trace_bench.sh
#
# One workload (tests/bpf/workload.c: one thread, map/unmap pairs over 64
# zsmalloc objects of five classes, modes cycling), run in turn, round after
# round, in each of these ways:
#   noprobes   built with PROBES=0 ($BUILD/noprobes): no USDT probes at all
#   untraced   the normal build, nothing attached (the baseline)
#   noprobes-copy, untraced-copy   the same two with -c: each mapping copies
#              the whole object in or out, as zpoolfs does with a page
#   zmaplat    zmaplat -p PID (map and unmap latency)
#   zmaplat-full  zmaplat -p PID -C -M -H (per class and mode, hold time)
#   bpftrace   a uprobe+uretprobe pair on zs_map_object, a log2 histogram
# The workload reports its own CPU time and wall time per map/unmap pair over
# its measured window; each configuration's number is the median over the
# rounds. CPU time (the workload's user time plus the kernel time of the
# probes it hits, BPF programs included) is the main measure: on a machine
# shared with other jobs it moves far less than wall time. The workload runs
# pinned to one CPU (taskset).
# Results: $BUILD/bench/trace.tsv, $BUILD/bench/trace.md, and the "Tracing
# cost" section of docs/BENCHMARKS.md (unless BENCH_DOC=0).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-7}
N_UNTRACED=${BENCH_TRACE_PAIRS:-5000000}
N_TRACED=${BENCH_TRACE_TRACED_PAIRS:-500000}
UNTRACED_REPS=${BENCH_TRACE_REPS:-3}
OUT=$BUILD/bench
W=$PWD/$BUILD/tests/bpf/workload
W0=$PWD/$BUILD/noprobes/tests/bpf/workload
ZMAPLAT=$BUILD/zmaplat
DOC=docs/BENCHMARKS.md
CPU=${BENCH_CPU:-$(($(nproc) - 1))}

mkdir -p "$OUT"
echo
echo "== tracing cost benchmark ($ROUNDS rounds, $N_UNTRACED pairs untraced, $N_TRACED traced)"
skip() {
	echo "tracing benchmark skipped: $*"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
[ -r /sys/kernel/btf/vmlinux ] || skip "no kernel BTF"
for f in "$W" "$W0" "$ZMAPLAT"; do
	[ -x "$f" ] || skip "$f is not built (make bench-trace builds it)"
done
command -v bpftrace >/dev/null || skip "no bpftrace"

T=$(mktemp -d /tmp/zpool-trace-bench.XXXXXX)
BG=
cleanup() {
	[ -n "$BG" ] && kill $BG 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

pin() {
	taskset -c "$CPU" "$@"
}

# ns_per_pair FILE: "CPU,WALL" ns per pair from the workload's JSON report (its last line).
ns_per_pair() {
	tail -n 1 "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%s,%s" % (d["cpu_ns_per_pair"], d["ns_per_pair"]))'
}

# Can perf count this process's user-mode cycles and instructions? (Not in
# every VM.) If so the untraced runs are also counted, which a shared
# machine disturbs far less than time: a neighbour can only add cycles.
PERF=0
perf stat -x, -e cycles:u,instructions:u -o /dev/null true 2>/dev/null && PERF=1

# counted CMD...: run CMD pinned, counting its user-mode cycles and
# instructions; the counts ("CYCLES,INSTRUCTIONS") go to $T/counts.
counted() {
	perf stat -x, -e cycles:u,instructions:u -o "$T/perf.out" -- taskset -c "$CPU" "$@"
	awk -F, '$3 ~ /^cycles/ { c = $1 } $3 ~ /^instructions/ { i = $1 }
		END { print c "," i }' "$T/perf.out" >"$T/counts"
}

run_plain() { # BINARY [WORKLOAD_ARGS...]
	local bin=$1
	shift
	if [ "$PERF" = 1 ]; then
		counted "$bin" -n "$N_UNTRACED" "$@" >"$T/wl.out"
		echo "$(ns_per_pair "$T/wl.out"),$(cat "$T/counts")"
	else
		pin "$bin" -n "$N_UNTRACED" "$@" >"$T/wl.out"
		ns_per_pair "$T/wl.out"
	fi
}

# What a run costs besides its pairs (start, objects, report): the fewest
# cycles and instructions of a few one-pair runs, "CYCLES,INSTRUCTIONS".
setup_cost() { # BINARY [WORKLOAD_ARGS...]
	local bin=$1 k
	shift
	for ((k = 0; k < 5; k++)); do
		counted "$bin" -n 1 "$@" >/dev/null
		cat "$T/counts"
	done | sort -t, -k1,1n | sed -n 1p
}

run_zmaplat() { # ZMAPLAT_ARGS...
	local i
	rm -f "$T/go"
	mkfifo "$T/go"
	taskset -c "$CPU" "$W" -g -n "$N_TRACED" <"$T/go" >"$T/wl.out" &
	local wl=$!
	exec 8>"$T/go"
	for ((i = 0; i < 300; i++)); do
		grep -q '^ready' "$T/wl.out" && break
		sleep 0.1
	done
	"$ZMAPLAT" -p "$wl" "$@" >"$T/zm.out" 2>&1 &
	BG=$!
	for ((i = 0; i < 300; i++)); do
		grep -q '^Tracing zpool' "$T/zm.out" && break
		sleep 0.1
	done
	echo go >&8
	exec 8>&-
	wait "$wl"
	wait "$BG"
	BG=
	grep -q "^events: $N_TRACED maps" "$T/zm.out" ||
		{ cat "$T/zm.out" >&2; echo "zmaplat missed calls" >&2; exit 1; }
	ns_per_pair "$T/wl.out"
}

run_bpftrace() {
	bpftrace -e "uprobe:$W:zs_map_object { @start[tid] = nsecs; }
		uretprobe:$W:zs_map_object /@start[tid]/ {
			@map_ns = hist(nsecs - @start[tid]); delete(@start[tid]); }" \
		-c "$(type -P taskset) -c $CPU $W -n $N_TRACED" >"$T/bt.out" 2>"$T/bt.err"
	grep '^{"backend"' "$T/bt.out" >"$T/wl.out" ||
		{ cat "$T/bt.err" >&2; echo "bpftrace run failed" >&2; exit 1; }
	ns_per_pair "$T/wl.out"
}

CONFIGS="noprobes untraced noprobes-copy untraced-copy zmaplat zmaplat-full bpftrace"
declare -A RES=()
for ((r = 1; r <= ROUNDS; r++)); do
	# The untraced runs are short: several back-to-back pairs per round.
	for ((k = 0; k < UNTRACED_REPS; k++)); do
		RES[noprobes]+="$(run_plain "$W0") "
		RES[untraced]+="$(run_plain "$W") "
		RES[noprobes-copy]+="$(run_plain "$W0" -c) "
		RES[untraced-copy]+="$(run_plain "$W" -c) "
	done
	RES[zmaplat]+="$(run_zmaplat) "
	RES[zmaplat-full]+="$(run_zmaplat -C -M -H) "
	RES[bpftrace]+="$(run_bpftrace) "
	echo "  round $r/$ROUNDS done"
done

{
	bash tools/bench/meta.sh
	for c in $CONFIGS; do
		printf 'trace\t%s\t%s\n' "$c" "${RES[$c]}"
	done
	if [ "$PERF" = 1 ]; then
		printf 'setup\tnoprobes\t%s\n' "$(setup_cost "$W0")"
		printf 'setup\tuntraced\t%s\n' "$(setup_cost "$W")"
		printf 'setup\tnoprobes-copy\t%s\n' "$(setup_cost "$W0" -c)"
		printf 'setup\tuntraced-copy\t%s\n' "$(setup_cost "$W" -c)"
	fi
} >"$OUT/trace.tsv"

python3 - "$OUT/trace.tsv" "$OUT/trace.md" "$ROUNDS" "$N_UNTRACED" "$N_TRACED" <<'PY'
import statistics, sys
tsv, md, rounds, n0, n1 = sys.argv[1:6]
meta, cpu, wall, cyc, ins, setup = {}, {}, {}, {}, {}, {}
for line in open(tsv):
    f = line.rstrip("\n").split("\t")
    if f[0] == "meta":
        meta[f[1]] = f[2]
    elif f[0] == "trace":
        runs = [[float(x) for x in v.split(",")] for v in f[2].split()]
        cpu[f[1]] = [r[0] for r in runs]
        wall[f[1]] = [r[1] for r in runs]
        if all(len(r) == 4 for r in runs):
            cyc[f[1]] = [r[2] for r in runs]
            ins[f[1]] = [r[3] for r in runs]
    elif f[0] == "setup":
        setup[f[1]] = [float(x) for x in f[2].split(",")]
# Cycles and instructions per pair, the one-pair run's count taken off.
for k in list(cyc):
    if k in setup:
        cyc[k] = [(c - setup[k][0]) / int(n0) for c in cyc[k]]
        ins[k] = [(i - setup[k][1]) / int(n0) for i in ins[k]]
    else:
        del cyc[k], ins[k]
med = {k: statistics.median(v) for k, v in cpu.items()}
wmed = {k: statistics.median(v) for k, v in wall.items()}
base, wbase = med["untraced"], wmed["untraced"]
rows = [
    ("noprobes", "built with PROBES=0 (no probes)"),
    ("untraced", "probes in, no tracer (baseline)"),
    ("noprobes-copy", "with -c: PROBES=0"),
    ("untraced-copy", "with -c: probes in, no tracer"),
    ("zmaplat", "zmaplat -p PID"),
    ("zmaplat-full", "zmaplat -p PID -C -M -H"),
    ("bpftrace", "bpftrace uprobe+uretprobe"),
]
out = ["## Tracing cost", ""]
out.append(f"Measured by `make bench-trace` (tools/bench/trace_bench.sh) on {meta['date']}, "
           f"commit {meta['commit']}: {meta['nproc']} CPUs ({meta['cpu']}), "
           f"kernel {meta['kernel']}, load average {meta['load']} at the start "
           f"(the machine was shared with other jobs).")
out.append("")
out.append(f"The workload (tests/bpf/workload.c) makes map/unmap pairs on one thread, pinned "
           f"to one CPU, over 64 zsmalloc objects of five classes, cycling the map modes: "
           f"{n0} pairs per untraced run, {n1} per traced run. The bpftrace one-liner is a "
           f"uprobe and a uretprobe on zs_map_object feeding a log2 histogram. Each number is "
           f"the median of {rounds} interleaved rounds (the untraced runs: of "
           f"{len(cpu['untraced'])} runs, in back-to-back pairs of the two builds). "
           f"CPU ns is the workload's CPU time per "
           f"pair (user time plus the kernel time of the probes it hits); throughput is "
           f"relative to the untraced run of the same round set, from CPU time; wall ns is "
           f"given for reference.")
out.append("")
out.append("| configuration | CPU ns/pair | throughput | tracing cost/pair | wall ns/pair |")
out.append("|---|---:|---:|---:|---:|")
for key, label in rows:
    v = med[key]
    b = med["untraced-copy"] if key.endswith("-copy") else base
    cost = f"{v - base:.0f} ns" if key in ("zmaplat", "zmaplat-full", "bpftrace") else "-"
    out.append(f"| {label} | {v:.1f} | {b / v:.3f} | {cost} | {wmed[key]:.1f} |")
out.append("")

def probe_cost(without, within, what):
    # Runs of the two builds alternate, so each pair of neighbours saw the
    # same machine: the median of their ratios cancels most of the drift of
    # a shared machine; the ratio of the fastest runs is a second estimate.
    ratios = [b / a for a, b in zip(cpu[without], cpu[within])]
    pct = (statistics.median(ratios) - 1) * 100
    best = (min(cpu[within]) / min(cpu[without]) - 1) * 100
    verdict = "within" if pct < 1 else "above"
    return (f"{pct:+.1f} % CPU time per pair {what} (median of {len(ratios)} paired runs; "
            f"{best:+.1f} % between the fastest runs, {min(cpu[without]):.1f} and "
            f"{min(cpu[within]):.1f} ns), {verdict} the 1 % target")

def counted_cost(without, within, what):
    # Fewest cycles: what a run costs when nothing else disturbs it (other
    # jobs on the machine only ever add cycles); instructions do not vary.
    best = (min(cyc[within]) / min(cyc[without]) - 1) * 100
    ratios = [b / a for a, b in zip(cyc[without], cyc[within])]
    pct = (statistics.median(ratios) - 1) * 100
    di = statistics.median(ins[within]) - statistics.median(ins[without])
    verdict = "within" if best < 1 else "above"
    return (f"{best:+.1f} % user-mode cycles per pair {what} ({min(cyc[without]):.1f} and "
            f"{min(cyc[within]):.1f} cycles, the fewest of {len(ratios)} runs each; median of "
            f"the paired ratios {pct:+.1f} %; {di:+.1f} instructions per pair, "
            f"{statistics.median(ins[without]):.1f} and {statistics.median(ins[within]):.1f}), "
            f"{verdict} the 1 % target")

if cyc:
    out.append("- Untraced cost of the probes counted by `perf stat` (cycles:u and "
               "instructions:u of each untraced run, less those of a one-pair run of the same "
               "binary), the measure least disturbed by a shared machine: "
               + counted_cost("noprobes-copy", "untraced-copy",
                              "when each mapping copies its object (-c)") + "; "
               + counted_cost("noprobes", "untraced",
                              "for bare map/unmap pairs that touch one byte") + ".")
out.append("- Untraced cost of the probes in CPU time, against the PROBES=0 build: "
           + probe_cost("noprobes-copy", "untraced-copy",
                        "when each mapping copies its object (-c)") + "; "
           + probe_cost("noprobes", "untraced", "for bare map/unmap pairs that touch one byte")
           + ". What an untraced call pays is one compare of the semaphore word with zero and "
           "a predicted-not-taken branch in zs_map_object() (just after its pin) and in "
           "zs_unmap_object() (on entry); the probe sites sit in a cold copy of each body that "
           "runs only while something is traced (alloc/zs_map.c). CPU time on this shared "
           "machine moves by a few % from run to run of one binary, more than the cost "
           "measured, which is why the cycle counts above are the better measure.")
z, b = med["zmaplat"] - base, med["bpftrace"] - base
zf = med["zmaplat-full"] - base
verdict = "below" if z < b else "NOT below"
out.append(f"- Traced: zmaplat costs {z:.0f} ns per map/unmap pair ({zf:.0f} ns with -C -M -H), "
           f"the bpftrace uprobe+uretprobe pair {b:.0f} ns: {z / b:.2f}x, {verdict} the "
           f"bpftrace pair as targeted, while zmaplat reports map and unmap latency (and hold "
           f"time) where the bpftrace pair reports map latency only. zmaplat enters the kernel "
           f"once per pair: while zpool:unmap_return is traced, libzpool times its own map "
           f"and unmap calls and hands both calls' times to that one probe, whose site is a "
           f"5-byte nop that the kernel turns into a call to its uprobe trampoline "
           f"(alloc/probes.h). The bpftrace pair takes an int3 trap at the function's entry "
           f"and a second kernel entry at its return.")
out.append("- The latencies zmaplat reports are the calls' own (tens of ns, plus one clock "
           "read); those of the uprobe pair are mostly the cost of its own probes.")
import textwrap
def wrap(line):
    # Prose to 100 columns (a bullet's lines indented under it); tables as they are.
    if line.startswith("|") or len(line) <= 100:
        return line
    sub = "  " if line.startswith("- ") else ""
    return textwrap.fill(line, 100, subsequent_indent=sub, break_on_hyphens=False)
text = "\n".join(wrap(l) for l in out) + "\n"
open(md, "w").write(text)
print(text, end="")
PY

# Replace our section of docs/BENCHMARKS.md (from its heading to the next
# "## " heading or the end), or add it at the end; the rest is left alone.
if [ "${BENCH_DOC:-1}" = 1 ]; then
	python3 - "$DOC" "$OUT/trace.md" <<'PY'
import os, re, sys
doc, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
m = re.search(r"^## Tracing cost\n.*?(?=^## |\Z)", text, re.M | re.S)
if m:
    text = text[:m.start()] + sec + ("\n" if m.end() < len(text) else "") + text[m.end():]
else:
    text = text.rstrip("\n") + "\n\n" + sec
open(doc, "w").write(text)
print(f"bench: wrote the Tracing cost section of {doc}")
PY
fi
echo "bench: tracing results in $OUT/trace.tsv"
