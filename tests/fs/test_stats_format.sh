#!/usr/bin/env bash
# Stats layouts against the kernel's: mm_stat and io_stat are zram's "%8lu"
# lines, classes and fullness carry zsmalloc's debugfs headers and column
# widths, pool is "key: value", stats.json parses with python3 and jq, and a
# zbud mount lists its own table instead of the class tables.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

# LINE COLS: the line is exactly COLS numbers printed with "%8lu", one space apart.
check_zram_line() {
	local file=$1 cols=$2
	[ "$(wc -l <"$file")" -eq 1 ] || fail "$file: not one line"
	awk -v cols="$cols" '
		NF != cols { print FILENAME ": " NF " columns, want " cols > "/dev/stderr"; exit 1 }
		{ want = ""
		  for (i = 1; i <= NF; i++) {
			if ($i !~ /^[0-9]+$/) {
				print FILENAME ": not a number: " $i > "/dev/stderr"
				exit 1
			}
			want = want (i > 1 ? " " : "") sprintf("%8s", $i)
		  }
		  if ($0 != want) {
			print FILENAME ": [" $0 "] is not [" want "]" > "/dev/stderr"
			exit 1
		  } }' \
		"$file" || fail "$file does not have zram's layout"
}

stats_mount -o backend=zsmalloc
# Something in several classes, and a same-filled and an incompressible page.
for i in $(seq 1 40); do
	head -c $((i * 85)) /dev/urandom >"$MNT/f$i"
	head -c $((4096 - i * 85 % 4096)) /dev/zero >>"$MNT/f$i"
done
fill "$MNT/same" 3 same
fill "$MNT/rand" 2 random

# The directory lists the zsmalloc files, and only those.
want="bd_stat classes compact fullness idle io_stat mm_stat pool recompress requests stats.json "
want+="writeback writeback_limit writeback_limit_enable "
assert_eq "$(ls "$S" | sort | tr '\n' ' ')" "$want" "zsmalloc stats files"
[ ! -e "$S/zbud" ] || fail "zsmalloc mount has a zbud file"

check_zram_line "$(snap mm_stat)" 9
check_zram_line "$(snap io_stat)" 4

# A parser written for zram's mm_stat (fields by position) reads ours.
awk '{ if (NF != 9 || $1 < $6 * 4096) exit 1
       printf "orig %d compr %d used %d same %d huge %d\n", $1, $2, $3, $6, $8 }' "$S/mm_stat" ||
	fail "zram mm_stat parser refused ours"
assert_eq "$(mm same_pages)" 3 "same_pages via the zram parser"
assert_eq "$(mm huge_pages)" 2 "huge_pages via the zram parser"

# The class tables: exact header text, widths, one row per class, Total.
t=$(check_table "$(snap classes)" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes layout"
read -r pages objs rows <<<"$t"
assert_eq "$objs" 42 "classes Total obj_used (40 small files + 2 huge pages)"
t2=$(check_table "$(snap fullness)" "$FULLNESS_HEADER" $FULLNESS_COLS) || fail "fullness layout"
read -r pages2 objs2 rows2 <<<"$t2"
assert_eq "$rows2" "$rows" "classes and fullness list the same classes"
assert_eq "$objs2" "$objs" "classes and fullness agree on obj_used"
assert_eq "$pages2" "$pages" "classes and fullness agree on pages_used"
# Rows are distinct classes in increasing index and size; the last is 4096.
awk 'NR > 1 && NF == 18 { if ($1 <= ci || $2 <= cs) exit 1; ci = $1; cs = $2 }
     END { if (cs != 4096) exit 1 }' ci=-1 cs=0 "$S/classes" || fail "class rows out of order"

# pool: "key: value" lines, then the counters by name.
pool=$(snap pool)
awk 'NF && !/^[a-z][a-z_ -]*: [^ ].*$/ { print "bad line: " $0 > "/dev/stderr"; exit 1 }' \
	"$pool" || fail "pool layout"
for key in backend compressor files 'pages stored' 'same-filled pages' 'huge pages' \
	'bytes before compression' 'bytes after compression' 'pool bytes' ratio overhead \
	compactions 'objects mapped now' 'gauge pages_stored' 'total pages_written' \
	'total notify_free' 'gauge mem_used_max'; do
	pool_key "$key" "$pool" >/dev/null
done

# stats.json parses with both tools and carries every file's numbers.
json=$(snap stats.json)
python3 -m json.tool "$json" >/dev/null || fail "stats.json does not parse (python3)"
jq -e '.version == 1 and (.mm_stat | length) == 9 and (.io_stat | length) == 4
	and (.zsmalloc.classes | length) > 100 and (.counters | length) >= 14
	and all(.zsmalloc.classes[]; (.inuse | length) == 11)' "$json" >/dev/null ||
	fail "stats.json shape"

# compact reads as one number.
grep -Eqx '[0-9]+' "$S/compact" || fail "compact is not one number: $(cat "$S/compact")"

# The files are read-only, compact excepted.
for f in mm_stat io_stat classes fullness pool stats.json; do
	if (echo 1 >"$S/$f") 2>/dev/null; then fail "$f is writable"; fi
done
stats_umount

# zbud: its own table replaces classes and fullness.
stats_mount -o backend=zbud
for i in $(seq 1 30); do head -c $((i * 120)) /dev/urandom >"$MNT/f$i"; done
sync
want="bd_stat compact idle io_stat mm_stat pool recompress requests stats.json writeback "
want+="writeback_limit writeback_limit_enable zbud "
assert_eq "$(ls "$S" | sort | tr '\n' ' ')" "$want" "zbud stats files"
[ ! -e "$S/classes" ] && [ ! -e "$S/fullness" ] || fail "zbud mount shows zsmalloc tables"
check_zram_line "$(snap mm_stat)" 9
zb=$(snap zbud)
awk '
	function bad(m) { print "zbud: " m ": [" $0 "]" > "/dev/stderr"; exit 1 }
	state == 0 && $0 == "" { state = 1; next }
	state == 0 { if (NF != 2 || $2 !~ /^[0-9]+$/) bad("bad line"); v[$1] = $2; next }
	state == 1 { if ($1 != "free_chunks" || $2 != "unbuddied") bad("bad header")
		     state = 2; next }
	state == 2 && $0 == "" { state = 3; next }
	state == 2 { if ($1 < 1 || $1 > 63 || $2 < 1) bad("bad row"); sum += $2; next }
	state == 3 { if ($1 != "Total" || $2 != sum || $2 != v["unbuddied"]) bad("bad Total")
		     state = 4; next }
	{ bad("text after Total") }
	END { if (state != 4) bad("incomplete");
	      if (v["pages"] != v["buddied"] + v["unbuddied"]) bad("pages != buddied + unbuddied");
	      if (v["objects"] < 30 || !("lru_len" in v)) bad("objects/lru_len") }' "$zb" ||
	fail "zbud table layout"
json=$(snap stats.json)
jq -e '.backend == "zbud" and (.zsmalloc == null) and (.zbud.unbuddied | length) == 64' "$json" \
	>/dev/null || fail "zbud stats.json shape"
stats_umount
echo "stats formats: ok"
