#!/usr/bin/env python3
"""smallfiles.py DIR N - the small-file workload of reqtrace_bench.sh: for each
of N files, create and write 4 KiB and close, stat, open and read and close,
then unlink. Prints files per second (wall time of the whole loop) and the
CPU time this process used per file, in us (user + system: the system part
includes the kernel's FUSE work and any tracing program this process runs)."""
import os
import resource
import sys
import time

d, n = sys.argv[1], int(sys.argv[2])
data = b"z" * 4096
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.monotonic()
for i in range(n):
    p = os.path.join(d, f"s{i}")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.close(fd)
    os.stat(p)
    fd = os.open(p, os.O_RDONLY)
    os.read(fd, 4096)
    os.close(fd)
    os.unlink(p)
wall = time.monotonic() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(f"{n / wall:.1f} {cpu / n * 1e6:.2f}")
