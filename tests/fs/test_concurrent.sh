#!/usr/bin/env bash
# Concurrent writers: six processes each fill their own file in random chunk
# order, two more write disjoint stripes of one shared file, and readers,
# renames and stats run beside them; afterwards every file holds exactly what
# was written, for both backends. Then a namespace storm: processes rename,
# exchange, link, unlink, mkdir and rmdir at random in one small tree at the
# same time; it must finish (no deadlock), and leave a tree whose link counts
# add up and which gives every inode back when removed. CONC_SEED=N replays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir
SEED=${CONC_SEED:-$RANDOM}
echo "seed $SEED"

for backend in zsmalloc zbud; do
	M=$WORK/m-$backend
	zfs_mount "$M" -o backend=$backend,size=512m,threads=8 || fail "mount $backend"
	python3 - "$M" "$SEED" <<'EOF' || fail "$backend: concurrent writers (seed $SEED)"
import os, random, sys
from multiprocessing import Process

m, seed = sys.argv[1], int(sys.argv[2])
CHUNK, CHUNKS = 49152 + 100, 96           # unaligned chunks: pages shared by two writes


def content(tag, i, n):
    rng = random.Random("%s-%d-%d" % (tag, seed, i))
    kind = i % 4
    if kind == 0:
        return rng.randbytes(n)
    if kind == 1:
        return bytes([i & 255]) * n
    line = ("%s chunk %d line " % (tag, i)).encode()
    return (line * (n // len(line) + 1))[:n]


def writer(name):
    order = list(range(CHUNKS))
    random.Random("%s-%d" % (name, seed)).shuffle(order)
    fd = os.open("%s/%s" % (m, name), os.O_WRONLY | os.O_CREAT, 0o644)
    for i in order:
        data = content(name, i, CHUNK)
        assert os.pwrite(fd, data, i * CHUNK) == CHUNK
    os.close(fd)


def striper(k):
    fd = os.open(m + "/shared", os.O_WRONLY | os.O_CREAT, 0o644)
    for i in range(k, CHUNKS, 2):
        assert os.pwrite(fd, content("shared", i, CHUNK), i * CHUNK) == CHUNK
    os.close(fd)


def bystander(k):
    rng = random.Random(k)
    for j in range(300):
        name = "%s/w%d" % (m, rng.randrange(6))
        try:
            fd = os.open(name, os.O_RDONLY)
            os.pread(fd, 65536, rng.randrange(CHUNKS * CHUNK))
            os.close(fd)
            os.stat(name)
        except FileNotFoundError:
            pass
        tmp = "%s/tmp%d-%d" % (m, k, j % 3)
        with open(tmp, "wb") as fh:
            fh.write(b"x" * rng.randrange(10000))
        os.rename(tmp, "%s/done%d" % (m, k))


procs = [Process(target=writer, args=("w%d" % i,)) for i in range(6)]
procs += [Process(target=striper, args=(k,)) for k in range(2)]
procs += [Process(target=bystander, args=(k,)) for k in range(2)]
for p in procs:
    p.start()
for p in procs:
    p.join()
    assert p.exitcode == 0, "a worker failed"

for name in ["w%d" % i for i in range(6)] + ["shared"]:
    fd = os.open("%s/%s" % (m, name), os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    for i in range(CHUNKS):
        tag = "shared" if name == "shared" else name
        if os.pread(fd, CHUNK, i * CHUNK) != content(tag, i, CHUNK):
            sys.exit("%s: chunk %d differs" % (name, i))
    os.close(fd)
print("8 writers, 2 bystanders: every chunk reads back")
EOF
	free0=$(stat -f -c %d "$M")
	timeout 120 python3 - "$M/storm" "$SEED" <<'EOF' || fail "$backend: namespace storm (seed $SEED)"
import ctypes, os, random, sys
from multiprocessing import Process
root, seed = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
os.mkdir(root)
for d in ("a", "b", "a/c", "b/d"):
    os.mkdir(root + "/" + d)
DIRS = ["", "a", "b", "a/c", "b/d", "a/x", "b/y", "a/c/z"]
NAMES = ["p", "q", "r", "x", "y", "z"]


def path(rng):
    return "/".join(x for x in (root, rng.choice(DIRS), rng.choice(NAMES)) if x)


def worker(k):
    rng = random.Random(seed * 100 + k)
    for _ in range(1500):
        a, b, op = path(rng), path(rng), rng.randrange(8)
        try:
            if op == 0:
                os.close(os.open(a, os.O_CREAT | os.O_WRONLY, 0o644))
            elif op == 1:
                os.mkdir(a)
            elif op == 2:
                os.unlink(a)
            elif op == 3:
                os.rmdir(a)
            elif op == 4:
                os.link(a, b)
            elif libc.renameat2(-100, a.encode(), -100, b.encode(), op - 5) < 0:
                raise OSError(ctypes.get_errno(), "renameat2")
        except OSError:
            pass


procs = [Process(target=worker, args=(k,)) for k in range(6)]
for p in procs:
    p.start()
for p in procs:
    p.join()
# Link counts add up.
names = {}
for dirpath, dnames, fnames in os.walk(root):
    st = os.lstat(dirpath)
    assert st.st_nlink == 2 + len(dnames), \
        "%s: nlink %d with %d subdirectories" % (dirpath, st.st_nlink, len(dnames))
    for f in fnames:
        st = os.lstat(os.path.join(dirpath, f))
        names.setdefault(st.st_ino, [st.st_nlink, 0])[1] += 1
for ino, (nlink, seen) in names.items():
    assert nlink == seen, "inode %d: nlink %d, %d names" % (ino, nlink, seen)
print("namespace storm: %d files, link counts consistent" % len(names))
EOF
	rm -rf "$M/storm"
	for _ in $(seq 50); do [ "$(stat -f -c %d "$M")" = "$free0" ] && break; sleep 0.1; done
	assert_eq "$(stat -f -c %d "$M")" "$free0" "$backend: every inode back after the storm"
	zfs_umount "$M"
done
echo ok
