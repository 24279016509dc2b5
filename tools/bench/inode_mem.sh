#!/usr/bin/env bash
# inode_mem.sh - the daemon's memory per inode beyond the pool (issue 11, "Metadata memory").
#
#   BUILD=build bash tools/bench/inode_mem.sh          (make bench-imem)
#
# For each workload a fresh zpoolfs is mounted (a private temporary directory), its RSS taken
# once mounted and idle ("empty daemon"), then the workload is run inside it and
#   per inode = growth of (RSS - pool mem_used_total) / inodes created
# is reported, for the second half of the workload (run twice, into a/ and b/: fixed costs
# such as the request threads' first buffers fall in the first half) and for all of it.
# Workloads:
#   empty      N empty files in 10 directories
#   1k 5k 17k  N files of that size (text-like, different in every file) in 10 directories
#   tree       the fs/ subtree of the cached kernel tar (make bench-tree fetches it once;
#              skipped when it is not there)
#   kernel     the whole kernel tar, twice (78 579 files each; minutes, not in the default list)
# Knobs:
#   BENCH_IMEM_N=20000              files per synthetic workload
#   BENCH_IMEM_WORK="empty 1k 5k 17k tree"
#   BENCH_IMEM_ROUNDS=1             rounds (each runs every binary and workload once, in turn)
#   BENCH_IMEM_BASE=PATH            another zpoolfs binary (an earlier build), measured beside
#                                   $BUILD/zpoolfs in the same run as "base"
#   BENCH_IMEM_ZOPTS=...            extra -o options
#   BENCH_IMEM_ENV="MALLOC_ARENA_MAX=1"   environment for the daemon (malloc trials)
#   BENCH_IMEM_ZSPAGE=128           the base binary's struct zspage size, if fixed (older builds)
#   BENCH_TREE_CACHE=/var/cache/zpoolfs/tree
# Results: $BUILD/bench/imem.tsv (bytes per inode, and the parts: RSS, pool, empty daemon).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
N=${BENCH_IMEM_N:-20000}
WORK=${BENCH_IMEM_WORK:-empty 1k 5k 17k tree}
ROUNDS=${BENCH_IMEM_ROUNDS:-1}
ZOPTS=${BENCH_IMEM_ZOPTS:-}
DENV=${BENCH_IMEM_ENV:-}
CACHE=${BENCH_TREE_CACHE:-/var/cache/zpoolfs/tree}
TAR=$CACHE/linux-source-6.1.tar
res=$BENCH_DIR/imem.tsv
. tools/bench/meta.sh

mkdir -p "$BENCH_DIR"
meta_lines >"$res"

skip() {
	echo "imem benchmark skipped: $*"
	printf 'imem\tskipped\t%s\t0\t0\t-\n' "$*" >>"$res"
	exit 0
}

[ -x "$BUILD/zpoolfs" ] || skip "$BUILD/zpoolfs is not built"
[ -w /dev/fuse ] || skip "no writable /dev/fuse"
command -v python3 >/dev/null || skip "no python3"

BINS="new"
[ -n "${BENCH_IMEM_BASE:-}" ] && BINS="base new"

work=$(mktemp -d /tmp/zpoolfs-imem.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
zpid=

unmount() {
	if [ -n "$zpid" ]; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
		wait "$zpid" 2>/dev/null || true
		zpid=
	fi
}

cleanup() {
	unmount
	rm -rf "$work"
}
trap cleanup EXIT

mount_fs() {
	local bin=$BUILD/zpoolfs i
	[ "$1" = base ] && bin=$BENCH_IMEM_BASE
	env $DENV "$bin" "$mnt" -f -o size=8g${ZOPTS:+,$ZOPTS} >"$work/zpoolfs.log" 2>&1 &
	zpid=$!
	for ((i = 0; i < 200; i++)); do
		grep -q " $mnt fuse" /proc/mounts && return 0
		kill -0 "$zpid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/zpoolfs.log" >&2
	echo "imem: zpoolfs did not mount" >&2
	exit 1
}

rss() { echo $(($(awk '/^VmRSS:/ { print $2 }' "/proc/$zpid/status") * 1024)); }
pool() { awk '{ print $3 }' "$mnt/.zpool/mm_stat"; }

# make_files DIR N SIZE: N files of SIZE bytes in 10 directories, every file different
make_files() {
	python3 - "$1" "$2" "$3" <<'EOF'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = b"static int struct return if else for while unsigned long void char const ".split()
line = b" ".join(words) + b"\n"
body = (line * (size // len(line) + 1))[:size]
os.mkdir(root)
for d in range(10):
    os.mkdir(os.path.join(root, "d%d" % d))
for i in range(n):
    p = os.path.join(root, "d%d" % (i % 10), "f%06d.c" % i)
    with open(p, "wb") as f:
        if size:
            tag = b"/* %08d */" % i + root.encode()[-1:]
            f.write(tag + body[len(tag):])
EOF
}

# half WORKLOAD DIR: the workload's files under DIR
half() {
	case $1 in
	empty) make_files "$2" $((N / 2)) 0 ;;
	1k) make_files "$2" $((N / 2)) 1024 ;;
	5k) make_files "$2" $((N / 2)) 5120 ;;
	17k) make_files "$2" $((N / 2)) 17408 ;;
	tree | kernel)
		mkdir "$2"
		if [ "$1" = tree ]; then
			tar -C "$2" -xf "$TAR" --wildcards 'linux-source-6.1/fs/*'
		else
			tar -C "$2" -xf "$TAR"
		fi
		;;
	esac
}

# held: daemon RSS minus the pool's mem_used_total, in bytes
held() {
	sync
	sleep 0.5
	echo $(($(rss) - $(pool)))
}

# one BIN WORKLOAD ROUND: the workload twice, into a/ then b/. Per inode: the second half's
# growth over its inodes (fixed costs such as the request threads' first buffers fall in
# the first half), and the whole over all inodes beside it.
one() {
	local bin=$1 w=$2 r=$3 base h1 h2 i1 i2 per all zmeta
	mount_fs "$bin"
	stat "$mnt" >/dev/null
	sleep 0.2
	base=$(rss)
	half "$w" "$mnt/a"
	h1=$(held)
	i1=$(find "$mnt/a" | wc -l)
	half "$w" "$mnt/b"
	h2=$(held)
	i2=$(($(find "$mnt" -path "$mnt/.zpool" -prune -o -print | wc -l) - 1))
	per=$(((h2 - h1) / (i2 - i1)))
	all=$(((h2 - base) / i2))
	# libzpool's own metadata in that: a struct zspage per zspage (64-byte units: 48 bytes
	# + 8 a page; BENCH_IMEM_ZSPAGE=128 for builds before they were sized to their pages),
	# 10 bytes of handle slot and size per object (alloc/zs_internal.h); zsmalloc only
	zmeta=$(python3 -c 'import json, sys
z = json.load(open(sys.argv[1])).get("zsmalloc")
fixed = int(sys.argv[2])
def size(k):
    return fixed if fixed else (48 + 8 * k + 63) // 64 * 64
print(sum(c["pages_used"] // c["pages_per_zspage"] * size(c["pages_per_zspage"])
          for c in z["classes"]) + z["obj_allocated"] * 10 if z else 0)' \
		"$mnt/.zpool/stats.json" "$([ "$bin" = base ] && echo "${BENCH_IMEM_ZSPAGE:-0}" || echo 0)")
	printf '%-5s %-6s round %d: %6d inodes, held beyond the pool %9d (empty daemon %7d): %4d B/inode (second half), %4d B/inode (all), of which libzpool metadata %3d\n' \
		"$bin" "$w" "$r" "$i2" "$h2" "$base" "$per" "$all" $((zmeta / i2))
	printf 'imem\tper_inode\t%s-%s\t%d\t%d\tbytes\n' "$bin" "$w" "$r" "$per" >>"$res"
	printf 'imem\tper_inode_all\t%s-%s\t%d\t%d\tbytes\n' "$bin" "$w" "$r" "$all" >>"$res"
	printf 'imem\tbeyond_pool\t%s-%s\t%d\t%d\tbytes\n' "$bin" "$w" "$r" "$h2" >>"$res"
	printf 'imem\tzpool_meta_per_inode\t%s-%s\t%d\t%d\tbytes\n' "$bin" "$w" "$r" $((zmeta / i2)) >>"$res"
	printf 'imem\tempty_daemon\t%s-%s\t%d\t%d\tbytes\n' "$bin" "$w" "$r" "$base" >>"$res"
	printf 'imem\tinodes\t%s-%s\t%d\t%d\tcount\n' "$bin" "$w" "$r" "$i2" >>"$res"
	unmount
}

noise_start
for ((r = 1; r <= ROUNDS; r++)); do
	for w in $WORK; do
		if { [ "$w" = tree ] || [ "$w" = kernel ]; } && [ ! -r "$TAR" ]; then
			echo "imem: $TAR not there (make bench-tree fetches it): tree skipped"
			continue
		fi
		for b in $BINS; do
			one "$b" "$w" "$r"
		done
	done
done
noise_report imem "$res"
echo "imem: results in $res"
