#!/usr/bin/env bash
# Packing (-o pack_after=SECONDS, fs/tier/pack.c): pages written piecemeal
# (writes smaller than a cluster, as tar's 10 KiB records) are stored singly,
# then packed into pieces by the background thread once pack_after seconds
# old.
#
# Text written in 10 KiB writes: after packing, pages_packed > 0, the pool
# holds fewer compressed bytes, pages_stored and orig_data_size do not move,
# the classes table still sums to mem_used_total, every file reads back equal
# to its source, and a 4 KiB rewrite inside a packed cluster reads back right.
# Random data has nothing to gain and is left single. With -o dedup pages
# are one-page pieces and nothing is packed. Nothing is packed with
# cluster=4k, with pack_after=0, or before the data is pack_after seconds old
# (60, and the default, 30). At mem_limit (packing allocates the piece before
# it frees the pages) nothing is lost. Bad values are refused.
#
# Small files (up to 16 pages) are gathered: several files' pages in one
# piece (pages_gathered). Each reads back right, shared= stays 0 (grouped,
# not shared), the per-file stored= add up to compr_data_size, and after
# most of the files are removed or rewritten, a later pass regathers the
# pieces left at most half live, so stale pages are again at most
# cluster_pages; the survivors read back right throughout. Files written in
# whole clusters are repacked in 64 KiB units with LZ4HC: fewer pieces, at
# least 10 % fewer bytes, not repacked again, split when at most half live. A model run
# overwrites, truncates, replaces and reads small files for 8 s while the
# packer gathers them (seed printed, SEED= repeats it).
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"
zfs_need python3
zfs_need jq

counter() {
	jq -e ".counters.$1" "$S/stats.json" || fail "stats.json has no counter $1"
}

# wait_packed MIN: until pages_packed >= MIN (at most 20 s)
wait_packed() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(counter pages_packed)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "pages_packed $(counter pages_packed) after 20 s, want >= $1"
}

# (the two files are read one after the other: a packing pass that runs in
# between, with pack_after=1, moves the pool; a real difference stays)
reconcile() {
	local t i
	for ((i = 0; i < 30; i++)); do
		t=$(check_table "$S/classes" "$CLASSES_HEADER" $CLASSES_COLS) || fail "classes ($1)"
		[ "$(($(echo "$t" | cut -d' ' -f1) * 4096))" = "$(mm mem_used_total)" ] && return 0
		sleep 0.2
	done
	assert_eq "$(($(echo "$t" | cut -d' ' -f1) * 4096))" "$(mm mem_used_total)" \
		"classes pages_used x 4096 = mem_used_total ($1)"
}

# The text: system headers and licences, 512 KiB, and 256 KiB of random bytes.
zfs_workdir
text=$WORK/text
cat /usr/include/*.h /usr/share/common-licenses/* >"$WORK/all" 2>/dev/null || true
head -c $((512 * 1024)) "$WORK/all" >"$text"
[ "$(stat -c %s "$text")" = $((512 * 1024)) ] || fail "not enough text on this machine"
head -c $((256 * 1024)) /dev/urandom >"$WORK/random"

# With -o dedup (check-fs-dedup) single pages are stored as one-page pieces,
# which packing leaves alone: nothing is packed, everything reads back.
if [[ ,${ZPOOLFS_TEST_OPTS:-}, == *,dedup,* ]]; then
	stats_mount -o cluster=16k,pack_after=1
	dd if="$text" of="$MNT/t" bs=10k status=none
	sleep 3
	assert_eq "$(counter pages_packed)" 0 "pages packed with dedup"
	cmp "$text" "$MNT/t" || fail "t differs (dedup)"
	reconcile "dedup"
	stats_umount || fail "unmount (dedup)"
	echo "PASS: packing leaves -o dedup's one-page pieces alone"
	exit 0
fi

# == packed after a second
stats_mount -o cluster=16k,pack_after=1
dd if="$text" of="$MNT/t" bs=10k status=none
dd if="$WORK/random" of="$MNT/r" bs=10k status=none
for i in 1 2 3; do dd if="$text" of="$MNT/t$i" bs=3000 count=60 status=none; done
head -c 180000 "$text" >"$WORK/t1"
orig=$(mm orig_data_size) stored=$(counter pages_stored) compr=$(mm compr_data_size)
assert_eq "$(counter clusters)" 0 "no cluster from writes smaller than a cluster"
wait_packed 128
sleep 2		# a second pass: the random file is tried and left single
assert_eq "$(mm orig_data_size)" "$orig" "orig_data_size after packing"
assert_eq "$(counter pages_stored)" "$stored" "pages_stored after packing"
[ "$(mm compr_data_size)" -lt "$compr" ] ||
	fail "compr_data_size did not fall: $compr before, $(mm compr_data_size) after packing"
[ "$(counter clusters)" -gt 0 ] || fail "no piece after packing"
reconcile "after packing"
cmp "$text" "$MNT/t" || fail "t differs after packing"
cmp "$WORK/random" "$MNT/r" || fail "r differs after packing"
for i in 1 2 3; do cmp "$WORK/t1" "$MNT/t$i" || fail "t$i differs after packing"; done
[ "$(xattr "$MNT/r" compressed)" = 0 ] || true	# (random pages are stored raw)
packed=$(counter pages_packed)
# A packed cluster rewritten in its middle: the page stored singly, the rest read from the piece.
python3 - "$MNT/t" "$text" <<'EOF'
import os, sys
f, src = sys.argv[1], sys.argv[2]
fd = os.open(f, os.O_WRONLY)
os.pwrite(fd, b"x" * 4096, 5 * 4096)
os.close(fd)
want = bytearray(open(src, "rb").read())
want[5 * 4096:6 * 4096] = b"x" * 4096
assert open(f, "rb").read() == bytes(want), "rewritten packed cluster reads back wrong"
EOF
reconcile "after a rewrite"
sleep 2
assert_eq "$(counter pages_packed)" "$packed" "a cluster with a piece is not packed again"
stats_umount || fail "unmount"

# == whole clusters written at once are repacked into 64 KiB pieces (LZ4HC)
stats_mount -o cluster=16k,pack_after=1
dd if="$text" of="$MNT/w" bs=1M status=none
cl=$(counter clusters) compr=$(mm compr_data_size) orig=$(mm orig_data_size)
[ "$cl" -ge 24 ] || fail "only $cl clusters from 512 KiB written whole with cluster=16k"
wait_packed 96
sleep 2		# a second pass packs nothing again
packed=$(counter pages_packed)
[ "$(counter clusters)" -le 8 ] || fail "$(counter clusters) pieces after repacking 512 KiB in 64 KiB units"
[ $(($(mm compr_data_size) * 100)) -lt $((compr * 90)) ] ||
	fail "repacking saved less than 10 %: $compr before, $(mm compr_data_size) after"
assert_eq "$(mm orig_data_size)" "$orig" "orig_data_size after repacking"
cmp "$text" "$MNT/w" || fail "w differs after repacking"
echo 3 >/proc/sys/vm/drop_caches
cmp "$text" "$MNT/w" || fail "w differs after repacking (cold)"
reconcile "after repacking"
assert_eq "$(xattr "$MNT/w" stored)" "$(mm compr_data_size)" "w's stored= after repacking (the only file)"
sleep 2
assert_eq "$(counter pages_packed)" "$packed" "a repacked piece is not packed again"
# Nine of a piece's sixteen pages rewritten: the seven left are split out (tidy).
split=$(counter clusters_split)
python3 - "$MNT/w" "$text" <<'EOF'
import os, sys
f, src = sys.argv[1], sys.argv[2]
fd = os.open(f, os.O_WRONLY)
for i in range(16, 25):
    os.pwrite(fd, bytes([i]) * 4096, i * 4096)
os.close(fd)
want = bytearray(open(src, "rb").read())
for i in range(16, 25):
    want[i * 4096:(i + 1) * 4096] = bytes([i]) * 4096
assert open(f, "rb").read() == bytes(want), "rewritten repacked piece reads back wrong"
EOF
[ "$(counter clusters_split)" -gt "$split" ] || fail "a piece at most half live was not split"
reconcile "after rewriting most of a repacked piece"
stats_umount || fail "unmount"

# == small files gathered into pieces of several files
stats_mount -o cluster=16k,pack_after=1
mkdir -p "$WORK/small"
python3 - "$MNT" "$WORK/small" "$text" <<'EOF'
import os, random, sys
mnt, shadow, text = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
r = random.Random(11)
for i in range(240):
    size = r.choice([200, 3000, 4096, 5000, 9000, 20000, 40000])
    off = r.randrange(0, len(text) - size)
    data = text[off:off + size]
    open(os.path.join(shadow, "s%d" % i), "wb").write(data)
    fd = os.open(os.path.join(mnt, "s%d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
    for o in range(0, size, 3000):		# piecemeal, as tar writes
        os.write(fd, data[o:o + 3000])
    os.close(fd)
EOF
compr=$(mm compr_data_size)
for ((i = 0; i < 200; i++)); do
	[ "$(counter pages_gathered)" -gt 0 ] && break
	sleep 0.1
done
sleep 2		# the pass has ended
[ "$(counter pages_gathered)" -gt 200 ] || fail "pages_gathered $(counter pages_gathered), want > 200"
[ "$(mm compr_data_size)" -lt "$compr" ] || fail "compr_data_size did not fall: $compr, then $(mm compr_data_size)"
[ "$(counter clusters)" -lt 120 ] || fail "$(counter clusters) pieces for 240 small files: not gathered"
reconcile "gathered"
echo 3 >/proc/sys/vm/drop_caches
sum=0
for ((i = 0; i < 240; i++)); do
	cmp "$WORK/small/s$i" "$MNT/s$i" || fail "s$i differs after gathering"
	assert_eq "$(xattr "$MNT/s$i" shared)" 0 "s$i: shared= of a gathered file"
	sum=$((sum + $(xattr "$MNT/s$i" stored)))
done
c=$(mm compr_data_size)
[ $((sum - c)) -le 240 ] && [ $((c - sum)) -le 240 ] ||
	fail "stored= of the files sum to $sum, compr_data_size $c"
# Two files in three go, one in five of the rest is rewritten piecemeal.
gathered=$(counter pages_gathered)
for ((i = 0; i < 240; i++)); do
	if ((i % 3)); then
		rm "$MNT/s$i" "$WORK/small/s$i"
	elif ((i % 5 == 0)); then
		head -c $((1000 + i * 7)) "$WORK/random" >"$WORK/small/s$i"
		dd if="$WORK/small/s$i" of="$MNT/s$i" bs=1000 status=none
	fi
done
reconcile "after removals"
for ((i = 0; i < 240; i += 3)); do cmp "$WORK/small/s$i" "$MNT/s$i" || fail "s$i differs after removals"; done
# The pieces left at most half live are gathered again by a later pass.
for ((i = 0; i < 150; i++)); do
	[ "$(counter pages_gathered)" -gt "$gathered" ] && break
	sleep 0.1
done
[ "$(counter pages_gathered)" -gt "$gathered" ] || fail "nothing regathered after the removals"
sleep 2		# the pass has ended
[ "$(counter cluster_stale_pages)" -le "$(counter cluster_pages)" ] ||
	fail "stale pages $(counter cluster_stale_pages) > live $(counter cluster_pages) after a pass"
reconcile "regathered"
echo 3 >/proc/sys/vm/drop_caches
for ((i = 0; i < 240; i += 3)); do cmp "$WORK/small/s$i" "$MNT/s$i" || fail "s$i differs after regathering"; done
rm -f "$MNT"/s[0-9]*
zfs_wait_empty "$MNT" || fail "pool not empty after the small files went"
stats_umount || fail "unmount (small files)"

# == small files changed while they are gathered: a model check
stats_mount -o cluster=16k,pack_after=1
python3 - "$MNT" "$text" <<'EOF' || fail "small files changed while gathered"
import os, random, sys, time
mnt, text = sys.argv[1], open(sys.argv[2], "rb").read()
seed = int(os.environ.get("SEED", random.randrange(1 << 30)))
print("gather model: seed", seed)
r = random.Random(seed)
N = 200
shadow = {}
def path(i): return os.path.join(mnt, "g%d" % i)
def put(i, data):
    fd = os.open(path(i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for o in range(0, len(data), 3000):
        os.write(fd, data[o:o + 3000])
    os.close(fd)
    shadow[i] = bytearray(data)
def piece(n):
    o = r.randrange(0, len(text) - n)
    return text[o:o + n]
for i in range(N):
    put(i, piece(r.choice([100, 4096, 7000, 12000, 30000, 60000])))
end = time.time() + 8
ops = 0
while time.time() < end:
    i = r.randrange(N)
    op = r.randrange(6)
    if op == 0:		# overwrite inside
        if shadow[i]:
            o = r.randrange(len(shadow[i])); d = piece(r.randrange(1, 6000))
            fd = os.open(path(i), os.O_WRONLY); os.pwrite(fd, d, o); os.close(fd)
            s = shadow[i]
            if o + len(d) > len(s): s.extend(bytes(o + len(d) - len(s)))
            s[o:o + len(d)] = d
    elif op == 1:	# truncate
        n = r.randrange(0, len(shadow[i]) + 5000)
        os.truncate(path(i), n)
        s = shadow[i]
        if n < len(s): del s[n:]
        else: s.extend(bytes(n - len(s)))
    elif op == 2:	# replace
        os.unlink(path(i)); put(i, piece(r.choice([100, 4096, 9000, 20000])))
    else:		# read and compare
        got = open(path(i), "rb").read()
        assert got == bytes(shadow[i]), "g%d differs after %d ops (seed %d)" % (i, ops, seed)
    ops += 1
    if ops % 50 == 0:
        time.sleep(0.05)
os.system("echo 3 > /proc/sys/vm/drop_caches")
for i in range(N):
    got = open(path(i), "rb").read()
    assert got == bytes(shadow[i]), "g%d differs at the end (seed %d)" % (i, seed)
print("gather model: %d ops on %d files" % (ops, N))
EOF
[ "$(counter pages_gathered)" -gt 0 ] || fail "nothing gathered during the model run"
reconcile "model"
rm -f "$MNT"/g[0-9]*
zfs_wait_empty "$MNT" || fail "pool not empty after the model files went"
stats_umount || fail "unmount (model)"

# == nothing packed: cluster=4k, pack_after=0, data younger than pack_after (the default, 30 s, too)
for opts in cluster=4k,pack_after=1 cluster=16k,pack_after=0 cluster=16k,pack_after=60 cluster=16k; do
	stats_mount -o "$opts"
	dd if="$text" of="$MNT/t" bs=10k status=none
	sleep 3
	assert_eq "$(counter pages_packed)" 0 "pages packed with $opts"
	cmp "$text" "$MNT/t" || fail "t differs ($opts)"
	stats_umount || fail "unmount ($opts)"
done

# == at mem_limit: the piece cannot be allocated before the pages are freed; nothing is lost
stats_mount -o cluster=16k,pack_after=1,mem_limit=1m
n=0
while dd if="$text" of="$MNT/m$n" bs=10k status=none 2>/dev/null; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "mem_limit=1m never reached"
done
rm -f "$MNT/m$n"	# the one that did not fit
sleep 3
[ "$(mm mem_used_total)" -le $((1024 * 1024)) ] || fail "mem_used_total over mem_limit: $(mm mem_used_total)"
for ((i = 0; i < n; i++)); do cmp "$text" "$MNT/m$i" || fail "m$i differs at mem_limit"; done
reconcile "at mem_limit"
stats_umount || fail "unmount (mem_limit)"

# == bad values
mkdir -p "$WORK/bad"
for v in abc -1 1x; do
	out=$("$ZPOOLFS" "$WORK/bad" -f -o pack_after=$v 2>&1) && fail "pack_after=$v accepted"
	grep -q pack_after <<<"$out" || fail "pack_after=$v: the error does not name the option: $out"
done
echo "PASS: packing pages written piecemeal into clusters"
