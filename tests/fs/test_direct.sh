#!/usr/bin/env bash
# Opens for writing only are served with direct_io (ops_file.c); the file
# reads the same through every open whatever mix of direct and cached opens
# it has had: pages cached before a direct open, readers opened while a
# direct writer is open, writers opened while a cached reader is open. A
# direct write clears set-id bits that appeared after the open, as a cached
# write would, unless the writer holds CAP_FSETID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir

M=$WORK/m
zfs_mount "$M" -o size=64m || fail "mount"

python3 - "$M" <<'EOF' || fail "coherence between direct and cached opens"
import os, sys
m = sys.argv[1]
P = 4096

def fresh(path):
    fd = os.open(path, os.O_RDONLY)
    data = os.pread(fd, 1 << 22, 0)
    os.close(fd)
    return data

# Cached pages from before, then a write-only open that does not truncate.
path = m + "/f"
with open(path, "wb") as f:
    f.write(b"a" * (8 * P))
assert fresh(path) == b"a" * (8 * P)          # now in the page cache
fd = os.open(path, os.O_WRONLY)
os.pwrite(fd, b"b" * (3 * P + 5), P + 7)
want = b"a" * (P + 7) + b"b" * (3 * P + 5) + b"a" * (4 * P - 12)
assert fresh(path) == want, "a reader opened during the direct write"
os.close(fd)
assert fresh(path) == want, "a reader opened after the direct write"

# A reader opened while a write-only open exists sees every write at once,
# through the same descriptor, page after page and across page boundaries.
w = os.open(path, os.O_WRONLY)
r = os.open(path, os.O_RDONLY)
assert os.pread(r, 8 * P, 0) == want
for i in range(64):
    off = (i * 1237) % (7 * P)
    data = bytes([i]) * (P // 2 + i)
    os.pwrite(w, data, off)
    assert os.pread(r, len(data), off) == data, f"write {i} not seen by the open reader"
    want = want[:off] + data + want[off + len(data):]
assert os.pread(r, 8 * P, 0) == want
os.close(r)
os.close(w)
assert fresh(path) == want

# A reader open first keeps its cache; a writer opened then writes through it.
r = os.open(path, os.O_RDONLY)
assert os.pread(r, 8 * P, 0) == want
w = os.open(path, os.O_WRONLY | os.O_APPEND)
os.write(w, b"tail")
assert os.pread(r, 8 * P + 4, 0) == want + b"tail", "a cached reader missed an append"
os.close(w)
os.close(r)
assert fresh(path) == want + b"tail"

# Truncating and appending write-only opens in turn, read back cached.
for i in range(5):
    with open(path, "wb") as f:
        f.write(bytes([65 + i]) * (P * i + 10))
    with open(path, "ab") as f:
        f.write(b"!")
    assert fresh(path) == bytes([65 + i]) * (P * i + 10) + b"!"
EOF

# Set-id bits set after a write-only open are cleared by a write through it
# from an unprivileged writer, kept for root (CAP_FSETID).
mkdir -m 1777 "$M/pub"
python3 - "$M/pub/s" <<'EOF' || fail "nobody's direct write kept set-id bits"
import os, sys
path = sys.argv[1]
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
os.chmod(path, 0o6755)
assert os.stat(path).st_mode & 0o7777 == 0o6755
os.write(fd, b"x")
mode = os.stat(path).st_mode & 0o7777
assert mode == 0o755, oct(mode)
os.close(fd)
EOF
python3 - "$M/pub/r" <<'EOF' || fail "root's direct write cleared set-id bits"
import os, sys
path = sys.argv[1]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
os.chmod(path, 0o4755)
os.write(fd, b"x")
mode = os.stat(path).st_mode & 0o7777
assert mode == 0o4755, oct(mode)
os.close(fd)
EOF

zfs_umount "$M"
echo "direct: ok"
