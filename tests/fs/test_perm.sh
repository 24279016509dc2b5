#!/usr/bin/env bash
# Permissions as an unprivileged user (uid/gid 65534 through setpriv):
# modes on files and directories, sticky directories, chmod/chown/utimes of
# other people's files, set-id bits cleared by writes and chown, and a mount
# whose root belongs to the user (uid=, gid=, mode=).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need setpriv
[ "$(id -u)" = 0 ] || skip "needs root (mounts with allow_other, runs commands as uid 65534)"
zfs_workdir
M=$WORK/m
zfs_mount "$M" || fail "mount failed"
N=as_nobody
denied() { "$@" 2>/dev/null && fail "allowed as nobody: $*"; return 0; }

assert_eq "$(stat -c %a "$M")" 1777 "the default root mode is tmpfs's"
echo secret >"$M/secret"; chmod 600 "$M/secret"
echo public >"$M/public"; chmod 644 "$M/public"
mkdir -m 755 "$M/rootdir"
denied $N cat "$M/secret"
assert_eq "$($N cat "$M/public")" public "nobody reads a 0644 file"
denied $N sh -c "echo x >> '$M/public'"
denied $N touch "$M/rootdir/x"
denied $N mkdir "$M/rootdir/d"
denied $N rm -f "$M/public"        # sticky root: not nobody's file
denied $N mv "$M/public" "$M/moved"
denied $N chmod 666 "$M/public"
denied $N chown 65534 "$M/public"
denied $N touch -d 2001-01-01 "$M/public"
denied $N ln "$M/secret" "$M/hardlink" # protected_hardlinks: not readable
denied $N ls "$M/rootdir/../rootdir/nothing"

# Nobody's own corner of the sticky root.
$N mkdir "$M/mine" || fail "nobody cannot mkdir in a 1777 root"
$N sh -c "cd '$M/mine' && echo a > f && mkdir -p d/e && mv f d/e/g && ln d/e/g h && ln -s h s && cat s >/dev/null && rm h && chmod 700 d && touch -d 2001-01-01 d/e/g" ||
	fail "nobody cannot work in their own directory"
assert_eq "$(stat -c '%u %g' "$M/mine/d/e/g")" "65534 65534" "owner of nobody's file"
assert_eq "$(stat -c %Y "$M/mine/d/e/g")" "$(date -d 2001-01-01 +%s)" "nobody set their own mtime"
denied $N chown 0 "$M/mine/d/e/g"
denied $N chgrp 0 "$M/mine/d/e/g"
ls "$M/mine/d" >/dev/null || fail "root is not bound by 0700"
$N sh -c "echo x > '$M/mine/f2'"
rm "$M/mine/f2" || fail "root cannot remove nobody's file in a sticky root"

# Set-id bits: a write by nobody clears them, chown clears them.
$N sh -c "echo x > '$M/mine/suid' && chmod 6755 '$M/mine/suid'"
assert_eq "$(stat -c %a "$M/mine/suid")" 6755 "nobody sets set-id bits on their own file"
$N sh -c "echo more >> '$M/mine/suid'"
assert_eq "$(stat -c %a "$M/mine/suid")" 755 "a write clears set-id bits"
chmod 4755 "$M/mine/suid"
chown 0 "$M/mine/suid"
assert_eq "$(stat -c %a "$M/mine/suid")" 755 "chown clears the set-uid bit"

# Sticky directories below the root.
mkdir -m 1777 "$M/tmp"
echo r >"$M/tmp/roots"
$N sh -c "echo n > '$M/tmp/nobodys'"
denied $N rm -f "$M/tmp/roots"
denied $N mv "$M/tmp/roots" "$M/tmp/x"
$N rm "$M/tmp/nobodys" || fail "nobody cannot remove their own file in a sticky directory"
chmod 777 "$M/tmp"
$N rm "$M/tmp/roots" || fail "without the sticky bit a 0777 directory lets anyone remove"
zfs_umount "$M"

# A mount that belongs to nobody.
zfs_mount "$M" -o uid=65534,gid=65534,mode=0700 || fail "mount with uid="
assert_eq "$(stat -c '%u %g %a' "$M")" "65534 65534 700" "root owner and mode from options"
$N sh -c "echo mine > '$M/f' && mkdir '$M/d'" || fail "the owner of the mount cannot write to it"
$N sh -c "echo 1 > '$M/.zpool/compact'" || fail "the mount's owner cannot compact"
zfs_umount "$M"
zfs_mount "$M" -o mode=0755 || fail "mount with mode=0755"
denied $N sh -c "echo 1 > '$M/.zpool/compact'"
$N cat "$M/.zpool/pool" >/dev/null || fail "nobody cannot read the stats"
zfs_umount "$M"
echo ok
