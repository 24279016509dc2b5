#!/usr/bin/env bash
# make run: mount a compressed tmpfs at $MNT and say how to use it.
set -eu
BUILD=${BUILD:-build}
MNT=${MNT:-/tmp/zpoolfs}
if [ ! -x "$BUILD/zpoolfs" ]; then
	echo "zpoolfs: the filesystem is not built yet; libzpool is in $BUILD/libzpool.{a,so}."
	exit 0
fi
mkdir -p "$MNT"
if mountpoint -q "$MNT"; then
	echo "zpoolfs: $MNT is already a mount point; unmount it first: fusermount3 -u $MNT"
	exit 1
fi
"$BUILD/zpoolfs" "$MNT" -o size=50%
cat <<MSG
zpoolfs mounted at $MNT (lz4, zsmalloc, size=50% of RAM).
  look:     ls $MNT ; cat $MNT/.zpool/mm_stat ; cat $MNT/.zpool/pool
  unmount:  fusermount3 -u $MNT
MSG
