#!/usr/bin/env bash
# Who may do what: anyone may read the stats, only the mount's owner (here
# root) may write compact; user.zpool.stat is readable by whoever may read the
# file and can be neither set nor removed, by anybody.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"

# allow_other: without it the kernel keeps every other user out of the mount.
stats_mount -o allow_other,mode=1777

# Reading the stats is for everyone.
for f in mm_stat io_stat classes fullness pool stats.json compact; do
	as_nobody cat "$S/$f" >/dev/null || fail "nobody cannot read $f"
done

# Writing compact is not.
err=$(as_nobody sh -c "echo 1 > '$S/compact'" 2>&1) && fail "nobody compacted"
case $err in
*"Permission denied"* | *"Operation not permitted"*) ;;
*) fail "nobody writing compact: unexpected error: $err" ;;
esac
assert_eq "$(pool_key compactions)" 0 "nobody's attempt did not compact"
echo 1 >"$S/compact" || fail "root cannot write compact"
assert_eq "$(pool_key compactions)" 1 "root compacted"
# Garbage is refused, and does not compact.
if (echo banana >"$S/compact") 2>/dev/null; then fail "compact accepted 'banana'"; fi
if (echo 0 >"$S/compact") 2>/dev/null; then fail "compact accepted '0'"; fi
assert_eq "$(pool_key compactions)" 1 "refused writes did not compact"

# The xattr: readable with the file, nobody can change it: EPERM even for
# those who may write the file (mode 666 here).
fill "$MNT/open" 2 same
chmod 666 "$MNT/open"
fill "$MNT/closed" 2 same
chmod 600 "$MNT/closed"
want="logical=8192 stored=0 compressed=0 same=2 huge=0 holes=0 ratio=inf shared=0"
got=$(as_nobody getfattr --absolute-names --only-values -n user.zpool.stat "$MNT/open") ||
	fail "nobody cannot read the xattr of a readable file"
assert_eq "$got" "$want" "nobody reads the xattr of a readable file"
if as_nobody getfattr --absolute-names -d "$MNT/open" 2>/dev/null | grep -q '^user.zpool.stat='; then
	fail "getfattr --absolute-names -d lists user.zpool.stat (it answers by name only)"
fi
if as_nobody getfattr --absolute-names -n user.zpool.stat "$MNT/closed" >/dev/null 2>&1; then
	fail "nobody read the xattr of a file it cannot read"
fi
assert_eq "$(zstat "$MNT/closed")" "$want" "root reads it"

for who in root nobody; do
	run=()
	[ $who = nobody ] && run=(as_nobody)
	err=$("${run[@]}" setfattr -n user.zpool.stat -v "logical=0" "$MNT/open" 2>&1) &&
		fail "$who set user.zpool.stat"
	echo "$err" | grep -q "Operation not permitted" || fail "$who setfattr: not EPERM: $err"
	err=$("${run[@]}" setfattr -x user.zpool.stat "$MNT/open" 2>&1) &&
		fail "$who removed user.zpool.stat"
	echo "$err" | grep -q "Operation not permitted" || fail "$who setfattr -x: not EPERM: $err"
done
# Without write permission on the file the answer may be EACCES instead; it still fails.
for op in "-n user.zpool.stat -v x" "-x user.zpool.stat"; do
	# shellcheck disable=SC2086
	if as_nobody setfattr $op "$MNT/closed" 2>/dev/null; then
		fail "nobody setfattr $op on closed"
	fi
done
assert_eq "$(zstat "$MNT/open")" "$want" "xattr unchanged"
assert_eq "$(zstat "$MNT/closed")" "$want" "xattr unchanged"
stats_umount
echo "stats permissions: ok"
