#!/usr/bin/env bash
# Differential test: one scripted sequence of several hundred system calls
# (tests/fs/difftest.py: failing calls included, some as uid 65534, then a
# seeded random part) runs on a real tmpfs and on zpoolfs; return values,
# errno values and the stat fields tmpfs defines must be the same. Prints the
# first divergence. DIFF_SEED=N replays another random part.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
[ "$(id -u)" = 0 ] || skip "needs root (mounts a tmpfs, runs calls as uid 65534)"
zfs_workdir
SEED=${DIFF_SEED:-20240607}
echo "seed $SEED"

T=$WORK/tmpfs
mkdir -p "$T"
mount -t tmpfs -o size=64m,mode=0755 tmpfs "$T" || skip "cannot mount a tmpfs"
zfs_on_exit 'umount -l "$T" 2>/dev/null'
M=$WORK/zpoolfs
zfs_mount "$M" -o size=64m,mode=0755,nostats || fail "mount failed"

python3 "$ZFS_TESTS_DIR/difftest.py" record "$T" "$WORK/tmpfs.json" "$SEED" || fail "recording on tmpfs failed"
python3 "$ZFS_TESTS_DIR/difftest.py" record "$M" "$WORK/zpoolfs.json" "$SEED" || fail "recording on zpoolfs failed"
python3 "$ZFS_TESTS_DIR/difftest.py" compare "$WORK/tmpfs.json" "$WORK/zpoolfs.json" ||
	fail "zpoolfs differs from tmpfs (seed $SEED)"
umount "$T"
zfs_umount "$M"
echo ok
