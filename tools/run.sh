#!/usr/bin/env bash
# make run: mount a compressed tmpfs at $MNT and say how to use it.
#   MNT=/tmp/zpoolfs (default), ZPOOLFS_OPTS=size=50% (default; any -o options)
set -eu
BUILD=${BUILD:-build}
MNT=${MNT:-/tmp/zpoolfs}
OPTS=${ZPOOLFS_OPTS:-size=50%}
if [ ! -x "$BUILD/zpoolfs" ]; then
	echo "zpoolfs: $BUILD/zpoolfs is not built (make all)" >&2
	exit 1
fi
mkdir -p "$MNT"
if mountpoint -q "$MNT"; then
	echo "zpoolfs: $MNT is already a mount point; unmount it first: fusermount3 -u $MNT" >&2
	exit 1
fi
"$BUILD/zpoolfs" "$MNT" -o "$OPTS"
backend=$(sed -n 's/^backend: //p' "$MNT/.zpool/pool" 2>/dev/null || true)
comp=$(sed -n 's/^compressor: //p' "$MNT/.zpool/pool" 2>/dev/null || true)
cat <<MSG
zpoolfs mounted at $MNT (-o $OPTS: ${backend:-?} pool, ${comp:-?} pages).
  use it:   cp -r /usr/share/doc $MNT/ ; df -h $MNT
  look:     cat $MNT/.zpool/mm_stat ; cat $MNT/.zpool/pool ; cat $MNT/.zpool/classes
            getfattr -n user.zpool.stat $MNT/FILE     (one file's compression)
            echo 1 > $MNT/.zpool/compact              (compact the pool)
  unmount:  fusermount3 -u $MNT      (or: umount $MNT)
  options:  ZPOOLFS_OPTS=size=1g,comp=zstd,backend=zbud make run ; $BUILD/zpoolfs --help
MSG
