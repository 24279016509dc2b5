#!/usr/bin/env bash
# -o writeback_cache (the kernel's writeback cache, off by default): data written in
# small pieces reads back byte for byte after close and once its pages were
# dropped from the page cache, sizes and st_blocks agree with the daemon once the
# file is closed, and running out of space is reported (by write, close or
# fsync), never lost in silence; set-id bits are cleared by unprivileged writes and chown.
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
rm -f "$M/big"

# Set-id bits under the writeback cache (killpriv.c): a write through the page cache by
# uid 65534 and its chown(f, -1, -1) clear them (the kernel sends an empty or a ctime-only
# SETATTR), a write by root keeps them.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 1777 "$M"
	as_nobody sh -c "echo a > '$M/s' && chmod 6755 '$M/s' && echo b >> '$M/s'"
	assert_eq "$(stat -c %a "$M/s")" 755 "a write by uid 65534 clears set-id bits"
	as_nobody perl -e 'chmod(06755, $ARGV[0]) && chown(-1, -1, $ARGV[0]) or die "$!"' "$M/s"
	assert_eq "$(stat -c %a "$M/s")" 755 "chown(-1, -1) by uid 65534 clears set-id bits"
	chmod 6755 "$M/s"
	echo c >>"$M/s"
	assert_eq "$(stat -c %a "$M/s")" 6755 "a write by root keeps set-id bits"
fi
echo "writeback: data, sizes and blocks exact after close; ENOSPC reported; set-id bits"
