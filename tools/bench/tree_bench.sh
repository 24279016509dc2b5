#!/usr/bin/env bash
# tree_bench.sh - a tree of small files (Debian's linux-source-6.1) on tmpfs, on ext4 on
# zram (lz4) and on zpoolfs, in one run, round by round.
#
#   BUILD=build BENCH_TREE_ROUNDS=3 bash tools/bench/tree_bench.sh
#
# Knobs:
#   BENCH_TREE_ROUNDS=3       rounds; each round runs every filesystem once, in turn
#   BENCH_TREE_DIRS="fs mm"   only these top-level directories of the tree (quick runs);
#                             empty: the whole tree (78 579 files, 5 153 directories)
#   BENCH_TREE_CP=drivers     the directory copied by the cp step (the first of
#                             BENCH_TREE_DIRS when it is not among them)
#   BENCH_TREE_PAR=fs         the subtree extracted by the parallel step
#   BENCH_TREE_FS="tmpfs ext4 zpoolfs"   which filesystems; "zuring" is zpoolfs with
#                             -o uring (requests over io_uring; the fuse module's
#                             enable_uring must be Y), measured beside zpoolfs in one run
#   BENCH_TREE_ZOPTS=...      extra zpoolfs -o options (lever trials)
#   BENCH_TREE_BASE=PATH      another zpoolfs binary (an earlier build), measured as the
#                             filesystem "zbase" when BENCH_TREE_FS names it: before and
#                             after a change in the same run
#   BENCH_TREE_CACHE=/var/cache/zpoolfs/tree   where the package and the plain tar live
#
# The tree comes from the Debian package linux-source-6.1 (apt-get download, once),
# decompressed once to a plain tar in the cache, so xz is never measured. Steps, each
# timed on its own, size=8g everywhere:
#   untar      tar -xf of the whole tar
#   find       cold (drop_caches first) find -type f -printf '%s\n'
#   grep       cold grep -r over the tree for a string that is nowhere
#   cp         cp -a of one directory beside itself
#   rm         rm -rf of the tree and of the copy
#   par1/par4  the BENCH_TREE_PAR subtree extracted once by one tar, then four times at
#              once by four tars into four directories: throughput ratio = 4 t1 / t4
# Memory after the untar: tmpfs Shmem growth; zram mem_used_total (sync first); zpoolfs
# pool (mm_stat mem_used_total) and the daemon's RSS beyond it, per inode.
# zpoolfs's requests file is read around every step: requests per file, by opcode.
# ext4 uses a zram device of its own (hot_add), removed at exit.
# Results: $BUILD/bench/tree.tsv, the per-opcode counts of the last round in
# $BUILD/bench/tree-requests.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
ROUNDS=${BENCH_TREE_ROUNDS:-3}
DIRS=${BENCH_TREE_DIRS:-}
CP_DIR=${BENCH_TREE_CP:-drivers}
PAR_DIR=${BENCH_TREE_PAR:-fs}
FSLIST=${BENCH_TREE_FS:-tmpfs ext4 zpoolfs}
ZOPTS=${BENCH_TREE_ZOPTS:-}
CACHE=${BENCH_TREE_CACHE:-/var/cache/zpoolfs/tree}
PKG=linux-source-6.1
TOP=linux-source-6.1
res=$BENCH_DIR/tree.tsv
reqlog=$BENCH_DIR/tree-requests.txt
. tools/bench/meta.sh

mkdir -p "$BENCH_DIR"
meta_lines >"$res"

skip() {
	echo "tree benchmark skipped: $*"
	printf 'tree\tskipped\t%s\t0\t0\t-\n' "$*" >>"$res"
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root (mounts, zram, drop_caches)"
[ -x "$BUILD/zpoolfs" ] || skip "$BUILD/zpoolfs is not built"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"
[ -w /sys/class/zram-control/hot_add ] || skip "no zram-control (modprobe zram)"

# ---- the tree, once

# prepare: $CACHE/$PKG.tar (plain), downloaded and decompressed if missing.
prepare() {
	local deb
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	if [ ! -s "$CACHE/$PKG.tar" ]; then
		deb=$(ls "$CACHE"/"$PKG"_*_all.deb 2>/dev/null | tail -n 1 || true)
		if [ -z "$deb" ]; then
			echo "tree: downloading $PKG into $CACHE"
			(cd "$CACHE" && apt-get download "$PKG" >/dev/null 2>&1) ||
				skip "apt-get download $PKG failed"
			deb=$(ls "$CACHE"/"$PKG"_*_all.deb | tail -n 1)
		fi
		echo "tree: decompressing $deb once to $CACHE/$PKG.tar"
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$PKG.tar.xz" | xz -dc -T2 \
			>"$CACHE/$PKG.tar.part"
		mv "$CACHE/$PKG.tar.part" "$CACHE/$PKG.tar"
	fi
	flock -u 9
}

# subtar NAME DIR...: $CACHE/NAME.tar holding only $TOP/DIR... (made once). Prints its path.
subtar() {
	local name=$1 tmp
	shift
	if [ ! -s "$CACHE/$name.tar" ]; then
		tmp=$(mktemp -d "$CACHE/sub.XXXXXX")
		tar -xf "$CACHE/$PKG.tar" -C "$tmp" "${@/#/$TOP/}"
		tar -cf "$CACHE/$name.tar.part" -C "$tmp" "$TOP"
		rm -rf "$tmp"
		mv "$CACHE/$name.tar.part" "$CACHE/$name.tar"
	fi
	echo "$CACHE/$name.tar"
}

# count TAR: "files dirs" of a tar (cached beside it).
count() {
	if [ ! -s "$1.count" ]; then
		tar -tvf "$1" | awk '/^-/ { f++ } /^d/ { d++ } END { print f + 0, d + 0 }' >"$1.count"
	fi
	cat "$1.count"
}

prepare
TAR=$CACHE/$PKG.tar
if [ -n "$DIRS" ]; then
	# shellcheck disable=SC2086
	TAR=$(subtar "subset-$(echo $DIRS | tr ' /' '_-')" $DIRS)
	case " $DIRS " in *" $CP_DIR "*) ;; *) CP_DIR=${DIRS%% *} ;; esac
fi
PAR_TAR=$(subtar "par-$(echo "$PAR_DIR" | tr '/' '-')" "$PAR_DIR")
read -r NFILES NDIRS <<<"$(count "$TAR")"
read -r PFILES PDIRS <<<"$(count "$PAR_TAR")"
echo
echo "== tree benchmark: $(basename "$TAR") ($NFILES files, $NDIRS directories), $ROUNDS rounds," \
	"cp of $CP_DIR, parallel step on $PAR_DIR ($PFILES files)"
noise_start

# ---- filesystems

work=$(mktemp -d /tmp/zpoolfs-tree.XXXXXX)
mnt=$work/mnt
mkdir -p "$mnt"
zdev=
zpid=

zdevs_stuck=

zram_new() {
	local n
	if [ -n "$zdev" ] && ! reset_zram; then
		# still held: leave it for the exit, go on with a new one
		zdevs_stuck="$zdevs_stuck $zdev"
		zdev=
	fi
	if [ -z "$zdev" ]; then
		n=$(cat /sys/class/zram-control/hot_add)
		zdev=zram$n
	fi
	echo lz4 >"/sys/block/$zdev/comp_algorithm"
	echo 8G >"/sys/block/$zdev/disksize"
}

reset_zram() {
	local i
	[ -n "$zdev" ] || return 0
	for ((i = 0; i < 50; i++)); do
		echo 1 >"/sys/block/$zdev/reset" 2>/dev/null && return 0
		sleep 0.2	# udev may still hold it
	done
	echo "tree: could not reset /dev/$zdev yet" >&2
	return 1
}

unmount_all() {
	if mountpoint -q "$mnt"; then
		if [ -n "$zpid" ]; then
			fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
			wait "$zpid" 2>/dev/null || true
			zpid=
		else
			umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
		fi
	fi
}

cleanup() {
	unmount_all
	for zdev in $zdev $zdevs_stuck; do
		reset_zram || true
		echo "${zdev#zram}" >/sys/class/zram-control/hot_remove 2>/dev/null ||
			echo "tree: could not remove /dev/$zdev" >&2
	done
	rm -rf "$work"
}
trap cleanup EXIT

shmem_kib() { awk '/^Shmem:/ { print $2 }' /proc/meminfo; }

mount_fs() {
	local i
	case $1 in
	tmpfs)
		SHMEM0=$(shmem_kib)
		mount -t tmpfs -o size=8g tmpfs "$mnt"
		;;
	ext4)
		zram_new
		mkfs.ext4 -q -O ^has_journal "/dev/$zdev"
		mount "/dev/$zdev" "$mnt"
		;;
	zpoolfs | zbase | zuring)
		bin=$BUILD/zpoolfs opts=size=8g${ZOPTS:+,$ZOPTS}
		[ "$1" = zbase ] && bin=${BENCH_TREE_BASE:?BENCH_TREE_BASE names the zbase binary}
		[ "$1" = zuring ] && opts=$opts,uring
		"$bin" "$mnt" -f -o "$opts" >"$work/zpoolfs.log" 2>&1 &
		zpid=$!
		for ((i = 0; i < 200; i++)); do
			grep -q " $mnt fuse" /proc/mounts && return 0
			kill -0 "$zpid" 2>/dev/null || break
			sleep 0.05
		done
		cat "$work/zpoolfs.log" >&2
		echo "tree: zpoolfs did not mount" >&2
		exit 1
		;;
	esac
}

umount_fs() {
	unmount_all
	[ "$1" = ext4 ] && sync	# the device is reset before its next use
	return 0
}

# memory FS ROUND [SUFFIX]: bytes held after the untar (zpoolfs's parts as
# metrics mem_pool, mem_beyond_pool... with SUFFIX appended)
memory() {
	local used rss beyond
	case $1 in
	tmpfs)
		echo $((($(shmem_kib) - SHMEM0) * 1024))
		;;
	ext4)
		sync
		awk '{ print $3 }' "/sys/block/$zdev/mm_stat"
		;;
	zpoolfs | zbase | zuring)
		used=$(awk '{ print $3 }' "$mnt/.zpool/mm_stat")
		rss=$(($(awk '/^VmRSS:/ { print $2 }' "/proc/$zpid/status") * 1024))
		beyond=$((rss - used))
		printf 'tree\tmem_pool%s\t%s\t%s\t%d\tbytes\n' "${3:-}" "$1" "$2" "$used" >>"$res"
		printf 'tree\tmem_beyond_pool%s\t%s\t%s\t%d\tbytes\n' "${3:-}" "$1" "$2" "$beyond" >>"$res"
		printf 'tree\tmem_beyond_per_inode%s\t%s\t%s\t%d\tbytes\n' "${3:-}" "$1" "$2" \
			$((beyond / (NFILES + NDIRS))) >>"$res"
		echo "$rss"
		;;
	esac
}

# settle FS: for zpoolfs, wait until packing (pack_after=, fs/tier/pack.c) has
# moved what it will: pages_packed grew and then stayed put for a whole pass
# period and more (a pass every pack_after / 2 s: 20 s with the default 30; 8 s
# was too short, it ended between two passes), at most BENCH_TREE_SETTLE s (240).
# Others: nothing.
settle() {
	local i last=-1 now still=0 pa quiet
	case $1 in zpoolfs | zbase | zuring) ;; *) return 0 ;; esac
	pa=$(sed -n 's/.*pack_after=\([0-9]*\).*/\1/p' <<<"$ZOPTS")
	quiet=$((${pa:-30} / 2 + 5))
	[ $quiet -ge 8 ] || quiet=8
	for ((i = 0; i < ${BENCH_TREE_SETTLE:-240}; i++)); do
		now=$(jq '.counters.pages_packed // 0' "$mnt/.zpool/stats.json")
		if [ "$now" = "$last" ] && [ "$now" -gt 0 ]; then
			still=$((still + 1))
			[ $still -ge $quiet ] && break
		else
			still=0
		fi
		last=$now
		sleep 1
	done
	printf 'tree\tsettle_s\t%s\t-\t%d\ts\n' "$1" "$i" >>"$res"
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# reqsnap: zpoolfs's requests file as "NAME count" lines (nothing for other filesystems)
reqsnap() {
	[ -n "$zpid" ] || return 0
	awk 'NR > 1 { print $1, $2 }' "$mnt/.zpool/requests"
}

# timed FS ROUND STEP FILES CMD...: run CMD, record seconds and (zpoolfs) requests per file
timed() {
	local fs=$1 round=$2 step=$3 files=$4 t0 t1 before after secs
	shift 4
	before=$(reqsnap)
	t0=$(date +%s%N)
	"$@"
	t1=$(date +%s%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	printf 'tree\t%s\t%s\t%s\t%s\ts\n' "$step" "$fs" "$round" "$secs" >>"$res"
	if [ -n "$zpid" ]; then
		after=$(reqsnap)
		awk -v step="$step" -v fs="$fs" -v round="$round" -v files="$files" -v res="$res" \
		    -v rlog="$reqlog" -v b="$before" -v a="$after" 'BEGIN {
			n = split(b, bl, "\n"); for (i = 1; i <= n; i++) { split(bl[i], f, " "); was[f[1]] = f[2] }
			n = split(a, al, "\n"); line = ""
			for (i = 1; i <= n; i++) {
				split(al[i], f, " "); d = f[2] - was[f[1]]
				if (f[1] == "" || d <= 0) continue
				tot += d; line = line sprintf(" %s=%d", f[1], d)
			}
			printf "tree\treq_per_file_%s\t%s\t%s\t%.3f\treq/file\n", step, fs, round,
				tot / files >> res
			printf "round %s %-7s %-7s %8d requests (%.2f per file):%s\n", round, fs, step,
				tot, tot / files, line >> rlog
		}'
	fi
}

grep_tree() { grep -r -l zpoolfs-tree-bench-needle-absent "$mnt/$TOP" || [ $? -eq 1 ]; }

par4() {
	local i pids=()
	for i in 2 3 4 5; do
		mkdir -p "$mnt/p$i"
		tar -xf "$PAR_TAR" -C "$mnt/p$i" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
}

cp_files=$(tar -tvf "$TAR" "$TOP/$CP_DIR" 2>/dev/null | grep -c '^-' || true)
[ "$cp_files" -gt 0 ] || cp_files=1

run_one() {
	local fs=$1 r=$2 mem
	mount_fs "$fs"
	cat "$TAR" >/dev/null	# the source in the page cache: the disk is not measured
	timed "$fs" "$r" untar "$NFILES" tar -xf "$TAR" -C "$mnt"
	mem=$(memory "$fs" "$r")
	printf 'tree\tmem_after_untar\t%s\t%s\t%d\tbytes\n' "$fs" "$r" "$mem" >>"$res"
	settle "$fs"
	mem=$(memory "$fs" "$r" _settled)
	printf 'tree\tmem_settled\t%s\t%s\t%d\tbytes\n' "$fs" "$r" "$mem" >>"$res"
	drop_caches
	timed "$fs" "$r" find "$NFILES" sh -c "find '$mnt/$TOP' -type f -printf '%s\n' >/dev/null"
	drop_caches
	timed "$fs" "$r" grep "$NFILES" grep_tree
	timed "$fs" "$r" cp "$cp_files" cp -a "$mnt/$TOP/$CP_DIR" "$mnt/$TOP/$CP_DIR-copy"
	timed "$fs" "$r" rm "$NFILES" rm -rf "$mnt/$TOP"
	mkdir -p "$mnt/p1"
	cat "$PAR_TAR" >/dev/null
	timed "$fs" "$r" par1 "$PFILES" tar -xf "$PAR_TAR" -C "$mnt/p1"
	timed "$fs" "$r" par4 $((4 * PFILES)) par4
	rm -rf "$mnt"/p1 "$mnt"/p2 "$mnt"/p3 "$mnt"/p4 "$mnt"/p5
	umount_fs "$fs"
}

: >"$reqlog"
for ((r = 1; r <= ROUNDS; r++)); do
	for fs in $FSLIST; do
		echo "round $r: $fs"
		run_one "$fs" "$r"
	done
done
noise_report tree "$res"

# ---- the table: medians (min-max) per step, ratios of medians, requests per file
awk -F'\t' -v fslist="$FSLIST" -v nf="$NFILES" -v nd="$NDIRS" '
function median(key,   n, i, j, v, t) {
	n = cnt[key]; if (!n) return -1
	for (i = 1; i <= n; i++) v[i] = val[key, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	lo[key] = v[1]; hi[key] = v[n]
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
$1 == "tree" && $6 != "-" { key = $2 SUBSEP $3; cnt[key]++; val[key, cnt[key]] = $5 }
END {
	nfs = split(fslist, fss, " ")
	nz = 0
	for (i = 1; i <= nfs; i++) if (fss[i] == "zpoolfs" || fss[i] == "zbase" || fss[i] == "zuring") zs[++nz] = fss[i]
	printf "\n%-8s", "step (s)"
	for (i = 1; i <= nfs; i++) printf " %20s", fss[i] " (min-max)"
	for (i = 1; i <= nz; i++) printf " %12s %9s", zs[i] "/ext4", "req/file"
	printf "\n"
	split("untar find grep cp rm par1 par4", steps, " ")
	for (s = 1; s <= 7; s++) {
		st = steps[s]; printf "%-8s", st
		for (i = 1; i <= nfs; i++) {
			m = median(st SUBSEP fss[i]); med[st, fss[i]] = m
			if (m < 0) printf " %20s", "-"
			else printf " %6.2f (%5.2f-%5.2f)", m, lo[st SUBSEP fss[i]], hi[st SUBSEP fss[i]]
		}
		e = med[st, "ext4"]
		for (i = 1; i <= nz; i++) {
			z = med[st, zs[i]]
			printf " %12s", (z > 0 && e > 0) ? sprintf("%.2fx", z / e) : "-"
			rq = median("req_per_file_" st SUBSEP zs[i])
			printf " %9s", (rq >= 0) ? sprintf("%.2f", rq) : "-"
		}
		printf "\n"
	}
	for (i = 1; i <= nfs; i++) {
		f = fss[i]; t1 = med["par1", f]; t4 = med["par4", f]
		if (t1 > 0 && t4 > 0)
			printf "parallel %-8s four tars %.2fx the throughput of one\n", f, 4 * t1 / t4
	}
	printf "\nmemory after the untar (MiB, median):"
	for (i = 1; i <= nfs; i++) {
		m = median("mem_after_untar" SUBSEP fss[i])
		if (m >= 0) printf "  %s %.0f", fss[i], m / 1048576
	}
	printf "\n"
	printf "memory once settled (zpoolfs: packed, pack_after=; MiB, median):"
	for (i = 1; i <= nfs; i++) {
		m = median("mem_settled" SUBSEP fss[i])
		if (m >= 0) printf "  %s %.0f", fss[i], m / 1048576
	}
	printf "\n"
	for (i = 1; i <= nz; i++) {
		p = median("mem_pool" SUBSEP zs[i]); b = median("mem_beyond_pool" SUBSEP zs[i])
		if (p >= 0)
			printf "%s: pool %.0f MiB + daemon beyond the pool %.1f MiB = %.0f bytes per inode (%d inodes)\n",
				zs[i], p / 1048576, b / 1048576, b / (nf + nd), nf + nd
		p = median("mem_pool_settled" SUBSEP zs[i]); b = median("mem_beyond_pool_settled" SUBSEP zs[i])
		if (p >= 0)
			printf "%s settled: pool %.0f MiB + daemon beyond the pool %.1f MiB\n",
				zs[i], p / 1048576, b / 1048576
	}
}' "$res"
echo "tree: results in $res, requests by opcode in $reqlog"
