#!/usr/bin/env bash
# Writeback to the backing file (fs/tier/writeback.c, fs/tier/backing.c) on a real
# mount: "echo huge > .zpool/writeback" moves raw pages out of the pool into
# the backing file; mem_used_total falls, bd_stat and the backing file's
# allocated blocks grow by what was written, reads (O_DIRECT, past the page
# cache) return every byte; a rewrite and a delete give the backing file's
# blocks back (holes punched). Injected write errors (EIO, ENOSPC) leave
# everything in RAM; an injected read error fails that read only and counts
# in io_stat's failed_reads; a backing file on a full small tmpfs takes what
# fits and nothing is lost; writeback_limit stops the pass; "idle" takes what
# .zpool/idle marked and was not read since.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

zfs_need_fuse
zfs_need jq cmp dd
zfs_workdir
MB=8
[ "${ZPOOL_TEST_QUICK:-0}" != 0 ] && MB=4
PAGES=$((MB * 256))
head -c $((MB << 20)) /dev/urandom >"$WORK/rand"
# Compressible text beside it: stays compressed in the pool, not "huge".
python3 -c "
import random, sys
r = random.Random(7)
w = [('%x' % r.getrandbits(20)).encode() for _ in range(500)]
sys.stdout.buffer.write(b' '.join(r.choice(w) for _ in range($MB << 18))[:$MB << 20])
" >"$WORK/text"

B=$WORK/backing.img
J() { jq -r "$1" "$S/stats.json"; }
bd() { awk -v i="$1" '{ print $i }' "$S/bd_stat"; }
blocks() { stat -c %b "$B"; }
# same FILE ORIG: FILE read with O_DIRECT is ORIG.
same() {
	dd if="$1" iflag=direct bs=1M status=none | cmp - "$2" || fail "$1 differs from $2"
}

stats_mount -o "backing=$B,cluster=4k"
cp "$WORK/rand" "$MNT/rand"
cp "$WORK/text" "$MNT/text"
assert_eq "$(J .counters.huge_pages)" "$PAGES" "huge pages before writeback"
used0=$(mm mem_used_total)
echo huge >"$S/writeback"
assert_eq "$(J .counters.pages_backed)" "$PAGES" "pages_backed"
assert_eq "$(J .counters.huge_pages)" 0 "huge pages left in the pool"
assert_eq "$(bd 1)" "$PAGES" "bd_count (4 KiB units) after writeback"
assert_eq "$(bd 3)" "$PAGES" "bd_writes"
used1=$(mm mem_used_total)
echo "writeback huge: mem_used_total $used0 -> $used1, backing blocks $(blocks)"
[ $((used0 - used1)) -ge $((MB << 20)) ] || fail "the pool did not give back $MB MiB"
[ $(($(blocks) * 512)) -ge $((MB << 20)) ] || fail "backing file holds less than written"
[ $(($(blocks) * 512)) -le $(((MB + 1) << 20)) ] || fail "backing file holds more than written"
assert_eq "$(mm orig_data_size)" $((2 * (MB << 20))) "orig_data_size keeps backed pages"
# A second pass finds nothing more.
echo huge >"$S/writeback"
assert_eq "$(bd 3)" "$PAGES" "bd_writes after a second pass"
same "$MNT/rand" "$WORK/rand"
same "$MNT/text" "$WORK/text"
[ "$(bd 2)" -ge "$PAGES" ] || fail "bd_reads $(bd 2) after reading back"
[ "$(J .counters.pages_read_back)" -ge "$PAGES" ] || fail "pages_read_back"
# Rewrite the first half: its backed pages go, their blocks are punched.
dd if="$WORK/text" of="$MNT/rand" bs=1M count=$((MB / 2)) conv=notrunc status=none
assert_eq "$(J .counters.pages_backed)" $((PAGES / 2)) "pages_backed after rewriting half"
assert_eq "$(bd 1)" $((PAGES / 2)) "bd_count after rewriting half"
[ $(($(blocks) * 512)) -le $(((MB / 2 + 1) << 20)) ] || fail "rewritten blocks not given back"
head -c $((MB << 19)) "$WORK/text" >"$WORK/expect"
tail -c $((MB << 19)) "$WORK/rand" >>"$WORK/expect"
same "$MNT/rand" "$WORK/expect"
rm "$MNT/rand"
for ((i = 0; i < 100; i++)); do [ "$(bd 1)" = 0 ] && break; sleep 0.1; done
assert_eq "$(bd 1)" 0 "bd_count after delete"
assert_eq "$(blocks)" 0 "backing file blocks after delete"
[ "$(J .counters.bd_punches)" -gt 0 ] || fail "no hole punched"
same "$MNT/text" "$WORK/text"
stats_umount

# ---- idle (marked with .zpool/idle): what was read since stays in RAM
stats_mount -o "backing=$B"
head -c $((MB << 20)) "$WORK/text" >"$MNT/cold"
head -c $((MB << 20)) "$WORK/rand" >"$MNT/hot"	# not cold's data: -o dedup would share it
echo all >"$S/idle"
dd if="$MNT/hot" iflag=direct bs=1M of=/dev/null status=none
echo idle >"$S/writeback"
n=$(J .counters.pages_backed)
echo "writeback idle: $n pages backed of $PAGES idle ones"
[ "$n" -gt $((PAGES / 2)) ] && [ "$n" -le "$PAGES" ] || fail "writeback idle moved $n pages"
same "$MNT/cold" "$WORK/text"
same "$MNT/hot" "$WORK/rand"
stats_umount

# ---- writeback_limit: zram's meaning, 4 KiB units of bytes written
stats_mount -o "backing=$B,cluster=4k"
cp "$WORK/rand" "$MNT/rand"
echo 1 >"$S/writeback_limit_enable"
echo 100 >"$S/writeback_limit"
echo huge >"$S/writeback"
assert_eq "$(bd 3)" 100 "bd_writes with writeback_limit 100"
assert_eq "$(cat "$S/writeback_limit")" 0 "writeback_limit spent"
echo 0 >"$S/writeback_limit_enable"
echo huge >"$S/writeback"
assert_eq "$(bd 3)" "$PAGES" "bd_writes once the limit is off"
same "$MNT/rand" "$WORK/rand"
stats_umount

# ---- injected write errors: nothing moves, nothing is lost
for fault in EIO ENOSPC; do
	ZPOOLFS_BD_FAULT_WRITE=$fault stats_mount -o "backing=$B,cluster=4k"
	cp "$WORK/rand" "$MNT/rand"
	if echo huge >"$S/writeback" 2>"$WORK/err"; then fail "writeback with $fault succeeded"; fi
	assert_eq "$(bd 1)" 0 "bd_count after $fault"
	assert_eq "$(J .counters.huge_pages)" "$PAGES" "pages still in RAM after $fault"
	[ "$(J .counters.bd_failed_writes)" -ge 1 ] || fail "bd_failed_writes after $fault"
	same "$MNT/rand" "$WORK/rand"
	stats_umount
done

# ---- an injected read error fails one read, counted in io_stat
ZPOOLFS_BD_FAULT_READ=EIO,nth=1 stats_mount -o "backing=$B,cluster=4k"
cp "$WORK/rand" "$MNT/rand"
echo huge >"$S/writeback"
if dd if="$MNT/rand" iflag=direct bs=4k count=1 status=none of=/dev/null 2>/dev/null; then
	fail "the injected read error did not fail the read"
fi
assert_eq "$(io failed_reads)" 1 "io_stat failed_reads"
assert_eq "$(J .counters.bd_failed_reads)" 1 "bd_failed_reads"
same "$MNT/rand" "$WORK/rand"
stats_umount

# ---- a backing file on a small, full filesystem
if mount -t tmpfs -o size=1m zpoolfs-test "$WORK/small" 2>/dev/null ||
	{ mkdir -p "$WORK/small" && mount -t tmpfs -o size=1m zpoolfs-test "$WORK/small"; }; then
	zfs_on_exit "umount '$WORK/small'"
	stats_mount -o "backing=$WORK/small/bd,cluster=4k"
	cp "$WORK/rand" "$MNT/rand"
	echo huge >"$S/writeback" || true
	n=$(J .counters.pages_backed)
	echo "small tmpfs: $n pages written back, $(J .counters.bd_failed_writes) failed writes"
	[ "$n" -gt 0 ] && [ "$n" -le 256 ] || fail "pages backed on a 1 MiB tmpfs: $n"
	assert_eq "$(J .counters.huge_pages)" $((PAGES - n)) "the rest stays in RAM"
	same "$MNT/rand" "$WORK/rand"
	# Full: a second pass moves nothing and fails with ENOSPC.
	if echo huge >"$S/writeback" 2>"$WORK/err"; then fail "writeback to a full tmpfs succeeded"; fi
	grep -q "No space left" "$WORK/err" || fail "full backing file: $(cat "$WORK/err")"
	stats_umount
fi


# ---- writeback_at: a file four times mem_limit is written, read back,
# rewritten and deleted; the pool stays under mem_limit, the rest is in the
# backing file, whose blocks go back at the end
python3 -c "
import random, sys
r = random.Random(11)
w = [('%x' % r.getrandbits(24)).encode() for _ in range(4000)]
sys.stdout.buffer.write(b' '.join(r.choice(w) for _ in range(32 << 18))[:32 << 20])
" >"$WORK/big"
stats_mount -o "backing=$B,cluster=4k,mem_limit=8m,writeback_at=90"
dd if="$WORK/big" of="$MNT/big" bs=1M status=none || fail "writing 32 MiB past mem_limit=8m"
# The pool may pass the limit by the zspage an allocation takes before it is
# checked and given back (zram's check is made the same way).
[ "$(mm mem_used_max)" -le $(((8 << 20) + 32768)) ] ||
	fail "mem_used_max $(mm mem_used_max) > mem_limit + one zspage"
[ "$(J .counters.pages_backed)" -gt 0 ] || fail "nothing written back"
[ "$(J .counters.auto_writebacks)" -gt 0 ] || fail "auto_writebacks"
echo "writeback_at: $(J .counters.pages_backed) pages backed, bd_stat $(cat "$S/bd_stat")," \
	"backing blocks $(blocks), mem_used_max $(mm mem_used_max)"
[ $(($(blocks) * 512)) -lt $((32 << 20)) ] || fail "the backing file holds the data uncompressed"
same "$MNT/big" "$WORK/big"
dd if="$WORK/text" of="$MNT/big" bs=1M conv=notrunc status=none || fail "rewrite"
head -c $((MB << 20)) "$WORK/text" >"$WORK/expect"
tail -c $(((32 - MB) << 20)) "$WORK/big" >>"$WORK/expect"
same "$MNT/big" "$WORK/expect"
rm "$MNT/big"
for ((i = 0; i < 100; i++)); do [ "$(bd 1)" = 0 ] && break; sleep 0.1; done
assert_eq "$(bd 1)" 0 "bd_count after deleting the big file"
assert_eq "$(blocks)" 0 "backing blocks after deleting the big file"
stats_umount

# ---- writeback_at with writers that make room under their own file's lock.
# A 1 MiB write from a buffer that is not page-aligned reaches the daemon as
# two requests, the second a partial page rewritten under the file's write
# lock; the thread skips a locked file, so the writer moves its own file's
# pages (it failed with ENOSPC, a short write, while the backing file had
# room). Then four writers of one file, where the room a pass makes for one
# is often taken by another first. Every write must be whole.
for writers in 1 4; do
	stats_mount -o "backing=$B,cluster=4k,mem_limit=4m,writeback_at=90"
	python3 - "$MNT/par" "$WORK/par" "$writers" <<'PY' || fail "$writers writer(s) of one file past mem_limit"
import os, sys, threading
mib, nw = 32, int(sys.argv[3])
data = [os.urandom(1 << 20) for _ in range(mib)]	# bytes objects: not page-aligned
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
errs = []
def writer(t):
    for i in range(t, mib, nw):
        try:
            n = os.pwrite(fd, data[i], i << 20)
        except OSError as e:
            n = e.strerror
        if n != 1 << 20:
            errs.append("MiB %d: %s" % (i, n))
ths = [threading.Thread(target=writer, args=(t,)) for t in range(nw)]
for t in ths:
    t.start()
for t in ths:
    t.join()
os.close(fd)
with open(sys.argv[2], "wb") as f:
    f.write(b"".join(data))
if errs:
    sys.exit("short or failed writes: " + ", ".join(errs))
PY
	echo "$writers writer(s): $(J .counters.pages_backed) pages backed, $(J .counters.writeback_waits) waits"
	[ "$(mm mem_used_max)" -le $(((4 << 20) + 32768)) ] || fail "$writers writer(s): mem_used_max $(mm mem_used_max)"
	same "$MNT/par" "$WORK/par"
	stats_umount
done

# ---- writeback_at and clusters made half stale: each 8 KiB rewrite of a
# 16 KiB cluster's first half leaves its piece half live, and the write
# stores the other half singly under the file's write lock (cluster.c), which
# needs room at mem_limit: it must come from the file's own pages
stats_mount -o "backing=$B,cluster=16k,mem_limit=4m,writeback_at=90"
python3 - "$MNT/half" "$WORK/half" "$WORK/big" <<'PY' || fail "rewriting halves of clusters past mem_limit"
import os, sys
data = bytearray(open(sys.argv[3], "rb").read(16 << 20))	# the compressible text above
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
for i in range(0, len(data), 1 << 20):
    if os.pwrite(fd, bytes(data[i:i + (1 << 20)]), i) != 1 << 20:
        sys.exit("short write at MiB %d" % (i >> 20))
for c in range(0, len(data), 16384):
    blk = os.urandom(8192)
    if os.pwrite(fd, blk, c) != 8192:
        sys.exit("short rewrite at %d" % c)
    data[c:c + 8192] = blk
os.close(fd)
open(sys.argv[2], "wb").write(data)
PY
echo "halves rewritten: $(J .counters.clusters_split) clusters split, $(J .counters.pages_backed) pages backed"
assert_eq "$(J .counters.clusters_split)" 1024 "clusters split (every one had half of it rewritten)"
assert_eq "$(J .counters.failed_writes)" 0 "failed writes"
same "$MNT/half" "$WORK/half"
stats_umount

# ---- writeback_at with clusters: pieces (pages compressed together) are
# written back whole, compressed, and read back
stats_mount -o "backing=$B,cluster=16k,mem_limit=8m,writeback_at=90"
dd if="$WORK/big" of="$MNT/big" bs=1M status=none || fail "writing 32 MiB with cluster=16k"
[ "$(J .counters.pages_backed)" -gt 0 ] || fail "cluster=16k: nothing written back"
[ "$(J .counters.clusters)" -gt 0 ] || fail "cluster=16k: no piece in the pool"
echo "writeback_at, cluster=16k: $(J .counters.pages_backed) pages backed in" \
	"$(J .counters.bd_bytes) bytes"
same "$MNT/big" "$WORK/big"
rm "$MNT/big"
for ((i = 0; i < 100; i++)); do [ "$(bd 1)" = 0 ] && break; sleep 0.1; done
assert_eq "$(bd 1)" 0 "cluster=16k: bd_count after delete"
assert_eq "$(blocks)" 0 "cluster=16k: backing blocks after delete"
stats_umount

# ---- writeback_at with a backing file that fills: ENOSPC only when both are full
if mountpoint -q "$WORK/small" 2>/dev/null; then
	rm -f "$WORK/small/bd"
	stats_mount -o "backing=$WORK/small/bd,cluster=4k,mem_limit=4m,writeback_at=90"
	if dd if="$WORK/rand" of="$MNT/r" bs=1M status=none 2>"$WORK/err"; then
		fail "8 MiB of random data fit in 4 MiB of pool and a 1 MiB backing file"
	fi
	grep -q "No space left" "$WORK/err" || fail "full pool and backing: $(cat "$WORK/err")"
	n=$(stat -c %s "$MNT/r")
	if [ "$n" -le $((4 << 20)) ]; then
		# What the writeback thread did, and what the small filesystem held.
		echo "writeback_waits $(J .counters.writeback_waits) auto_writebacks" \
			"$(J .counters.auto_writebacks) pages_backed $(J .counters.pages_backed)" \
			"bd_failed_writes $(J .counters.bd_failed_writes) bd_stat $(cat "$S/bd_stat")" >&2
		df -k "$WORK/small" >&2
		ls -la "$WORK/small" >&2
		fail "only $n bytes written before ENOSPC"
	fi
	cmp -n "$n" "$MNT/r" "$WORK/rand" || fail "what was written before ENOSPC changed"
	stats_umount
fi

# ---- writeback_at needs a backing file and a mem_limit
for o in writeback_at=90 "backing=$B,writeback_at=90" "backing=$B,mem_limit=8m,writeback_at=0" \
	"backing=$B,mem_limit=8m,writeback_at=101"; do
	d=$(mktemp -d "$WORK/bad.XXXXXX")
	if timeout 20 "$ZPOOLFS" "$d" -f -o "$o" >"$WORK/bad.log" 2>&1; then
		fail "-o $o accepted"
	fi
	grep -q "writeback_at" "$WORK/bad.log" || fail "-o $o: $(cat "$WORK/bad.log")"
done
echo "bdwriteback (writeback_at): ok"
