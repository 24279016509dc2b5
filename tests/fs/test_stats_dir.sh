#!/usr/bin/env bash
# The stats directory itself: present at the root, not removable, not
# renamable, nothing can be created in it or over it; -o statsdir=NAME moves
# it, -o nostats removes it (and frees the name for ordinary use).
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

# must_fail DESC CMD...: CMD has to fail, and nothing may have changed.
must_fail() {
	local desc=$1
	shift
	if "$@" 2>/dev/null; then fail "$desc succeeded"; fi
}

stats_mount
[ -d "$S" ] || fail ".zpool missing"
ls -a "$MNT" | grep -qx .zpool || fail ".zpool not listed in the root"
before=$(ls "$S" | sort | tr '\n' ' ')

must_fail "rmdir .zpool" rmdir "$S"
must_fail "rm -r .zpool" rm -rf "$S"
must_fail "rm .zpool/mm_stat" rm -f "$S/mm_stat"
must_fail "mv .zpool" mv "$S" "$MNT/elsewhere"
must_fail "mv .zpool/pool" mv "$S/pool" "$MNT/pool"
must_fail "mv into .zpool" sh -c "echo x > '$MNT/x' && mv '$MNT/x' '$S/x'"
must_fail "touch .zpool/new" touch "$S/new"
must_fail "mkdir .zpool/d" mkdir "$S/d"
must_fail "mkdir over .zpool" mkdir "$MNT/.zpool"
must_fail "ln .zpool/mm_stat" ln "$S/mm_stat" "$MNT/link"
must_fail "chmod .zpool/mm_stat" chmod 666 "$S/mm_stat"
must_fail "truncate .zpool/pool" truncate -s 0 "$S/pool"
mkdir "$MNT/dir"
must_fail "mv a dir over .zpool" mv -T "$MNT/dir" "$S"
assert_eq "$(ls "$S" | sort | tr '\n' ' ')" "$before" ".zpool unchanged"
[ -n "$(cat "$S/mm_stat")" ] || fail "mm_stat lost"
# ".zpool" is special only at the root.
mkdir "$MNT/dir/.zpool" || fail "cannot make dir/.zpool"
[ -z "$(ls -A "$MNT/dir/.zpool")" ] || fail "dir/.zpool is not an ordinary empty directory"
stats_umount

# statsdir=NAME
stats_mount -o statsdir=zstats
[ ! -e "$MNT/.zpool" ] || fail "statsdir=zstats still has .zpool"
[ -d "$MNT/zstats" ] || fail "statsdir=zstats has no zstats"
S=$MNT/zstats
assert_eq "$(mm same_pages)" 0 "mm_stat in zstats"
fill "$MNT/same" 4 same
assert_eq "$(mm same_pages)" 4 "zstats counts"
mkdir "$MNT/.zpool" || fail "with statsdir=zstats, .zpool is an ordinary name"
must_fail "rmdir zstats" rmdir "$MNT/zstats"
stats_umount

# nostats
stats_mount -o nostats
[ ! -e "$MNT/.zpool" ] || fail "nostats still has .zpool"
assert_eq "$(ls -A "$MNT" | wc -l)" 0 "nostats root is empty"
mkdir "$MNT/.zpool" && touch "$MNT/.zpool/file" && rm -r "$MNT/.zpool" ||
	fail "with nostats, .zpool is an ordinary name"
stats_umount
echo "stats dir: ok"
