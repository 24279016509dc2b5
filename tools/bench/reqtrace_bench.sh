#!/usr/bin/env bash
# reqtrace_bench.sh - what the per-request probes and the request tracers cost
# (make bench-reqtrace, part of make bench).
#
#   BUILD=build BENCH_REQ_ROUNDS=5 BENCH_REQ_FILES=1500 bash tools/bench/reqtrace_bench.sh
#
# The small-file workload (tools/bench/smallfiles.py: per file create+write
# 4 KiB+close, stat, open+read+close, unlink) on a zpoolfs mount, round after
# round, in each of these ways:
#   noprobes   the daemon built with PROBES=0 ($BUILD/noprobes/zpoolfs)
#   untraced   the normal daemon, nothing attached (the baseline)
#   dist       zpoolfsdist MOUNT attached
#   slower     zpoolfsslower MOUNT attached (10 ms: prints nothing here)
#   bpftrace   tools/bpftrace/requests.bt attached
# Each configuration's figures are medians over the rounds, with ranges: files
# per second (wall time of the workload), and CPU time per file of the
# workload and the daemon together (user + system, so the kernel's FUSE work
# and the BPF programs the two run are in it; a busy machine disturbs it less
# than wall time). The untraced cost of the probes is also counted: the
# instructions the daemon executes per request (valgrind's callgrind over a
# whole mount: start, one workload of BENCH_REQ_CG_FILES files, unmount;
# divided by the requests its own counters saw), for noprobes and untraced.
# perf stat would do, but cannot count on the VMs this runs on.
# Results: $BUILD/bench/reqtrace.tsv and $BUILD/bench/reqtrace.md (pasted
# into docs/BENCHMARKS.md by hand, with the machine's load).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_REQ_ROUNDS:-5}
FILES=${BENCH_REQ_FILES:-1500}
CG_FILES=${BENCH_REQ_CG_FILES:-300}
OUT=$BUILD/bench
Z=$PWD/$BUILD/zpoolfs
Z0=$PWD/$BUILD/noprobes/zpoolfs
WL=$PWD/tools/bench/smallfiles.py
BT=$PWD/tools/bpftrace/requests.bt

mkdir -p "$OUT"
echo
echo "== request tracing cost benchmark ($ROUNDS rounds of $FILES files)"
skip() {
	echo "request tracing benchmark skipped: $*"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -r /sys/kernel/btf/vmlinux ] || skip "no kernel BTF"
for f in "$Z" "$Z0" "$BUILD/zpoolfsdist" "$BUILD/zpoolfsslower"; do
	[ -x "$f" ] || skip "$f is not built (make bench-reqtrace builds it)"
done
HAVE_BT=0
command -v bpftrace >/dev/null && HAVE_BT=1

T=$(mktemp -d /tmp/zpoolfs-reqtrace-bench.XXXXXX)
declare -A DAEMON=()
TRACER=
cleanup() {
	local m
	[ -n "$TRACER" ] && kill -TERM "$TRACER" 2>/dev/null && wait "$TRACER" 2>/dev/null
	for m in "${!DAEMON[@]}"; do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		wait "${DAEMON[$m]}" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

# mount_fs DIR BINARY: a zpoolfs in the foreground of a background job.
mount_fs() {
	local i
	mkdir -p "$1"
	"$2" "$1" -f -o size=1g >"$T/$(basename "$1").log" 2>&1 &
	DAEMON[$1]=$!
	for ((i = 0; i < 200; i++)); do
		grep -q " $1 fuse" /proc/mounts && return 0
		sleep 0.05
	done
	cat "$T/$(basename "$1").log" >&2
	exit 1
}

# requests MOUNT: the daemon's request count so far (all opcodes).
requests() {
	awk 'NR > 1 { n += $2 } END { print n + 0 }' "$1/.zpool/requests"
}

# cpu_ns PID: CPU time of all the threads of PID so far, in ns.
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { printf "%.0f\n", n }'
}

# run MOUNT: one round of the workload; prints "FILES_PER_S,CPU_US_PER_FILE"
# (the workload's CPU and the daemon's).
run() {
	local pid=${DAEMON[$1]} c0 c1 out
	mkdir -p "$1/w"
	c0=$(cpu_ns "$pid")
	out=$(python3 "$WL" "$1/w" "$FILES")
	c1=$(cpu_ns "$pid")
	echo "$out" | awk -v d=$((c1 - c0)) -v n="$FILES" '{ printf "%s,%.2f\n", $1, $2 + d / n / 1000 }'
}

# counted BINARY NAME: the daemon under callgrind for one workload; appends
# "INSTRUCTIONS,REQUESTS" to $T/NAME.cg.
counted() {
	local m=$T/cg-$2 i ir reqs
	mkdir -p "$m"
	valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$1" "$m" -f \
		>"$T/cg.log" 2>&1 &
	local pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q " $m fuse" /proc/mounts && break
		sleep 0.1
	done
	mkdir -p "$m/w"
	python3 "$WL" "$m/w" "$CG_FILES" >/dev/null
	reqs=$(requests "$m")
	fusermount3 -u "$m"
	wait "$pid"
	ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$T/cg.out")
	echo "$ir,$reqs" >>"$T/$2.cg"
}

# traced NAME CMD...: start a tracer, run a round on the probed mount, stop it.
traced() {
	local name=$1 i
	shift
	"$@" >"$T/tracer.out" 2>&1 &
	TRACER=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^Tracing' "$T/tracer.out" && break
		kill -0 "$TRACER" 2>/dev/null || { cat "$T/tracer.out" >&2; exit 1; }
		sleep 0.1
	done
	run "$M1"
	stop_tracer
}

# stop_tracer: Ctrl-C; a tracer started from a script may ignore SIGINT
# (bpftrace does when started in the background), so TERM after 5 s.
stop_tracer() {
	local i
	kill -INT "$TRACER" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$TRACER" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$TRACER" 2>/dev/null || true
	wait "$TRACER" 2>/dev/null || true
	TRACER=
}

M0=$T/noprobes
M1=$T/probes
mount_fs "$M0" "$Z0"
mount_fs "$M1" "$Z"
# One round each first, unmeasured: python, the page cache, the daemons' pools.
run "$M0" >/dev/null
run "$M1" >/dev/null

CONFIGS="noprobes untraced dist slower"
[ "$HAVE_BT" = 1 ] && CONFIGS+=" bpftrace"
declare -A RES=()
for ((r = 1; r <= ROUNDS; r++)); do
	RES[noprobes]+="$(run "$M0") "
	RES[untraced]+="$(run "$M1") "
	RES[dist]+="$(traced dist "$BUILD/zpoolfsdist" "$M1") "
	RES[slower]+="$(traced slower "$BUILD/zpoolfsslower" "$M1") "
	if [ "$HAVE_BT" = 1 ]; then
		RES[bpftrace]+="$(traced bpftrace bpftrace "$BT" -p "${DAEMON[$M1]}") "
	fi
	echo "  round $r/$ROUNDS done"
done
HAVE_CG=0
if command -v valgrind >/dev/null; then
	HAVE_CG=1
	for ((r = 1; r <= 2; r++)); do
		counted "$Z0" noprobes
		counted "$Z" untraced
	done
	echo "  callgrind counts done"
fi

{
	for c in $CONFIGS; do
		printf 'smallfiles\t%s\t%s\n' "$c" "${RES[$c]% }"
	done
	for c in noprobes untraced; do
		[ -s "$T/$c.cg" ] && printf 'instructions\t%s\t%s\n' "$c" "$(tr '\n' ' ' <"$T/$c.cg")"
	done
} >"$OUT/reqtrace.tsv"

python3 - "$OUT/reqtrace.tsv" "$FILES" "$ROUNDS" "$(git rev-parse --short HEAD)" \
	"$(uptime | sed 's/.*load average: //')" >"$OUT/reqtrace.md" <<'PY'
import statistics, sys
tsv, files, rounds, commit, load = sys.argv[1:]
rows, perf = {}, {}
for line in open(tsv):
    kind, name, vals = line.rstrip("\n").split("\t")
    if kind == "smallfiles":
        rows[name] = [tuple(float(x) for x in v.split(",")) for v in vals.split()]
    else:
        perf[name] = [tuple(int(x) for x in v.split(",")) for v in vals.split()]
def col(v, i):
    return [x[i] for x in v]
base = [statistics.median(col(rows["untraced"], i)) for i in (0, 1)]
out = [f"Small-file workload ({files} files a round: create+write 4 KiB+close, stat, "
       f"open+read+close, unlink), {rounds} rounds interleaved, commit {commit}, "
       f"load average at the end {load}.", "",
       "| daemon / tracer | files/s (median) | range | vs untraced "
       "| CPU us/file (median) | range | vs untraced |",
       "|---|---:|---:|---:|---:|---:|---:|"]
for name, v in rows.items():
    f, c = col(v, 0), col(v, 1)
    mf, mc = statistics.median(f), statistics.median(c)
    out.append(f"| {name} | {mf:.0f} | {min(f):.0f}-{max(f):.0f} | {mf / base[0]:.3f}x "
               f"| {mc:.1f} | {min(c):.1f}-{max(c):.1f} | {mc / base[1]:.3f}x |")
if perf:
    out += ["", "Daemon instructions per request (callgrind over a whole mount: start, "
            "the workload, unmount; each run):", "",
            "| daemon | instructions | requests | instructions/request |",
            "|---|---:|---:|---:|"]
    med = {}
    for name, v in perf.items():
        for i, r in v:
            out.append(f"| {name} | {i} | {r} | {i / r:.0f} |")
        med[name] = statistics.median(i / r for i, r in v)
    if "noprobes" in med and "untraced" in med:
        d = med["untraced"] / med["noprobes"] - 1
        out += ["", f"Untraced probes: {100 * d:+.3f} % instructions per request "
                "against PROBES=0 (medians)."]
print("\n".join(out))
PY
cat "$OUT/reqtrace.md"
