#!/usr/bin/env bash
# O_DIRECT opens (the kernel sends their reads and writes straight to the
# daemon, bypassing the page cache): aligned and unaligned reads and writes
# give the bytes of a reference copy, holes read as zeros, reads stop at the
# end of the file, and descriptors with and without O_DIRECT see each other's
# writes at once. dd iflag=direct / oflag=direct of a large file round-trip.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir

M=$WORK/m
zfs_mount "$M" -o size=128m || fail "mount"

python3 - "$M" <<'EOF' || fail "O_DIRECT reads and writes"
import mmap, os, random, sys
m = sys.argv[1]
P = 4096
rng = random.Random(7)

def direct(path, flags):
    return os.open(path, flags | os.O_DIRECT)

# Aligned: a page-aligned buffer, whole pages, then the short tail at EOF.
data = rng.randbytes(37 * P + 123)
path = m + "/a"
with open(path, "wb") as f:
    f.write(data)
fd = direct(path, os.O_RDONLY)
buf = mmap.mmap(-1, 64 * P)
n = os.preadv(fd, [buf], 0)
assert n == len(data) and buf[:n] == data, f"aligned whole-file read: {n}"
n = os.preadv(fd, [buf], 36 * P)
assert n == P + 123 and buf[:n] == data[36 * P:], f"read across EOF: {n}"
assert os.preadv(fd, [buf], 40 * P) == 0, "read past EOF"
# Unaligned offsets and lengths (FUSE does not require alignment).
for i in range(200):
    off = rng.randrange(len(data))
    ln = rng.randrange(1, 3 * P)
    got = os.pread(fd, ln, off)
    assert got == data[off:off + ln], f"unaligned read {i} at {off}+{ln}"
os.close(fd)

# Holes through O_DIRECT are zeros; the hole stays a hole.
path = m + "/h"
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"x" * 10, 9 * P)
os.close(fd)
fd = direct(path, os.O_RDONLY)
got = os.pread(fd, 10 * P, 0)
assert got == bytes(9 * P) + b"x" * 10, "hole through O_DIRECT"
os.close(fd)
assert os.stat(path).st_blocks <= 8, f"hole filled by a read: {os.stat(path).st_blocks}"

# A direct writer and a cached reader (and the other way round) agree.
path = m + "/c"
ref = bytearray(rng.randbytes(16 * P))
with open(path, "wb") as f:
    f.write(ref)
r = os.open(path, os.O_RDONLY)                     # cached descriptor
assert os.pread(r, len(ref), 0) == ref            # its pages are in the cache now
w = direct(path, os.O_RDWR)
for i in range(100):
    off = rng.randrange(16 * P)
    piece = rng.randbytes(rng.randrange(1, 2 * P))
    if i % 2:
        assert os.pwrite(w, piece, off) == len(piece)
    else:
        c = os.open(path, os.O_WRONLY)
        assert os.pwrite(c, piece, off) == len(piece)
        os.close(c)
    ref[off:off + len(piece)] = piece
    assert os.pread(r, len(ref), 0) == ref, f"cached reader after write {i}"
    assert os.pread(w, len(ref), 0) == ref, f"direct reader after write {i}"
os.close(w)
os.close(r)
print("O_DIRECT: aligned, unaligned, holes, EOF and coherence ok")
EOF

# dd with O_DIRECT on both sides of a 24 MiB file of mixed content.
head -c $((8 << 20)) /dev/urandom >"$WORK/ref"
head -c $((8 << 20)) /dev/zero >>"$WORK/ref"
head -c $((8 << 20)) < <(yes "zpoolfs O_DIRECT test line") >>"$WORK/ref"
dd if="$WORK/ref" of="$M/big" bs=1M oflag=direct status=none || fail "dd oflag=direct"
cmp "$WORK/ref" "$M/big" || fail "oflag=direct write differs"
dd if="$M/big" of="$WORK/back" bs=1M iflag=direct status=none || fail "dd iflag=direct"
cmp "$WORK/ref" "$WORK/back" || fail "iflag=direct read differs"
dd if="$M/big" of="$WORK/back2" bs=64k iflag=direct status=none || fail "dd iflag=direct bs=64k"
cmp "$WORK/ref" "$WORK/back2" || fail "iflag=direct bs=64k read differs"

zfs_umount "$M"
echo "ok"
