#!/usr/bin/env bash
# Limits: a write past size= fails with ENOSPC after writing what fits (a
# short write, then ENOSPC), files written before stay intact, overwriting
# stored pages of a full filesystem still works, removing a file gives the
# space back; nr_inodes= runs out with ENOSPC; mem_limit= caps the pool's
# memory (not the file bytes: compressible data goes far past it) and a
# write past it fails with ENOSPC without damaging what is stored.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3 cmp
zfs_workdir

for backend in zsmalloc zbud; do
	M=$WORK/m-$backend
	zfs_mount "$M" -o size=1m,nr_inodes=20,backend=$backend || fail "mount $backend"
	head -c 409600 /dev/urandom >"$WORK/a"
	cp "$WORK/a" "$M/a"
	python3 - "$M" <<'EOF' || fail "$backend: ENOSPC past size="
import errno, os, sys
m = sys.argv[1]
fd = os.open(m + "/b", os.O_WRONLY | os.O_CREAT, 0o644)
data = os.urandom(1 << 20)
n = os.write(fd, data)           # 1 MiB into the 600 KiB left: a short write
assert 0 < n < len(data) and n % 4096 == 0, n
try:
    os.write(fd, data[n:])
    sys.exit("a write into a full filesystem succeeded")
except OSError as e:
    assert e.errno == errno.ENOSPC, e
assert os.fstat(fd).st_size == n
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
assert os.pread(os.open(m + "/b", os.O_RDONLY), n, 0) == data[:n], "the part written is intact"
os.pwrite(fd, os.urandom(8192), 4096)   # overwriting stored pages needs no new space
try:
    os.pwrite(fd, b"x", n + 8192)       # a new page does
    sys.exit("a new page in a full filesystem")
except OSError as e:
    assert e.errno == errno.ENOSPC, e
os.close(fd)
EOF
	assert_eq "$(stat -f -c %f "$M")" 0 "$backend: no block left"
	cmp "$M/a" "$WORK/a" || fail "$backend: a file written before ENOSPC changed"
	touch "$M/empty" || fail "$backend: an empty file needs no block"
	rm "$M/b"
	for _ in $(seq 50); do [ "$(stat -f -c %f "$M")" -gt 0 ] && break; sleep 0.1; done
	assert_eq "$(stat -f -c %f "$M")" 156 "$backend: blocks of the removed file are back"
	# nr_inodes=20: the root and two files are 3.
	for i in $(seq 17); do touch "$M/i$i"; done
	touch "$M/one-too-many" 2>"$WORK/err" && fail "$backend: nr_inodes=20 not enforced"
	grep -q "No space left" "$WORK/err" || fail "$backend: inode limit: $(cat "$WORK/err")"
	mkdir "$M/d" 2>/dev/null && fail "$backend: mkdir past nr_inodes"
	ln "$M/a" "$M/hard" 2>/dev/null && fail "$backend: a hard link takes an inode slot, as on tmpfs"
	rm "$M/i1"
	mkdir "$M/d" || fail "$backend: an inode freed by rm is not reusable"
	zfs_umount "$M"

	# mem_limit: 256 KiB of pool memory for text that compresses well (zbud
	# keeps at most two objects in a page, so it gets less text).
	M=$WORK/l-$backend
	zfs_mount "$M" -o mem_limit=256k,backend=$backend || fail "mount mem_limit"
	text=$([ $backend = zbud ] && echo 409600 || echo 2097152)
	head -c "$text" < <(yes "mem_limit caps the pool, not the file") >"$WORK/text"
	cp "$WORK/text" "$M/text" || fail "$backend: $text bytes of text did not fit in 256 KiB of pool"
	read -r orig compr used limit _ <"$M/.zpool/mm_stat"
	assert_eq "$limit" 262144 "$backend: mm_stat mem_limit"
	[ "$used" -le 262144 ] || fail "$backend: pool uses $used bytes, over mem_limit"
	head -c 1048576 /dev/urandom >"$WORK/rand"
	cp "$WORK/rand" "$M/rand" 2>"$WORK/err" && fail "$backend: 1 MiB of random data fit in mem_limit"
	grep -q "No space left" "$WORK/err" || fail "$backend: mem_limit: $(cat "$WORK/err")"
	read -r orig compr used limit _ <"$M/.zpool/mm_stat"
	[ "$used" -le 262144 ] || fail "$backend: pool uses $used bytes after ENOSPC, over mem_limit"
	cmp "$M/text" "$WORK/text" || fail "$backend: text damaged by a write past mem_limit"
	n=$(stat -c %s "$M/rand")
	cmp -n "$n" "$M/rand" "$WORK/rand" || fail "$backend: the part of rand written is wrong"
	read -r _ failed_writes _ <"$M/.zpool/io_stat"
	[ "$failed_writes" -ge 1 ] || fail "$backend: io_stat failed_writes is $failed_writes"
	zfs_umount "$M"
done
echo ok
