#!/usr/bin/env python3
"""req_workload.py MOUNT PREFIX N M K U - a known workload of system calls on a
zpoolfs mount, for the zpoolfsdist/zpoolfsslower/requests.bt tests.

N files PREFIX0.. are created (open O_CREAT|O_EXCL), each written once with
8192 bytes and closed, the first K fsync'ed before their close; then each is
opened again with O_DIRECT (so that every read reaches the daemon) and read
M times in all (4096 or 8192 bytes at offset 0 or 4096, round robin), and
closed; then the first U are unlinked. Only os.* calls, one system call each.
Prints what it did as JSON: the number of each operation, the pid, the files
fsync'ed.
"""
import json
import os
import sys

mnt, prefix = sys.argv[1], sys.argv[2]
n, m, k, u = (int(a) for a in sys.argv[3:7])
assert n > 0 and k <= n and u <= n
data = bytes(range(256)) * 32  # 8192 bytes
names = [f"{prefix}{i}" for i in range(n)]
for i, name in enumerate(names):
    fd = os.open(os.path.join(mnt, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    assert os.write(fd, data) == len(data)
    if i < k:
        os.fsync(fd)
    os.close(fd)
fds = [os.open(os.path.join(mnt, name), os.O_RDONLY | os.O_DIRECT) for name in names]
sizes = [(4096, 0), (8192, 0), (4096, 4096)]
for j in range(m):
    size, off = sizes[j % len(sizes)]
    got = os.pread(fds[j % n], size, off)
    assert got == data[off:off + size], f"read {size}@{off} of {names[j % n]}"
for fd in fds:
    os.close(fd)
for name in names[:u]:
    os.unlink(os.path.join(mnt, name))
print(json.dumps({"pid": os.getpid(), "create": n, "open": n, "write": n, "read": m,
                  "fsync": k, "unlink": u, "close": 2 * n, "fsynced": names[:k]}))
