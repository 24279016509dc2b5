#!/usr/bin/env bash
# copy_file_range shares stored data (fs/data/share.c): cp costs no pool memory,
# the accounting says who shows what, copy on write keeps both files right
# (model test with shadow copies on every backend, several writers at once,
# injected allocation failures during copy on write, a short copy under size=).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3 getfattr cp
zfs_workdir
T=$(dirname "$0")

mm_field() { # mm_field MNT COLUMN(1-based)
	awk -v c="$2" '{ print $c }' "$1/.zpool/mm_stat"
}
# quiesce MNT: before an unmount that follows a read of a stats file. The
# kernel sends the RELEASE of a closed file in the background and drops it
# when the mount goes, so the daemon would end with that snapshot still
# allocated (LeakSanitizer reports it); a request after it and a moment let
# it arrive first.
quiesce() {
	stat -f "$1" >/dev/null
	sleep 0.3
}
counter() { # counter MNT NAME
	sed -n "s/^[a-z]* $2: //p" "$1/.zpool/pool"
}

# 1. cp of a file whose pages are COMP, HUGE and SAME: no pool memory, exact gauges.
M=$WORK/cp
zfs_mount "$M" -o nocompact || fail "mount"	# pool sizes compared exactly
python3 - "$M/a" <<'EOF2'
import os, random, sys
r = random.Random(7)
out = bytearray()
for i in range(256):
    k = i % 4
    out += (b"page %d of some text " % i * 300)[:4096] if k < 2 else \
        (r.randbytes(4096) if k == 2 else bytes(4096))
open(sys.argv[1], "wb").write(out)
EOF2
read -r orig0 compr0 mem0 _ <"$M/.zpool/mm_stat"
cp "$M/a" "$M/b"	# coreutils 9.1 copies with copy_file_range (not with --reflink=never)
cmp "$M/a" "$M/b" || fail "cp: copy differs"
read -r orig1 compr1 mem1 _ <"$M/.zpool/mm_stat"
assert_eq "$orig1" $((2 * orig0)) "orig_data_size counts both files"
assert_eq "$compr1" "$compr0" "compr_data_size: the data is stored once"
assert_eq "$mem1" "$mem0" "mem_used_total: the copy took no pool memory"
assert_eq "$(counter "$M" pages_copy_shared)" 192 "pages_copy_shared (the 192 non-zero pages)"
assert_eq "$(counter "$M" shared_pages)" 192 "shared_pages"
assert_eq "$(counter "$M" shared_bytes_saved)" "$compr0" "shared_bytes_saved"
assert_eq "$(stat -c %b "$M/b")" "$(stat -c %b "$M/a")" "st_blocks of the copy"
assert_eq "$(zfs_stat_field "$M/b" stored)" "$(zfs_stat_field "$M/a" stored)" "stored= of the copy"
assert_eq "$(zfs_stat_field "$M/a" shared)" $((192 * 4096)) "shared= of the original"
assert_eq "$(zfs_stat_field "$M/b" shared)" $((192 * 4096)) "shared= of the copy"
# Copy on write: a page of the copy rewritten, the original unchanged.
printf 'XYZ' | dd of="$M/b" bs=1 seek=8192 conv=notrunc status=none
cmp -s "$M/a" "$M/b" && fail "write to the copy did not change it"
cmp -n 8192 "$M/a" "$M/b" || fail "copy: pages before the write changed"
cmp -i 12288 "$M/a" "$M/b" || fail "copy: pages after the write changed"
assert_eq "$(counter "$M" shared_pages)" 191 "shared_pages after one page was rewritten"
rm "$M/a"
zfs_stat_field "$M/b" shared >/dev/null
assert_eq "$(counter "$M" shared_pages)" 0 "shared_pages once the original is gone"
[ "$(mm_field "$M" 2)" -gt 0 ] || fail "the copy's data went with the original"
cmp -n 8192 "$M/b" <(python3 - <<'EOF2'
import sys
sys.stdout.buffer.write(b"".join((b"page %d of some text " % i * 300)[:4096] for i in range(2)))
EOF2
) || fail "the copy's pages changed when the original went"
rm "$M/b"
zfs_wait_empty "$M" || fail "pool not empty after both files went: $(cat "$M/.zpool/mm_stat")"
assert_eq "$(mm_field "$M" 3)" 0 "mem_used_total after both files went"
# A file whose size is not a multiple of a page: its EOF page is shared too,
# and growing either file zeroes what followed EOF in its own page only.
python3 -c 'import sys; sys.stdout.write("tail text %d\n" * 900 % tuple(range(900)))' >"$M/t"
truncate -s 9000 "$M/t"
read -r _ compr0 mem0 _ <"$M/.zpool/mm_stat"
cp "$M/t" "$M/u"
read -r _ compr1 mem1 _ <"$M/.zpool/mm_stat"
assert_eq "$compr1 $mem1" "$compr0 $mem0" "compr_data_size and mem_used_total after cp of a 9000-byte file"
printf 'more' >>"$M/u"
truncate -s 12000 "$M/t"
cmp -n 9000 "$M/t" "$M/u" || fail "the first 9000 bytes differ after both files grew"
[ "$(tail -c 3000 "$M/t" | tr -d '\0' | wc -c)" = 0 ] || fail "t grew over stale bytes"
[ "$(tail -c 4 "$M/u")" = more ] || fail "u's appended bytes"
rm "$M/t" "$M/u"
zfs_wait_empty "$M" || fail "pool not empty after the tail test"
quiesce "$M"
zfs_umount "$M"

# 2. The model: random copies, writes, truncates, punches, fallocates, unlinks.
for opts in backend=zsmalloc,comp=lz4 backend=zbud,comp=zstd backend=zsmalloc,comp=none \
	    size=2m,nr_inodes=64 cluster=64k,comp=zstd; do
	M=$WORK/model-${opts%%,*}-$RANDOM
	zfs_mount "$M" -o "$opts" || fail "mount -o $opts"
	python3 "$T/sharemodel.py" "$M" --steps "${SHARE_STEPS:-300}" ${SHARE_SEED:+--seed $SHARE_SEED} ||
		fail "model test, -o $opts"
	zfs_wait_empty "$M" || fail "-o $opts: pool not empty after the model test"
	quiesce "$M"
	zfs_umount "$M"
done

# 3. Several writers on files that share one base.
M=$WORK/conc
zfs_mount "$M" || fail "mount"
python3 - "$M" <<'EOF2' || fail "concurrent writers on shared data"
import os, random, sys, traceback
m = sys.argv[1]
P, N, W = 4096, 256, 4
base = bytearray()
for i in range(N):
    base += (b"base page %d " % i * 400)[:P] if i % 3 else os.urandom(P)
fd = os.open(m + "/base", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, base)
pids = []
for w in range(W):
    pid = os.fork()
    if pid == 0:
        rc = 1
        try:
            r = random.Random(w)
            name = "%s/w%d" % (m, w)
            f = os.open(name, os.O_RDWR | os.O_CREAT, 0o644)
            shadow = bytearray(base)
            assert os.copy_file_range(fd, f, N * P, 0, 0) == N * P
            for it in range(300):
                op = r.randrange(4)
                off = r.randrange(N) * P
                ln = r.randrange(1, 16) * P
                if op == 0:
                    data = (b"w%d it%d " % (w, it) * ln)[:ln]
                    os.pwrite(f, data, off)
                    shadow[off:off + ln] = data
                    shadow.extend(bytes(max(0, off + ln - len(shadow))))
                    shadow[off:off + ln] = data
                elif op == 1:
                    cnt = min(ln, N * P - off)
                    dst = r.randrange(N) * P
                    while cnt:
                        n = os.copy_file_range(fd, f, cnt, off, dst)
                        shadow[dst:dst + n] = base[off:off + n]
                        off, dst, cnt = off + n, dst + n, cnt - n
                elif op == 2:
                    src = r.randrange(len(shadow) // P) * P
                    dst = r.randrange(N) * P
                    cnt = min(ln, len(shadow) - src)
                    if src < dst + cnt and dst < src + cnt:
                        continue
                    os.copy_file_range(f, f, cnt, src, dst)
                    piece = shadow[src:src + cnt]
                    shadow.extend(bytes(max(0, dst + cnt - len(shadow))))
                    shadow[dst:dst + cnt] = piece
                else:
                    os.posix_fadvise(f, 0, 0, os.POSIX_FADV_DONTNEED)
                    assert os.pread(f, len(shadow) + 1, 0) == shadow, "writer %d, step %d" % (w, it)
            os.posix_fadvise(f, 0, 0, os.POSIX_FADV_DONTNEED)
            assert os.pread(f, len(shadow) + 1, 0) == shadow, "writer %d at the end" % w
            rc = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(rc)
    pids.append(pid)
bad = [p for p in pids if os.waitpid(p, 0)[1] != 0]
assert not bad, "%d writers failed" % len(bad)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
assert os.pread(fd, N * P + 1, 0) == base, "the shared base changed"
print("4 writers x 300 steps on copies of one base: every file as its shadow")
EOF2
rm -f "$M"/base "$M"/w*
zfs_wait_empty "$M" || fail "pool not empty after the concurrent test"
assert_eq "$(counter "$M" shared_pages)" 0 "shared_pages after the concurrent test"
quiesce "$M"
zfs_umount "$M"

# 4. Injected page-allocation failures during copy on write: a write that
# needed a page fails with ENOMEM; both files keep exactly what they had.
M=$WORK/fault
ZPOOLFS_FAULT_EVERY=5 zfs_mount "$M" || fail "mount"
python3 - "$M" <<'EOF2' || fail "fault injection during copy on write"
import errno, os, sys
m = sys.argv[1]
P, N = 4096, 64
a = os.open(m + "/a", os.O_RDWR | os.O_CREAT, 0o644)
want = bytearray()
for i in range(N):             # random pages: one pool page each, failures on the way
    page = os.urandom(P)
    while True:
        try:
            os.pwrite(a, page, i * P)
            break
        except OSError as e:
            assert e.errno == errno.ENOMEM, e
    want += page
b = os.open(m + "/b", os.O_RDWR | os.O_CREAT, 0o644)
assert os.copy_file_range(a, b, N * P, 0, 0) == N * P
copy = bytearray(want)
enomem = 0
for i in range(N):
    page = os.urandom(P)
    try:
        n = os.pwrite(b, page, i * P)
        assert n == P
        copy[i * P:(i + 1) * P] = page
    except OSError as e:
        assert e.errno == errno.ENOMEM, e
        enomem += 1
for fd, data, name in ((a, want, "a"), (b, copy, "b")):
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    assert os.pread(fd, N * P + 1, 0) == data, "%s damaged" % name
assert enomem >= N // 6, "only %d of %d copy-on-write writes failed" % (enomem, N)
print("copy on write under ZPOOLFS_FAULT_EVERY=5: %d of %d writes ENOMEM, nothing lost" % (enomem, N))
EOF2
quiesce "$M"
zfs_umount "$M"

# 5. A copy under size= that has room for only part of it: the copy is short,
# stops at the last page that fits (the run is then published page by page),
# and what was copied is the source's; the next call fails with ENOSPC.
M=$WORK/room
zfs_mount "$M" -o size=1m || fail "mount -o size=1m"
python3 - "$M" <<'EOF2' || fail "short copy under size="
import errno, os, sys
m, P = sys.argv[1], 4096
data = b"".join((b"page %d of the source " % i * 200)[:P] for i in range(192))
fd = os.open(m + "/src", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, data)
out = os.open(m + "/dst", os.O_RDWR | os.O_CREAT, 0o644)
n = os.copy_file_range(fd, out, len(data), 0, 0)
assert n == 64 * P, "copied %d bytes, want the 64 pages size=1m has room for" % n
assert os.pread(out, len(data), 0) == data[:n], "the short copy differs"
try:
    os.copy_file_range(fd, out, len(data) - n, n, n)
    raise AssertionError("a copy with no room left succeeded")
except OSError as e:
    assert e.errno == errno.ENOSPC, e
print("short copy under size=1m: %d of %d pages, then ENOSPC" % (n // P, len(data) // P))
EOF2
rm "$M/src" "$M/dst"
zfs_wait_empty "$M" || fail "pool not empty after the size= test"
quiesce "$M"
zfs_umount "$M"
# 6. Idle recompression of a file and its copy: the pass recompresses each
# shared piece once and both files take the new copy (fs/data/moves.c), so
# the data stays stored once (before: each file got its own copy, twice the
# memory). Then the original goes and the copy still reads back whole.
M=$WORK/recomp
zfs_mount "$M" -o recomp=zstd,nocompact || fail "mount -o recomp=zstd"
python3 - "$M/a" <<'EOF2'
import sys
open(sys.argv[1], "wb").write(b"".join((b"line %d of a text file to recompress\n" % i) for i in range(40000)))
EOF2
cp "$M/a" "$M/b"
cmp "$M/a" "$M/b" || fail "recomp: copy differs"
shared=$(counter "$M" shared_pages)
[ "$shared" -gt 100 ] || fail "recomp: the copy shares $shared pages"
echo all >"$M/.zpool/idle"
echo type=idle >"$M/.zpool/recompress"
read -r _ compr _ <"$M/.zpool/mm_stat"
assert_eq "$(counter "$M" shared_pages)" "$shared" "recomp: shared_pages after recompression"
assert_eq "$(counter "$M" shared_bytes_saved)" "$compr" "recomp: the recompressed data is stored once"
assert_eq "$(counter "$M" recompressions)" $((2 * shared)) "recomp: the pages of both files moved"
assert_eq "$(zfs_stat_field "$M/a" stored)" "$(zfs_stat_field "$M/b" stored)" "recomp: stored= of both"
echo 3 >/proc/sys/vm/drop_caches
cmp "$M/a" "$M/b" || fail "recomp: the files differ after recompression"
cp "$M/a" "$WORK/recomp-orig"
rm "$M/a"
echo 3 >/proc/sys/vm/drop_caches
cmp "$WORK/recomp-orig" "$M/b" || fail "recomp: the copy lost data when the original went"
rm "$M/b"
zfs_wait_empty "$M" || fail "pool not empty after the recompression test"
quiesce "$M"
zfs_umount "$M"
echo "test_share: ok"
