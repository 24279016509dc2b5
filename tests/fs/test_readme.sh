#!/usr/bin/env bash
# README.md's shell examples, run as written, so that the README cannot drift from the code.
#
# The convention (README.md says it too): every fenced block has a language;
#   ```sh         run as root, in the checkout, each block in a fresh bash -e
#   ```sh user    run as uid/gid 65534, with a HOME of its own, in a directory holding a copy
#                 of the built zpoolfs at build/zpoolfs
#   ```c FILE     saved as FILE in a scratch directory; a sh block that names FILE runs there
#   ```text       not run (synopses, the fstab line)
# Any other fenced block fails the test, so a shell example cannot hide from it. At the end
# nothing the README mounted may still be mounted (the README's unmount commands work).
#
# One substitution: `make check` (what is running this test) becomes `make -n check`.
# Everything else is real, and nothing on the machine changes: the test runs in a private
# mount namespace where /usr/local and /etc are overlays whose writes land in the test's
# directory (make install, ldconfig), /dev/fuse is a 0666 node of the test's own (the user
# block), and /tmp/zpoolfs and /mnt/z, the README's mount points, hide whatever another
# namespace has mounted there. Directories the README makes there are removed at exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
zfs_need_fuse
zfs_need setpriv unshare getfattr pkg-config cc
[ "$(id -u)" = 0 ] || skip "needs root (make install, mount(8), runs a block as uid 65534)"
if [ -z "${ZFS_README_NS:-}" ]; then
	ZFS_README_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
zfs_detach_inherited_fuse
README=$ZFS_REPO/README.md
zfs_workdir
B=$WORK/blocks
mkdir -p "$B" "$WORK/app"

# ---- extract: NN.sh, NN.user, or a saved C file; list in $B/order
awk -v dir="$B" -v app="$WORK/app" '
	/^```/ {
		if (!inblock) {
			inblock = 1; n++; lang = substr($0, 4); sub(/[ \t]+$/, "", lang)
			split(lang, w, /[ \t]+/)
			if (lang == "sh") out = sprintf("%s/%02d.sh", dir, n)
			else if (lang == "sh user") out = sprintf("%s/%02d.user", dir, n)
			else if (w[1] == "c" && w[2] != "") out = app "/" w[2]
			else if (lang == "text") out = ""
			else { printf "README.md:%d: fenced block with language \"%s\": want sh, sh user, c FILE or text\n", NR, lang > "/dev/stderr"; bad = 1; out = "" }
			if (out != "") print out > (dir "/order")
			next
		}
		inblock = 0; if (out != "") close(out); next
	}
	inblock && out != "" { print > out }
	END { if (inblock) { print "README.md: unterminated fenced block" > "/dev/stderr"; bad = 1 }; exit bad }
' "$README" || fail "README.md breaks the block convention (above)"
nsh=$(grep -c '\.sh$' "$B/order" || true)
nuser=$(grep -c '\.user$' "$B/order" || true)
[ "$nsh" -ge 4 ] && [ "$nuser" -ge 1 ] || fail "README.md: found $nsh sh and $nuser 'sh user' blocks"
grep -q 'make run' "$B"/*.sh || fail "README.md: no sh block runs make run"

# ---- the stage: overlays, our /dev/fuse, the README's mount points
overlay() {
	mkdir -p "$WORK/ov$1/up" "$WORK/ov$1/work"
	mount -t overlay "zfs-readme$(echo "$1" | tr / -)" \
		-o "lowerdir=$1,upperdir=$WORK/ov$1/up,workdir=$WORK/ov$1/work" "$1" ||
		fail "cannot overlay $1"
	zfs_on_exit "umount -l '$1'"
}
overlay /usr/local
overlay /etc
mkdir "$WORK/dev"
mount -t tmpfs -o mode=755,size=1m zfs-readme-dev "$WORK/dev"
zfs_on_exit "umount -l '$WORK/dev'"
mknod -m 0666 "$WORK/dev/fuse" c 10 229
mount --bind "$WORK/dev/fuse" /dev/fuse
for d in /tmp/zpoolfs /mnt/z; do
	if [ -d "$d" ]; then
		while mountpoint -q "$d"; do umount -l "$d"; done	# in this namespace only
	else
		zfs_on_exit "rmdir '$d' 2>/dev/null || true"
	fi
done
# If a block fails half-way, its mounts go at exit.
readme_mounts() {
	awk -v h="$WORK/home/" '$3 == "fuse.zpoolfs" && ($2 == "/tmp/zpoolfs" || $2 == "/mnt/z" || index($2, h) == 1) { print $2 }' /proc/self/mounts
}
zfs_on_exit 'for m in $(readme_mounts); do umount -l "$m"; done'

# A user's directory: a copy of the daemon where the README's build/zpoolfs says.
mkdir -p "$WORK/home" "$WORK/u/build"
chown 65534:65534 "$WORK/home"
install -m 755 "$ZPOOLFS" "$WORK/u/build/zpoolfs"

cat >"$WORK/prelude" <<'SH'
make() {
	if [ "$*" = check ]; then
		echo "(test_readme: make check is what runs this test; make -n check instead)"
		command make -n check >/dev/null
	else
		command make "$@"
	fi
}
SH

# ---- run, in README order
i=0
while read -r f; do
	i=$((i + 1))
	case $f in
	*.sh)
		dir=$ZFS_REPO
		for c in "$WORK"/app/*; do
			[ -e "$c" ] && grep -qF "$(basename "$c")" "$f" && dir=$WORK/app
		done
		echo "---- README block $i (root, in $dir):"
		cat "$f"
		(cd "$dir" && cat "$WORK/prelude" "$f" | bash -eo pipefail) >"$f.out" 2>&1 ||
			{ cat "$f.out"; fail "README block $i failed (output above)"; } ;;
	*.user)
		echo "---- README block $i (uid 65534):"
		cat "$f"
		(cd "$WORK/u" && setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			env -i HOME="$WORK/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
			bash -eo pipefail <"$f") >"$f.out" 2>&1 ||
			{ cat "$f.out"; fail "README block $i (uid 65534) failed (output above)"; } ;;
	*) echo "---- README block $i: saved as $(basename "$f")"; continue ;;
	esac
	sed 's/^/    | /' "$f.out"
done <"$B/order"
left=$(readme_mounts)
[ -z "$left" ] || fail "the README's examples leave $left mounted"

# What the examples print, where it is fixed.
grep -qx hello "$B"/*.sh.out || fail "no block printed the file written through /tmp/zpoolfs"
grep -qx mine "$B"/*.user.out || fail "the user's block did not read its file back"
[ -x "$WORK/app/app" ] && [ "$("$WORK/app/app")" = hello ] ||
	fail "the libzpool example did not build or print hello"
echo "ok: $nsh sh blocks and $nuser user blocks of README.md ran"
