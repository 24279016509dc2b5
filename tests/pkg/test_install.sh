#!/usr/bin/env bash
# make install into a scratch DESTDIR, then build a program against the
# installed headers and libraries through pkg-config (shared and static) and
# run it: the installed library must really work.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=/usr/local

make -s -C "$repo" BUILD="${BUILD:-build}" install DESTDIR="$work/root" PREFIX=$prefix >/dev/null

for f in include/zpool/zpool.h include/zpool/zsmalloc.h include/zpool/zbud.h lib/libzpool.a \
	 lib/libzpool.so lib/pkgconfig/zpool.pc bin/zpoolfs bin/zmaplat share/man/man1/zpoolfs.1 \
	 share/man/man8/zmaplat.8 share/zpoolfs/bpftrace/maplat.bt bin/zpoolfsdist \
	 bin/zpoolfsslower share/man/man8/zpoolfsdist.8 share/man/man8/zpoolfsslower.8 \
	 share/zpoolfs/bpftrace/requests.bt; do
	[ -e "$work/root$prefix/$f" ] || { echo "FAIL: $prefix/$f not installed"; exit 1; }
done

cat >"$work/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <zpool/zpool.h>

int main(void)
{
	struct zpool *zp = zpool_create_pool("zsmalloc", "app", NULL);
	unsigned long h;
	char *p;

	if (!zp || zpool_malloc(zp, 100, 0, &h))
		return 1;
	memcpy(zpool_map_handle(zp, h, ZPOOL_MM_WO), "stored through zpool", 21);
	zpool_unmap_handle(zp, h);
	p = zpool_map_handle(zp, h, ZPOOL_MM_RO);
	printf("%s %llu\n", p, (unsigned long long)zpool_get_total_size(zp));
	zpool_unmap_handle(zp, h);
	zpool_free(zp, h);
	zpool_destroy_pool(zp);
	return 0;
}
C
export PKG_CONFIG_PATH=$work/root$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$work/root
cflags=$(pkg-config --cflags zpool)
libs=$(pkg-config --libs zpool)
static_libs=$(pkg-config --static --libs zpool)
gcc -Wall -Werror $cflags -I"$work/root$prefix/include" "$work/app.c" -o "$work/app" $libs
gcc -Wall -Werror $cflags -I"$work/root$prefix/include" "$work/app.c" -o "$work/app-static" \
	"$work/root$prefix/lib/libzpool.a" $static_libs
out=$(LD_LIBRARY_PATH=$work/root$prefix/lib "$work/app")
out_static=$("$work/app-static")
# One zspage of the 112-byte class: 7 pages hold 256 objects with no waste.
[ "$out" = "stored through zpool 28672" ] || { echo "FAIL: shared build printed '$out'"; exit 1; }
[ "$out_static" = "$out" ] || { echo "FAIL: static build printed '$out_static'"; exit 1; }
# (ldd's output is read whole: grep -q stopping early would kill ldd with SIGPIPE under pipefail)
deps=$(LD_LIBRARY_PATH=$work/root$prefix/lib ldd "$work/app")
case "$deps" in
*"libzpool.so.0 => $work/root"*) ;;
*) echo "FAIL: the shared build does not use the installed libzpool.so.0"; exit 1 ;;
esac
echo "installed library works (shared and static): $out"
