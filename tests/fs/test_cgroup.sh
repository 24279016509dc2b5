#!/usr/bin/env bash
# zpoolfs under a memory limit (issue 13): the daemon runs in a cgroup of its
# own whose memory limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes)
# is below what is written; with mem_limit=, backing= and writeback_at= it
# writes back instead of growing, the write succeeds, every byte reads back,
# and the daemon is never OOM-killed (it exits cleanly at unmount, and the
# cgroup counts no OOM kill).
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

zfs_need_fuse
zfs_need jq cmp
zfs_workdir
[ "$(id -u)" = 0 ] || skip "needs root to make a cgroup"

LIMIT=$((96 << 20))
MIB=128
[ "${ZPOOL_TEST_QUICK:-0}" != 0 ] && MIB=112
cg=
if [ -w /sys/fs/cgroup/cgroup.subtree_control ] &&
	grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	cg=/sys/fs/cgroup/zpoolfs-test.$$
	mkdir "$cg"
	echo "$LIMIT" >"$cg/memory.max"
	echo 0 >"$cg/memory.swap.max" 2>/dev/null || true
	oom() { awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events"; }
elif [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then
	cg=/sys/fs/cgroup/memory/zpoolfs-test.$$
	mkdir "$cg"
	echo "$LIMIT" >"$cg/memory.limit_in_bytes"
	oom() { awk '$1 == "oom_kill" { print $2; f = 1 } END { if (!f) print 0 }' \
		"$cg/memory.oom_control"; }
else
	skip "no writable cgroup memory controller"
fi
zfs_on_exit "sleep 0.5; rmdir '$cg' 2>/dev/null || true"

# The daemon starts inside the cgroup (a wrapper joins it, then runs zpoolfs).
REAL=$ZPOOLFS
cat >"$WORK/zpoolfs-in-cgroup" <<EOF
#!/bin/sh
echo \$\$ >"$cg/cgroup.procs"
exec "$REAL" "\$@"
EOF
chmod +x "$WORK/zpoolfs-in-cgroup"
ZPOOLFS=$WORK/zpoolfs-in-cgroup

python3 -c "
import random, sys
r = random.Random(5)
w = [('%x' % r.getrandbits(16)).encode() for _ in range(2000)]
sys.stdout.buffer.write(b' '.join(r.choice(w) for _ in range($MIB << 18))[:$MIB << 20])
" >"$WORK/data"

stats_mount -o "mem_limit=48m,backing=$WORK/bd,writeback_at=90"
pid=${ZFS_PID[$MNT]}
grep -q "zpoolfs-test.$$" "/proc/$pid/cgroup" || fail "the daemon is not in the test cgroup"
dd if="$WORK/data" of="$MNT/data" bs=1M status=none || fail "writing $MIB MiB under a $((LIMIT >> 20)) MiB cgroup"
echo "cgroup: $(jq -r .counters.pages_backed "$S/stats.json") pages backed," \
	"RSS $(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status") KiB, mem_used_max $(mm mem_used_max)"
[ "$(jq -r .counters.pages_backed "$S/stats.json")" -gt 0 ] || fail "nothing written back"
cmp "$MNT/data" "$WORK/data" || fail "read back differs"
kill -0 "$pid" || fail "the daemon died"
assert_eq "$(oom)" 0 "OOM kills in the cgroup"
stats_umount
echo "cgroup: ok"
