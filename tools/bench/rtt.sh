#!/usr/bin/env bash
# rtt.sh - what one FUSE round trip costs, for several ways of serving requests.
#
#   BUILD=build BENCH_RTT_ROUNDS=5 bash tools/bench/rtt.sh
#
# For each configuration (request threads, spin=50 (the spinning leader), clone_fd; BENCH_RTT_OLD=PATH adds an earlier
# zpoolfs binary as "old"), rounds interleaved, with 1 and 4 callers:
#   getattr   fstat() of an open file, timeout=0 (one GETATTR each); not for "old",
#             whose attribute timeout is fixed
#   create    open(O_CREAT|O_EXCL) + close + unlink of a fresh name, default timeouts
#             (LOOKUP, CREATE, RELEASE, UNLINK, FORGET, and FLUSH where the daemon asks for it)
# tmpfs runs the same calls as the floor. Medians (min-max) in microseconds per call and
# per caller; requests per call from the daemon's requests file.
# Then, once per configuration (not timed, so load matters less), what one call costs in
# events: system calls and context switches of the daemon per request and of the caller
# per call, CPU migrations, from perf stat (getattr and create, one caller,
# BENCH_RTT_COUNT=2000 calls; 0 skips it). A configuration "uring..." (-o uring) needs
# the fuse module's enable_uring=Y (as root: echo Y > /sys/module/fuse/parameters/enable_uring).
# Results: $BUILD/bench/rtt.tsv
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
ROUNDS=${BENCH_RTT_ROUNDS:-5}
NG=${BENCH_RTT_GETATTR:-20000}
NC=${BENCH_RTT_CREATE:-3000}
CONFIGS=${BENCH_RTT_CONFIGS:-"threads=4 threads=4,spin=50 threads=1 threads=2 threads=8 threads=4,clone_fd"}
res=$BENCH_DIR/rtt.tsv
. tools/bench/meta.sh

mkdir -p "$BENCH_DIR"
meta_lines >"$res"
[ -x "$BUILD/zpoolfs" ] && [ -x "$BENCH_DIR/rtt" ] || { echo "rtt: build first"; exit 1; }
[ -c /dev/fuse ] || { echo "rtt benchmark skipped: no /dev/fuse"; exit 0; }
work=$(mktemp -d /tmp/zpoolfs-rtt.XXXXXX)
mnt=$work/m
mkdir -p "$mnt"
zpid=

stop() {
	if mountpoint -q "$mnt"; then
		if [ -n "$zpid" ]; then fusermount3 -u "$mnt" || umount -l "$mnt"; else umount "$mnt"; fi
	fi
	[ -z "$zpid" ] || wait "$zpid" 2>/dev/null || true
	zpid=
}
trap 'stop; rm -rf "$work"' EXIT

# start LABEL TEST: mount the configuration named LABEL at $mnt for TEST (getattr: timeout=0)
start() {
	local bin=$BUILD/zpoolfs opts i to=
	[ "$2" = getattr ] && to=timeout=0,
	case $1 in
	tmpfs)
		mount -t tmpfs -o size=1g tmpfs "$mnt"
		return 0
		;;
	old)
		bin=$BENCH_RTT_OLD opts=size=1g ;;
	*)
		opts=size=1g,$to$1 ;;
	esac
	"$bin" "$mnt" -f -o "$opts" >"$work/log" 2>&1 &
	zpid=$!
	for ((i = 0; i < 200; i++)); do
		grep -q " $mnt fuse" /proc/mounts && return 0
		sleep 0.05
	done
	cat "$work/log" >&2
	exit 1
}

total_requests() {
	[ -n "$zpid" ] && [ -r "$mnt/.zpool/requests" ] || { echo 0; return; }
	awk 'NR > 1 { s += $2 } END { print s + 0 }' "$mnt/.zpool/requests"
}

labels="tmpfs $CONFIGS"
[ -n "${BENCH_RTT_OLD:-}" ] && labels="$labels old"
noise_start
echo
echo "== round trips: $ROUNDS rounds, getattr x $NG, create+close+unlink x $NC, 1 and 4 callers"
for ((r = 1; r <= ROUNDS; r++)); do
	for l in $labels; do
		for t in getattr create; do
			[ "$t" = getattr ] && [ "$l" = old ] && continue
			start "$l" "$t"
			for p in 1 4; do
				n=$NG
				[ "$t" = create ] && n=$NC
				r0=$(total_requests)
				read -r _ _ ns _ <<<"$("$BENCH_DIR/rtt" "$t" "$mnt" "$n" "$p")"
				r1=$(total_requests)
				printf 'rtt\t%s_p%s\t%s\t%s\t%.3f\tus\n' "$t" "$p" "$l" "$r" \
					"$(awk -v x="$ns" 'BEGIN { print x / 1000 }')" >>"$res"
				printf 'rtt\treq_%s_p%s\t%s\t%s\t%.2f\treq/call\n' "$t" "$p" "$l" "$r" \
					"$(awk -v a="$r0" -v b="$r1" -v n="$n" -v p="$p" \
						'BEGIN { print (b - a) / (n * p) }')" >>"$res"
			done
			stop
		done
	done
done
noise_report rtt "$res"

# count LABEL TEST: perf stat of the daemon and of the caller over BENCH_RTT_COUNT calls
NCOUNT=${BENCH_RTT_COUNT:-2000}
EVENTS=raw_syscalls:sys_enter,context-switches,cpu-migrations
count() {
	local d=$work/perf-daemon c=$work/perf-caller ppid r0 r1 ev v
	start "$1" "$2"
	r0=$(total_requests)
	perf stat -x, -e "$EVENTS" -p "$zpid" -o "$d" &
	ppid=$!
	sleep 0.5
	perf stat -x, -e "$EVENTS" -o "$c" "$BENCH_DIR/rtt" "$2" "$mnt" "$NCOUNT" 1 >/dev/null
	kill -INT "$ppid"
	wait "$ppid" || true
	r1=$(total_requests)
	stop
	for ev in raw_syscalls:sys_enter context-switches cpu-migrations; do
		v=$(awk -F, -v e="$ev" '$3 == e { print $1 }' "$d")
		printf 'rtt_count\tdaemon_%s_%s\t%s\t1\t%.2f\tper request\n' "$ev" "$2" "$1" \
			"$(awk -v v="$v" -v a="$r0" -v b="$r1" 'BEGIN { print (b > a) ? v / (b - a) : 0 }')" \
			>>"$res"
		v=$(awk -F, -v e="$ev" '$3 == e { print $1 }' "$c")
		printf 'rtt_count\tcaller_%s_%s\t%s\t1\t%.2f\tper call\n' "$ev" "$2" "$1" \
			"$(awk -v v="$v" -v n="$NCOUNT" 'BEGIN { print v / n }')" >>"$res"
	done
}
if [ "$NCOUNT" -gt 0 ] && command -v perf >/dev/null; then
	echo
	echo "== events: perf stat over $NCOUNT calls, one caller (daemon per request, caller per call)"
	for l in $CONFIGS; do
		count "$l" getattr
		count "$l" create
	done
	awk -F'\t' '$1 == "rtt_count" {
		k = $2; sub(/raw_syscalls:sys_enter/, "syscalls", k)
		printf "%-18s %-32s %8s %s\n", $3, k, $5, $6 }' "$res"
fi
awk -F'\t' -v labels="$labels" '
function median(key,   n, i, j, v, t) {
	n = cnt[key]; if (!n) return -1
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	lo = v[1]; hi = v[n]
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
$1 == "rtt" { key = $2 SUBSEP $3; cnt[key]++; val[key, cnt[key]] = $5 }
END {
	n = split(labels, ls, " ")
	printf "\n%-18s", "us per call"
	split("getattr_p1 getattr_p4 create_p1 create_p4", ts, " ")
	for (i = 1; i <= 4; i++) printf " %22s", ts[i]
	printf "\n"
	for (j = 1; j <= n; j++) {
		printf "%-18s", ls[j]
		for (i = 1; i <= 4; i++) {
			m = median(ts[i] SUBSEP ls[j])
			if (m < 0) { printf " %22s", "-"; continue }
			l1 = lo; h1 = hi
			q = median("req_" ts[i] SUBSEP ls[j])
			printf " %6.1f (%5.1f-%5.1f)%s", m, l1, h1, (q > 0) ? sprintf(" %.1fr", q) : "   "
		}
		printf "\n"
	}
	printf "(Nr: requests per call; with 4 callers each caller waits that long per call)\n"
}' "$res"
echo "rtt: results in $res"
