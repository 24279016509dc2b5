#!/usr/bin/env bash
# Mount basics: --version/--help, root mode/uid/gid, statfs from size= and
# nr_inodes=, the statistics directory (statsdir=, nostats, EPERM on changes,
# not counted in statfs), plain file I/O, and an unlinked file that stays
# readable while open and gives its space back at the last close.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_workdir

"$ZPOOLFS" --version >"$WORK/version" 2>&1 || fail "--version failed"
grep -q '^zpoolfs ' "$WORK/version" || fail "--version does not name zpoolfs"
"$ZPOOLFS" --help >"$WORK/help" 2>&1 || fail "--help failed"
for w in size= nr_inodes= mode= uid= gid= backend= comp= comp_level= mem_limit= statsdir= nostats \
	threads= ZPOOLFS_FAULT_NTH allow_other; do
	grep -q -- "$w" "$WORK/help" || fail "--help does not mention $w"
done

M=$WORK/m
zfs_mount "$M" -o size=8m,nr_inodes=100,mode=0750,uid=12,gid=34 || fail "mount failed"
assert_eq "$(stat -c '%a %u %g' "$M")" "750 12 34" "root mode/uid/gid"
read -r bs blocks bfree files ffree <<<"$(stat -f -c '%S %b %f %c %d' "$M")"
assert_eq "$bs" 4096 "statfs block size"
assert_eq "$blocks" 2048 "statfs blocks for size=8m"
assert_eq "$bfree" 2048 "statfs free blocks on an empty mount"
assert_eq "$files" 100 "statfs inodes for nr_inodes=100"
assert_eq "$ffree" 99 "statfs free inodes (the root takes one, .zpool none)"
assert_eq "$(stat -f -c '%l' "$M")" 255 "statfs name length"
bdi=/sys/class/bdi/$(mountpoint -d "$M")/read_ahead_kb
if [ "$(id -u)" = 0 ] && [ -w "$bdi" ]; then
	assert_eq "$(cat "$bdi")" 4096 "the mount's readahead window (readahead=4m by default)"
fi

# The statistics directory.
[ -d "$M/.zpool" ] || fail "no .zpool directory"
ls "$M/.zpool" | grep -x mm_stat >/dev/null || fail ".zpool has no mm_stat"
[ "$(wc -w <"$M/.zpool/mm_stat")" = 9 ] || fail "mm_stat has not 9 columns"
rmdir "$M/.zpool" 2>/dev/null && fail "rmdir .zpool succeeded"
mv "$M/.zpool" "$M/x" 2>/dev/null && fail "rename of .zpool succeeded"
rm -f "$M/.zpool/mm_stat" 2>/dev/null && [ ! -e "$M/.zpool/mm_stat" ] && fail "unlink in .zpool succeeded"
touch "$M/.zpool/new" 2>/dev/null && fail "create in .zpool succeeded"
chmod 777 "$M/.zpool/pool" 2>/dev/null && fail "chmod of a stats file succeeded"
(echo x >"$M/.zpool/pool") 2>/dev/null && fail "write to a read-only stats file succeeded"
python3 - "$M" <<'EOF' || fail "EPERM checks on .zpool"
import errno, os, sys
m = sys.argv[1]
for fn, args in ((os.rmdir, (m + "/.zpool",)), (os.rename, (m + "/.zpool", m + "/y")),
                 (os.unlink, (m + "/.zpool/io_stat",)), (os.mkdir, (m + "/.zpool/d",))):
    try:
        fn(*args)
        sys.exit("%s%s succeeded" % (fn.__name__, args))
    except OSError as e:
        if e.errno != errno.EPERM:
            sys.exit("%s%s: %s, want EPERM" % (fn.__name__, args, e))
EOF
assert_eq "$(stat -f -c '%d' "$M")" 99 ".zpool is not counted in statfs"

# Plain I/O.
printf 'hello\n' >"$M/a"
assert_eq "$(cat "$M/a")" hello "read back"
echo more >>"$M/a"
assert_eq "$(cat "$M/a")" $'hello\nmore' "O_APPEND"
assert_eq "$(stat -c '%s %b' "$M/a")" "11 8" "size and blocks of a small file"
assert_eq "$(stat -f -c '%f' "$M")" 2047 "one block used"

# Unlink while open: readable through the descriptor, space back at close.
head -c 1048576 /dev/urandom >"$WORK/ref"
cp "$WORK/ref" "$M/open"
python3 - "$M" "$WORK/ref" <<'EOF' || fail "unlinked open file"
import os, sys
m, ref = sys.argv[1], sys.argv[2]
fd = os.open(m + "/open", os.O_RDWR)
os.unlink(m + "/open")
assert not os.path.exists(m + "/open")
st = os.statvfs(m)
assert st.f_blocks - st.f_bfree >= 256, "space freed while open"
data = os.pread(fd, 1 << 20, 0)
assert data == open(ref, "rb").read(), "contents changed"
os.pwrite(fd, b"x" * 4096, 0)
assert os.fstat(fd).st_nlink == 0
os.close(fd)
EOF
# The kernel sends forget asynchronously after the close.
for i in $(seq 50); do
	[ "$(stat -f -c '%f' "$M")" = 2047 ] && break
	sleep 0.1
done
assert_eq "$(stat -f -c '%f' "$M")" 2047 "space of the unlinked file returned after close"
zfs_umount "$M"

# Access times: relatime by default, noatime and strictatime on request.
# readtwice FILE: read FILE twice from the filesystem (not the page cache); print "a0 a1 a2".
readtwice() {
	python3 - "$1" <<'EOF'
import os, sys, time
def rd():
    fd = os.open(sys.argv[1], os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.read(fd, 10)
    os.close(fd)
    time.sleep(0.02)
    return os.stat(sys.argv[1]).st_atime_ns
a0 = os.stat(sys.argv[1]).st_atime_ns
time.sleep(0.02)
print(a0, rd(), rd())
EOF
}
for opt in relatime noatime strictatime; do
	zfs_mount "$M" -o "$opt" || fail "mount -o $opt"
	echo data >"$M/t"
	sleep 1.1	# let the attributes the kernel cached expire
	read -r a0 a1 a2 <<<"$(readtwice "$M/t")"
	case $opt in
	relatime) [ "$a1" != "$a0" ] && [ "$a2" = "$a1" ] || fail "relatime: atimes $a0 $a1 $a2" ;;
	noatime) [ "$a1" = "$a0" ] && [ "$a2" = "$a0" ] || fail "noatime: atimes $a0 $a1 $a2" ;;
	strictatime) [ "$a1" != "$a0" ] || fail "strictatime: atimes $a0 $a1 $a2" ;;
	esac
	zfs_umount "$M"
done

# statsdir= and nostats.
zfs_mount "$M" -o statsdir=stats || fail "mount with statsdir= failed"
[ -f "$M/stats/pool" ] || fail "statsdir=stats: no stats/pool"
[ -e "$M/.zpool" ] && fail "statsdir=stats still shows .zpool"
grep -q '^backend: zsmalloc' "$M/stats/pool" || fail "pool file does not say zsmalloc"
zfs_umount "$M"
zfs_mount "$M" -o nostats || fail "mount with nostats failed"
assert_eq "$(ls -A "$M" | wc -l)" 0 "nostats: the root is empty"
mkdir "$M/.zpool" || fail "nostats: .zpool is a free name"
zfs_umount "$M"
echo "ok"
