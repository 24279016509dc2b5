#!/usr/bin/env bash
# Multi-page clusters (-o cluster=SIZE, fs/data/cluster.c): a whole-cluster write
# is stored as one piece whose compressed length is the real liblz4's for the
# cluster's non-same pages (checked byte for byte in compr_data_size), same-
# filled pages stay free, incompressible clusters go page by page, the chain
# of pool objects reconciles with the class tables, 4 KiB rewrites split a
# half-stale piece, truncate/punch inside a cluster, zbud's smaller objects,
# and every byte read back equals a shadow copy after each step.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

json() { jq -r "$1" "$S/stats.json"; }

# make_text FILE PAGES: numbered text, no page same-filled
make_text() {
	python3 - "$1" "$2" <<'EOF'
import sys
out, pages = sys.argv[1], int(sys.argv[2])
text = "".join("%07d pack my box with five dozen liquor jugs %s\n"
               % (i, "xyz"[i % 3] * (i % 29)) for i in range(pages * 70))
open(out, "wb").write(text.encode()[: pages * 4096])
EOF
}

# lz4_clusters FILE CPAGES: what cluster.c stores for FILE written whole:
# the sum of LZ4 over each cluster's non-same pages (a cluster that does not
# save an eighth, or with one such page, stored page by page instead).
lz4_clusters() {
	python3 - "$1" "$2" <<'EOF'
import ctypes, sys
lz4 = ctypes.CDLL("liblz4.so.1")
data = open(sys.argv[1], "rb").read()
cp = int(sys.argv[2]) * 4096
dst = ctypes.create_string_buffer(1 << 17)
def same(p):
    return p == p[:8] * 512
def one(p, cap):
    n = lz4.LZ4_compress_default(p, dst, len(p), cap)
    return n if n > 0 else 0
total = pieces = 0
for off in range(0, len(data), cp):
    pages = [data[o:o + 4096] for o in range(off, off + cp, 4096)]
    live = [p for p in pages if not same(p)]
    if len(live) >= 2:
        blob = b"".join(live)
        n = one(blob, len(blob) - len(blob) // 8)
        if n:
            total += n
            pieces += 1
            continue
    for p in live:
        n = one(p, 8192)
        assert 0 < n < 3000, n
        total += n
print(total, pieces)
EOF
}

check_back() {
	cmp "$1" "$2" || fail "$2 differs from its shadow copy ($3)"
}

reconcile() {
	local t
	t=$(check_table "$S/classes" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes ($1)"
	assert_eq "$(($(echo "$t" | cut -d' ' -f1) * 4096))" "$(mm mem_used_total)" \
		"classes pages_used x 4096 = mem_used_total ($1)"
}

PAGES=256	# 1 MiB
for cl in 16k 64k; do
	cp_=$(( ${cl%k} / 4 ))
	echo "== cluster=$cl"
	stats_mount -o "cluster=$cl,comp=lz4"
	make_text "$WORK/text" $PAGES
	# A same-filled page in the middle of the third cluster, and a whole zero cluster.
	python3 - "$WORK/text" "$cp_" <<'EOF'
import sys
f, cp = sys.argv[1], int(sys.argv[2])
b = bytearray(open(f, "rb").read())
b[(2 * cp + 1) * 4096:(2 * cp + 2) * 4096] = b"\x5a" * 4096
b[5 * cp * 4096:6 * cp * 4096] = bytes(cp * 4096)
open(f, "wb").write(b)
EOF
	read -r want pieces <<<"$(lz4_clusters "$WORK/text" "$cp_")"
	dd if="$WORK/text" of="$MNT/f" bs=1M conv=fsync status=none
	check_back "$WORK/text" "$MNT/f" "written"
	assert_eq "$(mm compr_data_size)" "$want" "compr_data_size = liblz4 over the clusters"
	assert_eq "$(mm orig_data_size)" $((PAGES * 4096)) "orig_data_size"
	assert_eq "$(mm same_pages)" $((1 + cp_)) "same_pages"
	assert_eq "$(json .counters.clusters)" "$pieces" "clusters"
	assert_eq "$(json .counters.cluster_pages)" $((PAGES - 1 - cp_)) "cluster_pages"
	assert_eq "$(json .counters.cluster_stale_pages)" 0 "no stale page yet"
	assert_eq "$(xattr "$MNT/f" stored)" "$want" "user.zpool.stat stored"
	reconcile "after the write"
	# Single pages of pieces read cold, in an order that expands a piece's
	# prefix first and then needs a later slot of it (lz4 stops early).
	for i in 1 0 3 2 $((cp_ + 2)) $((cp_ + 1)) $((cp_ * 4 - 1)) $((cp_ * 3)); do
		a=$(dd if="$MNT/f" bs=4k skip=$i count=1 iflag=direct status=none | md5sum)
		b=$(dd if="$WORK/text" bs=4k skip=$i count=1 status=none | md5sum)
		assert_eq "$a" "$b" "page $i read alone"
	done
	# Better than page by page: the same text at cluster=4k costs more.
	[ "$want" -lt "$(lz4_clusters "$WORK/text" 1 | cut -d' ' -f1)" ] ||
		fail "cluster=$cl does not compress better than 4k"

	# 4 KiB rewrites: the first one into a piece leaves it stale, the one
	# that takes it to half live splits it; nothing decompresses a cluster
	# per write beyond that.
	cp "$WORK/text" "$WORK/shadow"
	for i in $(seq 0 $((cp_ / 2 - 1))); do
		head -c 4096 /dev/urandom >"$WORK/page"
		dd if="$WORK/page" of="$MNT/f" bs=4k seek=$i conv=notrunc,fsync status=none
		dd if="$WORK/page" of="$WORK/shadow" bs=4k seek=$i conv=notrunc status=none
	done
	check_back "$WORK/shadow" "$MNT/f" "4 KiB rewrites"
	[ "$(json .counters.clusters_split)" -ge 1 ] || fail "no piece was split at half live"
	stale=$(json .counters.cluster_stale_pages)
	[ "$stale" -le "$(json .counters.cluster_pages)" ] ||
		fail "stale pages $stale above live cluster pages"
	reconcile "after rewrites"

	# A partial write inside a piece, then truncate and punch inside clusters.
	printf 'hello, cluster' | dd of="$MNT/f" bs=1 seek=$((8 * 4096 + 100)) conv=notrunc status=none
	printf 'hello, cluster' | dd of="$WORK/shadow" bs=1 seek=$((8 * 4096 + 100)) conv=notrunc status=none
	check_back "$WORK/shadow" "$MNT/f" "partial write in a piece"
	fallocate -p -o $((cp_ * 4096 * 3 + 4096)) -l 8192 "$MNT/f"
	fallocate -p -o $((cp_ * 4096 * 3 + 4096)) -l 8192 "$WORK/shadow"
	check_back "$WORK/shadow" "$MNT/f" "punch in a piece"
	truncate -s $((cp_ * 4096 * 7 + 5000)) "$MNT/f" "$WORK/shadow"
	check_back "$WORK/shadow" "$MNT/f" "truncate in a piece"
	truncate -s $((PAGES * 4096)) "$MNT/f" "$WORK/shadow"
	check_back "$WORK/shadow" "$MNT/f" "grown again"
	reconcile "after truncate and punch"

	# Incompressible clusters go page by page, raw.
	fill "$MNT/rand" $((cp_ * 2)) random
	assert_eq "$(xattr "$MNT/rand" huge)" $((cp_ * 2)) "random clusters: huge pages"

	rm "$MNT/f" "$MNT/rand"
	for k in clusters cluster_pages cluster_stale_pages; do
		assert_eq "$(json .counters.$k)" 0 "$k after rm"
	done
	assert_eq "$(mm compr_data_size)" 0 "compr_data_size after rm"
	stats_umount
done

echo "== cluster=4k: no pieces, page by page as zram"
stats_mount -o cluster=4k,comp=lz4
make_text "$WORK/text" 64
dd if="$WORK/text" of="$MNT/f" bs=1M conv=fsync status=none
assert_eq "$(mm compr_data_size)" "$(lz4_clusters "$WORK/text" 1 | cut -d' ' -f1)" \
	"cluster=4k compr_data_size = liblz4 page by page"
assert_eq "$(json .counters.clusters)" 0 "cluster=4k makes no piece"
stats_umount

echo "== zbud: chains of objects of at most zbud's largest"
stats_mount -o cluster=64k,backend=zbud,comp=lz4
make_text "$WORK/text" 128
head -c $((16 * 4096)) /dev/urandom >>"$WORK/text"
dd if="$WORK/text" of="$MNT/f" bs=1M conv=fsync status=none
check_back "$WORK/text" "$MNT/f" "zbud"
[ "$(json .counters.clusters)" -ge 1 ] || fail "zbud: no piece"
dd if="$WORK/text" of="$MNT/f" bs=4k count=3 seek=5 skip=9 conv=notrunc,fsync status=none
dd if="$WORK/text" of="$WORK/text2" bs=1M status=none
dd if="$WORK/text" of="$WORK/text2" bs=4k count=3 seek=5 skip=9 conv=notrunc status=none
check_back "$WORK/text2" "$MNT/f" "zbud rewrite"
stats_umount

echo "== bad sizes are refused"
mkdir -p "$WORK/nomnt"
for bad in 2k 3k 12k 128k 16 x; do
	if "$ZPOOLFS" "$WORK/nomnt" -o cluster=$bad 2>"$WORK/err"; then
		fail "cluster=$bad accepted"
	fi
	grep -q "cluster" "$WORK/err" || fail "cluster=$bad: no message naming the option"
done
echo "ok"
