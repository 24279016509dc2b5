#!/usr/bin/env bash
# Idle marking and recompression with a second algorithm (fs/tier/recompress.c):
# zram's `echo all > idle` and `echo type=idle > recompress` on pieces and
# single pages, reads clearing idle, type=huge and threshold=, INCOMP pages
# not tried twice, rewrites of recompressed pages, recomp_after= in the
# background (after the packer's pass when pack_after= is on: what it packs
# is recompressed as pieces), bad input refused, every byte read back (cold,
# O_DIRECT).
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

json() { jq -r ".counters.$1" "$S/stats.json"; }

make_text() {
	python3 - "$1" "$2" <<'EOF'
import sys
out, pages = sys.argv[1], int(sys.argv[2])
text = "".join("%07d sphinx of black quartz, judge my vow %s\n"
               % (i, "klm"[i % 3] * (i % 31)) for i in range(pages * 70))
open(out, "wb").write(text.encode()[: pages * 4096])
EOF
}
cold_cmp() {
	dd if="$2" bs=1M iflag=direct status=none | cmp - "$1" || fail "$2 differs ($3)"
}

stats_mount -o cluster=16k,comp=lz4,recomp=zstd,recomp_level=5
make_text "$WORK/t" 128
dd if="$WORK/t" of="$MNT/clustered" bs=1M conv=fsync status=none
dd if="$WORK/t" of="$MNT/single" bs=4k conv=fsync status=none	# 4 KiB writes: single pages
fill "$MNT/rand" 8 random
fill "$MNT/same" 4 same
stored=$(json pages_stored)
same=$(mm same_pages)
assert_eq "$stored" $((128 + 128 + 8 + 4)) "pages stored"
[ "$(json clusters)" -gt 0 ] || fail "no piece from a 1 MiB write"

echo all >"$S/idle"
assert_eq "$(json idle_pages)" $((stored - same)) "echo all > idle: every stored page but same-filled"
cold_cmp "$WORK/t" "$MNT/single" "read while idle"
assert_eq "$(json idle_pages)" $((stored - same - 128)) "a read clears idle"
echo all >"$S/idle"
dd if="$WORK/t" of="$MNT/single" bs=4k count=2 seek=10 skip=10 conv=notrunc,fsync status=none
assert_eq "$(json idle_pages)" $((stored - same - 2)) "a write clears idle"

before=$(mm compr_data_size)
echo type=idle >"$S/recompress"
assert_eq "$(json recomp_pages)" $((128 + 126)) "recompressed: idle pieces and pages, not the random ones"
assert_eq "$(json recomp_no_gain)" 8 "random pages: no gain, flagged"
after=$(mm compr_data_size)
[ "$after" -lt "$before" ] || fail "zstd did not shrink lz4 data: $before -> $after"
t=$(check_table "$S/classes" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes"
assert_eq "$(($(echo "$t" | cut -d' ' -f1) * 4096))" "$(mm mem_used_total)" "classes reconcile"
assert_eq "$(xattr "$MNT/clustered" stored)" "$(( $(zstat "$MNT/clustered" | tr ' ' '\n' |
	awk -F= '$1 == "stored" { print $2 }') ))" "user.zpool.stat readable"
cold_cmp "$WORK/t" "$MNT/clustered" "recompressed pieces"
cold_cmp "$WORK/t" "$MNT/single" "recompressed pages"
assert_eq "$(json idle_pages)" 8 "reads cleared idle but on the random pages"

echo all >"$S/idle"
echo type=idle >"$S/recompress"
assert_eq "$(json recomp_no_gain)" 8 "INCOMP pages are not tried again"
# Only the two pages written since the first pass are new to it.
assert_eq "$(json recompressions)" $((128 + 128)) "recompressed pages are not recompressed again"

# Rewriting recompressed data stores it with the first algorithm again.
dd if="$WORK/t" of="$MNT/single" bs=4k count=3 seek=20 skip=20 conv=notrunc,fsync status=none
assert_eq "$(json recomp_pages)" $((128 + 128 - 3)) "rewritten pages leave recomp_pages"
dd if="$WORK/t" of="$MNT/clustered" bs=4k count=1 seek=5 skip=5 conv=notrunc,fsync status=none
cold_cmp "$WORK/t" "$MNT/clustered" "a page rewritten in a recompressed piece"

# type=huge, threshold=.
echo type=huge >"$S/recompress"
assert_eq "$(json recomp_no_gain)" 8 "type=huge: flagged pages are left alone"
make_text "$WORK/t2" 8
dd if="$WORK/t2" of="$MNT/fresh" bs=4k conv=fsync status=none
echo "type=idle threshold=4096" >"$S/recompress"	# nothing is idle, nothing that large
assert_eq "$(json recompressions)" $((128 + 128)) "threshold and idle select nothing"
echo "threshold=100 algo=zstd" >"$S/recompress"
[ "$(json recompressions)" -ge $((128 + 128 + 8)) ] || fail "threshold=100 without type: all"
cold_cmp "$WORK/t2" "$MNT/fresh" "fresh pages recompressed"

# Bad input is refused and changes nothing.
for bad in "type=bogus" "algo=lz4" "threshold=0" "threshold=5000" "priority=2" "x"; do
	if echo "$bad" >"$S/recompress" 2>/dev/null; then fail "recompress took '$bad'"; fi
done
for bad in "some" "-1" "0" ""; do
	if printf '%s\n' "$bad" >"$S/idle" 2>/dev/null; then fail "idle took '$bad'"; fi
done
if as_nobody sh -c "echo all > '$S/idle'" 2>/dev/null; then fail "uid 65534 wrote idle"; fi
rm "$MNT"/*
for k in idle_pages recomp_pages pages_stored; do
	assert_eq "$(json $k)" 0 "$k after rm"
done
stats_umount

echo "== without recomp=: recompress refuses, idle works"
stats_mount -o cluster=4k
fill "$MNT/f" 4 random
echo all >"$S/idle"
assert_eq "$(json idle_pages)" 4 "idle without recomp="
if echo type=idle >"$S/recompress" 2>/dev/null; then fail "recompress without recomp="; fi
echo 3600 >"$S/idle"	# nothing that old: nothing new, nothing cleared
assert_eq "$(json idle_pages)" 4 "echo 3600 > idle"
stats_umount

echo "== recomp_after=2: the background thread does it (pack_after=0: nothing to wait for)"
stats_mount -o cluster=16k,recomp=zstd,recomp_after=2,pack_after=0
make_text "$WORK/t" 64
dd if="$WORK/t" of="$MNT/f" bs=1M conv=fsync status=none
for _ in $(seq 100); do
	[ "$(json recomp_pages)" -eq 64 ] && break
	sleep 0.1
done
assert_eq "$(json recomp_pages)" 64 "recomp_after=2 recompressed all within 10 s"
cold_cmp "$WORK/t" "$MNT/f" "background recompression"
stats_umount

# (pack_after=4: a pass offers data written at w no sooner than w + 3 s, seconds
# since the mount being whole, so nothing may be recompressed at w + 1.5 s)
echo "== recomp_after=1 with pack_after=4: packed first, then recompressed"
stats_mount -o cluster=16k,recomp=zstd,recomp_after=1,pack_after=4
make_text "$WORK/t" 64
dd if="$WORK/t" of="$MNT/f" bs=1M conv=fsync status=none
dedup=false
[[ ,${ZPOOLFS_TEST_OPTS:-}, == *,dedup,* ]] && dedup=true	# (nothing is packed: no wait)
$dedup || { sleep 1.5; assert_eq "$(json recomp_pages)" 0 "recompressed before the packer's first whole pass"; }
for _ in $(seq 200); do
	[ "$(json recomp_pages)" -eq 64 ] && break
	sleep 0.1
done
assert_eq "$(json recomp_pages)" 64 "packed, then recompressed within 20 s"
if $dedup; then
	assert_eq "$(json pages_packed)" 0 "pages packed with -o dedup"
else
	assert_eq "$(json pages_packed)" 64 "pages packed before recompression"
fi
cold_cmp "$WORK/t" "$MNT/f" "background recompression after packing"
stats_umount

echo "== a file's idle pieces merged: one zstd piece per aligned 256 KiB"
stats_mount -o cluster=16k,recomp=zstd,pack_after=0
dedup=false
[[ ,${ZPOOLFS_TEST_OPTS:-}, == *,dedup,* ]] && dedup=true	# (pieces stay what one write stores)
make_text "$WORK/t" 320	# 1.25 MiB: five units of 64 pages
dd if="$WORK/t" of="$MNT/m" bs=1M conv=fsync status=none
pieces=$(json clusters)
[ "$pieces" -ge 16 ] || fail "1.25 MiB written whole in 16 KiB clusters: $pieces pieces"
echo all >"$S/idle"
before=$(mm compr_data_size)
echo type=idle >"$S/recompress"
assert_eq "$(json recomp_pages)" 320 "every page recompressed"
assert_eq "$(json idle_pages)" 320 "merged pieces stay idle"
if $dedup; then
	assert_eq "$(json clusters)" "$pieces" "with -o dedup each piece recompressed alone"
else
	assert_eq "$(json clusters)" 5 "one piece per 256 KiB"
fi
after=$(mm compr_data_size)
[ "$after" -lt "$before" ] || fail "merged zstd pieces not smaller: $before -> $after"
t=$(check_table "$S/classes" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes"
assert_eq "$(($(echo "$t" | cut -d' ' -f1) * 4096))" "$(mm mem_used_total)" "classes reconcile (merged)"
assert_eq "$(xattr "$MNT/m" stored)" "$after" "the file's stored bytes are the pool's"
cold_cmp "$WORK/t" "$MNT/m" "merged pieces"
dd if="$MNT/m" bs=4k iflag=direct status=none | cmp - "$WORK/t" || fail "4 KiB direct reads of merged pieces"
echo type=idle >"$S/recompress"
assert_eq "$(json recompressions)" 320 "merged pieces are not recompressed again"
# One page rewritten: the piece stays, 63 pages live.
dd if="$WORK/t" of="$MNT/m" bs=4k count=1 seek=70 skip=70 conv=notrunc,fsync status=none
$dedup || assert_eq "$(json clusters)" 5 "a page rewritten in a merged piece"
# 33 of a piece's 64 rewritten: its other 31 stored singly, the piece goes.
split=$(json clusters_split)
dd if="$WORK/t" of="$MNT/m" bs=4k count=33 seek=128 skip=128 conv=notrunc,fsync status=none
if ! $dedup; then
	assert_eq "$(json clusters)" 4 "a merged piece at half live is split"
	assert_eq "$(json clusters_split)" $((split + 1)) "clusters_split"
fi
cold_cmp "$WORK/t" "$MNT/m" "rewrites in merged pieces"
# Truncated 10 pages into the last unit: the rest of it is dropped, the 10 split off.
truncate -s $(((256 + 10) * 4096)) "$MNT/m" "$WORK/t"
$dedup || assert_eq "$(json clusters)" 3 "truncate into a merged piece splits it"
cold_cmp "$WORK/t" "$MNT/m" "truncated in a merged piece"
t=$(check_table "$S/classes" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes"
assert_eq "$(($(echo "$t" | cut -d' ' -f1) * 4096))" "$(mm mem_used_total)" "classes reconcile (split)"
# (a piece's bytes count whole in compr_data_size while a page of it is live,
# and each live entry's share in the file's: one stale page of 64 is the gap)
stored=$(xattr "$MNT/m" stored) compr=$(mm compr_data_size)
[ "$stored" -le "$compr" ] && [ $((compr - stored)) -lt $((compr / 32)) ] ||
	fail "stored bytes after splits: $stored against compr_data_size $compr"
rm "$MNT/m"
assert_eq "$(mm compr_data_size)" 0 "nothing left after rm"
stats_umount

echo "== a page allocation failing while pieces merge: nothing lost, the next pass finishes"
# The write's page allocations are counted on a first mount; on the second the
# next-but-one allocation fails (ZPOOLFS_FAULT_NTH), which falls in the merge.
make_text "$WORK/t" 320
stats_mount -o cluster=16k,recomp=zstd,pack_after=0
dd if="$WORK/t" of="$MNT/m" bs=1M conv=fsync status=none
pages=$(($(mm mem_used_total) / 4096))
stats_umount
ZPOOLFS_FAULT_NTH=$((pages + 2)) stats_mount -o cluster=16k,recomp=zstd,pack_after=0
dd if="$WORK/t" of="$MNT/m" bs=1M conv=fsync status=none
assert_eq "$(($(mm mem_used_total) / 4096))" "$pages" "the same write, the same pages"
echo all >"$S/idle"
echo type=idle >"$S/recompress"
done1=$(json recomp_pages)
# (with -o dedup nothing merges: pieces recompressed one by one fit in the room
# the ones before them left, and the failing allocation may never come)
$dedup || [ "$done1" -lt 320 ] || fail "the failed allocation left nothing unmerged ($done1 pages recompressed)"
cold_cmp "$WORK/t" "$MNT/m" "a merge that failed"
t=$(check_table "$S/classes" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes"
assert_eq "$(($(echo "$t" | cut -d' ' -f1) * 4096))" "$(mm mem_used_total)" "classes reconcile (failed merge)"
echo all >"$S/idle"
echo type=idle >"$S/recompress"
assert_eq "$(json recomp_pages)" 320 "the next pass merged the rest"
cold_cmp "$WORK/t" "$MNT/m" "merged after a failure"
stats_umount

echo "== bad options"
mkdir -p "$WORK/nomnt"
for bad in recomp=gzip recomp_level=3 recomp_after=5 recomp=zstd,recomp_level=99 \
	recomp=zstd,recomp_after=0 recomp=zstd,recomp_after=x; do
	if "$ZPOOLFS" "$WORK/nomnt" -o "$bad" 2>"$WORK/err"; then
		fusermount3 -u "$WORK/nomnt" 2>/dev/null || true
		fail "-o $bad accepted"
	fi
	grep -q "recomp" "$WORK/err" || fail "-o $bad: no message naming the option"
done
echo ok
