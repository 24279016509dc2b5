#!/usr/bin/env bash
# fs_bench.sh - zpoolfs beside tmpfs (fio) and beside the kernel's zram + lz4 (a real corpus).
#
#   BUILD=build BENCH_FS_MIB=256 BENCH_FIO_MIB=512 BENCH_FS_ROUNDS=5 bash tools/bench/fs_bench.sh
#
# 1. fio, zpoolfs and tmpfs in turn inside every round: sequential 1 MiB write and read,
#    random 4 KiB write and read, 1 and N jobs (BENCH_THREADS), BENCH_FIO_MIB in total
#    split between the jobs; writes end with fsync; page cache dropped before each read
#    (as root). Buffers are 50 % compressible (fio buffer_compress_percentage).
# 2. The corpus (corpus files: libraries under /usr/lib + text under /usr/share,
#    BENCH_FS_MIB, every file padded to 4 KiB in fscorpus.cat so that zram is given the
#    same pages):
#    - write: dd bs=1M conv=fsync of fscorpus.cat into a zpoolfs file, beside
#      dd bs=1M oflag=direct into /dev/zram0 (lz4); also two writers at once, each half;
#    - memory: zpoolfs mm_stat mem_used_total and the daemon's VmRSS beyond it, beside
#      zram's mem_used_total, for the same pages;
#    - cold read, both ways on both sides, page cache dropped first: dd iflag=direct bs=1M
#      (no page cache: each 1 MiB read decompressed straight for the reader) of the zpoolfs
#      file and of /dev/zram0; and dd bs=1M through the page cache (readahead fills it)
#      of the file and of /dev/zram0; the result table also pairs zpoolfs's page-cache read
#      with zram's direct read;
#    - tree: the corpus files copied in as files (cp), memory again.
# Results: $BUILD/bench/fs.tsv. Anything mounted is unmounted and zram is reset on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
FS_MIB=${BENCH_FS_MIB:-256}
FIO_MIB=${BENCH_FIO_MIB:-512}
ROUNDS=${BENCH_FS_ROUNDS:-5}
JOBS_MAX=${BENCH_THREADS:-2}
res=$BENCH_DIR/fs.tsv
. tools/bench/zram.sh
. tools/bench/meta.sh

mkdir -p "$BENCH_DIR"
meta_lines >"$res"
noise_start
echo
echo "== filesystem benchmark (fio ${FIO_MIB} MiB, corpus ${FS_MIB} MiB, ${ROUNDS} rounds)"

skip() {
	echo "filesystem benchmark skipped: $*"
	printf 'fs\tskipped\t%s\t0\t0\t-\n' "$*" >>"$res"
	exit 0
}
[ -x "$BUILD/zpoolfs" ] || skip "$BUILD/zpoolfs is not built"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "no access to /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"
command -v fio >/dev/null || skip "no fio (apt-get install fio)"
command -v jq >/dev/null || skip "no jq"
root=0
[ "$(id -u)" -eq 0 ] && root=1

work=$(mktemp -d /tmp/zpoolfs-bench.XXXXXX)
zmnt=$work/zpoolfs
tmnt=$work/tmpfs
mkdir -p "$zmnt" "$tmnt"
zpid=
tmpfs_mounted=0

unmount_zpoolfs() {
	if mountpoint -q "$zmnt"; then
		fusermount3 -u "$zmnt" 2>/dev/null || umount -l "$zmnt" 2>/dev/null || true
	fi
	if [ -n "$zpid" ]; then
		wait "$zpid" 2>/dev/null || true
		zpid=
	fi
}

cleanup() {
	unmount_zpoolfs
	if [ $tmpfs_mounted = 1 ]; then
		umount "$tmnt" 2>/dev/null || true
	fi
	zram_reset
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mount_zpoolfs OPTIONS: run the daemon in the foreground in the background, so that
# its PID is ours to read VmRSS from.
mount_zpoolfs() {
	"$BUILD/zpoolfs" "$zmnt" -f -o "$1" &
	zpid=$!
	for _ in $(seq 100); do
		mountpoint -q "$zmnt" && return 0
		kill -0 "$zpid" 2>/dev/null || break
		sleep 0.05
	done
	echo "fs_bench: zpoolfs did not mount" >&2
	exit 1
}

if [ $root = 1 ]; then
	mount -t tmpfs -o size=$((FIO_MIB * 2 + 64))m bench-tmpfs "$tmnt"
	tmpfs_mounted=1
else
	tdir=$(mktemp -d /dev/shm/zpoolfs-bench.XXXXXX)
	rmdir "$tmnt"
	ln -s "$tdir" "$tmnt"
	trap 'cleanup; rm -rf "$tdir"' EXIT
fi

drop_caches() {
	sync
	if [ $root = 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

now_ns() { date +%s%N; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

result() { printf 'fs\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$res"; }

# ---------------------------------------------------------------- fio
# fio_run DIR NAME RW BS JOBS: prints bytes per second
fio_run() {
	local dir=$1 name=$2 rw=$3 bs=$4 jobs=$5 dir_key out
	out=$work/fio.json
	fio --name="$name" --directory="$dir" --filename_format='bench.$jobnum' \
		--rw="$rw" --bs="$bs" --size=$((FIO_MIB / jobs))m --numjobs="$jobs" \
		--ioengine=psync --direct=0 --end_fsync=1 --group_reporting \
		--buffer_compress_percentage=50 --buffer_compress_chunk=4k \
		--runtime=60 --output-format=json --output="$out" >/dev/null
	case $rw in
	*write) dir_key=write ;;
	*) dir_key=read ;;
	esac
	jq ".jobs[0].$dir_key.bw_bytes" "$out"
}

declare -A bw
fio_round() {
	local target=$1 dir=$2 jobs=$3 r=$4
	rm -rf "${dir:?}"/bench.*
	bw[$target,$jobs,seqwrite,$r]=$(fio_run "$dir" seqwrite write 1m "$jobs")
	drop_caches
	bw[$target,$jobs,seqread,$r]=$(fio_run "$dir" seqread read 1m "$jobs")
	bw[$target,$jobs,randwrite,$r]=$(fio_run "$dir" randwrite randwrite 4k "$jobs")
	drop_caches
	bw[$target,$jobs,randread,$r]=$(fio_run "$dir" randread randread 4k "$jobs")
	rm -rf "${dir:?}"/bench.*
}

mount_zpoolfs "size=$((FIO_MIB * 2 + 64))m"
jobs_list="1"
[ "$JOBS_MAX" -gt 1 ] && jobs_list="1 $JOBS_MAX"
for r in $(seq "$ROUNDS"); do
	for jobs in $jobs_list; do
		fio_round zpoolfs "$zmnt" "$jobs" "$r"
		fio_round tmpfs "$tmnt" "$jobs" "$r"
	done
done
unmount_zpoolfs

echo
printf '%-10s %5s %14s %14s %9s\n' "fio" "jobs" "zpoolfs MiB/s" "tmpfs MiB/s" "zpoolfs/tmpfs"
for t in seqwrite seqread randwrite randread; do
	for jobs in $jobs_list; do
		z=$(for r in $(seq "$ROUNDS"); do echo "${bw[zpoolfs,$jobs,$t,$r]}"; done | median)
		m=$(for r in $(seq "$ROUNDS"); do echo "${bw[tmpfs,$jobs,$t,$r]}"; done | median)
		# the ratio is the median of the rounds' own ratios
		q=$(for r in $(seq "$ROUNDS"); do
			awk -v a="${bw[zpoolfs,$jobs,$t,$r]}" -v b="${bw[tmpfs,$jobs,$t,$r]}" \
				'BEGIN { print a / b }'
		done | median)
		awk -v t="$t" -v j="$jobs" -v z="$z" -v m="$m" -v q="$q" 'BEGIN {
			printf "%-10s %5d %14.1f %14.1f %8.3fx\n", t, j, z / 1048576, m / 1048576,
				q }'
		result "fio_$t" zpoolfs "$jobs" "$z" "bytes/s"
		result "fio_$t" tmpfs "$jobs" "$m" "bytes/s"
		result "fio_${t}_vs_tmpfs" zpoolfs "$jobs" "$q" ratio
	done
done
[ $root = 1 ] || echo "(not root: page cache not dropped before reads)"

# ---------------------------------------------------------------- corpus
"$BENCH_DIR/corpus" files -b "$FS_MIB" -o "$BENCH_DIR"
cat="$BENCH_DIR/fscorpus.cat"
cat_bytes=$(stat -c %s "$cat")
cat_mib=$(awk -v b="$cat_bytes" 'BEGIN { print b / 1048576 }')
tree_bytes=$(tr '\n' '\0' <"$BENCH_DIR/fscorpus.list" | du -cb --files0-from=- |
	tail -n 1 | cut -f1)
result corpus_bytes files 0 "$tree_bytes" bytes
result corpus_padded_bytes files 0 "$cat_bytes" bytes

# mm_stat of the mounted zpoolfs: the nine zram columns
zstat() { tr -s ' ' <"$zmnt/.zpool/mm_stat" | sed 's/^ //'; }
vmrss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$zpid/status"; }

# secs START END BYTES -> MiB/s
mibs() {
	awk -v s="$1" -v e="$2" -v b="$3" 'BEGIN { printf "%.1f", b / 1048576 / ((e - s) / 1e9) }'
}

have_zram=0
if why=$(zram_usable); then
	have_zram=1
else
	echo "kernel zram comparison skipped: $why"
	result zram_skipped "$why" 0 0 -
fi

half_mib=$(( (cat_bytes / 1048576 + 1) / 2 ))
declare -A t
for r in $(seq "$ROUNDS"); do
	cat "$cat" >/dev/null		# the source comes from the page cache for every writer
	# zpoolfs: one writer
	mount_zpoolfs "size=$((FS_MIB * 2 + 64))m"
	s=$(now_ns)
	dd if="$cat" of="$zmnt/corpus" bs=1M conv=fsync status=none
	e=$(now_ns)
	t[zwrite1,$r]=$(mibs "$s" "$e" "$cat_bytes")
	drop_caches
	zs=$(zstat)
	rss=$(vmrss)
	s=$(now_ns)
	dd if="$zmnt/corpus" of=/dev/null bs=1M status=none
	e=$(now_ns)
	t[zread,$r]=$(mibs "$s" "$e" "$cat_bytes")
	drop_caches
	s=$(now_ns)
	dd if="$zmnt/corpus" of=/dev/null bs=1M iflag=direct status=none
	e=$(now_ns)
	t[zreaddirect,$r]=$(mibs "$s" "$e" "$cat_bytes")
	rm -f "$zmnt/corpus"
	# zpoolfs: two writers, each half of the corpus into its own file
	cat "$cat" >/dev/null
	s=$(now_ns)
	dd if="$cat" of="$zmnt/corpus.0" bs=1M count="$half_mib" conv=fsync status=none &
	p0=$!
	dd if="$cat" of="$zmnt/corpus.1" bs=1M skip="$half_mib" conv=fsync status=none &
	p1=$!
	wait $p0 $p1
	e=$(now_ns)
	t[zwrite2,$r]=$(mibs "$s" "$e" "$cat_bytes")
	unmount_zpoolfs
	if [ $have_zram = 1 ]; then
		zram_setup lz4 $(( (cat_bytes / 1048576 + 64) * 1048576 ))
		cat "$cat" >/dev/null
		s=$(now_ns)
		dd if="$cat" of="/dev/$ZRAM_DEV" bs=1M oflag=direct status=none
		e=$(now_ns)
		t[kwrite1,$r]=$(mibs "$s" "$e" "$cat_bytes")
		ks=$(zram_mm_stat)
		s=$(now_ns)
		dd if="/dev/$ZRAM_DEV" of=/dev/null bs=1M iflag=direct \
			count=$(( (cat_bytes + 1048575) / 1048576 )) status=none
		e=$(now_ns)
		t[kread,$r]=$(mibs "$s" "$e" "$cat_bytes")
		drop_caches
		s=$(now_ns)
		dd if="/dev/$ZRAM_DEV" of=/dev/null bs=1M \
			count=$(( (cat_bytes + 1048575) / 1048576 )) status=none
		e=$(now_ns)
		t[kreadcached,$r]=$(mibs "$s" "$e" "$cat_bytes")
		zram_setup lz4 $(( (cat_bytes / 1048576 + 64) * 1048576 ))
		cat "$cat" >/dev/null
		s=$(now_ns)
		dd if="$cat" of="/dev/$ZRAM_DEV" bs=1M count="$half_mib" oflag=direct status=none &
		p0=$!
		dd if="$cat" of="/dev/$ZRAM_DEV" bs=1M skip="$half_mib" seek="$half_mib" \
			oflag=direct status=none &
		p1=$!
		wait $p0 $p1
		e=$(now_ns)
		t[kwrite2,$r]=$(mibs "$s" "$e" "$cat_bytes")
		zram_reset
	fi
done

med() { for r in $(seq "$ROUNDS"); do echo "${t[$1,$r]}"; done | median; }
echo
printf 'corpus: %.1f MiB in %d files (%.1f MiB page-padded)\n' \
	"$(awk -v b="$tree_bytes" 'BEGIN { print b / 1048576 }')" \
	"$(wc -l <"$BENCH_DIR/fscorpus.list")" "$cat_mib"
printf '%-44s %12s %12s %9s\n' "corpus, MiB/s (median)" "zpoolfs" "zram dd" "ratio"
# NAME ZPOOLFS_KEY ZRAM_KEY LABEL: one row, zpoolfs against zram, ratio = median of the rounds' ratios
for row in "write1 zwrite1 kwrite1 sequential write, 1 writer" \
	"write2 zwrite2 kwrite2 sequential write, 2 writers" \
	"read_direct zreaddirect kread cold read, iflag=direct both" \
	"read_cached zread kreadcached cold read, page cache both" \
	"read zread kread cold read, page cache vs zram direct"; do
	read -r name zk kk label <<<"$row"
	z=$(med "$zk")
	result "corpus_$name" zpoolfs 0 "$z" MiB/s
	if [ $have_zram = 1 ]; then
		kv=$(med "$kk")
		q=$(for r in $(seq "$ROUNDS"); do
			awk -v a="${t[$zk,$r]}" -v b="${t[$kk,$r]}" 'BEGIN { print a / b }'
		done | median)
		result "corpus_$name" zram 0 "$kv" MiB/s
		result "corpus_${name}_vs_zram" zpoolfs 0 "$q" ratio
	else
		kv=0 q=0
	fi
	awk -v l="$label" -v z="$z" -v k="$kv" -v q="$q" 'BEGIN {
		if (k > 0) printf "%-44s %12.1f %12.1f %8.3fx\n", l, z, k, q
		else printf "%-44s %12.1f %12s\n", l, z, "-" }'
done

# memory: the single-file corpus (same pages as zram's), then the tree copied in as files
read -r z_orig z_compr z_used _ <<<"$zs"
echo
printf '%-26s %12s %12s %12s %12s %9s\n' "memory, MiB" "stored" "compressed" "pool" "RSS-pool" \
	"pool/zram"
if [ $have_zram = 1 ]; then
	read -r k_orig k_compr k_used _ <<<"$ks"
	printf '%-26s %12.1f %12.1f %12.1f %12s %9s\n' "zram (corpus as one file)" \
		"$(awk -v b="$k_orig" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v b="$k_compr" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v b="$k_used" 'BEGIN { print b / 1048576 }')" "-" "1.000x"
	result mem_pool_bytes zram 0 "$k_used" bytes
	result mem_compr_bytes zram 0 "$k_compr" bytes
fi
show_mem() {
	local label=$1 key=$2 orig=$3 compr=$4 used=$5 rss=$6 ratio="-"
	[ $have_zram = 1 ] &&
		ratio=$(awk -v a="$used" -v b="$k_used" 'BEGIN { printf "%.4fx", a / b }')
	printf '%-26s %12.1f %12.1f %12.1f %12.1f %9s\n' "$label" \
		"$(awk -v b="$orig" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v b="$compr" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v b="$used" 'BEGIN { print b / 1048576 }')" \
		"$(awk -v a="$rss" -v b="$used" 'BEGIN { print (a - b) / 1048576 }')" "$ratio"
	result "mem_pool_bytes" "$key" 0 "$used" bytes
	result "mem_compr_bytes" "$key" 0 "$compr" bytes
	result "mem_rss_beyond_pool" "$key" 0 $((rss - used)) bytes
	[ $have_zram = 1 ] && result "mem_pool_vs_zram" "$key" 0 \
		"$(awk -v a="$used" -v b="$k_used" 'BEGIN { printf "%.6f", a / b }')" ratio
	return 0
}
show_mem "zpoolfs (one file)" zpoolfs_file "$z_orig" "$z_compr" "$z_used" "$rss"

mount_zpoolfs "size=$((FS_MIB * 2 + 64))m"
mkdir "$zmnt/tree"
tr '\n' '\0' <"$BENCH_DIR/fscorpus.list" | xargs -0 cp --parents -t "$zmnt/tree"
drop_caches
read -r z_orig z_compr z_used _ <<<"$(zstat)"
show_mem "zpoolfs (files, cp)" zpoolfs_tree "$z_orig" "$z_compr" "$z_used" "$(vmrss)"
unmount_zpoolfs
rm -f "$cat"
noise_report fs "$res"
echo "(memory read after the page cache was dropped; RSS-pool = daemon VmRSS - mem_used_total)"
echo "results: $res"
