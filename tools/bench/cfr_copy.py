#!/usr/bin/env python3
# cfr_copy.py - the two halves of share_bench.sh's copy_file_range part.
#
#   cfr_copy.py fill FILE MIB     write MIB MiB of compressible text (fsync'd)
#   cfr_copy.py copy SRC DST      copy SRC to a new DST with os.copy_file_range, timed
#
# fill: text from /usr/share/common-licenses, each 4096-byte page stamped with its number so
# no two pages are equal (a dedup mount would otherwise store one). copy: prints the
# nanoseconds the copy took and the number of calls it needed (FUSE answers at most 4 GiB a
# call, so 1 GiB is one call).
import glob
import os
import sys
import time

PAGE = 4096


def text_block():
    data = b""
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data += f.read()
    if len(data) < 64 * PAGE:
        data = (data or b"zpoolfs copy_file_range benchmark\n") * (64 * PAGE // max(len(data), 1) + 1)
    return data[: 64 * PAGE]


def fill(path, mib):
    block = bytearray(text_block())
    pages_per_block = len(block) // PAGE
    page_no = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        total = mib * 1024 * 1024 // len(block)
        for _ in range(total):
            for i in range(pages_per_block):
                stamp = b"%012d\n" % page_no
                block[i * PAGE: i * PAGE + len(stamp)] = stamp
                page_no += 1
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)


def copy(src, dst):
    fin = os.open(src, os.O_RDONLY)
    fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    size = os.fstat(fin).st_size
    done = calls = 0
    t0 = time.perf_counter_ns()
    while done < size:
        n = os.copy_file_range(fin, fout, size - done, done, done)
        calls += 1
        if n <= 0:
            break
        done += n
    t1 = time.perf_counter_ns()
    os.close(fin)
    os.close(fout)
    if done != size:
        sys.exit("cfr_copy: copied %d of %d bytes" % (done, size))
    print(t1 - t0, calls)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "fill":
        fill(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "copy":
        copy(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: cfr_copy.py fill FILE MIB | copy SRC DST")


if __name__ == "__main__":
    main()
