#!/usr/bin/env bash
# Sparse files: holes cost nothing (no block, no pool byte), st_blocks is 8
# per stored page as on tmpfs, SEEK_DATA/SEEK_HOLE find them, bytes after
# EOF never come back when a file grows again, and truncate frees pages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir
M=$WORK/m
zfs_mount "$M" -o size=64m || fail "mount failed"

free0=$(stat -f -c %f "$M")
truncate -s 1T "$M/big"
assert_eq "$(stat -c '%s %b' "$M/big")" "1099511627776 0" "1 TiB hole: size and blocks"
assert_eq "$(stat -f -c %f "$M")" "$free0" "a hole takes no block"
read -r orig compr used _ <"$M/.zpool/mm_stat"
assert_eq "$orig $compr" "0 0" "a hole stores nothing"

printf 'x' | dd of="$M/big" bs=1 seek=$((512 << 30)) conv=notrunc status=none
assert_eq "$(stat -c %b "$M/big")" 8 "one byte in the middle of 1 TiB: one page"
assert_eq "$(od -An -c -j $((512 << 30)) -N 1 "$M/big" | tr -d ' ')" x "the byte reads back"
assert_eq "$(dd if="$M/big" bs=4096 skip=1000 count=1 status=none | tr -d '\0' | wc -c)" 0 \
	"a hole reads as zeros"
assert_eq "$(zfs_stat_field "$M/big" holes)" $(((1 << 28) - 1)) "user.zpool.stat counts the holes"

python3 - "$M/big" <<'EOF' || fail "SEEK_DATA/SEEK_HOLE"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
d = 512 << 30
assert os.lseek(fd, 0, os.SEEK_DATA) == d, os.lseek(fd, 0, os.SEEK_DATA)
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
assert os.lseek(fd, d, os.SEEK_HOLE) == d + 4096
assert os.lseek(fd, d + 1, os.SEEK_DATA) == d + 1
try:
    os.lseek(fd, d + 4096, os.SEEK_DATA)
    sys.exit("SEEK_DATA after the last page succeeded")
except OSError as e:
    assert e.errno == 6, e      # ENXIO
EOF

# A file with a page every other page.
python3 - "$M/striped" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(0, 64, 2):
    os.pwrite(fd, os.urandom(4096), i * 4096)
EOF
assert_eq "$(stat -c '%s %b' "$M/striped")" "258048 256" "32 of 63 pages stored"
assert_eq "$(zfs_stat_field "$M/striped" holes)" 31 "31 holes"

# Stale bytes after EOF never reappear.
python3 - "$M/stale" <<'EOF' || fail "bytes after EOF came back"
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"X" * 8192, 0)
os.ftruncate(fd, 100)
os.ftruncate(fd, 8192)                      # grow by truncate
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
assert os.pread(fd, 8192, 0) == b"X" * 100 + bytes(8092)
os.ftruncate(fd, 50)
os.pwrite(fd, b"Y", 3000)                   # grow by a write in the same page
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
assert os.pread(fd, 4096, 0) == b"X" * 50 + bytes(2950) + b"Y", "write in EOF page"
os.ftruncate(fd, 10)
os.pwrite(fd, b"Z", 10000)                  # grow by a write two pages further
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
assert os.pread(fd, 20000, 0) == b"X" * 10 + bytes(9990) + b"Z", "write past EOF page"
os.close(fd)
EOF
assert_eq "$(stat -c %b "$M/stale")" 16 "pages 0 and 2 stored, page 1 a hole"

# Truncate frees pages, and their pool memory.
head -c $((4 << 20)) /dev/urandom >"$M/t"
blocks=$(stat -c %b "$M/t")
assert_eq "$blocks" 8192 "4 MiB of random data"
truncate -s 1M "$M/t"
assert_eq "$(stat -c %b "$M/t")" 2048 "truncate to 1 MiB"
truncate -s 0 "$M/t"
rm -f "$M/big" "$M/striped" "$M/stale"
assert_eq "$(stat -c %b "$M/t")" 0 "truncate to 0"
zfs_wait_empty "$M" || fail "pages left after truncate and unlink"
assert_eq "$(stat -f -c %f "$M")" "$free0" "every block returned"
zfs_umount "$M"
echo ok
