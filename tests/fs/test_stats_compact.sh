#!/usr/bin/env bash
# Compaction through .zpool/compact: after deleting every other one of many
# small files the pool is full of half-empty zspages; "echo 1 > compact"
# gives pages back, mem_used_total drops by exactly the pages that
# pages_compacted gained, the classes table agrees, and compactions counts it.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

N=3000
[ "${ZPOOL_TEST_QUICK:-0}" != 0 ] && N=600

stats_mount -o backend=zsmalloc,nocompact
# N one-page files, each page ~900 random bytes then zeros: ~1 KiB objects.
python3 - "$MNT" "$N" <<'EOF'
import os, random, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    k = 900 + i % 64
    with open(os.path.join(mnt, "f%05d" % i), "wb") as f:
        f.write(random.Random(i).randbytes(k) + b"\0" * (4096 - k))
EOF
assert_eq "$(pool_key 'pages stored')" "$N" "pages stored"
for ((i = 0; i < N; i += 2)); do printf '%s/f%05d\0' "$MNT" $i; done | xargs -0 rm
assert_eq "$(pool_key 'pages stored')" $((N / 2)) "pages stored after deleting half"

t=$(check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes layout"
read -r pages_before objs rows <<<"$t"
assert_eq "$objs" $((N / 2)) "obj_used after deleting half"
freeable=$(awk 'NF == 16 && $1 == "Total" { print $NF }' "$S/classes")
used0=$(mm mem_used_total)
pc0=$(mm pages_compacted)
assert_eq "$pc0" 0 "nothing compacted yet"
assert_eq "$(cat "$S/compact")" 0 "compact reads 0"
assert_eq $((pages_before * 4096)) "$used0" "classes Total x 4096 before"
[ "$freeable" -gt 0 ] || fail "half-empty pool shows nothing freeable"

echo 1 >"$S/compact"

used1=$(mm mem_used_total)
pc1=$(mm pages_compacted)
echo "compaction: mem_used_total $used0 -> $used1, pages_compacted $pc0 -> $pc1," \
	"freeable was $freeable"
[ "$pc1" -gt 0 ] || fail "compaction freed nothing"
[ "$used1" -lt "$used0" ] || fail "mem_used_total did not drop"
assert_eq $((used0 - used1)) $(((pc1 - pc0) * 4096)) "mem_used drop == pages_compacted gain"
assert_eq "$(cat "$S/compact")" "$pc1" "compact reads pages compacted"
assert_eq "$(pool_key compactions)" 1 "compactions"
assert_eq "$(pool_key 'pages compacted')" "$pc1" "pool: pages compacted"
t=$(check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes layout"
read -r pages_after objs rows <<<"$t"
assert_eq "$objs" $((N / 2)) "compaction keeps every object"
assert_eq $((pages_after * 4096)) "$used1" "classes Total x 4096 after"
jq -e --argjson pc "$pc1" '.counters.pages_compacted == $pc and .counters.compactions == 1
	and .mm_stat.pages_compacted == $pc' "$S/stats.json" >/dev/null ||
	fail "stats.json after compaction"

# Every surviving file still reads back exactly what was written.
python3 - "$MNT" "$N" <<'EOF' || fail "data changed by compaction"
import os, random, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n, 2):
    k = 900 + i % 64
    data = open(os.path.join(mnt, "f%05d" % i), "rb").read()
    assert data == random.Random(i).randbytes(k) + b"\0" * (4096 - k), i
EOF

# A second compaction right away has little or nothing left to do, and
# still accounts exactly.
echo 1 >"$S/compact"
used2=$(mm mem_used_total)
pc2=$(mm pages_compacted)
assert_eq $((used1 - used2)) $(((pc2 - pc1) * 4096)) "second compaction accounting"
assert_eq "$(pool_key compactions)" 2 "compactions after the second"
stats_umount
echo "stats compact: ok"
