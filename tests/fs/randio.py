#!/usr/bin/env python3
"""Random-offset I/O on a file, checked byte for byte against a reference.

    randio.py FILE REFERENCE SEED OPS

Writes (random bytes, text, zeros, same-filled words, lengths from 1 byte to
1.5 MiB, any alignment), truncates both ways and reads, on FILE and on
REFERENCE alike. Before each checking read the kernel's cached pages of FILE
are dropped (POSIX_FADV_DONTNEED), so the data really comes back from the
filesystem. Exits 1 at the first difference, printing the seed and the
operation.
"""
import os
import random
import sys


def data_of(rng, kind, n):
    if kind == 0:
        return rng.randbytes(n)
    if kind == 1:
        return bytes(n)
    if kind == 2:
        word = rng.randbytes(8)
        return (word * (n // 8 + 1))[:n]
    line = b"%08d lorem ipsum dolor sit amet, consectetur %d\n"
    out = b"".join(line % (i, rng.randrange(100)) for i in range(n // 40 + 1))
    return out[:n]


def main():
    path, ref, seed, ops = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    rf = os.open(ref, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    span = 6 << 20

    def check(what):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        size = os.fstat(rf).st_size
        if os.fstat(fd).st_size != size:
            sys.exit("seed %d, %s: size %d, reference %d" % (seed, what, os.fstat(fd).st_size, size))
        off = 0
        while off < size:
            a = os.pread(fd, 1 << 20, off)
            b = os.pread(rf, 1 << 20, off)
            if a != b:
                i = next(i for i in range(min(len(a), len(b))) if a[i] != b[i]) \
                    if len(a) == len(b) else min(len(a), len(b))
                sys.exit("seed %d, %s: first difference at byte %d" % (seed, what, off + i))
            off += len(b)

    for n in range(ops):
        op = rng.randrange(10)
        if op < 6:
            length = rng.choice([1, 7, 4095, 4096, 4097, 8192, 12345, 65536, 131072 + 3,
                                 1 << 20, (1 << 20) + 4096 * 3 + 5])
            off = rng.choice([0, rng.randrange(span), rng.randrange(span) & ~4095,
                              os.fstat(rf).st_size])
            data = data_of(rng, rng.randrange(4), length)
            got = os.pwrite(fd, data, off)
            if got != len(data):
                sys.exit("seed %d, op %d: short write %d of %d" % (seed, n, got, len(data)))
            os.pwrite(rf, data, off)
        elif op == 6:
            size = rng.choice([0, rng.randrange(span), rng.randrange(span) & ~4095])
            os.ftruncate(fd, size)
            os.ftruncate(rf, size)
        elif op < 9:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            off = rng.randrange(span)
            length = rng.choice([1, 100, 4096, 5000, 1 << 20])
            a, b = os.pread(fd, length, off), os.pread(rf, length, off)
            if a != b:
                sys.exit("seed %d, op %d: pread(%d, %d) differs" % (seed, n, length, off))
        else:
            check("op %d" % n)
    check("the end")
    os.close(fd)
    os.close(rf)


main()
