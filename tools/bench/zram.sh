#!/usr/bin/env bash
# zram.sh - the kernel's zram as the baseline of the benchmarks.
#
# Sourced: defines zram_usable, zram_setup ALGO BYTES, zram_reset, zram_mm_stat, zram_field N.
# Run:     zram.sh alloc BENCH_DIR RESULTS
#          stores BENCH_DIR/corpus.pages (the allocator corpus' pages, uncompressed) in
#          /dev/zram0 with lz4, discards the half alloc_bench freed (BENCH_DIR/freed.idx),
#          compacts, and prints mem_used_total / compr_data_size at each step beside
#          the user-space drivers' numbers from RESULTS.
# zram is always left reset: the caller's trap should call zram_reset too.

ZRAM_DEV=${ZRAM_DEV:-zram0}
ZRAM_SYS=/sys/block/$ZRAM_DEV

# zram_usable: 0 when we are root and the device is there; else prints why not.
zram_usable() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "not root"
		return 1
	fi
	if [ ! -w "$ZRAM_SYS/reset" ] || [ ! -b "/dev/$ZRAM_DEV" ]; then
		echo "no /sys/block/$ZRAM_DEV (modprobe zram)"
		return 1
	fi
	return 0
}

zram_reset() {
	[ -w "$ZRAM_SYS/reset" ] || return 0
	# A reset fails while the device is open; retry briefly.
	for _ in 1 2 3 4 5; do
		echo 1 >"$ZRAM_SYS/reset" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "zram: could not reset /dev/$ZRAM_DEV" >&2
	return 1
}

# zram_setup ALGO BYTES
zram_setup() {
	zram_reset || return 1
	if ! grep -qw "$1" "$ZRAM_SYS/comp_algorithm"; then
		echo "zram: the kernel has no $1 for zram" >&2
		return 1
	fi
	echo "$1" >"$ZRAM_SYS/comp_algorithm" || return 1
	echo "$2" >"$ZRAM_SYS/disksize" || return 1
}

# zram_mm_stat: the nine numbers of mm_stat on one line
zram_mm_stat() {
	sync
	tr -s ' ' <"$ZRAM_SYS/mm_stat" | sed 's/^ //'
}

# zram_field LINE N: the N-th mm_stat column (1 orig_data_size, 2 compr_data_size,
# 3 mem_used_total, 4 mem_limit, 5 mem_used_max, 6 same_pages, 7 pages_compacted,
# 8 huge_pages, 9 huge_pages_since)
zram_field() {
	echo "$1" | awk -v n="$2" '{ print $n }'
}

zram_alloc() {
	local dir=$1 res=$2 pages bytes size s1 s2 s3
	pages=$dir/corpus.pages
	bytes=$(stat -c %s "$pages")
	size=$(( (bytes / 1048576 + 64) * 1048576 ))
	zram_setup lz4 "$size" || return 1
	dd if="$pages" of="/dev/$ZRAM_DEV" bs=1M oflag=direct status=none || return 1
	s1=$(zram_mm_stat)
	"${BENCH_BIN:-${BUILD:-build}/bench}/zram_discard" "/dev/$ZRAM_DEV" "$dir/freed.idx" \
		>/dev/null || return 1
	s2=$(zram_mm_stat)
	echo 1 >"$ZRAM_SYS/compact"
	s3=$(zram_mm_stat)
	zram_reset

	awk -v s1="$s1" -v s2="$s2" -v s3="$s3" -v res="$res" -v bytes="$bytes" '
	BEGIN {
		split(s1, a); split(s2, b); split(s3, c)
		while ((getline line < res) > 0) {
			split(line, f, "\t")
			if (f[1] != "alloc" || f[3] == "glibc")
				continue
			if (f[2] == "mem_overhead") full[f[3]] = f[5]
			if (f[2] == "mem_compact_overhead") comp[f[3]] = f[5]
		}
		close(res)
		o1 = a[3] / a[2]; o2 = b[3] / b[2]; o3 = c[3] / c[2]
		printf "\nkernel zram (lz4) on the same pages: %.1f MiB written, " \
			"%.1f MiB compressed, %d huge pages, %d same-filled\n",
			a[1] / 1048576, a[2] / 1048576, a[8], a[6]
		printf "%-9s %10s %10s %9s | %10s %10s %9s %9s %9s\n", "memory", "stored MiB",
			"pool MiB", "overhead", "kept MiB", "pool MiB", "overhead", "compacted",
			"overhead"
		printf "%-9s %10.1f %10.1f %9.4f | %10.1f %10.1f %9.4f %9d %9.4f\n", "zram",
			a[2] / 1048576, a[3] / 1048576, o1, b[2] / 1048576, b[3] / 1048576, o2,
			c[7] - b[7], o3
		printf "zram\tmem_stored_bytes\tkernel\t1\t%d\tbytes\n", a[2] >> res
		printf "zram\tmem_pool_bytes\tkernel\t1\t%d\tbytes\n", a[3] >> res
		printf "zram\tmem_overhead\tkernel\t1\t%.6g\tratio\n", o1 >> res
		printf "zram\tmem_half_overhead\tkernel\t1\t%.6g\tratio\n", o2 >> res
		printf "zram\tmem_compact_overhead\tkernel\t1\t%.6g\tratio\n", o3 >> res
		printf "zram\tmem_compact_pages\tkernel\t1\t%d\tpages\n", c[7] - b[7] >> res
		printf "zram\thuge_pages\tkernel\t1\t%d\tpages\n", a[8] >> res
		printf "\n%-9s %24s %34s\n", "vs zram", "overhead full / kernel",
			"after free-half+compact / kernel"
		for (d in full) {
			printf "%-9s %23.3fx %33.3fx\n", d, full[d] / o1, comp[d] / o3
			printf "alloc\tmem_overhead_vs_zram\t%s\t1\t%.6g\tratio\n", d,
				full[d] / o1 >> res
			printf "alloc\tmem_compact_overhead_vs_zram\t%s\t1\t%.6g\tratio\n", d,
				comp[d] / o3 >> res
		}
	}'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	alloc)
		trap zram_reset EXIT
		if ! why=$(zram_usable); then
			echo "zram comparison skipped: $why"
			exit 0
		fi
		zram_alloc "$2" "$3"
		;;
	*)
		echo "usage: zram.sh alloc BENCH_DIR RESULTS" >&2
		exit 2
		;;
	esac
fi
