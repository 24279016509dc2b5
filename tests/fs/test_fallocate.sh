#!/usr/bin/env bash
# Every fallocate mode through fallocate(1): allocate (size grows, zero pages
# counted in st_blocks), --keep-size, --punch-hole (whole and partial pages),
# --zero-range (with and without --keep-size); contents checked against a
# model, and an allocation past size= fails with ENOSPC and allocates nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need fallocate python3 cmp
zfs_workdir
M=$WORK/m
zfs_mount "$M" -o size=16m || fail "mount failed"

# mirror OFF LEN VALUE: the same change in the model file $WORK/model.
mirror() {
	python3 - "$WORK/model" "$@" <<'EOF'
import os, sys
path, off, length, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fd = os.open(path, os.O_RDWR)
size = os.fstat(fd).st_size
if value == "zero-keep":        # zero inside the file only
    end = min(off + length, size)
    if end > off:
        os.pwrite(fd, bytes(end - off), off)
else:                           # zero, growing the file
    os.pwrite(fd, bytes(length), off)
EOF
}
blocks() { stat -c %b "$M/$1"; }

# Default mode: size grows, zero pages are allocated.
fallocate -l 1M "$M/a"
assert_eq "$(stat -c '%s %b' "$M/a")" "1048576 2048" "fallocate -l 1M"
assert_eq "$(zfs_stat_field "$M/a" same)" 256 "allocated pages are same-filled zero pages"
assert_eq "$(tr -d '\0' <"$M/a" | wc -c)" 0 "allocated pages read as zeros"
read -r orig compr _ <"$M/.zpool/mm_stat"
assert_eq "$compr" 0 "zero pages take no pool memory"

# --keep-size: blocks past EOF, size unchanged; truncate drops them.
fallocate -n -o 1M -l 1M "$M/a"
assert_eq "$(stat -c '%s %b' "$M/a")" "1048576 4096" "fallocate --keep-size past EOF"
truncate -s 1M "$M/a"
assert_eq "$(stat -c %b "$M/a")" 4096 "truncate to the same size keeps them"
truncate -s 4096 "$M/a"
assert_eq "$(stat -c '%s %b' "$M/a")" "4096 8" "truncate down drops them"

# Punch holes into random data.
head -c 1048576 /dev/urandom >"$WORK/model"
cp "$WORK/model" "$M/p"
fallocate -p -o 8192 -l 16384 "$M/p"
mirror 8192 16384 zero-keep
cmp "$M/p" "$WORK/model" || fail "punch whole pages: contents"
assert_eq "$(stat -c '%s %b' "$M/p")" "1048576 2016" "punch 4 pages: size kept, 32 blocks fewer"
fallocate -p -o 100 -l 1000 "$M/p"
mirror 100 1000 zero-keep
cmp "$M/p" "$WORK/model" || fail "punch inside one page: contents"
assert_eq "$(blocks p)" 2016 "a partial punch keeps the page"
fallocate -p -o 40000 -l 20000 "$M/p"
mirror 40000 20000 zero-keep
cmp "$M/p" "$WORK/model" || fail "punch across pages: contents"
assert_eq "$(blocks p)" 1984 "punch 40000+20000 frees the 4 whole pages inside"
fallocate -p -o 1040000 -l 100000 "$M/p"
mirror 1040000 100000 zero-keep
cmp "$M/p" "$WORK/model" || fail "punch past EOF: contents"
assert_eq "$(stat -c %s "$M/p")" 1048576 "punch past EOF keeps the size"

# Zero ranges.
fallocate -z -o 200000 -l 50000 "$M/p"
mirror 200000 50000 zero-keep
cmp "$M/p" "$WORK/model" || fail "zero range: contents"
b0=$(blocks p)
fallocate -z -o 8192 -l 16384 "$M/p"
mirror 8192 16384 zero-keep
cmp "$M/p" "$WORK/model" || fail "zero range over a hole: contents"
assert_eq "$(blocks p)" $((b0 + 32)) "zero range allocates the holes it covers"
fallocate -z -n -o 1048576 -l 8192 "$M/p"
assert_eq "$(stat -c '%s %b' "$M/p")" "1048576 $((b0 + 48))" "zero range --keep-size past EOF"
fallocate -z -o 1048000 -l 10000 "$M/p"
mirror 1048000 10000 grow
cmp "$M/p" "$WORK/model" || fail "zero range growing the file: contents"
assert_eq "$(stat -c %s "$M/p")" 1058000 "zero range grows the size"

# Bad arguments and full filesystems.
fallocate -l 0 "$M/a" 2>/dev/null && fail "fallocate of length 0 succeeded"
free=$(stat -f -c %f "$M")
fallocate -l 64M "$M/toobig" 2>"$WORK/err" && fail "fallocate past size= succeeded"
grep -q "No space left" "$WORK/err" || fail "fallocate past size=: $(cat "$WORK/err")"
assert_eq "$(stat -c %b "$M/toobig")" 0 "a failed fallocate allocates nothing"
assert_eq "$(stat -f -c %f "$M")" "$free" "a failed fallocate leaves the free blocks"
fallocate -l $((free * 4096)) "$M/exact" || fail "fallocate of exactly the free space"
assert_eq "$(stat -f -c %f "$M")" 0 "the filesystem is full"
rm -f "$M/exact"
fallocate -p -o 0 -l 4096 "$M/.zpool/pool" 2>/dev/null && fail "fallocate on a stats file"
zfs_umount "$M"
echo ok
