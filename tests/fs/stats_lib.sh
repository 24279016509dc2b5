# shellcheck shell=bash
# Helpers for tests/fs/test_stats*.sh: one private mount, and readers for the
# stats files that check their layout as they parse them.
#
#   . "$(dirname "$0")/stats_lib.sh"
#   stats_mount [-o OPTIONS]   -> $MNT (mounted), $S (its stats dir), $WORK (scratch)
#
# lib.sh (the filesystem tests' shared helpers) provides zfs_mount, zfs_umount,
# fail, assert_eq, as_nobody, and decides what a missing /dev/fuse means; its
# exit trap unmounts everything and removes $WORK.

TESTS_FS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$TESTS_FS_DIR/lib.sh"

# The kernel's zsmalloc debugfs headers (kernels >= 6.3 and 4.6 .. 6.2).
CLASSES_HEADER=' class  size       10%       20%       30%       40%       50%       60%'
CLASSES_HEADER+='       70%       80%       90%       99%      100% obj_allocated   obj_used'
CLASSES_HEADER+=' pages_used pages_per_zspage freeable'
FULLNESS_HEADER=' class  size almost_full almost_empty obj_allocated   obj_used pages_used'
FULLNESS_HEADER+=' pages_per_zspage freeable'
CLASSES_COLS=18
FULLNESS_COLS=9

MNT= S=

# stats_mount [ARGS...]: a fresh zpoolfs (ARGS as zpoolfs takes them, e.g.
# -o backend=zbud) in a fresh directory under $WORK; sets $MNT and $S.
stats_mount() {
	zfs_need_fuse
	zfs_need getfattr setfattr jq python3 setpriv awk
	zfs_workdir
	MNT=$(mktemp -d "$WORK/mnt.XXXXXX")
	chmod 755 "$MNT"
	zfs_mount "$MNT" "$@" || fail "mount ${*:-(no options)} failed"
	S=$MNT/.zpool
}

# stats_umount: unmount $MNT (lib.sh checks how the daemon ended).
stats_umount() {
	zfs_umount "$MNT"
}

# mm FIELD [FILE]: one mm_stat column by zram's name, read with a parser
# written for zram's line (whitespace-separated, nine columns).
mm() {
	local file=${2:-$S/mm_stat}
	awk -v want="$1" '
		BEGIN { split("orig_data_size compr_data_size mem_used_total mem_limit " \
			      "mem_used_max same_pages pages_compacted huge_pages " \
			      "huge_pages_since", name, " ") }
		NR == 1 { if (NF != 9) { print "mm_stat: " NF " columns" > "/dev/stderr"; exit 1 }
			  for (i = 1; i <= 9; i++) if (name[i] == want) { print $i; found = 1 } }
		END { if (NR != 1 || !found) exit 1 }' "$file" || fail "mm_stat: cannot read $1"
}

# io FIELD [FILE]: one io_stat column by zram's name.
io() {
	local file=${2:-$S/io_stat}
	awk -v want="$1" '
		BEGIN { split("failed_reads failed_writes invalid_io notify_free", name, " ") }
		NR == 1 { if (NF != 4) exit 1
			  for (i = 1; i <= 4; i++) if (name[i] == want) { print $i; found = 1 } }
		END { if (NR != 1 || !found) exit 1 }' "$file" || fail "io_stat: cannot read $1"
}

# pool_key KEY [FILE]: the value of "KEY: value" in the pool file.
pool_key() {
	local file=${2:-$S/pool} v
	v=$(awk -v k="$1" 'index($0, k ": ") == 1 { print substr($0, length(k) + 3); n++ }
			   END { exit n == 1 ? 0 : 1 }' "$file") || fail "pool: no single '$1' line"
	echo "$v"
}

# zstat FILE: FILE's whole user.zpool.stat value.
zstat() {
	getfattr --absolute-names --only-values -n user.zpool.stat "$1" || fail "getfattr $1 failed"
}

# xattr FILE KEY: one key of FILE's user.zpool.stat.
xattr() {
	local v
	v=$(zstat "$1") || exit 1
	echo "$v" | tr ' ' '\n' |
		awk -F= -v k="$2" '$1 == k { print $2; n++ } END { exit n == 1 ? 0 : 1 }' ||
		fail "user.zpool.stat of $1 has no single $2: $v"
}

# check_table FILE HEADER COLS: the kernel's table layout, checked line by
# line: the header text, every row COLS numbers and the header's width, one
# blank line, a Total row whose numbers are the sums of the columns above it
# (class, size and pages_per_zspage have no total). Prints
# "total_pages_used total_obj_used rows".
check_table() {
	awk -v hdr="$2" -v cols="$3" '
		function bad(msg) {
			print FILENAME ":" NR ": " msg ": [" $0 "]" > "/dev/stderr"
			err = 1
			exit 1
		}
		NR == 1 { if ($0 != hdr) bad("not the kernel header"); width = length($0); next }
		state == 0 && $0 == "" { state = 1; next }
		state == 0 {
			if (NF != cols) bad("row has " NF " columns, not " cols)
			if (length($0) != width) bad("row is " length($0) " wide, header " width)
			for (i = 1; i <= NF; i++) {
				if ($i !~ /^[0-9]+$/) bad("not a number: " $i)
				sum[i] += $i
			}
			rows++; next
		}
		state == 1 {
			if ($1 != "Total") bad("no Total row after the blank line")
			if (NF != cols - 2) bad("Total has " NF " columns")
			if (length($0) != width) bad("Total is " length($0) " wide, header " width)
			c = 3
			for (i = 2; i <= NF; i++) {
				if (c == cols - 1) c++
				if ($i != sum[c]) bad("Total col " c ": " $i ", sum " sum[c])
				c++
			}
			pages = $(NF - 1); used = $(NF - 2); state = 2; next
		}
		{ bad("text after Total") }
		END {
			if (err) exit 1
			if (state != 2) { print FILENAME ": no Total row" > "/dev/stderr"; exit 1 }
			print pages, used, rows
		}' "$1"
}

# snap NAME: one read (one open, so one snapshot) of a stats file into a
# new file under $WORK; prints its path.
snap() {
	local out
	out=$(mktemp "$WORK/$1.XXXXXX") || fail "mktemp failed"
	cat "$S/$1" >"$out" || fail "cannot read $S/$1"
	echo "$out"
}

# fill FILE PAGES KIND: write PAGES pages of KIND (same | random | zero), flushed.
fill() {
	case $3 in
	same) head -c $(($2 * 4096)) /dev/zero | tr '\0' '\253' ;;
	zero) head -c $(($2 * 4096)) /dev/zero ;;
	random) head -c $(($2 * 4096)) /dev/urandom ;;
	*) fail "fill: unknown kind $3" ;;
	esac | dd of="$1" bs=64k iflag=fullblock conv=fsync status=none || fail "fill $1 failed"
}
