#!/usr/bin/env bash
# cluster_bench.sh - cluster sizes against the kernel's zram + lz4 on the same pages.
#
#   BUILD=build BENCH_CL_MIB=128 BENCH_CL_ROUNDS=3 BENCH_CL_SIZES="4k 16k 64k" \
#       bash tools/bench/cluster_bench.sh
#
# Two corpora from the filesystem corpus (corpus files): "text" (its files under
# /usr/share) and "bin" (the rest: libraries), each file padded to 4 KiB so that zram
# is given the same pages. In every round, for each corpus, in turn: zram (a device
# of our own from /sys/class/zram-control/hot_add, lz4, dd bs=1M oflag=direct) and
# zpoolfs with each cluster size (dd bs=1M conv=fsync into one file). Recorded: write
# MiB/s, mem_used_total, cold read MiB/s (dd iflag=direct bs=1M); then the same once
# the packer has repacked the file ("+pk": pack_after=4 rather than the default 30,
# so the bench need not wait; memory after a compaction). Then, on each cluster
# size, a BENCH_CL_FIO_MIB file of the text corpus written whole (dd bs=1M), read and
# rewritten by fio at random 4 KiB offsets (psync, page cache dropped first; rewrites
# 50 % compressible). With recomp=zstd (BENCH_CL_RECOMP sizes): memory after packing,
# echo all > idle, echo type=idle > recompress and a compaction, the time the last
# three took, cold reads. The same, beside zram, on a larger text corpus
# ("text256": BENCH_CL_BIG_MIB of files under /usr/share, 0 for none), the size of the
# corpora the issue measured on: the pool's partly filled zspages are a fixed cost
# (about a page per size class in use) that weighs on 64 MiB of recompressed text.
# Parallel writers (BENCH_CL_WRITERS, on BENCH_CL_WRITER_SIZES): the text corpus split N
# ways, zram (regions of the device, oflag=direct) beside zpoolfs (a file each).
# Results: $BUILD/bench/cluster.tsv (raw) and medians printed with ratios against zram
# (or against cluster=4k for fio) from the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
MIB=${BENCH_CL_MIB:-128}
ROUNDS=${BENCH_CL_ROUNDS:-3}
SIZES=${BENCH_CL_SIZES:-4k 16k 64k}
FIO_MIB=${BENCH_CL_FIO_MIB:-128}
EXTRA=${BENCH_CL_OPTS:-}
RECOMP_SIZES=${BENCH_CL_RECOMP:-16k}
BIG_MIB=${BENCH_CL_BIG_MIB:-256}
WRITER_SIZES=${BENCH_CL_WRITER_SIZES:-4k 16k}
WRITERS=${BENCH_CL_WRITERS:-1 2 4}
res=$BENCH_DIR/cluster.tsv
. tools/bench/meta.sh

[ "$(id -u)" -eq 0 ] || { echo "cluster benchmark skipped: not root"; exit 0; }
[ -x "$BUILD/zpoolfs" ] || { echo "cluster benchmark skipped: no $BUILD/zpoolfs"; exit 0; }
[ -w /sys/class/zram-control/hot_add ] || modprobe zram 2>/dev/null || true
mkdir -p "$BENCH_DIR"
meta_lines >"$res"
noise_start

work=$(mktemp -d /tmp/zpoolfs-clbench.XXXXXX)
mnt=$work/m
mkdir -p "$mnt"
zdev=
zpid=
cleanup() {
	if mountpoint -q "$mnt"; then fusermount3 -u "$mnt" || true; fi
	[ -n "$zpid" ] && wait "$zpid" 2>/dev/null || true
	if [ -n "$zdev" ]; then
		for _ in 1 2 3 4 5; do
			echo 1 >"/sys/block/zram$zdev/reset" 2>/dev/null && break
			sleep 0.2
		done
		echo "$zdev" >/sys/class/zram-control/hot_remove 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
zdev=$(cat /sys/class/zram-control/hot_add)
zsys=/sys/block/zram$zdev

# ---- corpora
# The files of corpus list $1, each read up to 16 MiB and padded to 4 KiB (zram is given the
# same pages): those under /usr/share into $2, the rest into $3 (left out if empty), the
# text up to $4 MiB (0: all of it).
split_corpus() {
	python3 - "$@" <<'EOF'
import sys
lst, text, rest, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) << 20
outs = {"text": open(text, "wb"), "bin": open(rest, "wb") if rest else None}
n = 0
for path in open(lst).read().split("\n"):
    kind = "text" if path.startswith("/usr/share/") else "bin"
    if not path or not outs[kind] or (kind == "text" and cap and n >= cap):
        continue
    data = open(path, "rb").read(16 << 20)
    data += b"\0" * (-len(data) % 4096)
    outs[kind].write(data)
    if kind == "text":
        n += len(data)
EOF
}
"$BENCH_DIR/corpus" files -b "$((MIB * 2))" -o "$work" >/dev/null
split_corpus "$work/fscorpus.list" "$work/text.cat" "$work/bin.cat" 0
big=
if [ "$BIG_MIB" -gt 0 ]; then
	big=text$BIG_MIB
	mkdir -p "$work/big"
	"$BENCH_DIR/corpus" files -b "$((BIG_MIB * 4))" -o "$work/big" >/dev/null
	split_corpus "$work/big/fscorpus.list" "$work/$big.cat" "" "$BIG_MIB"
	rm -rf "$work/big"
fi
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
secs() { date +%s.%N; }
mibs() { awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { printf "%.1f", b / 1048576 / (t1 - t0) }'; }
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$res"; }

zram_round() {
	local set=$1 cat=$2 bytes t0 t1 mem rd
	bytes=$(stat -c %s "$cat")
	for _ in 1 2 3 4 5; do echo 1 >"$zsys/reset" 2>/dev/null && break; sleep 0.2; done
	echo lz4 >"$zsys/comp_algorithm"
	echo $(( (bytes / 1048576 + 64) * 1048576 )) >"$zsys/disksize"
	drop
	t0=$(secs)
	dd if="$cat" of="/dev/zram$zdev" bs=1M oflag=direct status=none
	t1=$(secs)
	row "$set" zram write "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	mem=$(awk '{ print $3 }' "$zsys/mm_stat")
	row "$set" zram mem "$r" "$mem" bytes
	row "$set" zram saving "$r" "$(awk -v b="$bytes" -v m="$mem" 'BEGIN { printf "%.4f", b / m }')" x
	drop
	t0=$(secs)
	dd if="/dev/zram$zdev" of=/dev/null bs=1M iflag=direct count=$((bytes / 1048576)) status=none
	t1=$(secs)
	row "$set" zram read "$r" "$(mibs $((bytes / 1048576 * 1048576)) "$t0" "$t1")" MiB/s
	for _ in 1 2 3 4 5; do echo 1 >"$zsys/reset" 2>/dev/null && break; sleep 0.2; done
}

zmount() {
	"$BUILD/zpoolfs" "$mnt" -f -o "cluster=$1${EXTRA:+,$EXTRA}${2:+,$2}" >"$work/zpoolfs.log" 2>&1 &
	zpid=$!
	for _ in $(seq 100); do mountpoint -q "$mnt" && return 0; sleep 0.05; done
	echo "zpoolfs did not mount" >&2
	cat "$work/zpoolfs.log" >&2
	exit 1
}
zumount() {
	fusermount3 -u "$mnt"
	wait "$zpid" || true
	zpid=
}

# Rows for the mount's memory now (as WHO) and a cold read of its file.
mem_and_read() {
	local set=$1 who=$2 cat=$3 bytes=$4 t0 t1 mem
	mem=$(awk '{ print $3 }' "$mnt/.zpool/mm_stat")
	row "$set" "$who" mem "$r" "$mem" bytes
	row "$set" "$who" saving "$r" "$(awk -v b="$bytes" -v m="$mem" 'BEGIN { printf "%.4f", b / m }')" x
	drop
	t0=$(secs)
	dd if="$mnt/f" of=/dev/null bs=1M iflag=direct status=none
	t1=$(secs)
	row "$set" "$who" read "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	cmp -s "$cat" "$mnt/f" || { echo "$who: $set read back differs" >&2; exit 1; }
}

# Until the packer has been idle for longer than its pass period (pack_after=4:
# a pass every 2 s; pages_packed unchanged for 4 s), so that a pass that took
# only the units aged at its start is followed by the one that takes the rest.
wait_packed() {
	local prev=-1 now i quiet=0
	for i in $(seq 120); do
		sleep 1
		now=$(jq -r .counters.pages_packed "$mnt/.zpool/stats.json")
		if [ "$now" = "$prev" ]; then quiet=$((quiet + 1)); else quiet=0; fi
		[ "$i" -ge 6 ] && [ "$quiet" -ge 4 ] && break
		prev=$now
	done
}

# Write, then memory and a cold read; then the same once the packer has
# repacked the file ("+pk": pack.c; pack_after=4 instead of the default 30
# so the bench need not wait; memory after a compaction).
zfs_round() {
	local set=$1 cat=$2 cl=$3 bytes t0 t1
	bytes=$(stat -c %s "$cat")
	zmount "$cl" pack_after=4
	drop
	t0=$(secs)
	dd if="$cat" of="$mnt/f" bs=1M conv=fsync status=none
	t1=$(secs)
	row "$set" "cl$cl" write "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	mem_and_read "$set" "cl$cl" "$cat" "$bytes"
	if [ "$cl" != 4k ]; then
		wait_packed
		echo 1 >"$mnt/.zpool/compact"
		mem_and_read "$set" "cl$cl+pk" "$cat" "$bytes"
	fi
	zumount
}

# recomp=zstd: write, wait for the packer, mark idle, recompress, compact;
# memory then, the time the last three took, and a cold read. With a fourth
# argument, also the "+pk" rows once packed (a set zfs_round does not see).
recomp_round() {
	local set=$1 cat=$2 cl=$3 bytes t0 t1
	bytes=$(stat -c %s "$cat")
	zmount "$cl" recomp=zstd,pack_after=4
	dd if="$cat" of="$mnt/f" bs=1M conv=fsync status=none
	wait_packed
	if [ -n "${4:-}" ]; then
		echo 1 >"$mnt/.zpool/compact"
		mem_and_read "$set" "cl$cl+pk" "$cat" "$bytes"
	fi
	t0=$(secs)
	echo all >"$mnt/.zpool/idle"
	echo type=idle >"$mnt/.zpool/recompress"
	echo 1 >"$mnt/.zpool/compact"
	t1=$(secs)
	row "$set" "cl$cl+zstd" recompress "$r" "$(mibs "$bytes" "$t0" "$t1")" MiB/s
	mem_and_read "$set" "cl$cl+zstd" "$cat" "$bytes"
	zumount
}

# N writers at once, each 1/N of the text corpus: zram (separate regions of the device,
# oflag=direct) and zpoolfs (one file each, conv=fsync), both in MiB/s of the whole.
writers_round() {
	local cat=$work/text.cat n=$1 bytes part t0 t1 i pids cl
	bytes=$(stat -c %s "$cat")
	part=$((bytes / 1048576 / n))
	for _ in 1 2 3 4 5; do echo 1 >"$zsys/reset" 2>/dev/null && break; sleep 0.2; done
	echo lz4 >"$zsys/comp_algorithm"
	echo $(( (bytes / 1048576 + 64) * 1048576 )) >"$zsys/disksize"
	drop
	t0=$(secs)
	pids=
	for ((i = 0; i < n; i++)); do
		dd if="$cat" of="/dev/zram$zdev" bs=1M skip=$((i * part)) seek=$((i * part)) \
			count=$part oflag=direct status=none &
		pids="$pids $!"
	done
	wait $pids
	t1=$(secs)
	row writers zram "w$n" "$r" "$(mibs $((part * n * 1048576)) "$t0" "$t1")" MiB/s
	for _ in 1 2 3 4 5; do echo 1 >"$zsys/reset" 2>/dev/null && break; sleep 0.2; done
	for cl in $WRITER_SIZES; do
		zmount "$cl"
		drop
		t0=$(secs)
		pids=
		for ((i = 0; i < n; i++)); do
			dd if="$cat" of="$mnt/w$i" bs=1M skip=$((i * part)) count=$part \
				conv=fsync status=none &
			pids="$pids $!"
		done
		wait $pids
		t1=$(secs)
		row writers "cl$cl" "w$n" "$r" "$(mibs $((part * n * 1048576)) "$t0" "$t1")" MiB/s
		zumount
	done
}

fio_round() {
	local cl=$1 rw out
	zmount "$cl"
	# The file is written whole first (dd bs=1M: clusters form), then read and
	# rewritten at random 4 KiB offsets.
	head -c $((FIO_MIB << 20)) "$work/text.cat" | dd of="$mnt/fio" bs=1M conv=fsync status=none
	for rw in randread randwrite; do
		drop
		out=$(fio --name=cl --filename="$mnt/fio" --rw=$rw --bs=4k --size=${FIO_MIB}m \
			--ioengine=psync --buffer_compress_percentage=50 --refill_buffers \
			--end_fsync=$([ $rw = randwrite ] && echo 1 || echo 0) \
			--invalidate=1 --output-format=json)
		row fio "cl$cl" "$rw" "$r" "$(echo "$out" | jq '.jobs[0].read.iops + .jobs[0].write.iops | floor')" IOPS
	done
	zumount
}

for r in $(seq "$ROUNDS"); do
	for set in text bin; do
		zram_round "$set" "$work/$set.cat"
		for cl in $SIZES; do
			zfs_round "$set" "$work/$set.cat" "$cl"
		done
		for cl in $RECOMP_SIZES; do
			recomp_round "$set" "$work/$set.cat" "$cl"
		done
	done
	if [ -n "$big" ]; then
		zram_round "$big" "$work/$big.cat"
		for cl in $RECOMP_SIZES; do
			recomp_round "$big" "$work/$big.cat" "$cl" pk
		done
	fi
	for n in $WRITERS; do
		writers_round "$n"
	done
	for cl in $SIZES; do
		fio_round "$cl"
	done
done
noise_report cluster "$res"

# ---- medians and ratios
python3 - "$res" "$SIZES" "$RECOMP_SIZES" "$WRITERS" "$WRITER_SIZES" "$big" <<'EOF'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.count("\t") == 5]
sizes = sys.argv[2].split() + \
    [c + "+pk" for c in dict.fromkeys(sys.argv[2].split() + sys.argv[3].split()) if c != "4k"] + \
    [c + "+zstd" for c in sys.argv[3].split()]
vals = {}
for s, who, what, r, v, unit in rows:
    if s in ("meta",):
        continue
    vals.setdefault((s, who, what), []).append(float(v))
def med(k):
    v = vals.get(k)
    return (st.median(v), min(v), max(v)) if v else None
for s in ["text", "bin"] + sys.argv[6].split():
    print(f"{s}: median (min..max) of each; ratio = zpoolfs / zram, same run")
    for what in ("saving", "write", "read"):
        z = med((s, "zram", what))
        print(f"  {what:7s}      zram {z[0]:10.3f} ({z[1]:.3f}..{z[2]:.3f})")
        for cl in sizes:
            m = med((s, "cl" + cl, what))
            if not m:
                continue
            print(f"  {what:7s} {cl:>9s} {m[0]:10.3f} ({m[1]:.3f}..{m[2]:.3f})  ratio {m[0] / z[0]:.3f}")
print("parallel writers (text corpus split N ways), MiB/s; ratio = zpoolfs / zram, same run")
for n in sys.argv[4].split():
    z = med(("writers", "zram", "w" + n))
    if not z:
        continue
    print(f"  {n} writers      zram {z[0]:8.1f} ({z[1]:.1f}..{z[2]:.1f})")
    for cl in sys.argv[5].split():
        m = med(("writers", "cl" + cl, "w" + n))
        if m:
            print(f"  {n} writers {cl:>9s} {m[0]:8.1f} ({m[1]:.1f}..{m[2]:.1f})  ratio {m[0] / z[0]:.3f}")
print("fio random 4 KiB IOPS, ratio against cluster=4k (today's layout), same run")
for rw in ("randwrite", "randread"):
    b = med(("fio", "cl4k", rw))
    for cl in sys.argv[2].split():
        m = med(("fio", "cl" + cl, rw))
        if m:
            ratio = f"  ratio {m[0] / b[0]:.3f}" if b else ""
            print(f"  {rw:9s} {cl:>4s} {m[0]:9.0f} ({m[1]:.0f}..{m[2]:.0f}){ratio}")
EOF
