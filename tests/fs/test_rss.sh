#!/usr/bin/env bash
# The daemon's memory beyond the pool stays bounded: after four writers and
# then four cold readers (cached and O_DIRECT) of 48 MiB files, VmRSS minus
# mem_used_total is under 10 + 2 x T MiB, T the request threads (two per CPU,
# at least four: 18 MiB on two CPUs). The 10: page tables and allocator
# metadata for 192 MiB, malloc arenas and libraries (about 7 MiB), the page
# provider's resident free pages (up to 2 MiB); the 2 x T: per thread at most
# one 1 MiB request buffer and one 1 MiB reply buffer (main.c, replybuf.c).
# Measured: 15 MiB on two CPUs; 19-22 MiB before reply buffers were shared
# and request threads capped. Every byte read back is compared. Under a
# sanitizer (shadow memory in the RSS) only the data is.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_workdir

cpus=$(nproc)
threads=$((cpus > 2 ? 2 * cpus : 4))
RSS_LIMIT_MIB=$((10 + 2 * threads))
M=$WORK/m
zfs_mount "$M" -o size=512m || fail "mount"
pid=${ZFS_PID[$M]}

# 48 MiB of mixed content: random, zeros and text, 1 MiB each in turn.
ref=$WORK/ref
for i in $(seq 16); do
	head -c $((1 << 20)) /dev/urandom
	head -c $((1 << 20)) /dev/zero
	head -c $((1 << 20)) < <(yes "line $i of the reference file for test_rss")
done >"$ref"

# waitall PID...: wait for each (a bare `wait` would wait for the daemon too).
waitall() {
	local p rc=0
	for p in "$@"; do
		wait "$p" || rc=1
	done
	return $rc
}

pids=()
for i in 1 2 3 4; do
	dd if="$ref" of="$M/f$i" bs=1M conv=fsync status=none &
	pids+=($!)
done
waitall "${pids[@]}" || fail "writers"
sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
pids=()
for i in 1 2; do
	dd if="$M/f$i" of="$WORK/back$i" bs=1M status=none &
	pids+=($!)
done
for i in 3 4; do
	dd if="$M/f$i" of="$WORK/back$i" bs=1M iflag=direct status=none &
	pids+=($!)
done
waitall "${pids[@]}" || fail "readers"
for i in 1 2 3 4; do
	cmp "$ref" "$WORK/back$i" || fail "file $i read back differs"
done

used=$(awk '{ print $3 }' "$M/.zpool/mm_stat")
rss=$(awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$pid/status")
beyond=$(((rss - used) >> 20))
echo "VmRSS $((rss >> 20)) MiB, pool $((used >> 20)) MiB, beyond the pool $beyond MiB," \
	"threads $(ls "/proc/$pid/task" | wc -l)"
case "$(ldd "$ZPOOLFS")" in
*libasan* | *libtsan*)
	echo "sanitized daemon: RSS not compared with the limit"
	;;
*)
	[ "$beyond" -lt "$RSS_LIMIT_MIB" ] ||
		fail "RSS beyond the pool is $beyond MiB, the limit $RSS_LIMIT_MIB MiB"
	;;
esac
zfs_umount "$M" || fail "unmount"
echo "ok"
