#!/usr/bin/env bash
# mmap: a shared writable mapping reaches the file (read back by read(2)
# after msync and after the page cache is dropped, so from the pool), writes
# through write(2) show in a mapping, a private mapping's writes stay
# private, and a mapping of the last partial page sees zeros after EOF.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir

for backend in zsmalloc zbud; do
	M=$WORK/m-$backend
	zfs_mount "$M" -o backend=$backend || fail "mount $backend"
	python3 - "$M" <<'EOF' || fail "$backend: mmap"
import mmap, os, sys
m = sys.argv[1]
size = 5 * 4096 + 123
orig = os.urandom(size)
with open(m + "/f", "wb") as fh:
    fh.write(orig)

def fresh_read(path):
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    data = os.pread(fd, 1 << 20, 0)
    os.close(fd)
    return data

# Shared mapping: stores reach the file.
fd = os.open(m + "/f", os.O_RDWR)
mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
assert mm[:] == orig, "mapping does not show the file"
mm[100:200] = b"S" * 100
mm[4096 * 3:4096 * 4] = bytes(4096)
mm.flush()
want = bytearray(orig)
want[100:200] = b"S" * 100
want[4096 * 3:4096 * 4] = bytes(4096)
assert os.pread(fd, size, 0) == bytes(want), "read(2) after msync"
mm.close()
os.close(fd)
assert fresh_read(m + "/f") == bytes(want), "the pool does not hold the mapped writes"

# write(2) shows in an existing shared mapping.
fd = os.open(m + "/f", os.O_RDWR)
mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
os.pwrite(fd, b"W" * 10, 5000)
want[5000:5010] = b"W" * 10
assert mm[5000:5010] == b"W" * 10, "write(2) not seen through the mapping"
mm.close()

# Private mapping: copy on write, the file stays as it was.
mp = mmap.mmap(fd, size, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
mp[0:4096] = b"P" * 4096
assert mp[0:4096] == b"P" * 4096
mp.close()
os.close(fd)
assert fresh_read(m + "/f") == bytes(want), "a private mapping changed the file"

# The partial last page: zeros after EOF, even where old bytes were.
fd = os.open(m + "/f", os.O_RDWR)
os.ftruncate(fd, 4096 + 10)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
# Python's mmap stops at EOF; map the whole page through libc.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
addr = libc.mmap(None, 8192, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
assert addr not in (None, ctypes.c_void_p(-1).value), "mmap failed"
assert ctypes.string_at(addr + 4096, 10) == bytes(want[4096:4106])
assert ctypes.string_at(addr + 4106, 4096 - 10) == bytes(4096 - 10), "bytes after EOF in the mapping"
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.munmap(addr, 8192)

# A shared mapping of a sparse file, written in the middle of a hole.
os.ftruncate(fd, 1 << 20)
mm = mmap.mmap(fd, 1 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
mm[500000:500004] = b"hole"
mm.flush()
mm.close()
os.close(fd)
data = fresh_read(m + "/f")
assert data[500000:500004] == b"hole" and data[400000:400100] == bytes(100)
print("shared, private and sparse mappings behave")

# Write-only open, close, then a shared mapping: 300 times (the RELEASE of
# the write-only open and the next OPEN race in the daemon's threads).
for i in range(300):
    p = m + "/w%d" % i
    with open(p, "wb") as fh:
        fh.write(orig)
    fd = os.open(p, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as e:
        raise SystemExit("round %d: shared mmap after a write-only open was closed: %s" % (i, e))
    assert mm[:] == orig, "round %d: the mapping does not show the file" % i
    mm.close()
    os.close(fd)
    os.unlink(p)
EOF
	assert_eq "$(stat -c %b "$M/f")" 24 "$backend: pages 0, 1 and 122 stored after the mappings"
	zfs_umount "$M"
done
echo ok
