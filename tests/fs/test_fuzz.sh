#!/usr/bin/env bash
# Robustness: thousands of system calls with random and hostile arguments
# (offsets and sizes near 2^63, odd flags, long and odd names, random xattr
# names and values, fallocate modes, truncates, lseek whences, the stats
# files) from several processes at once; symlink targets and names never lead
# out of the mount (calls follow symlinks). Every call may fail, but the daemon
# must keep answering (no ENOTCONN), must exit cleanly at unmount, and a
# sanitizer build must stay silent. FUZZ_SEED=N replays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3
zfs_workdir
SEED=${FUZZ_SEED:-$RANDOM}
echo "seed $SEED"

for backend in zsmalloc zbud; do
	M=$WORK/m-$backend
	zfs_mount "$M" -o backend=$backend,size=64m,nr_inodes=2000,mem_limit=32m || fail "mount"
	timeout 300 python3 - "$M" "$SEED" <<'EOF' || fail "$backend: fuzz (seed $SEED)"
import ctypes, errno, os, random, sys
from multiprocessing import Process
root, seed = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
BIG = [0, 1, 4095, 4096, 4097, 1 << 31, (1 << 40) + 3, (1 << 62), (1 << 63) - 1, (1 << 63) - 4096]


def name(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return "n" * rng.choice([1, 254, 255, 256, 300])
    if kind == 1:
        raw = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 20)))
        n = raw.replace(b"/", b"_").decode("latin-1")
        return "dot" if n in (".", "..") else n     # never a way out of the mount
    return rng.choice(["a", "b", "c", "d", ".zpool", "x y", "é"])


def path(rng):
    d = rng.choice(["", "a", "b", "a/c", ".zpool", "missing"])
    return "/".join(x for x in (root, d, name(rng)) if x)


def worker(k, counts):
    rng = random.Random(seed * 10 + k)
    fds = []
    ok = 0
    for _ in range(1500):
        op = rng.randrange(16)
        p, q = path(rng), path(rng)
        try:
            if op == 0:
                fds.append(os.open(p, rng.choice([os.O_RDWR | os.O_CREAT, os.O_RDONLY, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, os.O_RDWR | os.O_APPEND | os.O_CREAT, os.O_DIRECTORY]), rng.randrange(0o10000)))
            elif op == 1 and fds:
                os.pwrite(rng.choice(fds), rng.randbytes(rng.choice([1, 4096, 70000])), rng.choice(BIG))
            elif op == 2 and fds:
                os.pread(rng.choice(fds), rng.choice([1, 4096, 1 << 20]), rng.choice(BIG))
            elif op == 3 and fds:
                os.ftruncate(rng.choice(fds), rng.choice(BIG))
            elif op == 4 and fds:
                if libc.fallocate(rng.choice(fds), rng.randrange(0, 64), rng.choice(BIG), rng.choice(BIG)) < 0:
                    raise OSError(ctypes.get_errno(), "fallocate")
            elif op == 5 and fds:
                os.lseek(rng.choice(fds), rng.choice(BIG), rng.choice([0, 1, 2, 3, 4, 7]))
            elif op == 6:
                os.mkdir(p, rng.randrange(0o10000))
            elif op == 7:
                os.rename(p, q)
            elif op == 8:
                libc.renameat2(-100, p.encode("latin-1"), -100, q.encode("latin-1"), rng.randrange(8))
            elif op == 9:
                os.link(p, q)
            elif op == 10:
                # Targets that resolve inside the mount only: chmod, utime, open
                # and setxattr below follow symlinks.
                os.symlink(rng.choice(["a", "c/d", "n" * 255, "x" * 4095, "."]), p)
            elif op == 11:
                os.setxattr(p, rng.choice(["user.", "user.zpool.stat", "trusted.t", "security.s", "system.posix_acl_access", "system.posix_acl_default", "bogus.x", "user." + "x" * 250]), rng.randbytes(rng.choice([0, 4, 28, 4096])), rng.randrange(4))
            elif op == 12:
                os.getxattr(p, rng.choice(["user.zpool.stat", "user.a", "system.posix_acl_access"]))
                os.listxattr(p)
            elif op == 13:
                rng.choice([os.unlink, os.rmdir])(p)
            elif op == 14:
                os.chmod(p, rng.randrange(0o10000))
                os.utime(p, ns=(rng.choice(BIG), rng.choice(BIG)))
            else:
                for f in os.listdir(rng.choice([root, root + "/a", root + "/.zpool"])):
                    pass
            ok += 1
        except OSError as e:
            if e.errno in (errno.ENOTCONN, errno.ECONNABORTED):
                raise
        except (ValueError, OverflowError):
            pass
        if len(fds) > 20:
            os.close(fds.pop(0))
    for fd in fds:
        os.close(fd)
    counts[k] = ok


os.makedirs(root + "/a/c", exist_ok=True)
os.makedirs(root + "/b", exist_ok=True)
from multiprocessing import Array
counts = Array("i", 4)
procs = [Process(target=worker, args=(k, counts)) for k in range(4)]
for p in procs:
    p.start()
for p in procs:
    p.join()
    assert p.exitcode == 0, "a worker saw the filesystem go away"
os.listdir(root)
assert sum(counts) > 1000, "too few calls succeeded (%d): the fuzzer tests nothing" % sum(counts)
print("4 x 1500 hostile calls (%d succeeded): the daemon still answers" % sum(counts))
EOF
	ls "$M" >/dev/null || fail "$backend: the mount does not answer"
	cat "$M/.zpool/mm_stat" >/dev/null || fail "$backend: the stats do not answer"
	zfs_umount "$M"
done
echo ok
