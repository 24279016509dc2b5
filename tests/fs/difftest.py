#!/usr/bin/env python3
"""Differential test helper: one scripted sequence of system calls.

    difftest.py record DIR OUT.json [SEED]   run the sequence in DIR (as root)
    difftest.py compare A.json B.json        print the first divergence

The sequence is fixed by the seed: a scripted part that walks through the
corners of POSIX (failing calls included: ENOENT, EEXIST, ENOTEMPTY, EISDIR,
ENOTDIR, EINVAL, ELOOP, ENAMETOOLONG, EACCES and EPERM as uid 65534, ...)
then a random part over a small namespace. Every call records its return
value or errno name, and then the lstat fields of the paths it touched that
tmpfs defines: type and mode, nlink, uid, gid, size, blocks, rdev, and
whether mtime and ctime changed since that path was last looked at (the
values themselves differ between two runs).
"""
import ctypes
import errno
import hashlib
import json
import os
import random
import stat
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE = 1, 2
NOBODY = 65534


def check(ret):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ret


def renameat2(old, new, flags):
    return check(libc.renameat2(AT_FDCWD, old.encode(), AT_FDCWD, new.encode(), flags))


def fallocate(fd, mode, off, length):
    return check(libc.fallocate(fd, mode, off, length))


def norm(r):
    if r is None or isinstance(r, (int, str, bool)):
        return r
    if isinstance(r, bytes):
        return "bytes:%d:%s" % (len(r), hashlib.sha1(r).hexdigest()[:16])
    if isinstance(r, (list, tuple)):
        return [norm(x) for x in r]
    return str(r)


class Recorder:
    def __init__(self, root):
        self.root = root
        self.log = []
        self.seen = {}  # inode number -> (mtime_ns, ctime_ns) when last looked at
        self.fds = {}

    def p(self, rel):
        return os.path.join(self.root, rel)

    def st(self, rel):
        try:
            s = os.lstat(self.p(rel))
        except OSError as e:
            return "E:" + errno.errorcode[e.errno]
        prev = self.seen.get(s.st_ino)
        now = (s.st_mtime_ns, s.st_ctime_ns)
        self.seen[s.st_ino] = now
        d = {
            "mode": "%o" % s.st_mode,
            "nlink": s.st_nlink,
            "uid": s.st_uid,
            "gid": s.st_gid,
            "size": s.st_size,
            "blocks": s.st_blocks,
            "rdev": s.st_rdev,
        }
        if prev is not None:
            d["mtime_changed"] = now[0] != prev[0]
            d["ctime_changed"] = now[1] != prev[1]
        d["ctime_ge_mtime"] = s.st_ctime_ns >= s.st_mtime_ns
        return d

    def look(self, *paths):
        """Refresh the remembered timestamps (no log entry)."""
        for rel in paths:
            self.st(rel)

    def call(self, name, fn, *args, paths=(), show=None):
        # Let the coarse clock tick (4 ms at HZ=250) so that every timestamp update shows.
        time.sleep(0.005)
        try:
            res = norm(fn())
        except OSError as e:
            res = "E:" + errno.errorcode.get(e.errno, str(e.errno))
        entry = {"n": len(self.log), "op": name, "args": list(show if show is not None else args),
                 "res": res, "stat": {rel: self.st(rel) for rel in paths}}
        self.log.append(entry)
        return res

    # ---- the operations, all on paths relative to the root
    def mkdir(self, rel, mode=0o755, parent=None):
        return self.call("mkdir", lambda: os.mkdir(self.p(rel), mode), rel, "%o" % mode,
                         paths=[rel, parent or os.path.dirname(rel) or "."])

    def rmdir(self, rel):
        return self.call("rmdir", lambda: os.rmdir(self.p(rel)), rel,
                         paths=[rel, os.path.dirname(rel) or "."])

    def unlink(self, rel, also=()):
        return self.call("unlink", lambda: os.unlink(self.p(rel)), rel,
                         paths=[rel, os.path.dirname(rel) or "."] + list(also))

    def create(self, rel, mode=0o644, flags=os.O_CREAT | os.O_EXCL | os.O_WRONLY):
        def f():
            fd = os.open(self.p(rel), flags, mode)
            os.close(fd)
        return self.call("create", f, rel, "%o" % mode, flags,
                         paths=[rel, os.path.dirname(rel) or "."])

    def open(self, label, rel, flags, mode=0o644):
        def f():
            self.fds[label] = os.open(self.p(rel), flags, mode)
            return "fd"
        return self.call("open", f, label, rel, flags, "%o" % mode,
                         paths=[rel, os.path.dirname(rel) or "."])

    def close(self, label):
        return self.call("close", lambda: os.close(self.fds.pop(label)), label)

    def pwrite(self, label, data, off, rel):
        return self.call("pwrite", lambda: os.pwrite(self.fds[label], data, off), label,
                         norm(data), off, paths=[rel])

    def write(self, label, data, rel):
        return self.call("write", lambda: os.write(self.fds[label], data), label, norm(data),
                         paths=[rel])

    def pread(self, label, n, off):
        return self.call("pread", lambda: os.pread(self.fds[label], n, off), label, n, off)

    def ftruncate(self, label, size, rel):
        return self.call("ftruncate", lambda: os.ftruncate(self.fds[label], size), label, size,
                         paths=[rel])

    def truncate(self, rel, size):
        return self.call("truncate", lambda: os.truncate(self.p(rel), size), rel, size,
                         paths=[rel])

    def fallocate(self, label, mode, off, length, rel):
        return self.call("fallocate", lambda: fallocate(self.fds[label], mode, off, length),
                         label, mode, off, length, paths=[rel])

    def lseek(self, label, off, whence):
        return self.call("lseek", lambda: os.lseek(self.fds[label], off, whence), label, off,
                         whence)

    def readfile(self, rel):
        def f():
            with open(self.p(rel), "rb") as fh:
                return fh.read()
        return self.call("readfile", f, rel)

    def link(self, old, new):
        return self.call("link", lambda: os.link(self.p(old), self.p(new)), old, new,
                         paths=[old, new, os.path.dirname(new) or "."])

    def symlink(self, target, rel):
        return self.call("symlink", lambda: os.symlink(target, self.p(rel)), target, rel,
                         paths=[rel, os.path.dirname(rel) or "."])

    def readlink(self, rel):
        return self.call("readlink", lambda: os.readlink(self.p(rel)), rel)

    def rename(self, old, new, flags=0):
        dirs = sorted({os.path.dirname(old) or ".", os.path.dirname(new) or "."})
        return self.call("rename", lambda: renameat2(self.p(old), self.p(new), flags), old, new,
                         flags, paths=[old, new] + dirs)

    def chmod(self, rel, mode):
        return self.call("chmod", lambda: os.chmod(self.p(rel), mode), rel, "%o" % mode,
                         paths=[rel])

    def chown(self, rel, uid, gid):
        return self.call("chown", lambda: os.lchown(self.p(rel), uid, gid), rel, uid, gid,
                         paths=[rel])

    def utime(self, rel, ns):
        def f():
            os.utime(self.p(rel), ns=ns, follow_symlinks=False)
            s = os.lstat(self.p(rel))
            return [s.st_atime_ns, s.st_mtime_ns]
        return self.call("utime", f, rel, list(ns), paths=[rel])

    def mknod(self, rel, mode, dev=0):
        return self.call("mknod", lambda: os.mknod(self.p(rel), mode, dev), rel, "%o" % mode,
                         dev, paths=[rel, os.path.dirname(rel) or "."])

    def listdir(self, rel):
        return self.call("listdir", lambda: sorted(os.listdir(self.p(rel))), rel)

    def setxattr(self, rel, name, value, flags=0):
        return self.call("setxattr", lambda: os.setxattr(self.p(rel), name, value, flags), rel,
                         name, norm(value), flags, paths=[rel])

    def getxattr(self, rel, name):
        return self.call("getxattr", lambda: os.getxattr(self.p(rel), name), rel, name)

    def listxattr(self, rel):
        return self.call("listxattr",
                         lambda: sorted(os.listxattr(self.p(rel))), rel)

    def removexattr(self, rel, name):
        return self.call("removexattr", lambda: os.removexattr(self.p(rel), name), rel, name,
                         paths=[rel])

    def access(self, rel, mode):
        return self.call("access", lambda: os.access(self.p(rel), mode), rel, mode)

    def as_nobody(self, name, fn, *args, paths=()):
        """Run fn in a child process as uid/gid 65534; record its result."""
        def f():
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try:
                    os.setgroups([])
                    os.setresgid(NOBODY, NOBODY, NOBODY)
                    os.setresuid(NOBODY, NOBODY, NOBODY)
                    try:
                        out = norm(fn())
                    except OSError as e:
                        out = "E:" + errno.errorcode.get(e.errno, str(e.errno))
                    os.write(w, json.dumps(out).encode())
                finally:
                    os._exit(0)
            os.close(w)
            data = b""
            while True:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                data += chunk
            os.close(r)
            os.waitpid(pid, 0)
            return json.loads(data.decode()) if data else "child died"
        return self.call("nobody:" + name, f, *args, paths=paths)


def scripted(R):
    p = R.p
    R.mkdir("t", 0o755)
    R.chmod("t", 0o755)
    # Directories and files, and the errors around them.
    R.mkdir("t/d")
    R.mkdir("t/d")                                   # EEXIST
    R.mkdir("t/missing/x")                           # ENOENT
    R.create("t/f")
    R.create("t/f")                                  # EEXIST (O_EXCL)
    R.create("t/f/x")                                # ENOTDIR
    R.mkdir("t/f/x")                                 # ENOTDIR
    R.create("t/d", flags=os.O_WRONLY)               # EISDIR
    R.rmdir("t/f")                                   # ENOTDIR
    R.unlink("t/d")                                  # EISDIR
    R.unlink("t/nothing")                            # ENOENT
    R.rmdir("t/nothing")                             # ENOENT
    R.create("t/" + "n" * 255)
    R.create("t/" + "n" * 256)                       # ENAMETOOLONG
    R.mkdir("t/" + "m" * 300)                        # ENAMETOOLONG
    R.unlink("t/" + "n" * 255)
    R.rmdir(".")                                     # EBUSY/EINVAL as the kernel says
    R.rmdir("t/d/.")                                 # EINVAL
    R.create("t/d/inner")
    R.rmdir("t/d")                                   # ENOTEMPTY
    R.unlink("t/d/inner")
    R.rmdir("t/d")
    R.mkdir("t/d", 0o2775)
    R.chmod("t/d", 0o2775)
    R.chown("t/d", 0, 123)
    R.mkdir("t/d/sub", 0o700)                        # inherits gid 123 and S_ISGID
    R.create("t/d/file", 0o2755)                     # gid 123 (root keeps S_ISGID)
    R.listdir("t/d")

    # Data: writes, reads, O_APPEND, sparse, truncate, blocks.
    R.open("w", "t/f", os.O_RDWR)
    R.pwrite("w", b"hello world\n", 0, "t/f")
    R.pread("w", 100, 0)
    R.pread("w", 100, 1 << 20)                        # past EOF: empty
    R.pwrite("w", b"x" * 5000, 3 * 4096 + 100, "t/f")  # sparse: hole in between
    R.pread("w", 20000, 0)
    R.pwrite("w", bytes(4096), 8 * 4096, "t/f")       # zeros still take a page
    R.pwrite("w", b"\xab" * 8192, 20 * 4096, "t/f")   # same-filled pages
    R.ftruncate("w", 100, "t/f")
    R.pread("w", 8192, 0)
    R.ftruncate("w", 100000, "t/f")                   # bytes after 100 read as zero
    R.pread("w", 8192, 0)
    R.ftruncate("w", 100000, "t/f")                   # same size: times still change
    R.ftruncate("w", -1, "t/f")                       # EINVAL
    R.lseek("w", 0, os.SEEK_DATA)
    R.lseek("w", 0, os.SEEK_HOLE)
    R.lseek("w", 200000, os.SEEK_DATA)                # ENXIO
    R.pwrite("w", b"y" * 10, 40000, "t/f")
    R.lseek("w", 4096, os.SEEK_DATA)
    R.lseek("w", 40000, os.SEEK_HOLE)
    R.close("w")
    R.open("a", "t/f", os.O_WRONLY | os.O_APPEND)
    R.write("a", b"appended", "t/f")
    R.pwrite("a", b"still appended", 0, "t/f")        # O_APPEND ignores the offset
    R.close("a")
    R.readfile("t/f")
    R.truncate("t/f", 5000)
    R.truncate("t/d", 0)                              # EISDIR
    R.readfile("t/f")
    R.open("t", "t/f", os.O_RDWR | os.O_TRUNC)
    R.close("t")
    R.readfile("t/f")

    # fallocate: allocate, keep size, punch (tmpfs has no ZERO_RANGE).
    R.open("fa", "t/fa", os.O_RDWR | os.O_CREAT, 0o600)
    R.fallocate("fa", 0, 0, 3 * 4096 + 1, "t/fa")
    R.fallocate("fa", FALLOC_KEEP_SIZE, 0, 64 * 1024, "t/fa")
    R.pwrite("fa", b"data" * 3000, 1000, "t/fa")
    R.fallocate("fa", FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE, 4096, 8192, "t/fa")
    R.fallocate("fa", FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE, 100, 1000, "t/fa")
    R.fallocate("fa", FALLOC_PUNCH_HOLE, 0, 4096, "t/fa")   # EOPNOTSUPP without KEEP_SIZE
    R.fallocate("fa", 0, 0, 0, "t/fa")                      # EINVAL
    R.pread("fa", 20000, 0)
    R.ftruncate("fa", 8000, "t/fa")                         # drops pages past EOF too
    R.pread("fa", 20000, 0)
    R.close("fa")

    # Links and symlinks.
    R.link("t/f", "t/f2")
    R.link("t/f", "t/f2")                            # EEXIST
    R.link("t/d", "t/d2")                            # EPERM
    R.link("t/nothing", "t/x")                       # ENOENT
    R.unlink("t/f2", also=["t/f"])
    R.link("t/f", "t/d/f3")
    R.symlink("f", "t/sl")
    R.symlink("f", "t/sl")                           # EEXIST
    R.symlink("x" * 200, "t/long")                   # a long target takes a page
    R.symlink("x" * 4096, "t/toolong")               # ENAMETOOLONG
    R.readlink("t/sl")
    R.readlink("t/long")
    R.readlink("t/f")                                # EINVAL
    R.readfile("t/sl")
    R.symlink("loop2", "t/loop1")
    R.symlink("loop1", "t/loop2")
    R.readfile("t/loop1")                            # ELOOP
    R.readfile("t/sl/x")                             # ENOTDIR
    R.chmod("t/sl", 0o600)                           # follows to t/f
    R.utime("t/sl", (1000000000, 2000000000))        # lutimes on the link itself

    # Device nodes and FIFOs (as root).
    R.mknod("t/fifo", stat.S_IFIFO | 0o640)
    R.mknod("t/chr", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    R.mknod("t/blk", stat.S_IFBLK | 0o600, os.makedev(7, 0))
    R.mknod("t/sock", stat.S_IFSOCK | 0o600)
    R.mknod("t/fifo", stat.S_IFIFO | 0o640)          # EEXIST
    R.mknod("t/reg", stat.S_IFREG | 0o640)

    # Renames.
    R.mkdir("t/r")
    R.mkdir("t/r/a")
    R.mkdir("t/r/b")
    R.create("t/r/a/x")
    R.create("t/r/b/y")
    R.rename("t/r/a/x", "t/r/b/y")                   # replace a file
    R.rename("t/r/b/y", "t/r/a")                     # EISDIR
    R.rename("t/r/a", "t/r/b/y")                     # ENOTDIR
    R.rename("t/r/a", "t/r/a/inside")                # EINVAL
    R.create("t/r/a/z")
    R.rename("t/r/b", "t/r/a")                       # ENOTEMPTY
    R.rename("t/r/a", "t/r/b")                       # ENOTEMPTY (b holds y)
    R.unlink("t/r/b/y")
    R.rename("t/r/a", "t/r/b")                       # replace an empty directory
    R.listdir("t/r")
    R.rename("t/r/missing", "t/r/c")                 # ENOENT
    R.mkdir("t/r/c")
    R.rename("t/r/b", "t/r/c/b")                     # move a directory: link counts
    R.rename("t/r/c/b/z", "t/r/z")
    R.link("t/r/z", "t/r/zz")
    R.rename("t/r/z", "t/r/zz")                      # two names of one inode: no-op
    R.listdir("t/r")
    R.rename("t/r/z", "t/r/c", RENAME_NOREPLACE)     # EEXIST
    R.rename("t/r/z", "t/r/new", RENAME_NOREPLACE)
    R.rename("t/r/new", "t/r/c/b", RENAME_EXCHANGE)  # file <-> directory, across
    R.listdir("t/r")
    R.listdir("t/r/c")
    R.rename("t/r/new", "t/r/none", RENAME_EXCHANGE)  # ENOENT
    R.rename("t/r/new", "t/r/c", RENAME_EXCHANGE | RENAME_NOREPLACE)  # EINVAL
    R.rename("t/r/c", "t/r/c/b/deeper")              # EINVAL (into itself)
    R.rename("t/r/c/b", "t/r/zz", 0)

    # Extended attributes.
    R.setxattr("t/f", "user.a", b"1")
    R.setxattr("t/f", "user.a", b"2", os.XATTR_CREATE)   # EEXIST
    R.setxattr("t/f", "user.b", b"3", os.XATTR_REPLACE)  # ENODATA
    R.setxattr("t/f", "user.b", b"x" * 3000)
    R.getxattr("t/f", "user.a")
    R.getxattr("t/f", "user.none")                       # ENODATA
    R.listxattr("t/f")
    R.setxattr("t/fifo", "user.a", b"1")                 # EPERM: not a file or directory
    R.setxattr("t/f", "trusted.t", b"root only")
    R.setxattr("t/f", "bogus.ns", b"1")                  # EOPNOTSUPP
    R.removexattr("t/f", "user.a")
    R.removexattr("t/f", "user.a")                       # ENODATA
    R.listxattr("t/f")

    # Permissions as uid 65534.
    R.mkdir("t/pub", 0o777)
    R.chmod("t/pub", 0o777)
    R.mkdir("t/sticky", 0o777)
    R.chmod("t/sticky", 0o1777)
    R.create("t/sticky/rootfile", 0o666)
    R.chmod("t/sticky/rootfile", 0o666)
    R.create("t/secret", 0o600)
    R.create("t/ro", 0o644)
    R.chmod("t/ro", 0o644)
    R.setxattr("t/ro", "user.visible", b"v")
    N = R.as_nobody
    N("open secret", lambda: os.close(os.open(p("t/secret"), os.O_RDONLY)), "t/secret")
    N("read ro", lambda: open(p("t/ro"), "rb").read(), "t/ro")
    N("write ro", lambda: os.close(os.open(p("t/ro"), os.O_WRONLY)), "t/ro")
    N("mkdir in t", lambda: os.mkdir(p("t/nob")), "t/nob")
    N("create in pub", lambda: os.close(os.open(p("t/pub/n"), os.O_CREAT | os.O_WRONLY, 0o640)),
      "t/pub/n", paths=["t/pub/n", "t/pub"])
    N("mkdir in pub", lambda: os.mkdir(p("t/pub/nd"), 0o777), "t/pub/nd",
      paths=["t/pub/nd"])
    N("unlink in sticky", lambda: os.unlink(p("t/sticky/rootfile")), "t/sticky/rootfile",
      paths=["t/sticky/rootfile"])
    N("rename in sticky", lambda: os.rename(p("t/sticky/rootfile"), p("t/sticky/mine")),
      "t/sticky/rootfile")
    N("create in sticky", lambda: os.close(os.open(p("t/sticky/mine"),
                                                  os.O_CREAT | os.O_WRONLY, 0o600)),
      "t/sticky/mine", paths=["t/sticky/mine"])
    N("unlink own in sticky", lambda: os.unlink(p("t/sticky/mine")), "t/sticky/mine",
      paths=["t/sticky/mine", "t/sticky"])
    N("chmod other's", lambda: os.chmod(p("t/ro"), 0o777), "t/ro", paths=["t/ro"])
    N("chown other's", lambda: os.chown(p("t/pub/n"), 0, 0), "t/pub/n")
    N("chmod own", lambda: os.chmod(p("t/pub/n"), 0o4755), "t/pub/n", paths=["t/pub/n"])
    N("chgrp to a foreign group", lambda: os.chown(p("t/pub/n"), -1, 0), "t/pub/n")
    N("utime other's now", lambda: os.utime(p("t/ro")), "t/ro")
    N("utime other's explicit", lambda: os.utime(p("t/ro"), ns=(1, 1)), "t/ro")
    N("getxattr readable", lambda: os.getxattr(p("t/ro"), "user.visible"), "t/ro")
    N("setxattr not writable", lambda: os.setxattr(p("t/ro"), "user.x", b"1"), "t/ro")
    N("getxattr unreadable", lambda: os.getxattr(p("t/secret"), "user.none"), "t/secret")
    N("trusted", lambda: os.setxattr(p("t/pub/n"), "trusted.x", b"1"), "t/pub/n")
    N("trusted get", lambda: os.getxattr(p("t/f"), "trusted.t"), "t/f")
    N("list trusted", lambda: sorted(os.listxattr(p("t/f"))), "t/f")
    N("truncate other's", lambda: os.truncate(p("t/ro"), 0), "t/ro")
    N("mknod chr", lambda: os.mknod(p("t/pub/c"), stat.S_IFCHR | 0o600, os.makedev(1, 3)),
      "t/pub/c")
    N("link to other's", lambda: os.link(p("t/ro"), p("t/pub/l")), "t/pub/l",
      paths=["t/pub/l", "t/ro"])
    N("write after chmod", lambda: os.write(os.open(p("t/pub/n"), os.O_WRONLY), b"abc"),
      "t/pub/n", paths=["t/pub/n"])
    R.chmod("t/secret", 0o640)
    R.chown("t/secret", 0, NOBODY)
    N("open via group", lambda: os.close(os.open(p("t/secret"), os.O_RDONLY)), "t/secret")
    R.open("ro", "t/ro", os.O_RDWR)
    R.pwrite("ro", b"more", 0, "t/ro")
    R.close("ro")
    # A write by root to a set-id file does not clear the bits; chown does.
    R.chmod("t/ro", 0o6755)
    R.chown("t/ro", NOBODY, NOBODY)
    R.chmod("t/pub", 0o2777)
    N("write own suid", lambda: os.write(os.open(p("t/pub/n"), os.O_WRONLY), b"def"),
      "t/pub/n", paths=["t/pub/n"])
    N("mkdir in sgid", lambda: os.mkdir(p("t/pub/sg"), 0o777), "t/pub/sg", paths=["t/pub/sg"])
    N("create in sgid", lambda: os.close(os.open(p("t/pub/sgf"), os.O_CREAT | os.O_WRONLY,
                                                0o2777)), "t/pub/sgf", paths=["t/pub/sgf"])
    R.access("t/secret", os.W_OK)
    R.listdir("t/pub")


# security.capability as setcap writes it: revision 2, cap_net_raw permitted and effective.
CAPS = (0x02000001).to_bytes(4, "little") + (1 << 13).to_bytes(4, "little") + bytes(12)


def killpriv_part(R):
    """Set-id bits and security.capability after chown, write and truncate."""
    p = R.p
    N = R.as_nobody
    R.mkdir("k", 0o777)
    R.chmod("k", 0o777)
    # chown by root: set-uid always goes, set-gid with group-exec; not on directories.
    R.create("k/a", 0o755)
    R.chmod("k/a", 0o6755)
    R.chown("k/a", NOBODY, NOBODY)
    R.chmod("k/a", 0o6755)
    R.chown("k/a", -1, 0)
    R.create("k/g", 0o755)
    R.chmod("k/g", 0o2745)                          # set-gid without group-exec stays
    R.chown("k/g", NOBODY, -1)
    R.mkdir("k/d", 0o755)
    R.chmod("k/d", 0o6775)
    R.chown("k/d", NOBODY, NOBODY)
    # by a non-root owner: chown to themselves, chgrp to their group, chown(-1, -1)
    N("create own", lambda: os.close(os.open(p("k/n"), os.O_CREAT | os.O_WRONLY, 0o755)),
      "k/n", paths=["k/n"])
    for uid, gid in ((NOBODY, -1), (-1, NOBODY), (-1, -1)):
        N("chmod own 6755", lambda: os.chmod(p("k/n"), 0o6755), "k/n", paths=["k/n"])
        N("chown own", lambda u=uid, g=gid: os.chown(p("k/n"), u, g), "k/n", uid, gid,
          paths=["k/n"])
    # writes by a non-root owner: through the page cache (O_RDWR) and direct (O_WRONLY
    # opened before the bits were set)
    N("chmod own 6755", lambda: os.chmod(p("k/n"), 0o6755), "k/n", paths=["k/n"])
    N("pwrite own suid", lambda: os.pwrite(os.open(p("k/n"), os.O_RDWR), b"abc", 0), "k/n",
      paths=["k/n"])

    def direct():
        fd = os.open(p("k/n"), os.O_WRONLY)
        os.fchmod(fd, 0o6755)
        return os.pwrite(fd, b"defg", 1)
    N("write after fchmod 6755", direct, "k/n", paths=["k/n"])
    # truncates by the non-root owner: truncate, ftruncate, open(O_TRUNC)
    for how in ("truncate", "ftruncate", "O_TRUNC"):
        def trunc(how=how):
            os.chmod(p("k/n"), 0o6755)
            if how == "truncate":
                os.truncate(p("k/n"), 2)
            elif how == "ftruncate":
                os.ftruncate(os.open(p("k/n"), os.O_WRONLY), 1)
            else:
                os.close(os.open(p("k/n"), os.O_WRONLY | os.O_TRUNC))
        N("truncate own suid", trunc, "k/n", how, paths=["k/n"])
    # root (CAP_FSETID) keeps the bits on write and truncate
    R.chmod("k/n", 0o6755)
    R.open("rw", "k/n", os.O_RDWR)
    R.pwrite("rw", b"root", 0, "k/n")
    R.ftruncate("rw", 2, "k/n")
    R.close("rw")
    R.truncate("k/n", 1)
    R.open("tr", "k/n", os.O_WRONLY | os.O_TRUNC)
    R.close("tr")
    # security.capability goes on chown, truncate and any write (root's too)
    R.create("k/c", 0o777)
    R.chmod("k/c", 0o777)
    R.setxattr("k/c", "security.capability", CAPS)
    R.getxattr("k/c", "security.capability")
    R.chown("k/c", NOBODY, NOBODY)
    R.getxattr("k/c", "security.capability")
    for how in ("nobody-direct", "root-direct", "root-cached", "truncate"):
        R.setxattr("k/c", "security.capability", CAPS)
        if how == "nobody-direct":
            N("write capped", lambda: os.pwrite(os.open(p("k/c"), os.O_WRONLY), b"x", 0),
              "k/c", paths=["k/c"])
        elif how == "truncate":
            R.truncate("k/c", 0)
        else:
            R.open("c", "k/c", os.O_WRONLY if how == "root-direct" else os.O_RDWR)
            R.pwrite("c", b"yz", 0, "k/c")
            R.close("c")
        R.getxattr("k/c", "security.capability")
    # a set-uid file with a capability written by root: the capability goes, the bit stays
    R.chmod("k/c", 0o4755)
    R.setxattr("k/c", "security.capability", CAPS)
    R.open("c", "k/c", os.O_RDWR)
    R.pwrite("c", b"w", 0, "k/c")
    R.close("c")
    R.getxattr("k/c", "security.capability")
    R.listdir("k")


def random_part(R, seed, steps):
    rng = random.Random(seed)
    dirs = ["q", "q/a", "q/b"]
    R.mkdir("q", 0o755)
    R.mkdir("q/a", 0o755)
    R.mkdir("q/b", 0o755)
    names = ["n1", "n2", "n3", "n4"]

    def path():
        return rng.choice(dirs) + "/" + rng.choice(names)

    for _ in range(steps):
        op = rng.randrange(14)
        a, b = path(), path()
        if op == 0:
            R.create(a, 0o644)
        elif op in (1, 2):
            size = rng.choice([1, 100, 4096, 5000, 12288, 70000])
            off = rng.choice([0, 1, 4095, 4096, 10000, 65536])
            kind = rng.randrange(4)
            if kind == 0:
                data = bytes(rng.getrandbits(8) for _ in range(min(size, 3000))) * (size // 3000 + 1)
            elif kind == 1:
                data = bytes(size)
            elif kind == 2:
                data = b"\x5a" * size
            else:
                data = (b"text %d " % rng.randrange(1000)) * (size // 8 + 1)
            data = data[:size]

            def w(a=a, data=data, off=off):
                fd = os.open(R.p(a), os.O_WRONLY)
                try:
                    return os.pwrite(fd, data, off)
                finally:
                    os.close(fd)
            R.call("pwrite_path", w, a, norm(data), off, paths=[a])
        elif op == 3:
            R.truncate(a, rng.choice([0, 1, 4096, 4097, 30000]))
        elif op == 4:
            R.unlink(a)
        elif op == 5:
            R.mkdir(a, 0o755)
        elif op == 6:
            R.rmdir(a)
        elif op == 7:
            R.rename(a, b, rng.choice([0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE]))
        elif op == 8:
            R.link(a, b)
        elif op == 9:
            R.symlink(rng.choice(["n1", "../a", "x" * 150]), a)
        elif op == 10:
            R.chmod(a, rng.choice([0o600, 0o644, 0o755, 0o4755]))
        elif op == 11:
            R.readfile(a)
        elif op == 12:
            R.listdir(rng.choice(dirs))
        else:
            R.call("stat", lambda: None, a, paths=[a])
    for d in dirs:
        R.listdir(d)


def record(root, out, seed):
    os.umask(0o022)
    R = Recorder(root)
    scripted(R)
    killpriv_part(R)
    random_part(R, seed, 400)
    with open(out, "w") as fh:
        json.dump(R.log, fh, indent=0)
    print("%d calls recorded in %s" % (len(R.log), root))


def compare(fa, fb):
    a, b = json.load(open(fa)), json.load(open(fb))
    for ea, eb in zip(a, b):
        if ea != eb:
            print("first divergence at call %d: %s %s" % (ea["n"], ea["op"], ea["args"]))
            print("  reference: res=%s" % json.dumps(ea["res"]))
            print("  zpoolfs:   res=%s" % json.dumps(eb["res"]))
            for k in sorted(set(ea["stat"]) | set(eb["stat"])):
                if ea["stat"].get(k) != eb["stat"].get(k):
                    print("  stat %s:\n    reference %s\n    zpoolfs   %s" %
                          (k, json.dumps(ea["stat"].get(k)), json.dumps(eb["stat"].get(k))))
            return 1
    if len(a) != len(b):
        print("different lengths: %d and %d" % (len(a), len(b)))
        return 1
    errs = sum(1 for e in a if isinstance(e["res"], str) and e["res"].startswith("E:"))
    print("%d calls agree (%d of them failing ones)" % (len(a), errs))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
