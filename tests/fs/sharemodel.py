#!/usr/bin/env python3
"""Model-based test of copy_file_range sharing on a mounted zpoolfs.

sharemodel.py MOUNT [--seed N] [--steps N] [--files N]

Random copies (page-aligned and not, between files and inside one file),
writes, truncates, punches, zero-ranges, fallocates and unlinks on a few
files that share data; after every step every file is compared byte for byte
with a shadow copy (read through the page cache, and every few steps from the
daemon after dropping the cache). The seed is printed; a failure names the
step. At the end the stats must reconcile: orig_data_size is what the files
show, every shared gauge returns to zero once the files are gone.
"""
import argparse, ctypes, errno, json, os, random, sys, time

PAGE = 4096
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 1, 2, 16


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def stats(mnt):
    with open(os.path.join(mnt, ".zpool/stats.json")) as f:
        return json.load(f)


def make_data(rng, n):
    kind = rng.choice([0, 1, 2, 3, 3, 3, 4, 4])
    if kind == 0:
        return bytes(n)
    if kind == 1:
        return rng.randbytes(n)
    if kind == 2:
        return bytes([rng.randrange(256)]) * n
    words = [b"alpha ", b"beta ", b"gamma\n", b"delta ", b"%d " % rng.randrange(1000)]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words)
    return bytes(out[:n])


class Model:
    def __init__(self, mnt, rng, nfiles, maxpages):
        self.mnt, self.rng, self.maxpages = mnt, rng, maxpages
        self.names = ["f%d" % i for i in range(nfiles)]
        self.shadow = {}
        self.fds = {}
        for n in self.names:
            self.create(n)

    def first_copy(self):
        """A whole-page copy of text pages, so that every run shares something."""
        a, b = self.names[0], self.names[1 % len(self.names)]
        data = b"".join(b"first copy, page %d\n" % i * 200 for i in range(8))[:8 * PAGE]
        data = data.ljust(8 * PAGE, b".")
        assert os.pwrite(self.fds[a], data, 0) == len(data)
        self.put(self.shadow[a], 0, data)
        done = 0
        while done < len(data):
            done += os.copy_file_range(self.fds[a], self.fds[b], len(data) - done, done,
                                       4 * PAGE + done)
        self.put(self.shadow[b], 4 * PAGE, data)
        return "first copy %s -> %s@%d" % (a, b, 4 * PAGE)

    def path(self, n):
        return os.path.join(self.mnt, n)

    def create(self, n):
        self.fds[n] = os.open(self.path(n), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.shadow[n] = bytearray()

    def off(self, limit, aligned):
        o = self.rng.randrange(0, max(limit, 1) + 1)
        return o - o % PAGE if aligned else o

    def length(self, aligned):
        n = self.rng.choice([1, 100, PAGE, 3 * PAGE, 16 * PAGE, 40 * PAGE + 123,
                             self.rng.randrange(1, 64 * PAGE)])
        return (n + PAGE - 1) // PAGE * PAGE if aligned else n

    def step(self):
        r = self.rng
        op = r.choices(["write", "copy", "copy", "copy", "truncate", "punch", "zero",
                        "alloc", "unlink"], k=1)[0]
        a = r.choice(self.names)
        fd, sh = self.fds[a], self.shadow[a]
        limit = self.maxpages * PAGE
        aligned = r.random() < 0.7
        if op == "write":
            off = self.off(min(len(sh) + PAGE, limit), aligned)
            data = make_data(r, self.length(aligned))
            n = os.pwrite(fd, data, off)
            assert n == len(data), "short write"
            self.put(sh, off, data)
            return "write %s off=%d len=%d" % (a, off, len(data))
        if op == "copy":
            b = r.choice(self.names)
            src, ssh = self.fds[b], self.shadow[b]
            off_in = self.off(len(ssh), aligned)
            if r.random() < 0.8:
                off_out = off_in % PAGE + self.off(min(len(sh) + 2 * PAGE, limit), True)
            else:
                off_out = self.off(min(len(sh) + 2 * PAGE, limit), False)
            ln = self.length(aligned) * r.choice([1, 1, 4])
            cnt = max(0, min(ln, len(ssh) - off_in))  # the kernel's clamp comes first
            if b == a and cnt and off_in < off_out + cnt and off_out < off_in + cnt:
                try:
                    os.copy_file_range(src, fd, ln, off_in, off_out)
                except OSError as e:
                    assert e.errno == errno.EINVAL, e
                    return "copy %s->%s overlapping: EINVAL" % (b, a)
                raise AssertionError("overlapping copy inside one file accepted")
            want = bytes(ssh[off_in:off_in + ln])
            done = 0
            while done < len(want):
                n = os.copy_file_range(src, fd, len(want) - done, off_in + done, off_out + done)
                assert n > 0, "copy_file_range returned 0 before the source's end"
                done += n
            if want:
                self.put(sh, off_out, want)
            return "copy %s[%d:+%d] -> %s@%d" % (b, off_in, len(want), a, off_out)
        if op == "truncate":
            size = self.off(limit, aligned and r.random() < 0.5)
            os.ftruncate(fd, size)
            if size < len(sh):
                del sh[size:]
            else:
                sh.extend(bytes(size - len(sh)))
            return "truncate %s %d" % (a, size)
        if op in ("punch", "zero", "alloc"):
            off = self.off(len(sh) + PAGE, aligned)
            ln = self.length(aligned)
            mode = {"punch": PUNCH_HOLE | KEEP_SIZE, "zero": ZERO_RANGE,
                    "alloc": 0}[op]
            if op == "zero" and r.random() < 0.5:
                mode |= KEEP_SIZE
            fallocate(fd, mode, off, ln)
            end = off + ln
            if op != "alloc":
                lo, hi = min(off, len(sh)), min(end, len(sh))
                sh[lo:hi] = bytes(hi - lo)
            if not mode & KEEP_SIZE and end > len(sh):
                sh.extend(bytes(end - len(sh)))
            return "%s %s off=%d len=%d" % (op, a, off, ln)
        os.close(fd)
        os.unlink(self.path(a))
        self.create(a)
        return "unlink+create %s" % a

    @staticmethod
    def put(sh, off, data):
        if off > len(sh):
            sh.extend(bytes(off - len(sh)))
        sh[off:off + len(data)] = data

    def check(self, what, drop):
        for n in self.names:
            fd, sh = self.fds[n], self.shadow[n]
            if drop:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            st = os.fstat(fd)
            assert st.st_size == len(sh), "%s: %s size %d, want %d" % (what, n, st.st_size, len(sh))
            got = os.pread(fd, len(sh) + 1, 0) if sh else b""
            if got != sh:
                bad = next(i for i in range(min(len(got), len(sh)) + 1)
                           if i >= len(got) or i >= len(sh) or got[i] != sh[i])
                raise AssertionError("%s: %s differs at byte %d (page %d)%s" %
                                     (what, n, bad, bad // PAGE, " after dropping the cache" if drop else ""))

    def close(self):
        for n in self.names:
            os.close(self.fds[n])
            os.unlink(self.path(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mnt")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--maxpages", type=int, default=96)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 32)
    print("sharemodel: seed %d (replay: --seed %d)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    m = Model(a.mnt, rng, a.files, a.maxpages)
    shared_seen = 0
    try:
        m.check(m.first_copy(), drop=True)
    except AssertionError as e:
        print("FAIL seed %d: %s" % (seed, e), file=sys.stderr)
        return 1
    for i in range(a.steps):
        what = "step %d (%s)" % (i, "?")
        try:
            what = "step %d: %s" % (i, m.step())
            m.check(what, drop=(i % 7 == 0))
        except AssertionError as e:
            print("FAIL seed %d: %s" % (seed, e), file=sys.stderr)
            return 1
        if i % 25 == 0:
            # An unlinked file's pages go when the kernel forgets its inode, a moment later.
            for _ in range(100):
                s = stats(a.mnt)
                blocks = sum(os.fstat(m.fds[n]).st_blocks for n in m.names)
                if s["mm_stat"]["orig_data_size"] == blocks * 512:
                    break
                time.sleep(0.02)
            shared_seen = max(shared_seen, s["counters"]["shared_pages"])
            if s["mm_stat"]["orig_data_size"] != blocks * 512:
                print("FAIL seed %d: %s: orig_data_size %d, files' st_blocks say %d" %
                      (seed, what, s["mm_stat"]["orig_data_size"], blocks * 512), file=sys.stderr)
                return 1
    s = stats(a.mnt)["counters"]
    print("sharemodel: %d steps, %d pages shared by copies, at most %d shared at once" %
          (a.steps, s["pages_copy_shared"], shared_seen))
    if s["pages_copy_shared"] == 0:
        print("FAIL seed %d: no page was ever shared" % seed, file=sys.stderr)
        return 1
    m.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
