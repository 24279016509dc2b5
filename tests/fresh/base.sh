#!/usr/bin/env bash
# tests/fresh/base.sh - the cached base root of `make check-fresh`: what a new Debian 12
# machine has before anyone types `make`. debootstrap --variant=minbase bookworm, from the
# archive this machine uses, plus make and git (ca-certificates too when that archive is
# https), and nothing of the project's: the project's packages are installed by
# tools/deps.sh inside a copy of this root, every run.
#
#   bash tests/fresh/base.sh            print the tarball's path; build it if missing
#   FRESH_REBUILD=1 ...                 build it again
#   FRESH_CACHE=/var/cache/zpoolfs/fresh (default): where the tarball lives, outside any clone
#
# The tarball is written under a temporary name and renamed, so an interrupted build leaves
# no half root behind; a lock serialises two builds. Needs root and debootstrap (installed
# here if missing: tools/deps.sh --fresh).
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${FRESH_CACHE:-/var/cache/zpoolfs/fresh}
BASE=$CACHE/base-bookworm-minbase.tar
SOURCES=/etc/apt/sources.list.d/debian.sources

[ "$(id -u)" = 0 ] || { echo "fresh: needs root (debootstrap, chroot)" >&2; exit 1; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

if [ -s "$BASE" ] && [ "${FRESH_REBUILD:-}" != 1 ]; then
	echo "$BASE"
	exit 0
fi

bash tools/deps.sh --fresh >&2

# The Debian archive this machine installs from (deb822 or one-line format); deb.debian.org
# if none is found.
mirror=
if [ -r "$SOURCES" ]; then
	mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$SOURCES")
fi
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		 awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
fi
mirror=${mirror:-http://deb.debian.org/debian}
include=make,git
case $mirror in https:*) include=$include,ca-certificates ;; esac

root=$(mktemp -d "$CACHE/build.XXXXXX")
chmod 755 "$root"	# a root directory everyone may enter (apt drops to _apt)
trap 'rm -rf --one-file-system "$root"; rm -f "$BASE.tmp"' EXIT
echo "fresh: debootstrap --variant=minbase --include=$include bookworm from $mirror" >&2
start=$(date +%s)
debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$CACHE/debootstrap.log" >&2; echo "fresh: debootstrap failed (log: $CACHE/debootstrap.log)" >&2; exit 1; }

# The same suites as this machine (updates, security), so that the root installs the same
# package versions; a new machine's apt lists come with it, as after an installation.
if [ -r "$SOURCES" ]; then
	rm -f "$root/etc/apt/sources.list"
	cp "$SOURCES" "$root/etc/apt/sources.list.d/debian.sources"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
chroot "$root" apt-get update -qq >&2
chroot "$root" apt-get clean
tar -C "$root" --numeric-owner -cpf "$BASE.tmp" .
mv "$BASE.tmp" "$BASE"
echo "fresh: base root built in $(($(date +%s) - start)) s: $(du -h "$BASE" | cut -f1)" >&2
echo "$BASE"
