#!/usr/bin/env bash
# Large directories and readdir offsets: 100 000 entries are created, listed
# (ls and getdents), looked up, renamed and removed (the test only requires
# that this completes; time is printed, not judged); a listing with
# telldir/seekdir sees every entry that lives through it exactly once while
# entries are added and removed in the middle of it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir
M=$WORK/m
zfs_mount "$M" -o nr_inodes=200k || fail "mount failed"
N=${BIGDIR_N:-100000}

mkdir "$M/big"
start=$(date +%s.%N)
python3 - "$M/big" "$N" <<'EOF' || fail "creating $N entries"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.mknod("%s/entry-%06d" % (d, i))
EOF
echo "created $N entries in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
assert_eq "$(ls -f "$M/big" | wc -l)" $((N + 2)) "ls -f lists every entry and . and .."
assert_eq "$(ls "$M/big" | sort -u | wc -l)" "$N" "no entry listed twice"
assert_eq "$(stat -c %s "$M/big")" $((40 + 20 * N)) "directory size, tmpfs's way"
python3 - "$M/big" "$N" <<'EOF' || fail "lookups and renames in a big directory"
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
for i in rng.sample(range(n), min(n, 2000)):
    os.stat("%s/entry-%06d" % (d, i))
for i in rng.sample(range(n), min(n, 500)):
    os.rename("%s/entry-%06d" % (d, i), "%s/renamed-%06d" % (d, i))
names = os.listdir(d)
assert len(names) == n and len(set(names)) == n
assert sum(1 for x in names if x.startswith("renamed-")) == min(n, 500)
EOF
start=$(date +%s.%N)
python3 - "$M/big" <<'EOF' || fail "removing every entry"
import os, sys
d = sys.argv[1]
for name in os.listdir(d):
    os.unlink(d + "/" + name)
EOF
echo "removed them in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
assert_eq "$(ls -A "$M/big" | wc -l)" 0 "the directory is empty"
assert_eq "$(stat -c '%s %h' "$M/big")" "40 2" "size and links of the emptied directory"
rmdir "$M/big" || fail "rmdir of the emptied directory"

# telldir/seekdir across concurrent changes.
mkdir "$M/s"
python3 - "$M/s" <<'EOF' || fail "readdir offsets are not stable"
import ctypes, os, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)

class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]

libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.POINTER(Dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]

def read_one(dp):
    e = libc.readdir(dp)
    return e.contents.d_name.decode() if e else None

for i in range(1000):
    os.mknod("%s/e%04d" % (d, i))
dp = libc.opendir(d.encode())
seen, pos = [], {}
while len(seen) < 300:
    name = read_one(dp)
    if name not in (".", ".."):
        seen.append(name)
        pos[name] = libc.telldir(dp)
# Remove 100 entries already listed and 200 not yet listed, add 100 new ones.
listed = set(seen)
unread = sorted(set("e%04d" % i for i in range(1000)) - listed)
removed = set(sorted(listed)[::3][:100]) | set(unread[::3][:200])
for name in removed:
    os.unlink(d + "/" + name)
for i in range(100):
    os.mknod("%s/new%03d" % (d, i))
while True:
    name = read_one(dp)
    if name is None:
        break
    if name not in (".", ".."):
        seen.append(name)
assert len(seen) == len(set(seen)), "an entry was listed twice"
survivors = set("e%04d" % i for i in range(1000)) - removed
missing = survivors - set(seen)
assert not missing, "entries that lived through the listing were skipped: %s" % sorted(missing)[:5]
# seekdir back to a remembered place and read on from there.
k = seen[149]
libc.seekdir(dp, pos[k])
after = []
while True:
    name = read_one(dp)
    if name is None:
        break
    after.append(name)
expect = [x for x in seen[150:] if x not in removed] + [x for x in sorted(os.listdir(d)) if x.startswith("new") and x not in seen]
assert after[:len(expect)] == expect[:len(after)] and set(after) == set(expect), \
    "seekdir resumed at the wrong place: %s... vs %s..." % (after[:3], expect[:3])
libc.closedir(dp)
print("telldir/seekdir: %d entries listed once each across 300 removals and 100 additions" % len(seen))
EOF
zfs_umount "$M"
echo ok
