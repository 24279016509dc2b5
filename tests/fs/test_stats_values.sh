#!/usr/bin/env bash
# Stats after known workloads: N same-filled pages, N pages from /dev/urandom
# and a text corpus whose lz4 size is computed here page by page with the
# real liblz4. Every mm_stat and io_stat field, the pool file, stats.json,
# the class tables and each file's user.zpool.stat must say what was written.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

SAME=37 RAND=23 CORPUS=64

# The corpus: CORPUS pages of numbered text (compresses well, no page is
# same-filled), and the sum of LZ4_compress_default() over its pages.
make_corpus() {
	python3 - "$1" "$CORPUS" <<'EOF'
import sys
out, pages = sys.argv[1], int(sys.argv[2])
text = "".join("%06d the quick brown fox jumps over the lazy dog, %s\n"
               % (i, "abcdefghij"[i % 10] * (i % 23)) for i in range(pages * 80))
open(out, "wb").write(text.encode()[: pages * 4096])
EOF
}
lz4_pages() {
	python3 - "$1" <<'EOF'
import ctypes, sys
lz4 = ctypes.CDLL("liblz4.so.1")
data = open(sys.argv[1], "rb").read()
dst = ctypes.create_string_buffer(8192)
total = 0
for off in range(0, len(data), 4096):
    page = data[off:off + 4096]
    n = lz4.LZ4_compress_default(page, dst, len(page), len(dst))
    assert 0 < n < 3000, n
    total += n
print(total)
EOF
}

run_backend() {
	local backend=$1 t used rows corpus_lz4 nf0 json
	echo "== backend=$backend"
	# cluster=4k: page by page, zram's accounting, which this test computes exactly
	# (tests/fs/test_cluster.sh does the same for clusters).
	stats_mount -o "backend=$backend,comp=lz4,mem_limit=64m,cluster=4k"

	# A fresh mount: everything zero but the limit.
	for f in orig_data_size compr_data_size same_pages pages_compacted huge_pages \
		huge_pages_since; do
		assert_eq "$(mm $f)" 0 "fresh mount: $f"
	done
	assert_eq "$(mm mem_limit)" $((64 << 20)) "mem_limit"
	for f in failed_reads failed_writes invalid_io notify_free; do
		assert_eq "$(io $f)" 0 "fresh mount: $f"
	done

	make_corpus "$WORK/corpus"
	corpus_lz4=$(lz4_pages "$WORK/corpus")
	fill "$MNT/same" $SAME same
	fill "$MNT/rand" $RAND random
	dd if="$WORK/corpus" of="$MNT/corpus" bs=64k conv=fsync status=none

	assert_eq "$(mm orig_data_size)" $(((SAME + RAND + CORPUS) * 4096)) "orig_data_size"
	assert_eq "$(mm compr_data_size)" $((RAND * 4096 + corpus_lz4)) "compr_data_size"
	assert_eq "$(mm same_pages)" $SAME "same_pages"
	assert_eq "$(mm huge_pages)" $RAND "huge_pages"
	assert_eq "$(mm huge_pages_since)" $RAND "huge_pages_since"
	assert_eq "$(mm pages_compacted)" 0 "pages_compacted"
	assert_eq "$(mm mem_limit)" $((64 << 20)) "mem_limit"
	used=$(mm mem_used_total)
	[ "$used" -ge "$(mm compr_data_size)" ] || fail "mem_used_total $used < compr_data_size"
	[ $((used % 4096)) -eq 0 ] || fail "mem_used_total $used is not whole pages"
	[ "$(mm mem_used_max)" -ge "$used" ] || fail "mem_used_max below mem_used_total"
	for f in failed_reads failed_writes invalid_io notify_free; do
		assert_eq "$(io $f)" 0 "after writing: $f"
	done

	# The pool file says the same to people.
	assert_eq "$(pool_key backend)" "$backend" "pool: backend"
	assert_eq "$(pool_key compressor)" lz4 "pool: compressor"
	assert_eq "$(pool_key 'regular files')" 3 "pool: regular files"
	assert_eq "$(pool_key 'pages stored')" $((SAME + RAND + CORPUS)) "pool: pages stored"
	assert_eq "$(pool_key 'same-filled pages')" $SAME "pool: same-filled pages"
	assert_eq "$(pool_key 'huge pages')" $RAND "pool: huge pages"
	assert_eq "$(pool_key 'bytes before compression')" $(((SAME + RAND + CORPUS) * 4096)) before
	assert_eq "$(pool_key 'bytes after compression')" $((RAND * 4096 + corpus_lz4)) after
	assert_eq "$(pool_key 'pool bytes')" "$used" "pool: pool bytes"
	assert_eq "$(pool_key overhead)" $((used - RAND * 4096 - corpus_lz4)) "pool: overhead"
	assert_eq "$(pool_key 'objects mapped now')" 0 "pool: objects mapped now"
	assert_eq "$(pool_key ratio)" "$(awk -v a=$(((SAME + RAND + CORPUS) * 4096)) -v b="$used" \
		'BEGIN { printf "%.2f", a / b }')" "pool: ratio"

	# stats.json: one snapshot, so it reconciles with itself exactly.
	json=$(snap stats.json)
	python3 -m json.tool "$json" >/dev/null || fail "stats.json does not parse (python3)"
	jq -e . "$json" >/dev/null || fail "stats.json does not parse (jq)"
	jq -e --argjson same $SAME --argjson rand $RAND --argjson pages $((SAME + RAND + CORPUS)) '
		.version == 1 and .counters.same_pages == $same and .counters.huge_pages == $rand
		and .counters.pages_stored == $pages and .mm_stat.same_pages == $same
		and .mm_stat.orig_data_size == $pages * 4096
		and .mm_stat.mem_used_total == .pool.pool_bytes + .pool.raw_bytes' "$json" \
		>/dev/null || fail "stats.json values: $(cat "$json")"

	if [ "$backend" = zsmalloc ]; then
		# Total pages_used x 4096 == mem_used_total, objects == pages stored
		# minus same-filled ones (those live in the page table, not the pool).
		t=$(check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS) ||
			fail "classes layout"
		read -r pages objs rows <<<"$t"
		assert_eq $((pages * 4096)) "$(mm mem_used_total)" "classes Total pages_used x 4096"
		assert_eq "$objs" $((RAND + CORPUS)) "classes Total obj_used"
		[ "$rows" -gt 100 ] || fail "classes has only $rows rows"
		t=$(check_table "$(snap fullness)" "$FULLNESS_HEADER" $FULLNESS_COLS) ||
			fail "fullness layout"
		read -r pages objs rows <<<"$t"
		assert_eq $((pages * 4096)) "$(mm mem_used_total)" "fullness Total x 4096"
		assert_eq "$objs" $((RAND + CORPUS)) "fullness Total obj_used"
		jq -e --argjson objs $((RAND + CORPUS)) '
			.zsmalloc.total.obj_used == $objs and .zsmalloc.obj_used == $objs
			and .zsmalloc.total.pages_used * 4096 == .mm_stat.mem_used_total' "$json" \
			>/dev/null || fail "stats.json totals: $(jq -c .zsmalloc.total "$json")"
	else
		jq -e --argjson min $((RAND + CORPUS)) '
			.zbud.objects >= $min
			and .zbud.pages == .zbud.buddied + .zbud.unbuddied_total
			and .zbud.pages * 4096 + .pool.raw_bytes
			    == .mm_stat.mem_used_total' "$json" \
			>/dev/null || fail "stats.json zbud: $(jq -c .zbud "$json")"
		[ -e "$S/zbud" ] || fail "zbud mount has no zbud file"
	fi

	# Each file's own account.
	assert_eq "$(zstat "$MNT/same")" "logical=$((SAME * 4096)) stored=0 compressed=0\
 same=$SAME huge=0 holes=0 ratio=inf shared=0" "user.zpool.stat of same"
	assert_eq "$(zstat "$MNT/rand")" "logical=$((RAND * 4096)) stored=$((RAND * 4096))\
 compressed=0 same=0 huge=$RAND holes=0 ratio=1.00 shared=0" "user.zpool.stat of rand"
	assert_eq "$(xattr "$MNT/corpus" stored)" "$corpus_lz4" "corpus stored"
	assert_eq "$(xattr "$MNT/corpus" compressed)" $CORPUS "corpus compressed"
	assert_eq "$(xattr "$MNT/corpus" logical)" $((CORPUS * 4096)) "corpus logical"

	# Holes: extending a file stores nothing.
	truncate -s $(((SAME + 5) * 4096)) "$MNT/same"
	assert_eq "$(xattr "$MNT/same" holes)" 5 "holes after extending"
	assert_eq "$(mm orig_data_size)" $(((SAME + RAND + CORPUS) * 4096)) "holes store nothing"

	# Deleting the random pages: the gauges drop, the totals stay.
	nf0=$(io notify_free)
	rm "$MNT/rand"
	assert_eq "$(mm huge_pages)" 0 "huge_pages after rm"
	assert_eq "$(mm huge_pages_since)" $RAND "huge_pages_since after rm"
	assert_eq "$(mm orig_data_size)" $(((SAME + CORPUS) * 4096)) "orig_data_size after rm"
	assert_eq "$(mm compr_data_size)" "$corpus_lz4" "compr_data_size after rm"
	assert_eq "$(io notify_free)" $((nf0 + RAND)) "notify_free after rm"
	# zsmalloc gives the raw pages' class pages back; zbud frees a page only
	# when both of its buddies are gone, which other files may still hold.
	if [ "$backend" = zsmalloc ]; then
		[ "$(mm mem_used_total)" -lt "$used" ] || fail "mem_used_total did not drop"
	else
		[ "$(mm mem_used_total)" -le "$used" ] || fail "mem_used_total grew after rm"
	fi
	[ "$(mm mem_used_max)" -ge "$used" ] || fail "mem_used_max forgot the peak"
	if [ "$backend" = zsmalloc ]; then
		t=$(check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS) ||
			fail "classes layout"
		read -r pages objs rows <<<"$t"
		assert_eq "$objs" $CORPUS "obj_used after rm"
		assert_eq $((pages * 4096)) "$(mm mem_used_total)" "pages_used x 4096 after rm"
	fi
	stats_umount
}

run_backend zsmalloc
run_backend zbud
echo "stats values: ok"
