#!/usr/bin/env bash
# Trees: a real directory tree copied in with cp -a compares equal (diff -r,
# modes, owners, symlinks); then thousands of random creates, writes,
# renames (plain, RENAME_NOREPLACE, RENAME_EXCHANGE), hard links, unlinks,
# mkdirs and rmdirs are checked against an in-memory model of the tree:
# every name, type, link count and content. Device nodes, FIFOs and sockets
# work. TREE_SEED=N replays.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need python3 diff cp
zfs_workdir
SEED=${TREE_SEED:-$RANDOM}
echo "seed $SEED"
M=$WORK/m
zfs_mount "$M" -o size=256m || fail "mount failed"

# A real tree.
SRC=/usr/share/doc/util-linux
[ -d "$SRC" ] || SRC=/usr/share/doc
cp -a "$SRC" "$M/copy"
diff -r "$SRC" "$M/copy" >/dev/null || fail "diff -r after cp -a $SRC"
(cd "$SRC" && find . -printf '%p %y %m %U %G %s %l\n' | sort) >"$WORK/src.lst"
(cd "$M/copy" && find . -printf '%p %y %m %U %G %s %l\n' | sort) >"$WORK/dst.lst"
# Directory sizes differ between filesystems; drop them.
sed -i 's/ d \([0-7]*\) \([0-9]*\) \([0-9]*\) [0-9]* / d \1 \2 \3 - /' "$WORK/src.lst" "$WORK/dst.lst"
diff "$WORK/src.lst" "$WORK/dst.lst" || fail "cp -a did not keep names, types, modes, owners, sizes, links"

# Special files.
mkfifo "$M/fifo"
(echo through-the-fifo >"$M/fifo") &
writer=$!
assert_eq "$(timeout 10 cat "$M/fifo")" through-the-fifo "a FIFO passes data"
wait "$writer"
mknod "$M/null" c 1 3
echo discarded >"$M/null" || fail "writing to a character device node"
assert_eq "$(stat -c '%F %t:%T' "$M/null")" "character special file 1:3" "character device"
mknod "$M/loop" b 7 0
assert_eq "$(stat -c '%F %t:%T' "$M/loop")" "block special file 7:0" "block device"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$M/sock"
assert_eq "$(stat -c %F "$M/sock")" socket "a bound unix socket"

python3 - "$M/model" "$SEED" <<'EOF' || fail "tree operations differ from the model (seed $SEED)"
import ctypes, errno, os, random, sys
root, seed = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
rng = random.Random(seed)
os.mkdir(root)

# The model: path -> ("d",) or ("f", inode id); inode id -> bytes.
tree = {"": ("d",)}
data = {}
next_id = [0]

def P(rel):
    return os.path.join(root, rel) if rel else root

def dirs():
    return [p for p, v in tree.items() if v[0] == "d"]

def children(d):
    pre = d + "/" if d else ""
    return [p for p in tree if p.startswith(pre) and p != d and "/" not in p[len(pre):]]

def subtree(d):
    pre = d + "/"
    return [p for p in tree if p == d or p.startswith(pre)]

def pick_name():
    return rng.choice(dirs()) + "/" + rng.choice("abcdefg") if True else None

def norm(p):
    return p.lstrip("/")

def renameat2(a, b, flags):
    r = libc.renameat2(-100, P(a).encode(), -100, P(b).encode(), flags)
    if r:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def expect_err(fn, code):
    try:
        fn()
    except OSError as e:
        if e.errno != code:
            sys.exit("got %s, want %s" % (e, errno.errorcode[code]))
        return
    sys.exit("no error, want %s" % errno.errorcode[code])

for step in range(3000):
    op = rng.randrange(9)
    a = norm(pick_name())
    b = norm(pick_name())
    if op == 0:                                   # create + write
        if a in tree:
            continue
        content = rng.randbytes(rng.choice([0, 10, 4096, 9000, 70000]))
        with open(P(a), "wb") as fh:
            fh.write(content)
        tree[a] = ("f", next_id[0])
        data[next_id[0]] = content
        next_id[0] += 1
    elif op == 1:                                 # mkdir
        if a in tree:
            expect_err(lambda: os.mkdir(P(a)), errno.EEXIST)
            continue
        os.mkdir(P(a))
        tree[a] = ("d",)
    elif op == 2:                                 # unlink / rmdir
        if a not in tree:
            expect_err(lambda: os.unlink(P(a)), errno.ENOENT)
        elif tree[a][0] == "f":
            os.unlink(P(a))
            del tree[a]
        elif children(a):
            expect_err(lambda: os.rmdir(P(a)), errno.ENOTEMPTY)
        else:
            os.rmdir(P(a))
            del tree[a]
    elif op == 3:                                 # hard link
        if a not in tree or tree[a][0] != "f":
            continue
        if b in tree:
            expect_err(lambda: os.link(P(a), P(b)), errno.EEXIST)
            continue
        os.link(P(a), P(b))
        tree[b] = tree[a]
    elif op in (4, 5, 6):                         # renames
        if a not in tree:
            continue
        flags = [0, 1, 2][op - 4]                 # plain, NOREPLACE, EXCHANGE
        if a == b or (b + "/").startswith(a + "/") or (a + "/").startswith(b + "/"):
            continue                              # self and ancestors: covered by the differential test
        if flags == 1 and b in tree:
            expect_err(lambda: renameat2(a, b, 1), errno.EEXIST)
            continue
        if flags == 2:
            if b not in tree:
                expect_err(lambda: renameat2(a, b, 2), errno.ENOENT)
                continue
            renameat2(a, b, 2)
            sa, sb = subtree(a), subtree(b)
            va = {p: tree.pop(p) for p in sa}
            vb = {p: tree.pop(p) for p in sb}
            for p, v in va.items():
                tree[b + p[len(a):]] = v
            for p, v in vb.items():
                tree[a + p[len(b):]] = v
            continue
        if b in tree:
            ta, tb = tree[a][0], tree[b][0]
            if tree[a] == tree[b] and ta == "f":  # two names of one inode
                renameat2(a, b, 0)
                continue
            if ta == "f" and tb == "d":
                expect_err(lambda: renameat2(a, b, 0), errno.EISDIR)
                continue
            if ta == "d" and tb == "f":
                expect_err(lambda: renameat2(a, b, 0), errno.ENOTDIR)
                continue
            if tb == "d" and children(b):
                expect_err(lambda: renameat2(a, b, 0), errno.ENOTEMPTY)
                continue
            del tree[b]
        renameat2(a, b, flags)
        moved = {p: tree.pop(p) for p in subtree(a)}
        for p, v in moved.items():
            tree[b + p[len(a):]] = v
    elif op == 7:                                 # overwrite part of a file
        if a not in tree or tree[a][0] != "f":
            continue
        iid = tree[a][1]
        off = rng.randrange(len(data[iid]) + 1)
        chunk = rng.randbytes(rng.choice([1, 100, 5000]))
        with open(P(a), "r+b") as fh:
            fh.seek(off)
            fh.write(chunk)
        old = data[iid]
        new = bytearray(old) + bytearray(max(0, off + len(chunk) - len(old)))
        new[off:off + len(chunk)] = chunk
        data[iid] = bytes(new)
    else:                                         # truncate
        if a not in tree or tree[a][0] != "f":
            continue
        iid = tree[a][1]
        size = rng.choice([0, 1, 4096, 5000])
        os.truncate(P(a), size)
        data[iid] = (data[iid] + bytes(max(0, size - len(data[iid]))))[:size]

# Compare the whole tree with the model.
found = {}
for dirpath, dnames, fnames in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    rel = "" if rel == "." else rel
    found[rel] = "d"
    for f in fnames:
        found[(rel + "/" + f).lstrip("/")] = "f"
assert set(found) == set(tree), "names differ: extra %s, missing %s" % (
    sorted(set(found) - set(tree))[:5], sorted(set(tree) - set(found))[:5])
links = {}
for p, v in tree.items():
    if v[0] == "f":
        links[v[1]] = links.get(v[1], 0) + 1
for p, v in tree.items():
    st = os.lstat(P(p))
    if v[0] == "d":
        subdirs = sum(1 for c in children(p) if tree[c][0] == "d")
        assert st.st_nlink == 2 + subdirs, "%s: nlink %d, want %d" % (p, st.st_nlink, 2 + subdirs)
        assert st.st_size == 40 + 20 * len(children(p)), "%s: size %d" % (p, st.st_size)
    else:
        assert st.st_nlink == links[v[1]], "%s: nlink %d, want %d" % (p, st.st_nlink, links[v[1]])
        with open(P(p), "rb") as fh:
            assert fh.read() == data[v[1]], "%s: contents differ" % p
print("3000 steps: %d names, %d files, %d directories agree with the model"
      % (len(tree), len(links), len(dirs())))
EOF
rm -rf "$M/model" "$M/copy"
zfs_umount "$M"
echo ok
