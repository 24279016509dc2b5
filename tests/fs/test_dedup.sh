#!/usr/bin/env bash
# -o dedup (fs/data/dedup.c): data written twice from outside is stored once; every
# match is confirmed byte for byte (forced hash collisions change nothing);
# copy on write and unlinking keep every file right; the index empties.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3 getfattr
zfs_workdir
T=$(dirname "$0")

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

# The corpus: text pages, random pages, zero pages, in 1 MiB writes (whole
# clusters) and again in 4 KiB writes (single pages).
mkcorpus() {
	python3 - "$1" <<'EOF2'
import os, random, sys
r = random.Random(3)
out = bytearray()
for i in range(512):
    k = i % 8
    if k < 5:
        out += (b"line %d of file text %d\n" % (i, r.randrange(50)) * 200)[:4096]
    elif k < 7:
        out += r.randbytes(4096)
    else:
        out += bytes(4096)
open(sys.argv[1], "wb").write(out)
EOF2
}
mkcorpus "$WORK/corpus"

for opts in dedup dedup,cluster=4k dedup,cluster=64k,comp=zstd dedup,backend=zbud; do
	M=$WORK/m-${opts//[,=]/-}
	zfs_mount "$M" -o "$opts,nocompact" || fail "mount -o $opts"
	dd if="$WORK/corpus" of="$M/a" bs=1M status=none
	read -r orig0 compr0 mem0 _ <"$M/.zpool/mm_stat"
	dd if="$WORK/corpus" of="$M/b" bs=1M status=none
	read -r orig1 compr1 mem1 _ <"$M/.zpool/mm_stat"
	cmp "$WORK/corpus" "$M/b" || fail "$opts: second copy differs"
	assert_eq "$orig1" $((2 * orig0)) "$opts: orig_data_size counts both files"
	assert_eq "$compr1" "$compr0" "$opts: compr_data_size after the same data again"
	assert_eq "$mem1" "$mem0" "$opts: mem_used_total after the same data again"
	assert_eq "$(counter "$M" pages_deduped)" 448 "$opts: pages_deduped (448 non-zero pages)"
	[ "$(zfs_stat_field "$M/b" shared)" = $((448 * 4096)) ] || fail "$opts: shared= of b"
	[ "$(counter "$M" dedup_index_entries)" -gt 0 ] || fail "$opts: empty index"
	# Copy on write: b rewritten in the middle, a unchanged.
	printf 'changed' | dd of="$M/b" bs=1 seek=100000 conv=notrunc status=none
	cmp "$WORK/corpus" "$M/a" || fail "$opts: a changed when b was written"
	cmp -s "$WORK/corpus" "$M/b" && fail "$opts: the write to b did not land"
	rm "$M/a"
	cmp -n 100000 "$WORK/corpus" "$M/b" || fail "$opts: b damaged when a went"
	rm "$M/b"
	zfs_wait_empty "$M" || fail "$opts: pool not empty"
	assert_eq "$(counter "$M" dedup_index_entries)" 0 "$opts: index entries after every file went"
	assert_eq "$(counter "$M" shared_pages)" 0 "$opts: shared_pages after every file went"
	quiesce "$M"
	zfs_umount "$M"
done

# Every hash collides (3 bits kept): only equal bytes are shared, all data intact.
M=$WORK/collide
ZPOOLFS_DEDUP_HASH_BITS=3 zfs_mount "$M" -o dedup || fail "mount (collisions)"
python3 - "$M" <<'EOF2' || fail "forced collisions"
import os, random, sys
m = sys.argv[1]
r = random.Random(5)
pages = [r.randbytes(64) * 64 for _ in range(40)]
files = {}
for f in range(6):
    data = b"".join(r.choice(pages) for _ in range(64))
    with open("%s/f%d" % (m, f), "wb") as fh:
        off = 0
        while off < len(data):
            step = 4096 * r.choice([1, 4, 16])
            fh.write(data[off:off + step])
            fh.flush()
            off += step
    files[f] = data
def check():
    for f, data in files.items():
        fd = os.open("%s/f%d" % (m, f), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        assert os.read(fd, len(data) + 1) == data, "f%d differs" % f
        os.close(fd)
check()
# Half the files go (index entries taken out of long probe runs), the rest are
# rewritten page by page with pages of the others, then checked again.
for f in (0, 2, 4):
    os.unlink("%s/f%d" % (m, f))
    del files[f]
for f in files:
    fd = os.open("%s/f%d" % (m, f), os.O_WRONLY)
    data = bytearray(files[f])
    for i in range(0, 64, 3):
        page = r.choice(pages)
        os.pwrite(fd, page, i * 4096)
        data[i * 4096:(i + 1) * 4096] = page
    os.close(fd)
    files[f] = bytes(data)
check()
print("6 files over 40 distinct pages, every hash colliding: all intact, also after unlinks")
EOF2
[ "$(counter "$M" dedup_collisions)" -gt 0 ] || fail "no collision was seen with 3-bit hashes"
[ "$(counter "$M" pages_deduped)" -gt 0 ] || fail "nothing deduplicated with 3-bit hashes"
quiesce "$M"
zfs_umount "$M"

# The sharing model with dedup on (copies, writes, truncates, punches, unlinks).
M=$WORK/model
zfs_mount "$M" -o dedup || fail "mount (model)"
python3 "$T/sharemodel.py" "$M" --steps "${SHARE_STEPS:-300}" ${SHARE_SEED:+--seed $SHARE_SEED} ||
	fail "model test with dedup"
zfs_wait_empty "$M" || fail "pool not empty after the model test"
assert_eq "$(counter "$M" dedup_index_entries)" 0 "index entries after the model test"
quiesce "$M"
zfs_umount "$M"
echo "test_dedup: ok"
