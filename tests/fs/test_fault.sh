#!/usr/bin/env bash
# Injected page-allocation failures (the test hook ZPOOLFS_FAULT_NTH /
# ZPOOLFS_FAULT_EVERY, which calls zpage_fail_nth/zpage_fail_every): the
# write that needed the failing page fails with ENOMEM, nothing else does,
# nothing stored is damaged, and the daemon keeps serving.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir

for backend in zsmalloc zbud; do
	# Random pages are stored raw: with zsmalloc one pool page per file page,
	# with zbud two halves that share pages, so count allocations as we go.
	M=$WORK/nth-$backend
	ZPOOLFS_FAULT_NTH=5 zfs_mount "$M" -o backend=$backend || fail "mount $backend"
	python3 - "$M" "$backend" <<'EOF' || fail "$backend: ZPOOLFS_FAULT_NTH=5"
import errno, os, sys
m, backend = sys.argv[1], sys.argv[2]
pages = {}
failed = []
for i in range(12):
    data = os.urandom(4096)
    fd = os.open("%s/f%d" % (m, i), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        pages[i] = data
    except OSError as e:
        assert e.errno == errno.ENOMEM, e
        failed.append(i)
    os.close(fd)
assert len(failed) == 1, "failed writes: %s" % failed
for i, data in pages.items():
    fd = os.open("%s/f%d" % (m, i), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    assert os.read(fd, 8192) == data, "file %d damaged" % i
    os.close(fd)
assert os.stat("%s/f%d" % (m, failed[0])).st_size == 0
# The same write succeeds when tried again.
fd = os.open("%s/f%d" % (m, failed[0]), os.O_WRONLY)
assert os.write(fd, b"again" * 1000) == 5000
os.close(fd)
print("%s: write %d of 12 failed with ENOMEM, the others are intact" % (backend, failed[0] + 1))
EOF
	read -r _ failed_writes _ <"$M/.zpool/io_stat"
	assert_eq "$failed_writes" 1 "$backend: io_stat failed_writes"
	zfs_umount "$M"

	# Every 7th page allocation fails: big writes come back short or with
	# ENOMEM, what was acknowledged is what is stored.
	M=$WORK/every-$backend
	ZPOOLFS_FAULT_EVERY=7 zfs_mount "$M" -o backend=$backend || fail "mount $backend"
	python3 - "$M" <<'EOF' || fail "$backend: ZPOOLFS_FAULT_EVERY=7"
import errno, os, sys
m = sys.argv[1]
ref = bytearray()
fd = os.open(m + "/big", os.O_WRONLY | os.O_CREAT, 0o644)
errors = short = 0
for _ in range(200):
    data = os.urandom(65536)
    try:
        n = os.write(fd, data)
    except OSError as e:
        assert e.errno == errno.ENOMEM, e
        errors += 1
        continue
    short += n < len(data)
    ref += data[:n]
os.close(fd)
assert errors + short > 0, "no write failed"
fd = os.open(m + "/big", os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
got = b""
while True:
    chunk = os.read(fd, 1 << 20)
    if not chunk:
        break
    got += chunk
assert got == bytes(ref), "contents differ from what the writes acknowledged"
print("%d writes failed, %d were short, %d bytes acknowledged and read back"
      % (errors, short, len(ref)))
EOF
	ls "$M" >/dev/null || fail "$backend: the daemon stopped serving"
	zfs_umount "$M"
done
echo ok
