#!/usr/bin/env bash
# zmaplat attached to a mounted zpoolfs (libzpool linked in statically, so the
# probes are in the zpoolfs binary): a file write/read workload, and the map
# and unmap histograms count exactly the calls the filesystem's own pool
# counted over the same window (MOUNT/.zpool/stats.json, read before attaching
# and after detaching). Then the bpftrace maplat.bt script on the same mount.
. "$(dirname "$0")/lib.sh"
require_bpf
. "$(dirname "$0")/../fs/lib.sh"
zfs_need_fuse
zfs_workdir
# Both libraries clean up at exit: ours (tracers, temp dir), then the mounts.
# set +e: under set -e the (exit $rc) that hands zfs_cleanup the status would end the trap.
trap 'rc=$?; set +e; cleanup; (exit $rc); zfs_cleanup' EXIT

# pool_count BACKEND FIELD: a counter of the backend's own stats.
pool_count() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$M/.zpool/stats.json" "$1" "$2"
}

# io: write files of mixed compressible and random data, then read them back
# with O_DIRECT so that every read reaches the filesystem, not the page cache.
io() {
	python3 - "$M" <<'PY'
import os, random, sys
rnd = random.Random(6)
words = [bytes(rnd.choice(b"abcdefghij") for _ in range(rnd.randint(2, 9))) for _ in range(500)]
for i in range(4):
    text = b" ".join(rnd.choice(words) for _ in range(120000))[: 256 * 4096]
    noise = rnd.randbytes(64 * 4096)
    with open(os.path.join(sys.argv[1], f"f{i}"), "wb") as f:
        f.write(text + noise)
PY
	sync
	for f in "$M"/f*; do
		dd if="$f" of=/dev/null bs=64k iflag=direct status=none ||
			cat "$f" >/dev/null
	done
}

for backend in zsmalloc zbud; do
	M=$WORK/m-$backend
	zfs_mount "$M" -o backend=$backend || fail "mount with backend=$backend"
	FS_PID=${ZFS_PID[$M]}
	maps0=$(pool_count $backend maps)
	start_zmaplat zm-$backend -p "$FS_PID" -j -C
	io
	kill -INT "$ZM_PID"
	wait_pid "$ZM_PID" 30 || fail "zmaplat exited with $?: $(cat "$T/zm-$backend.err")"
	maps=$(($(pool_count $backend maps) - maps0))
	echo "$backend: the filesystem made $maps map calls"
	[ "$maps" -gt 1000 ] || fail "only $maps map calls: the workload did not reach the pool"
	python3 - "$T/zm-$backend.out" "$maps" "$backend" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want, backend = int(sys.argv[2]), sys.argv[3]
got = {k: sum(h["count"] for d in docs for h in d["histograms"] if h["kind"] == k)
       for k in ("map", "unmap")}
ev = {k: sum(d["events"][k] for d in docs) for k in docs[0]["events"]}
print(f"zmaplat: {got}, events {ev}")
assert {h["backend"] for d in docs for h in d["histograms"]} == {backend}, "backend"
# Every mapping zpoolfs makes is ended at once, on the same thread, so each
# map is reported by its unmap inside the window.
assert got["map"] == want, f"map histogram {got['map']} != the pool's {want}"
assert got["unmap"] == want, f"unmap histogram {got['unmap']} != {want}"
assert ev["map_unmatched"] == 0 and ev["unmap_unmatched"] == 0 and ev["lost"] == 0
print("ok: zmaplat counts equal the filesystem's own")
PY
	zfs_umount "$M"
done

# bpftrace's maplat.bt on a mounted zpoolfs prints a non-empty histogram.
M=$WORK/m-bt
zfs_mount "$M" || fail "mount"
: >"$T/bt.out"
bpftrace "$(dirname "$0")/../../tools/bpftrace/maplat.bt" -p "${ZFS_PID[$M]}" \
	>"$T/bt.out" 2>"$T/bt.err" &
BT=$!
BG_PIDS+=("$BT")
wait_for "$T/bt.out" '^Tracing libzpool' 60
io
interrupt_pid "$BT" 30 || fail "bpftrace exited with $?: $(cat "$T/bt.err")"
grep -q '^@zsmalloc_map_ns:' "$T/bt.out" || fail "maplat.bt: $(cat "$T/bt.out")"
grep -qE '^\[[^]]+[])] +[1-9][0-9]* \|@' "$T/bt.out" || fail "maplat.bt printed no histogram"
zfs_umount "$M"
echo "zpoolfs tracing ok"
