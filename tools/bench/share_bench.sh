#!/usr/bin/env bash
# share_bench.sh - what a copy inside the mount costs: `cp -r` of a tree that is already in
# zpoolfs (copy_file_range shares the pages) against writing the same tree in from outside.
#
#   BUILD=build BENCH_FS_MIB=256 BENCH_SHARE_ROUNDS=3 bash tools/bench/share_bench.sh
#
# Each round, on a fresh mount with the defaults: the corpus files (libraries under /usr/lib
# + text under /usr/share, BENCH_FS_MIB, as fs_bench.sh's tree) are copied in with cp
# (source in the page cache; cp reads and writes, since copy_file_range does not cross
# filesystems), then `cp -r` copies that tree to a second directory inside the mount.
# Reported: both times, the time ratio (copy / write-in), mem_used_total after each, and the
# pool growth of the copy as a share of the first copy's pool memory.
# Then -o dedup, in the same round: the tree written in on a mount without dedup and on one
# with it (write speed ratio; pool + index memory against the pool without dedup: the tree is
# mostly distinct data), and a second time into another directory of the dedup mount (pool
# after two copies / after one); the plain and dedup writes alternate which goes first, and
# the daemon's CPU time for each is reported beside the wall time; with BENCH_SHARE_CALLGRIND=1
# also the daemon's instructions per page writing the first BENCH_SHARE_CG_MIB of the tree in,
# without and with dedup. Medians of the rounds' values and their ranges.
# Part 0 (before those): copy_file_range of one large file, BENCH_SHARE_CFR_MIB (default
# "256 1024") MiB of compressible text written in once, then copied BENCH_SHARE_CFR_COPIES
# (3) times in a row to new files with one os.copy_file_range each (cfr_copy.py): wall time of
# the call and the daemon's CPU time for it (its threads' schedstat), per page too. With
# BENCH_SHARE_CALLGRIND=1 the daemon also runs once under callgrind (instrumentation switched
# on only around the copy of a BENCH_SHARE_CG_MIB (64) MiB file): instructions per page.
# BENCH_SHARE_PARTS (default "cfr tree dedup") picks the parts.
# Results: $BUILD/bench/share.tsv.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BENCH_DIR=$BUILD/bench
FS_MIB=${BENCH_FS_MIB:-256}
ROUNDS=${BENCH_SHARE_ROUNDS:-3}
CFR_MIB=${BENCH_SHARE_CFR_MIB-256 1024}
CFR_COPIES=${BENCH_SHARE_CFR_COPIES:-3}
CALLGRIND=${BENCH_SHARE_CALLGRIND:-0}
CG_MIB=${BENCH_SHARE_CG_MIB:-64}
PARTS=${BENCH_SHARE_PARTS:-cfr tree dedup}
part() { [[ " $PARTS " == *" $1 "* ]]; }
res=$BENCH_DIR/share.tsv
. tools/bench/meta.sh

mkdir -p "$BENCH_DIR"
meta_lines >"$res"
noise_start
echo
echo "== sharing benchmark (corpus tree ${FS_MIB} MiB, ${ROUNDS} rounds)"
skip() {
	echo "sharing benchmark skipped: $*"
	printf 'share\tskipped\t%s\t0\t0\t-\n' "$*" >>"$res"
	exit 0
}
[ -x "$BUILD/zpoolfs" ] || skip "$BUILD/zpoolfs is not built"
[ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "no access to /dev/fuse"
[ -x "$BENCH_DIR/corpus" ] || skip "$BENCH_DIR/corpus is not built (make bench-progs)"

work=$(mktemp -d /tmp/zpoolfs-share-bench.XXXXXX)
zmnt=$work/m
mkdir -p "$zmnt"
zpid=
unmount_zpoolfs() {
	if mountpoint -q "$zmnt"; then
		fusermount3 -u "$zmnt" 2>/dev/null || umount -l "$zmnt" 2>/dev/null || true
	fi
	if [ -n "$zpid" ]; then
		wait "$zpid" 2>/dev/null || true
		zpid=
	fi
}
trap 'unmount_zpoolfs; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mount_zpoolfs() {
	$WRAP "$BUILD/zpoolfs" "$zmnt" -f ${1:+-o "$1"} &
	zpid=$!
	for _ in $(seq 600); do
		mountpoint -q "$zmnt" && return 0
		kill -0 "$zpid" 2>/dev/null || break
		sleep 0.05
	done
	echo "share_bench: zpoolfs did not mount" >&2
	exit 1
}
now_ns() { date +%s%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
result() { printf 'share\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$res"; }
mem_used() { awk '{ print $3 }' "$zmnt/.zpool/mm_stat"; }
# daemon_ns: CPU nanoseconds all the daemon's threads have run (schedstat's first field)
daemon_ns() { cat /proc/"$zpid"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
WRAP=
cfr=tools/bench/cfr_copy.py
col() { for r in $(seq "$ROUNDS"); do echo "${t[$1,$r]}"; done; }
declare -A t

# Part 0: copy_file_range of one large file.
if part cfr; then
	declare -A c
	for mib in $CFR_MIB; do
		pages=$((mib * 256))
		for r in $(seq "$ROUNDS"); do
			mount_zpoolfs ""
			python3 "$cfr" fill "$zmnt/src" "$mib"
			pool=$(mem_used)
			for k in $(seq "$CFR_COPIES"); do
				d0=$(daemon_ns)
				read -r ns calls < <(python3 "$cfr" copy "$zmnt/src" "$zmnt/dst$k")
				d1=$(daemon_ns)
				c[$mib,$k,$r]=$ns
				c[cpu,$mib,$k,$r]=$((d1 - d0))
				printf 'cfr %d MiB round %d copy %d: %.2f ms (%d call), daemon CPU %.2f ms, %.1f ns/page\n' \
					"$mib" "$r" "$k" "$(awk -v n="$ns" 'BEGIN { print n / 1e6 }')" "$calls" \
					"$(awk -v n="$((d1 - d0))" 'BEGIN { print n / 1e6 }')" \
					"$(awk -v n="$ns" -v p="$pages" 'BEGIN { print n / p }')"
			done
			[ "$(mem_used)" = "$pool" ] || echo "share_bench: pool grew in the copies: $pool -> $(mem_used)" >&2
			cmp "$zmnt/src" "$zmnt/dst$CFR_COPIES" || { echo "share_bench: the copy differs" >&2; exit 1; }
			unmount_zpoolfs
		done
		for k in $(seq "$CFR_COPIES"); do
			v=$(for r in $(seq "$ROUNDS"); do echo "${c[$mib,$k,$r]}"; done)
			u=$(for r in $(seq "$ROUNDS"); do echo "${c[cpu,$mib,$k,$r]}"; done)
			m=$(echo "$v" | median)
			mu=$(echo "$u" | median)
			printf 'cfr %5d MiB copy %d: wall median %9.2f ms (%s ns), %7.1f ns/page; daemon CPU median %9.2f ms (%s ns)\n' \
				"$mib" "$k" "$(awk -v n="$m" 'BEGIN { print n / 1e6 }')" "$(echo "$v" | range)" \
				"$(awk -v n="$m" -v p="$pages" 'BEGIN { print n / p }')" \
				"$(awk -v n="$mu" 'BEGIN { print n / 1e6 }')" "$(echo "$u" | range)"
			result "cfr_${mib}mib_copy${k}_wall" zpoolfs 0 "$m" ns
			result "cfr_${mib}mib_copy${k}_daemon_cpu" zpoolfs 0 "$mu" ns
		done
	done
	if [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
		cgout=$work/callgrind.out
		WRAP="valgrind --tool=callgrind --instr-atstart=no --log-file=$work/valgrind.log --callgrind-out-file=$cgout"
		mount_zpoolfs ""
		WRAP=
		python3 "$cfr" fill "$zmnt/src" "$CG_MIB"
		callgrind_control -i on "$zpid" >/dev/null
		python3 "$cfr" copy "$zmnt/src" "$zmnt/dst" >/dev/null
		callgrind_control -i off "$zpid" >/dev/null
		unmount_zpoolfs
		ir=$(callgrind_annotate "$cgout" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ { gsub(",", "", $1); print $1 }')
		printf 'cfr callgrind: copy of %d MiB: %s instructions in the daemon, %.1f a page\n' \
			"$CG_MIB" "$ir" "$(awk -v i="$ir" -v p="$((CG_MIB * 256))" 'BEGIN { print i / p }')"
		result cfr_instructions_per_page zpoolfs 0 \
			"$(awk -v i="$ir" -v p="$((CG_MIB * 256))" 'BEGIN { printf "%.1f", i / p }')" instructions
		[ -z "${BENCH_SHARE_CG_KEEP:-}" ] || cp "$cgout" "$BENCH_SHARE_CG_KEEP"
	fi
fi

if ! part tree && ! part dedup; then
	noise_report share "$res"
	exit 0
fi
"$BENCH_DIR/corpus" files -b "$FS_MIB" -o "$BENCH_DIR" >/dev/null
list=$BENCH_DIR/fscorpus.list
tree_bytes=$(tr '\n' '\0' <"$list" | du -cb --files0-from=- | tail -n 1 | cut -f1)
result tree_bytes files 0 "$tree_bytes" bytes

if part tree; then
for r in $(seq "$ROUNDS"); do
	mount_zpoolfs ""
	tr '\n' '\0' <"$list" | xargs -0 cat >/dev/null
	mkdir "$zmnt/a"
	s=$(now_ns)
	tr '\n' '\0' <"$list" | xargs -0 cp --parents -t "$zmnt/a"
	e=$(now_ns)
	t[in,$r]=$(( (e - s) / 1000 ))
	t[mem1,$r]=$(mem_used)
	s=$(now_ns)
	cp -r "$zmnt/a" "$zmnt/b"
	e=$(now_ns)
	t[cp,$r]=$(( (e - s) / 1000 ))
	t[mem2,$r]=$(mem_used)
	t[shared,$r]=$(sed -n 's/^gauge shared_pages: //p' "$zmnt/.zpool/pool")
	cmp <(cd "$zmnt/a" && find . -type f -print0 | sort -z | xargs -0 cat | md5sum) \
	    <(cd "$zmnt/b" && find . -type f -print0 | sort -z | xargs -0 cat | md5sum) >/dev/null ||
		{ echo "share_bench: the copy differs" >&2; exit 1; }
	t[ratio,$r]=$(awk -v a="${t[cp,$r]}" -v b="${t[in,$r]}" 'BEGIN { printf "%.4f", a / b }')
	t[growth,$r]=$(awk -v a="${t[mem2,$r]}" -v b="${t[mem1,$r]}" \
		'BEGIN { printf "%.5f", (a - b) / b }')
	printf 'round %d: write in %.2f s, cp -r %.3f s (%.3fx), pool %d -> %d bytes (+%.3f %%), %d pages shared\n' \
		"$r" "$(awk -v u="${t[in,$r]}" 'BEGIN { print u / 1e6 }')" \
		"$(awk -v u="${t[cp,$r]}" 'BEGIN { print u / 1e6 }')" "${t[ratio,$r]}" \
		"${t[mem1,$r]}" "${t[mem2,$r]}" "$(awk -v g="${t[growth,$r]}" 'BEGIN { print g * 100 }')" \
		"${t[shared,$r]}"
	unmount_zpoolfs
done
fi

# -o dedup: the tree written in from outside on a mount without dedup, then on one with it,
# twice (two directories), in the same round.
write_in() { # DIR: cp the corpus files in; prints microseconds
	local s e
	mkdir "$1"
	s=$(now_ns)
	tr '\n' '\0' <"$list" | xargs -0 cp --parents -t "$1"
	e=$(now_ns)
	echo $(( (e - s) / 1000 ))
}
counter() { sed -n "s/^[a-z]* $1: //p" "$zmnt/.zpool/pool"; }
# The plain write first in odd rounds, the dedup one first in even rounds, so that neither
# always meets the machine in the same state; the daemon's CPU time for the write too.
plain_round() {
	mount_zpoolfs ""
	tr '\n' '\0' <"$list" | xargs -0 cat >/dev/null
	d0=$(daemon_ns)
	t[plain_us,$r]=$(write_in "$zmnt/a")
	t[plain_cpu,$r]=$(( ($(daemon_ns) - d0) / 1000 ))
	t[plain_mem,$r]=$(mem_used)
	unmount_zpoolfs
}
dedup_round() {
	mount_zpoolfs dedup
	tr '\n' '\0' <"$list" | xargs -0 cat >/dev/null
	d0=$(daemon_ns)
	t[dd1_us,$r]=$(write_in "$zmnt/a")
	t[dd1_cpu,$r]=$(( ($(daemon_ns) - d0) / 1000 ))
	t[dd1_mem,$r]=$(mem_used)
	t[dd1_index,$r]=$(counter dedup_index_bytes)
	t[dd1_entries,$r]=$(counter dedup_index_entries)
	t[dd2_us,$r]=$(write_in "$zmnt/b")
	t[dd2_mem,$r]=$(mem_used)
	t[deduped,$r]=$(counter pages_deduped)
	unmount_zpoolfs
}
part dedup && for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		plain_round
		dedup_round
	else
		dedup_round
		plain_round
	fi
	t[dd_cpu,$r]=$(awk -v a="${t[dd1_cpu,$r]}" -v b="${t[plain_cpu,$r]}" 'BEGIN { printf "%.4f", a / b }')
	t[dd_speed,$r]=$(awk -v a="${t[plain_us,$r]}" -v b="${t[dd1_us,$r]}" 'BEGIN { printf "%.4f", a / b }')
	t[dd_cost,$r]=$(awk -v d="${t[dd1_mem,$r]}" -v i="${t[dd1_index,$r]}" -v p="${t[plain_mem,$r]}" \
		'BEGIN { printf "%.5f", (d + i) / p }')
	t[dd_two,$r]=$(awk -v a="${t[dd2_mem,$r]}" -v b="${t[dd1_mem,$r]}" \
		'BEGIN { printf "%.5f", a / b }')
	t[index_per_page,$r]=$(awk -v i="${t[dd1_index,$r]}" -v b="$tree_bytes" \
		'BEGIN { printf "%.2f", i / (b / 4096) }')
	printf 'round %d: daemon CPU for the write: no dedup %.2f s, dedup %.2f s (%.3fx)\n' "$r" \
		"$(awk -v u="${t[plain_cpu,$r]}" 'BEGIN { print u / 1e6 }')" \
		"$(awk -v u="${t[dd1_cpu,$r]}" 'BEGIN { print u / 1e6 }')" "${t[dd_cpu,$r]}"
	printf 'round %d: no dedup %.2f s %d B; dedup %.2f s %d B + index %d B (%d entries); second copy -> %d B, %d pages deduplicated\n' \
		"$r" "$(awk -v u="${t[plain_us,$r]}" 'BEGIN { print u / 1e6 }')" "${t[plain_mem,$r]}" \
		"$(awk -v u="${t[dd1_us,$r]}" 'BEGIN { print u / 1e6 }')" "${t[dd1_mem,$r]}" \
		"${t[dd1_index,$r]}" "${t[dd1_entries,$r]}" "${t[dd2_mem,$r]}" "${t[deduped,$r]}"
done

# Instructions the daemon spends writing the first BENCH_SHARE_CG_MIB of the tree in, without
# and with dedup (callgrind, instrumentation on only for the write).
if part dedup && [ "$CALLGRIND" = 1 ] && command -v valgrind >/dev/null; then
	tr '\n' '\0' <"$list" | xargs -0 stat -c '%s' 2>/dev/null | paste - "$list" |
		awk -F '\t' -v max=$((CG_MIB * 1048576)) '{ if (tot + $1 > max) exit; tot += $1; print $2 }' \
		>"$work/cg.list" || true
	cg_bytes=$(tr '\n' '\0' <"$work/cg.list" | du -cb --files0-from=- | tail -n 1 | cut -f1)
	for o in "" dedup; do
		cgout=$work/callgrind.w${o:-plain}
		WRAP="valgrind --tool=callgrind --instr-atstart=no --log-file=$work/valgrind.log --callgrind-out-file=$cgout"
		mount_zpoolfs "$o"
		WRAP=
		mkdir "$zmnt/a"
		callgrind_control -i on "$zpid" >/dev/null
		tr '\n' '\0' <"$work/cg.list" | xargs -0 cp --parents -t "$zmnt/a"
		callgrind_control -i off "$zpid" >/dev/null
		unmount_zpoolfs
		ir=$(callgrind_annotate "$cgout" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n++ { gsub(",", "", $1); print $1 }')
		printf 'write-in callgrind%s: %d bytes of the tree: %s instructions in the daemon, %.0f a page\n' \
			"${o:+ -o $o}" "$cg_bytes" "$ir" "$(awk -v i="$ir" -v b="$cg_bytes" 'BEGIN { print i / (b / 4096) }')"
		result "write_in_${o:-nodedup}_instructions_per_page" zpoolfs 0 \
			"$(awk -v i="$ir" -v b="$cg_bytes" 'BEGIN { printf "%.0f", i / (b / 4096) }')" instructions
		[ -z "${BENCH_SHARE_CG_KEEP:-}" ] || cp "$cgout" "$BENCH_SHARE_CG_KEEP.w${o:-plain}"
	done
fi

echo
printf '%-44s %14s %18s\n' "tree $((tree_bytes / 1048576)) MiB" median range
for row in "in write-in_time_us us" "cp cp_r_time_us us" "ratio cp_r_vs_write_in ratio" \
	"mem1 pool_after_write_in bytes" "mem2 pool_after_cp_r bytes" \
	"growth pool_growth_of_cp_r share" \
	"plain_us write_in_nodedup_us us" "dd1_us write_in_dedup_us us" \
	"dd_speed dedup_write_speed_vs_nodedup ratio" \
	"plain_cpu write_in_nodedup_daemon_cpu_us us" "dd1_cpu write_in_dedup_daemon_cpu_us us" \
	"dd_cpu dedup_daemon_cpu_vs_nodedup ratio" \
	"plain_mem pool_nodedup bytes" "dd1_mem pool_dedup bytes" "dd1_index dedup_index bytes" \
	"index_per_page dedup_index_per_page bytes" \
	"dd_cost dedup_pool_plus_index_vs_nodedup ratio" \
	"dd2_mem pool_dedup_two_copies bytes" "dd_two dedup_two_copies_vs_one ratio"; do
	read -r k name unit <<<"$row"
	[ -n "${t[$k,1]:-}" ] || continue
	m=$(col "$k" | median)
	printf '%-44s %14s %18s\n' "$name ($unit)" "$m" "$(col "$k" | range)"
	result "$name" zpoolfs 0 "$m" "$unit"
done
noise_report share "$res"
