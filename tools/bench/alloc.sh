#!/usr/bin/env bash
# alloc.sh - the allocator benchmark: build the corpus, run alloc_bench over every zpool driver
# beside glibc, then the kernel's zram on the same pages (root only). Writes $BENCH_DIR/alloc.tsv.
#   BUILD=build BENCH_CORPUS_MIB=200 BENCH_ALLOC_ROUNDS=9 BENCH_THREADS=2 bash tools/bench/alloc.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
export BENCH_BIN=$BENCH_DIR
res=$BENCH_DIR/alloc.tsv
. tools/bench/zram.sh
. tools/bench/meta.sh
trap zram_reset EXIT

meta_lines >"$res"
noise_start
echo "== allocator benchmark" \
	"(corpus budget ${BENCH_CORPUS_MIB:-200} MiB, ${BENCH_ALLOC_ROUNDS:-9} rounds)"
"$BENCH_DIR/corpus" pages -b "${BENCH_CORPUS_MIB:-200}" -o "$BENCH_DIR"
"$BENCH_DIR/alloc_bench" -d "$BENCH_DIR" -r "${BENCH_ALLOC_ROUNDS:-9}" -t "${BENCH_THREADS:-2}" \
	-o "$res" -f "$BENCH_DIR/freed.idx"
if why=$(zram_usable); then
	bash tools/bench/zram.sh alloc "$BENCH_DIR" "$res"
else
	echo "kernel zram comparison skipped: $why"
	printf 'zram\tskipped\t%s\t0\t0\t-\n' "$why" >>"$res"
fi
noise_report alloc "$res"
# The page files are large and rebuilt on every run.
rm -f "$BENCH_DIR/corpus.pages"
echo "results: $res"
