#!/usr/bin/env bash
# Bad command lines: every one exits non-zero with a message that names the
# problem, and nothing is mounted.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_workdir
M=$WORK/m
mkdir -p "$M"

# bad WANT_IN_MESSAGE ARGS...: zpoolfs ARGS must fail, say WANT, mount nothing.
bad() {
	local want=$1 rc=0
	shift
	timeout 20 "$ZPOOLFS" "$@" >"$WORK/out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		zfs_mounted "$M" && fusermount3 -u "$M"
		fail "zpoolfs $* succeeded"
	fi
	[ "$rc" -ne 124 ] || fail "zpoolfs $* hung"
	grep -qi -- "$want" "$WORK/out" || fail "zpoolfs $*: message does not say '$want': $(cat "$WORK/out")"
	! zfs_mounted "$M" || fail "zpoolfs $* left a mount"
	echo "  $* -> $(head -n 1 "$WORK/out")"
}

bad "unknown option" "$M" -o bogus
bad "unknown option" "$M" -o size=1m,frobnicate=3
bad "size=abc" "$M" -o size=abc
bad "size=10x" "$M" -o size=10x
bad "size=101%" "$M" -o size=101%
bad "size=-5" "$M" -o size=-5
bad "size=99999999999999999999" "$M" -o size=99999999999999999999
bad "size=20e" "$M" -o size=20e
bad "nr_inodes=1%" "$M" -o nr_inodes=1%
bad "backend=foo" "$M" -o backend=foo
bad "backend=" "$M" -o backend=
bad "comp=lzo" "$M" -o comp=lzo
bad "comp_level=0" "$M" -o comp=lz4,comp_level=0
bad "comp_level=99" "$M" -o comp=zstd,comp_level=99
bad "comp_level=x" "$M" -o comp_level=x
bad "comp_level=1" "$M" -o comp=none,comp_level=1
bad "mode=999" "$M" -o mode=999
bad "mode=17777" "$M" -o mode=17777
bad "uid=no-such-user" "$M" -o uid=no-such-user
bad "gid=-1" "$M" -o gid=-1
bad "mem_limit=1q" "$M" -o mem_limit=1q
bad "statsdir=a/b" "$M" -o statsdir=a/b
bad "statsdir=.." "$M" -o statsdir=..
bad "nostats" "$M" -o nostats,statsdir=s
bad "threads=0" "$M" -o threads=0
bad "threads=many" "$M" -o threads=many
bad "readahead=3x" "$M" -o readahead=3x
bad "readahead=2g" "$M" -o readahead=2g
bad "timeout=-1" "$M" -o timeout=-1
bad "timeout=soon" "$M" -o timeout=soon
bad "timeout=1e12" "$M" -o timeout=1e12
bad "mount point" -o size=1m
bad "too many arguments" src "$M" extra
bad "$WORK/missing" "$WORK/missing"
ZPOOLFS_FAULT_NTH=x bad "ZPOOLFS_FAULT_NTH" "$M"

# And a good one still mounts afterwards.
zfs_mount "$M" -o size=1m,nr_inodes=10k,mode=700,comp=zstd,comp_level=-5,backend=zbud,threads=2,mem_limit=10%,statsdir=st ||
	fail "a valid command line did not mount"
grep -q '^compressor: zstd' "$M/st/pool" || fail "comp=zstd not in effect"
zfs_umount "$M"
echo ok
