#!/usr/bin/env bash
# tiering_bench.sh - writeback to a backing file and automatic compaction (issue 13).
#
#   BUILD=build BENCH_TIER_MIB=256 BENCH_TIER_ROUNDS=3 BENCH_TIER_OPTS= \
#       bash tools/bench/tiering_bench.sh
#
# Corpus: the text part (files under /usr/share) of the filesystem corpus (corpus
# files), each file padded to 4 KiB, BENCH_TIER_MIB in all. In each round:
#  1. writeback: the corpus written (dd bs=1M conv=fsync) into zpoolfs with no limit,
#     then into zpoolfs with mem_limit=64m,backing=FILE,writeback_at=90: write MiB/s
#     of both, the daemon's peak RSS (sampled every 0.1 s), the backing file's
#     allocated bytes (st_blocks) beside what zram's writeback would write (4 KiB per
#     page written back), the file read back cold (dd iflag=direct bs=1M, compared
#     byte for byte) beside the backing file's own cold sequential read speed.
#  2. compaction: the corpus files written in as a tree, every other file deleted, a
#     reader of the rest kept running; the time until the daemon has compacted by
#     itself and the mem_used_total then, beside what "echo 1 > compact" reaches next.
# Results: $BUILD/bench/tiering.tsv (raw), medians with ranges printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
MIB=${BENCH_TIER_MIB:-256}
ROUNDS=${BENCH_TIER_ROUNDS:-3}
OPTS=${BENCH_TIER_OPTS:-}
res=$BENCH_DIR/tiering.tsv
. tools/bench/meta.sh

[ "$(id -u)" -eq 0 ] || { echo "tiering benchmark skipped: not root"; exit 0; }
[ -x "$BUILD/zpoolfs" ] || { echo "tiering benchmark skipped: no $BUILD/zpoolfs"; exit 0; }
[ -x "$BENCH_DIR/corpus" ] || { echo "tiering benchmark: build bench-progs first" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
meta_lines >"$res"
noise_start

work=$(mktemp -d /tmp/zpoolfs-tierbench.XXXXXX)
mnt=$work/m
mkdir -p "$mnt"
zpid=
cleanup() {
	if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" || true; fi
	[ -n "$zpid" ] && wait "$zpid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

"$BENCH_DIR/corpus" files -b "$((MIB * 3))" -o "$work" >/dev/null
python3 - "$work" "$MIB" <<'EOF'
import os, sys
work, mib = sys.argv[1], int(sys.argv[2])
out = open(work + "/text.cat", "wb")
tree = work + "/tree.list"
left, names = mib << 20, []
for path in open(work + "/fscorpus.list").read().split("\n"):
    if not path.startswith("/usr/share/") or left <= 0:
        continue
    try:
        data = open(path, "rb").read(min(left, 16 << 20))
    except OSError:
        continue
    data += b"\0" * (-len(data) % 4096)
    out.write(data[:left])
    left -= len(data)
    names.append(path)
open(tree, "w").write("\n".join(names) + "\n")
EOF
cat=$work/text.cat
bytes=$(stat -c %s "$cat")
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
secs() { date +%s.%N; }
mibs() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", b / 1048576 / (t1 - t0) }'; }
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$res"; }
J() { jq -r "$1" "$mnt/.zpool/stats.json"; }

zmount() {
	"$BUILD/zpoolfs" "$mnt" -f ${1:+-o "$1"} >"$work/zpoolfs.log" 2>&1 &
	zpid=$!
	for _ in $(seq 100); do mountpoint -q "$mnt" && return 0; sleep 0.05; done
	echo "zpoolfs did not mount" >&2
	cat "$work/zpoolfs.log" >&2
	exit 1
}
zumount() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		fusermount3 -u "$mnt" 2>/dev/null && break
		sleep 0.5
	done
	wait "$zpid" || true
	zpid=
}
# peak_rss PID OUT: sample VmRSS (KiB) every 0.1 s into OUT until PID goes or stop appears
peak_rss() {
	local max=0 v
	while [ ! -e "$work/stop" ] && [ -r "/proc/$1/status" ]; do
		v=$(awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0)
		[ "${v:-0}" -gt "$max" ] && max=$v
		echo "$max" >"$2"
		sleep 0.1
	done
}

wb_round() {
	local t0 t1 bd rss rsspid backed
	zmount "$OPTS"
	drop
	t0=$(secs)
	dd if="$cat" of="$mnt/f" bs=1M conv=fsync status=none
	t1=$(secs)
	row wb nolimit write "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	zumount

	bd=$work/backing.img
	zmount "${OPTS:+$OPTS,}mem_limit=64m,backing=$bd,writeback_at=90"
	rm -f "$work/stop"
	peak_rss "$zpid" "$work/rss" &
	rsspid=$!
	drop
	t0=$(secs)
	dd if="$cat" of="$mnt/f" bs=1M conv=fsync status=none
	t1=$(secs)
	row wb limit64m write "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	# A pass may still be ending: let it, then read both numbers at one moment.
	sleep 2
	backed=$(J .counters.pages_backed)
	row wb limit64m backed_pages "$r" "$backed" pages
	row wb limit64m backing_bytes "$r" "$(($(stat -c %b "$bd") * 512))" bytes
	row wb limit64m zram_wb_bytes "$r" "$((backed * 4096))" bytes
	row wb limit64m mem_used_max "$r" "$(J .mm_stat.mem_used_max)" bytes
	drop
	t0=$(secs)
	dd if="$mnt/f" of=/dev/null bs=1M iflag=direct status=none
	t1=$(secs)
	row wb limit64m read "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	cmp -s "$cat" "$mnt/f" || { echo "writeback: read back differs" >&2; exit 1; }
	touch "$work/stop"
	wait "$rsspid"
	rss=$(cat "$work/rss")
	row wb limit64m peak_rss "$r" "$((rss * 1024))" bytes
	# The backing file's own cold sequential read speed, in the same round.
	drop
	t0=$(secs)
	dd if="$bd" of=/dev/null bs=1M iflag=direct status=none
	t1=$(secs)
	row wb backing_file read "$r" "$(mibs "$(stat -c %s "$bd")" "$t0" "$t1")" MiB/s
	zumount
}

compact_round() {
	local t0 t1 auto explicit reader
	zmount "$OPTS"
	python3 - "$work/tree.list" "$mnt" <<'EOF'
import os, sys
for i, path in enumerate(p for p in open(sys.argv[1]).read().split("\n") if p):
    d = os.path.join(sys.argv[2], "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        f.write(open(path, "rb").read(16 << 20))
EOF
	find "$mnt" -name 'f*[02468]' -type f -delete
	sleep 0.5
	python3 - "$mnt" <<'EOF' &
import glob, sys
names = glob.glob(sys.argv[1] + "/d*/f*[13579]")
while True:
    for n in names:
        with open(n, "rb") as f:
            f.read()
EOF
	reader=$!
	t0=$(secs)
	t1=
	for _ in $(seq 300); do
		if [ "$(J .counters.auto_compactions)" -ge 1 ] &&
			awk 'NF == 16 && $1 == "Total" { ok = $NF < 256 || $NF * 100 < 4 * $(NF - 1) }
			     END { exit ok ? 0 : 1 }' "$mnt/.zpool/classes"; then
			t1=$(secs)
			break
		fi
		sleep 0.1
	done
	auto=$(awk '{ print $3 }' "$mnt/.zpool/mm_stat")
	kill "$reader" 2>/dev/null || true
	wait "$reader" 2>/dev/null || true
	echo 1 >"$mnt/.zpool/compact"
	explicit=$(awk '{ print $3 }' "$mnt/.zpool/mm_stat")
	row compact auto seconds "$r" "$(awk -v a="$t0" -v b="${t1:-0}" 'BEGIN { printf "%.2f", b ? b - a : -1 }')" s
	row compact auto mem_used_total "$r" "$auto" bytes
	row compact explicit mem_used_total "$r" "$explicit" bytes
	zumount
}

for r in $(seq "$ROUNDS"); do
	wb_round
	compact_round
done
noise_report tiering "$res"

python3 - "$res" "$bytes" <<'EOF'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.count("\t") == 5]
vals = {}
for part, who, what, r, v, unit in rows:
    if part != "meta":
        vals.setdefault((part, who, what), []).append(float(v))
def m(k):
    v = vals[k]
    return st.median(v), min(v), max(v)
def show(label, k, unit=""):
    a = m(k)
    print(f"  {label:40s} {a[0]:14.1f} ({a[1]:.1f}..{a[2]:.1f}) {unit}")
    return a[0]
print(f"writeback, corpus {int(sys.argv[2]) / 1048576:.0f} MiB: median (min..max)")
nl = show("write, no limit", ("wb", "nolimit", "write"), "MiB/s")
lw = show("write, mem_limit=64m writeback_at=90", ("wb", "limit64m", "write"), "MiB/s")
print(f"  write ratio limit/no limit {lw / nl:.3f} (target >= 0.5)")
bb = show("backing file allocated", ("wb", "limit64m", "backing_bytes"), "bytes")
zb = show("zram writeback of those pages", ("wb", "limit64m", "zram_wb_bytes"), "bytes")
print(f"  backing bytes / zram's {bb / zb:.3f} (target <= 0.6)")
show("peak RSS", ("wb", "limit64m", "peak_rss"), "bytes")
show("mem_used_max", ("wb", "limit64m", "mem_used_max"), "bytes")
rd = show("cold read of the file", ("wb", "limit64m", "read"), "MiB/s")
br = show("backing file's own cold read", ("wb", "backing_file", "read"), "MiB/s")
print(f"  read ratio {rd / br:.3f} (target >= 0.5)")
print("automatic compaction after deleting half of the tree:")
show("seconds until compacted", ("compact", "auto", "seconds"), "s")
a = show("mem_used_total, automatic", ("compact", "auto", "mem_used_total"), "bytes")
e = show("mem_used_total, then explicit", ("compact", "explicit", "mem_used_total"), "bytes")
print(f"  automatic / explicit {a / e:.4f} (target <= 1.05)")
EOF
