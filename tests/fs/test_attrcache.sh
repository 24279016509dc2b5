#!/usr/bin/env bash
# Cached attributes never go stale: with the default timeouts (a day) the
# kernel keeps names and attributes it was told, so after every step of a
# random sequence of namespace and attribute calls (create, write, read,
# truncate, mkdir, hard links across directories, rename over files,
# unlink and rmdir, unlink of open files, chmod, chown, utimensat,
# setxattr, symlinks, fifos, writes and truncates by uid 65534 of set-id files) what stat(2) and fstat(2) show through the
# kernel's caches must equal what the daemon holds, read past those caches
# from the synthetic trusted.zpool.inode attribute: inode, mode, link count,
# owner, size, blocks and the three times, to the nanosecond. A name that was
# removed must be gone, one that was made must be there.
# SEED=N replays a run; STEPS=N sets its length.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

zfs_need_fuse
zfs_need python3
[ "$(id -u)" -eq 0 ] || skip "trusted.* attributes need root"
zfs_workdir
SEED=${SEED:-$RANDOM}
STEPS=${STEPS:-400}
echo "seed $SEED, $STEPS steps"

for opts in "" "timeout=0.5"; do
	M=$WORK/m${opts:+-short}
	zfs_mount "$M" -o "size=64m${opts:+,$opts}" || fail "mount ${opts:-defaults}"
	python3 - "$M" "$SEED" "$STEPS" <<'EOF' || fail "cached attributes differ from the daemon's (seed $SEED, options '${opts:-defaults}')"
import errno, os, random, stat, sys

root, seed, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
dirs = [root]
files = []		# paths of regular files, symlinks, fifos (by name)
fds = {}		# fd -> path it was opened as (may since be unlinked)
gone = set()		# paths removed: must not exist

def daemon(target):
    if isinstance(target, int):
        v = os.getxattr(target, "trusted.zpool.inode")
    else:
        v = os.getxattr(target, "trusted.zpool.inode", follow_symlinks=False)
    d = dict(kv.split("=") for kv in v.decode().split())
    t = lambda s: int(s.split(".")[0]) * 10**9 + int(s.split(".")[1])
    return (int(d["ino"]), int(d["mode"], 8), int(d["nlink"]), int(d["uid"]), int(d["gid"]),
            int(d["size"]), int(d["blocks"]), t(d["atime"]), t(d["mtime"]), t(d["ctime"]))

def kernel(st):
    return (st.st_ino, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_size,
            st.st_blocks, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)

NAMES = ("ino", "mode", "nlink", "uid", "gid", "size", "blocks", "atime", "mtime", "ctime")

def compare(what, k, d, step, op):
    if k != d:
        diff = ["%s kernel %s daemon %s" % (n, a, b) for n, a, b in zip(NAMES, k, d) if a != b]
        sys.exit("step %d (%s): %s: %s" % (step, op, what, "; ".join(diff)))

def check(step, op):
    for p in dirs + files:
        compare(p, kernel(os.lstat(p)), daemon(p), step, op)
    for fd, p in fds.items():
        compare("fd %d (%s)" % (fd, p), kernel(os.fstat(fd)), daemon(fd), step, op)
    for p in gone:
        if os.path.lexists(p):
            sys.exit("step %d (%s): %s was removed but is still seen" % (step, op, p))

def fresh(d):
    return os.path.join(d, "n%d" % rng.randrange(10**6))

def regular():
    return [p for p in files if stat.S_ISREG(os.lstat(p).st_mode)]

def unname(p):
    files.remove(p)
    gone.add(p)

def add(p, lst):
    lst.append(p)
    gone.discard(p)

for step in range(steps):
    op = rng.choice(["create", "create", "mkdir", "link", "rename", "rename_over", "unlink",
                     "unlink_open", "rmdir", "chmod", "chown", "utime", "truncate", "write",
                     "read", "symlink", "fifo", "xattr", "close", "rename_dir", "unpriv"])
    d = rng.choice(dirs)
    reg = regular()
    try:
        if op == "create":
            p = fresh(d)
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            os.write(fd, os.urandom(rng.randrange(0, 20000)))
            add(p, files)
            if rng.random() < 0.3:
                fds[fd] = p
            else:
                os.close(fd)
        elif op == "mkdir":
            p = fresh(d)
            os.mkdir(p)
            add(p, dirs)
        elif op == "link" and reg:
            p = fresh(d)
            os.link(rng.choice(reg), p)
            add(p, files)
        elif op == "rename" and files:
            src, dst = rng.choice(files), fresh(d)
            os.rename(src, dst)
            unname(src)
            add(dst, files)
        elif op == "rename_over" and len(reg) > 1:
            src, dst = rng.sample(reg, 2)
            if os.lstat(src).st_ino != os.lstat(dst).st_ino:
                os.rename(src, dst)
                unname(src)
        elif op in ("unlink", "unlink_open") and files:
            p = rng.choice(files)
            if op == "unlink_open" and stat.S_ISREG(os.lstat(p).st_mode):
                fds[os.open(p, os.O_RDWR)] = p
            os.unlink(p)
            unname(p)
        elif op == "rmdir" and len(dirs) > 1:
            p = rng.choice(dirs[1:])
            if not os.listdir(p):
                os.rmdir(p)
                dirs.remove(p)
                gone.add(p)
        elif op == "rename_dir" and len(dirs) > 1:
            p = rng.choice(dirs[1:])
            if not os.listdir(p) and not d.startswith(p + "/") and d != p:
                q = fresh(d)
                os.rename(p, q)
                dirs.remove(p)
                gone.add(p)
                add(q, dirs)
        elif op == "chmod":
            p = rng.choice(dirs + reg) if reg else d
            os.chmod(p, rng.choice([0o644, 0o600, 0o755, 0o4755, 0o2775, 0o1777]))
        elif op == "chown":
            p = rng.choice(dirs + files)
            os.chown(p, rng.randrange(3), rng.randrange(3), follow_symlinks=False)
        elif op == "utime":
            p = rng.choice(dirs + files)
            if rng.random() < 0.5:
                t = rng.randrange(10**18)
                os.utime(p, ns=(t, t + 7), follow_symlinks=False)
            else:
                os.utime(p, follow_symlinks=False)
        elif op == "truncate" and (reg or fds):
            if fds and (not reg or rng.random() < 0.5):
                os.ftruncate(rng.choice(list(fds)), rng.randrange(0, 30000))
            else:
                os.truncate(rng.choice(reg), rng.randrange(0, 30000))
        elif op == "write" and fds:
            fd = rng.choice(list(fds))
            os.pwrite(fd, os.urandom(rng.randrange(1, 9000)), rng.randrange(0, 40000))
        elif op == "read" and reg:
            with open(rng.choice(reg), "rb") as f:
                f.read()
        elif op == "symlink":
            p = fresh(d)
            os.symlink("target-" + str(rng.randrange(1000)), p)
            add(p, files)
        elif op == "fifo":
            p = fresh(d)
            os.mkfifo(p)
            add(p, files)
        elif op == "xattr" and reg:
            os.setxattr(rng.choice(reg), "user.k%d" % rng.randrange(3), os.urandom(8))
        elif op == "unpriv" and reg:
            # set-id bits the daemon clears (HANDLE_KILLPRIV) when uid 65534
            # writes (page cache or direct), truncates or opens with O_TRUNC
            p = rng.choice(reg)
            os.chmod(p, rng.choice([0o6777, 0o4777, 0o2777, 0o2767]))
            how, off = rng.randrange(4), rng.randrange(0, 30000)
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.setgroups([])
                    os.setresgid(65534, 65534, 65534)
                    os.setresuid(65534, 65534, 65534)
                    if how == 0:
                        os.pwrite(os.open(p, os.O_RDWR), b"x", off)
                    elif how == 1:
                        os.pwrite(os.open(p, os.O_WRONLY), b"y", off)
                    elif how == 2:
                        os.truncate(p, off)
                    else:
                        os.open(p, os.O_WRONLY | os.O_TRUNC)
                    code = 0
                except PermissionError:
                    code = 0	# a directory on the way is closed to uid 65534
                finally:
                    os._exit(code)
            if os.waitpid(pid, 0)[1]:
                sys.exit("step %d (%s): the call as uid 65534 failed" % (step, op))
        elif op == "close" and fds:
            fd = rng.choice(list(fds))
            os.close(fd)
            del fds[fd]
    except OSError as e:
        sys.exit("step %d (%s): unexpected %s" % (step, op, e))
    check(step, op)
for fd in list(fds):
    os.close(fd)
print("%d steps: stat through the kernel's caches == the daemon's attributes" % steps)
EOF
	zfs_umount "$M" || fail "unmount"
done
echo ok
