#!/usr/bin/env bash
# File data through every backend and compressor (zsmalloc|zbud x lz4|zstd|none):
# random-offset writes, truncates and reads compared byte for byte against a
# reference file (tests/fs/randio.py), then the pool accounting after the
# files are removed: nothing stays stored. RANDIO_SEED=N replays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3 cmp
zfs_workdir
SEED=${RANDIO_SEED:-$RANDOM}
OPS=${RANDIO_OPS:-120}
echo "seed $SEED"

for backend in zsmalloc zbud; do
	for comp in lz4 zstd none; do
		M=$WORK/m-$backend-$comp
		zfs_mount "$M" -o backend=$backend,comp=$comp,size=256m || fail "mount $backend/$comp"
		python3 "$ZFS_TESTS_DIR/randio.py" "$M/f1" "$WORK/ref1" "$SEED" "$OPS" ||
			fail "$backend/$comp: data differs (seed $SEED)"
		# A second file written with another seed, read after the first changed.
		python3 "$ZFS_TESTS_DIR/randio.py" "$M/f2" "$WORK/ref2" $((SEED + 1)) 40 ||
			fail "$backend/$comp: second file differs (seed $((SEED + 1)))"
		cmp "$M/f1" "$WORK/ref1" || fail "$backend/$comp: f1 changed after f2 was written"
		# Known contents: compressible text, same-filled pages, random pages.
		head -c 4194304 < <(yes "zpoolfs $backend $comp compressible line") >"$WORK/text"
		cp "$WORK/text" "$M/text"
		head -c 1048576 /dev/zero | tr '\0' '\7' >"$M/same"
		head -c 1048576 /dev/urandom >"$WORK/rand"
		cp "$WORK/rand" "$M/rand"
		cmp "$M/text" "$WORK/text" || fail "$backend/$comp: text differs"
		cmp "$M/rand" "$WORK/rand" || fail "$backend/$comp: random data differs"
		same=$(zfs_stat_field "$M/same" same)
		assert_eq "$same" 256 "$backend/$comp: same-filled pages of a 1 MiB same-filled file"
		huge=$(zfs_stat_field "$M/rand" huge)
		assert_eq "$huge" 256 "$backend/$comp: random pages are stored raw (huge)"
		stored=$(zfs_stat_field "$M/text" stored)
		if [ "$comp" = none ]; then
			assert_eq "$stored" 4194304 "$backend/none: text stored raw"
		else
			[ "$stored" -lt 1048576 ] || fail "$backend/$comp: 4 MiB of text stored in $stored bytes"
		fi
		assert_eq "$(stat -c %b "$M/text")" 8192 "$backend/$comp: st_blocks of 4 MiB"
		rm -f "$M"/f1 "$M"/f2 "$M"/text "$M"/same "$M"/rand
		zfs_wait_empty "$M" || fail "$backend/$comp: pages left after removing every file"
		zfs_umount "$M"
	done
done
echo ok
