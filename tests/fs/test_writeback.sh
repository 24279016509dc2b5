#!/usr/bin/env bash
# -o writeback_cache (the kernel's writeback cache, off by default): data written in
# small pieces reads back byte for byte after close and once its pages were
# dropped from the page cache, sizes and st_blocks agree with the daemon once the
# file is closed, and running out of space is reported (by write, close or
# fsync), never lost in silence.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

zfs_need_fuse
zfs_need python3
zfs_workdir
M=$WORK/m
zfs_mount "$M" -o size=4m,writeback_cache || fail "mount -o writeback_cache"

python3 - "$M" <<'EOF' || fail "writeback data"
import os, random, sys
d = sys.argv[1]
rng = random.Random(7)
want = {}
for i in range(40):
    p = "%s/f%d" % (d, i)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30000)))
    with open(p, "wb") as f:
        for off in range(0, len(data), 1000):
            f.write(data[off:off + 1000])
    want[p] = data
for p, data in want.items():
    st = os.stat(p)
    assert st.st_size == len(data), "%s: size %d, wrote %d" % (p, st.st_size, len(data))
    assert st.st_blocks == (len(data) + 4095) // 4096 * 8, "%s: st_blocks %d" % (p, st.st_blocks)
    with open(p, "rb") as f:
        assert f.read() == data, p + ": content differs"
EOF
python3 - "$M" <<'EOF' || fail "writeback data after the page cache was dropped"
import os, random, sys
d = sys.argv[1]
rng = random.Random(7)
for i in range(40):
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30000)))
    with open("%s/f%d" % (d, i), "rb") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        assert f.read() == data, "f%d differs" % i
EOF
rm -f "$M"/f*

# 4 MiB of room, 6 MiB written: ENOSPC must surface somewhere.
python3 - "$M" <<'EOF' || fail "ENOSPC was not reported with -o writeback_cache"
import errno, os, sys
p = sys.argv[1] + "/big"
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
err = None
try:
    for i in range(6 * 256):
        os.write(fd, os.urandom(4096))
    os.fsync(fd)
except OSError as e:
    err = e.errno
try:
    os.close(fd)
except OSError as e:
    err = err or e.errno
assert err == errno.ENOSPC, "got %r" % (err,)
EOF
echo "writeback: data, sizes and blocks exact after close; ENOSPC reported"
