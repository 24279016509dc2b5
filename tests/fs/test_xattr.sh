#!/usr/bin/env bash
# Extended attributes and POSIX ACLs with attr's and acl's tools: user.* for
# whoever may write the file (owner rule), trusted.* for root only,
# user.zpool.stat read-only and readable by whoever may read the file, ACLs
# that grant and revoke access to uid 65534, chmod acting on the ACL mask,
# default ACLs inherited by new files and directories. The ACL script also
# runs on a real tmpfs and getfacl must print the same on both.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need setfattr getfattr setfacl getfacl setpriv
[ "$(id -u)" = 0 ] || skip "needs root (runs commands as uid 65534)"
zfs_workdir
M=$WORK/m
zfs_mount "$M" -o size=16m || fail "mount failed"
cd "$M"

# user.*
echo data >f
chmod 644 f
setfattr -n user.color -v blue f
assert_eq "$(getfattr --only-values -n user.color f)" blue "user.color"
setfattr -n user.empty f
assert_eq "$(getfattr --only-values -n user.empty f | wc -c)" 0 "an empty value"
# user.zpool.stat answers by name but is not listed (cp -a and rsync -X would copy it)
getfattr -n user.zpool.stat f 2>/dev/null | grep '^user.zpool.stat="logical=5 ' >/dev/null ||
	fail "getfattr -n user.zpool.stat does not answer"
if getfattr -d -m - f 2>/dev/null | grep -q '^user.zpool.stat='; then
	fail "getfattr -d lists user.zpool.stat"
fi
getfattr -d f 2>/dev/null | grep '^user.color="blue"' >/dev/null || fail "getfattr -d does not show user.color"
# A leading "v": setfattr would decode a value that starts with 0x or 0s.
{ printf v; head -c 45000 /dev/urandom | base64 -w0 | cut -c1-59999 | tr -d "\n"; } >"$WORK/big"
setfattr -n user.big -v "$(cat "$WORK/big")" f
assert_eq "$(getfattr --only-values -n user.big f)" "$(cat "$WORK/big")" "a 60000-byte value"
setfattr -x user.big f
getfattr -n user.big f 2>/dev/null && fail "user.big still there after removal"
as_nobody getfattr --only-values -n user.color f >/dev/null || fail "nobody cannot read user.color of a readable file"
as_nobody setfattr -n user.mine -v 1 f 2>/dev/null && fail "nobody set user.* on root's 0644 file"
as_nobody setfattr -x user.color f 2>/dev/null && fail "nobody removed user.* from root's file"
mkdir -m 777 pub
as_nobody sh -c 'echo x > pub/own && setfattr -n user.mine -v 1 pub/own' || fail "an owner cannot set user.*"
mkfifo fifo
setfattr -n user.x -v 1 fifo 2>/dev/null && fail "user.* on a FIFO"

# trusted.*
setfattr -n trusted.secret -v root f
assert_eq "$(getfattr --only-values -n trusted.secret f)" root "trusted.secret as root"
as_nobody setfattr -n trusted.x -v 1 pub/own 2>/dev/null && fail "nobody set trusted.*"
as_nobody getfattr -d -m - f 2>/dev/null | grep trusted >/dev/null && fail "nobody sees trusted.* names"
getfattr -d -m - f 2>/dev/null | grep '^trusted.secret' >/dev/null || fail "root does not see trusted.*"

# user.zpool.stat
stat_line=$(getfattr --only-values -n user.zpool.stat f)
case $stat_line in logical=5\ stored=*) ;; *) fail "user.zpool.stat: $stat_line" ;; esac
setfattr -n user.zpool.stat -v 1 f 2>"$WORK/err" && fail "user.zpool.stat was set"
grep -q "not permitted" "$WORK/err" || fail "set user.zpool.stat: $(cat "$WORK/err"), want EPERM"
setfattr -x user.zpool.stat f 2>"$WORK/err" && fail "user.zpool.stat was removed"
grep -q "not permitted" "$WORK/err" || fail "remove user.zpool.stat: $(cat "$WORK/err")"
as_nobody getfattr -n user.zpool.stat f >/dev/null 2>&1 || fail "nobody cannot read user.zpool.stat of a readable file"
echo s >secret
chmod 600 secret
as_nobody getfattr -n user.zpool.stat secret >/dev/null 2>&1 && fail "nobody read user.zpool.stat of a 0600 file"
getfattr -n user.zpool.stat pub >/dev/null 2>&1 && fail "a directory has user.zpool.stat"

# ACLs grant and revoke.
as_nobody cat secret >/dev/null 2>&1 && fail "nobody read a 0600 file"
setfacl -m u:65534:rw secret
as_nobody cat secret >/dev/null || fail "an ACL entry does not grant read"
as_nobody sh -c 'echo more >> secret' || fail "an ACL entry does not grant write"
assert_eq "$(stat -c %a secret)" 660 "the group bits show the ACL mask"
chmod 600 secret
as_nobody cat secret >/dev/null 2>&1 && fail "chmod 600 did not mask the ACL entry"
getfacl -n -p secret 2>/dev/null | grep '^user:65534:rw-.*#effective:---' >/dev/null || fail "chmod did not change the mask"
setfacl -b secret
getfattr -m system.posix_acl_access secret 2>/dev/null | grep posix_acl >/dev/null && fail "setfacl -b left an ACL"
setfacl -m u::rwx,g::r-x,o::- secret
assert_eq "$(stat -c %a secret)" 750 "a mode-equivalent ACL sets the mode"
getfattr -m system.posix_acl_access secret 2>/dev/null | grep posix_acl >/dev/null && fail "a mode-equivalent ACL is kept"
cd /

# The same ACL script on tmpfs and on zpoolfs: getfacl must agree.
acl_script() {
	cd "$1"
	umask 022
	mkdir d
	setfacl -d -m u:65534:rwx,g::r-x,m::rwx d
	setfacl -m u:65534:r-x d
	touch d/file
	mkdir d/sub
	(umask 077 && touch d/masked && mkdir d/msub)
	mkfifo d/fifo
	ln -s file d/link
	chmod 640 d/file
	setfacl -m g:65534:rw d/file
	setfacl -x u:65534 d/file
	for p in d d/file d/sub d/masked d/msub d/fifo; do
		getfacl -n -p "$p" 2>/dev/null
		stat -c '%n %A' "$p"
	done
	setfacl -k d
	getfacl -n -p d 2>/dev/null
	cd /
}
T=$WORK/tmpfs
mkdir -p "$T"
mount -t tmpfs -o size=1m tmpfs "$T" || skip "cannot mount a tmpfs"
zfs_on_exit 'umount -l "$T" 2>/dev/null'
mkdir "$M/acl"
(acl_script "$T") | sed "s|$T|ROOT|g" >"$WORK/acl.tmpfs"
(acl_script "$M/acl") | sed "s|$M/acl|ROOT|g" >"$WORK/acl.zpoolfs"
diff -u "$WORK/acl.tmpfs" "$WORK/acl.zpoolfs" || fail "getfacl differs between tmpfs and zpoolfs"
grep -q '^user:65534:rwx' "$WORK/acl.zpoolfs" || fail "the ACL script did not run"
umount "$T"
zfs_umount "$M"
echo ok
