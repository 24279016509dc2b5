#!/usr/bin/env bash
# Automatic compaction (fs/tier/autocompact.c): after deleting every other file of
# a tree, the daemon compacts by itself within 10 s while a reader keeps
# reading; mem_used_total then is within 5 % of what an explicit
# "echo 1 > compact" reaches. With -o nocompact nothing moves until asked; a
# compact_at above what deleting half frees does not compact either. Bad
# values are refused.
set -euo pipefail
. "$(dirname "$0")/stats_lib.sh"

N=2000
[ "${ZPOOL_TEST_QUICK:-0}" != 0 ] && N=800

# make_tree DIR: N files of 1..4 pages of text-like bytes (objects of many
# classes), written by one process.
make_tree() {
	python3 - "$1" "$N" <<'EOF'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
words = [("%x" % (i * 2654435761 % 2**32)).encode() for i in range(3000)]
for i in range(n):
    r = random.Random(i)
    size = 4096 * (1 + i % 4) - r.randrange(0, 3000)
    out = bytearray()
    while len(out) < size:
        out += r.choice(words) + (b"\n" if r.random() < 0.1 else b" ")
    sub = os.path.join(d, "d%02d" % (i % 20))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d" % i), "wb") as f:
        f.write(bytes(out[:size]))
EOF
}

# delete_half DIR: remove the even-numbered files.
delete_half() {
	find "$1" -name 'f*[02468]' -type f -delete
}

# check_tree DIR: every odd-numbered file still holds its bytes (prints the count).
check_tree() {
	python3 - "$1" "$N" <<'EOF'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
words = [("%x" % (i * 2654435761 % 2**32)).encode() for i in range(3000)]
for i in range(1, n, 2):
    r = random.Random(i)
    size = 4096 * (1 + i % 4) - r.randrange(0, 3000)
    out = bytearray()
    while len(out) < size:
        out += r.choice(words) + (b"\n" if r.random() < 0.1 else b" ")
    got = open(os.path.join(d, "d%02d" % (i % 20), "f%05d" % i), "rb").read()
    assert got == bytes(out[:size]), i
EOF
}

json() {
	jq -r "$1" "$S/stats.json" || fail "stats.json: $1"
}

freeable() {
	awk 'NF == 16 && $1 == "Total" { print $NF }' "$S/classes"
}

# below_threshold PERCENT: is what compaction could free now below what
# makes the daemon compact (PERCENT of the pool, at least 256 pages)?
below_threshold() {
	awk -v pct="$1" 'NF == 16 && $1 == "Total" {
		ok = $NF < 256 || $NF * 100 < pct * $(NF - 1) } END { exit ok ? 0 : 1 }' "$S/classes"
}

# wait_half: until the deleted files' pages are gone (the kernel forgets
# unlinked inodes asynchronously).
wait_half() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(pool_key 'pages stored')" -le $((N * 3 / 2)) ] && return 0
		sleep 0.1
	done
	fail "deleted files still stored"
}

# ---- the default: compaction happens by itself, requests go on meanwhile
stats_mount
make_tree "$MNT"
# A reader of the files that stay runs all along: requests are served while
# compaction runs, and what they read is right.
python3 - "$MNT" "$WORK/reads" <<'EOF' &
import glob, os, sys
mnt, out = sys.argv[1], sys.argv[2]
names = sorted(glob.glob(os.path.join(mnt, "d*", "f*[13579]")))
for r in range(1, 100000):
    for n in names:
        with open(n, "rb") as f:
            f.read()
    with open(out + ".tmp", "w") as f:
        f.write("%d\n" % r)
    os.rename(out + ".tmp", out)
EOF
reader=$!
delete_half "$MNT"
wait_half
start=$(date +%s.%N)
done_at=
for ((i = 0; i < 100; i++)); do
	if [ "$(json .counters.auto_compactions)" -ge 1 ] && below_threshold 4; then
		done_at=$(date +%s.%N)
		break
	fi
	sleep 0.1
done
[ -n "$done_at" ] || fail "no automatic compaction within 10 s (freeable $(freeable))"
auto=$(mm mem_used_total)
r0=$(cat "$WORK/reads" 2>/dev/null || echo 0)
for ((i = 0; i < 300; i++)); do
	kill -0 "$reader" 2>/dev/null || fail "the reader failed"
	r=$(cat "$WORK/reads" 2>/dev/null || echo 0)
	[ "$r" -ge $((r0 + 2)) ] && break
	sleep 0.1
done
kill "$reader" 2>/dev/null || true
wait "$reader" 2>/dev/null || true
reads=$(cat "$WORK/reads" 2>/dev/null || echo 0)
[ "$reads" -ge 2 ] || fail "the reader did not get through its passes"
echo 1 >"$S/compact"
explicit=$(mm mem_used_total)
echo "autocompact: mem_used_total $auto after $(awk -v a="$start" -v b="$done_at" \
	'BEGIN { printf "%.1f", b - a }') s" \
	"(explicit compaction then: $explicit), reader passes: $reads"
[ $((auto * 100)) -le $((explicit * 105)) ] ||
	fail "automatic compaction left $auto bytes, more than 5 % above explicit $explicit"
[ "$(json .counters.compactions)" -ge 2 ] || fail "compactions does not count both"
assert_eq "$(json .counters.pages_compacted)" "$(mm pages_compacted)" "pages_compacted"
check_tree "$MNT" || fail "data changed by automatic compaction"
stats_umount

# ---- nocompact: nothing moves until asked
stats_mount -o nocompact
make_tree "$MNT"
delete_half "$MNT"
wait_half
before=$(mm mem_used_total)
f0=$(freeable)
[ "$f0" -ge 256 ] || fail "nocompact: deleting half left only $f0 freeable pages"
sleep 3
assert_eq "$(mm mem_used_total)" "$before" "nocompact: mem_used_total after 3 s"
assert_eq "$(json .counters.compactions)" 0 "nocompact: compactions"
assert_eq "$(json .counters.auto_compactions)" 0 "nocompact: auto_compactions"
echo 1 >"$S/compact"
[ "$(mm mem_used_total)" -lt "$before" ] || fail "nocompact: explicit compaction freed nothing"
stats_umount

# ---- compact_at=100: a threshold deleting half never reaches
stats_mount -o compact_at=100
make_tree "$MNT"
delete_half "$MNT"
wait_half
before=$(mm mem_used_total)
sleep 3
assert_eq "$(json .counters.auto_compactions)" 0 "compact_at=100: auto_compactions"
assert_eq "$(mm mem_used_total)" "$before" "compact_at=100: mem_used_total"
stats_umount

# ---- bad values are refused, nothing mounted
for o in compact_at=0 compact_at=101 compact_at=x compact_at=-5 nocompact,compact_at=20; do
	d=$(mktemp -d "$WORK/bad.XXXXXX")
	if "$ZPOOLFS" "$d" -f -o "$o" >"$WORK/bad.log" 2>&1; then
		fusermount3 -u "$d" 2>/dev/null || true
		fail "-o $o was accepted"
	fi
	grep -q "compact_at" "$WORK/bad.log" || fail "-o $o: no message naming compact_at"
	zfs_mounted "$d" && fail "-o $o: mounted anyway"
done
echo "autocompact: ok"
