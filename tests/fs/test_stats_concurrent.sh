#!/usr/bin/env bash
# One open, one snapshot: while two writers create, overwrite and delete files
# of mixed content, every read of classes and fullness must have rows that sum
# to its own Total, and every stats.json must reconcile with itself
# (classes Total x 4096 == mem_used_total == pool bytes, obj_used == objects).
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

ROUNDS=60
[ "${ZPOOL_TEST_QUICK:-0}" != 0 ] && ROUNDS=15

stats_mount -o backend=zsmalloc
mkdir "$MNT/w1" "$MNT/w2"
touch "$WORK/run"

writer() {
	python3 - "$1" "$2" "$WORK/run" <<'EOF'
import os, random, sys
d, seed, run = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = random.Random(seed)
print("writer seed", seed, file=sys.stderr)
while os.path.exists(run):
    name = os.path.join(d, "f%d" % r.randrange(64))
    op = r.randrange(4)
    if op == 0 and os.path.exists(name):
        os.unlink(name)
        continue
    pages = r.randrange(1, 9)
    data = b"".join(r.randbytes(r.randrange(1, 4096)).ljust(4096, b"\0") if r.randrange(3)
                    else bytes([r.randrange(256)]) * 4096 for _ in range(pages))
    with open(name, "wb") as f:
        f.write(data)
EOF
}
writer "$MNT/w1" 1111 &
w1=$!
writer "$MNT/w2" 2222 &
w2=$!

for ((r = 0; r < ROUNDS; r++)); do
	check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS >/dev/null ||
		fail "round $r: classes rows do not sum to Total"
	check_table "$(snap fullness)" "$FULLNESS_HEADER" $FULLNESS_COLS >/dev/null ||
		fail "round $r: fullness rows do not sum to Total"
	json=$(snap stats.json)
	jq -e '.zsmalloc.total.pages_used * 4096 == .mm_stat.mem_used_total
		and .mm_stat.mem_used_total == .pool.pool_bytes
		and .zsmalloc.total.obj_used == .zsmalloc.obj_used
		and .zsmalloc.total.obj_used == .pool.pool_objects
		and ([.zsmalloc.classes[].pages_used] | add) == .zsmalloc.total.pages_used
		and .mm_stat.mem_used_max >= .mm_stat.mem_used_total' "$json" >/dev/null ||
		fail "round $r: stats.json does not reconcile:" \
			"$(jq -c '.mm_stat, .zsmalloc.total' "$json")"
	check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS >/dev/null ||
		fail "round $r: classes (2nd) rows do not sum to Total"
	rm -f "$WORK"/classes.* "$WORK"/fullness.* "$WORK"/stats.json.*
done
rm "$WORK/run"
wait $w1 || fail "writer 1 failed"
wait $w2 || fail "writer 2 failed"

# Idle again: the files agree with each other, and with what is on disk.
t=$(check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes layout"
read -r pages objs rows <<<"$t"
assert_eq $((pages * 4096)) "$(mm mem_used_total)" "idle: classes Total x 4096 == mem_used_total"
stored=$(pool_key 'pages stored')
same=$(pool_key 'same-filled pages')
# A piece (cluster.c) is a chain of cluster_objects objects for cluster_pages pages.
cpages=$(jq -r .counters.cluster_pages "$(snap stats.json)")
cobjs=$(jq -r .counters.cluster_objects "$(snap stats.json)")
assert_eq "$objs" $((stored - same - cpages + cobjs)) \
	"idle: obj_used == pages stored - same-filled - pages in pieces + their chains' objects"
on_disk=$(find "$MNT/w1" "$MNT/w2" -type f -printf '%s\n' |
	awk '{ s += $1 / 4096 } END { print s + 0 }')
assert_eq "$stored" "$on_disk" "idle: pages stored == pages in the files"
stats_umount
echo "stats under writers: ok ($ROUNDS rounds)"
