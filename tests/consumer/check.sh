#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check.sh - libevmap as its users get it: the Debian packages and a
# `meson install --destdir` tree, consumed through pkg-config only.
#
# Usage (as root, on Debian bookworm with the build dependencies, dpkg-dev
# and apt installed): tests/consumer/check.sh
#
#  1. destdir: configure the source tree with --prefix=/opt/libevmap into
#     a build dir outside it, `meson install --destdir`, then build
#     tests/consumer/consumer.c with
#       pkg-config --cflags --libs evmap            (shared)
#       pkg-config --static --cflags --libs evmap   (-static)
#     using PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR, and run both.
#  2. packages: copy the tree to a temporary directory, build it there
#     with `dpkg-buildpackage -us -uc -b`, run lintian (if installed,
#     failing on errors and warnings), install libevmap0 and libevmap-dev
#     with apt-get, check the installed library's symbols, build and run
#     the same two consumers, then purge the packages.
#
# The source tree is never written to. Everything else happens under a
# temporary directory, removed at exit unless EVMAP_KEEP_TMP=1.
# Exit status: 0 if every check passed, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/evmap-consumer.XXXXXX")
# apt-get reads the .debs as the unprivileged _apt user.
chmod 755 "$work"
installed_by_us=0

step() { printf '\n=== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	rc=$?
	if [ "$installed_by_us" = 1 ]; then
		echo "cleanup: purging libevmap0 libevmap-dev"
		apt-get purge -y -q libevmap0 libevmap-dev >/dev/null 2>&1 || true
	fi
	if [ "${EVMAP_KEEP_TMP:-0}" = 1 ]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
	if [ $rc -eq 0 ]; then
		echo "PASS: consumer checks"
	else
		echo "FAIL: consumer checks (exit $rc)" >&2
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# run LOG CMD...: run CMD with its output in LOG; show the log's tail on failure.
run() {
	log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 60 "$log" >&2
		fail "$* (log: $log)"
	fi
}

# build_consumer DIR NAME MODE: compile consumer.c in DIR with the flags
# pkg-config prints (MODE shared or static); nothing else on the line.
build_consumer() {
	dir=$1
	name=$2
	mode=$3
	mkdir -p "$dir"
	cp "$here/consumer.c" "$dir/"
	if [ "$mode" = static ]; then
		flags=$(pkg-config --static --cflags --libs evmap) ||
			fail "pkg-config --static --cflags --libs evmap"
		echo "+ $CC consumer.c -o $name -static $flags"
		# shellcheck disable=SC2086 # the flags are words
		(cd "$dir" && $CC consumer.c -o "$name" -static $flags) ||
			fail "static link of the consumer"
	else
		flags=$(pkg-config --cflags --libs evmap) ||
			fail "pkg-config --cflags --libs evmap"
		echo "+ $CC consumer.c -o $name $flags"
		# shellcheck disable=SC2086
		(cd "$dir" && $CC consumer.c -o "$name" $flags) ||
			fail "shared link of the consumer"
	fi
}

# check_shared BINARY EXPECTED_LIB: the binary loads libevmap.so.0 from
# EXPECTED_LIB (a path) and runs.
check_shared() {
	resolved=$(ldd "$1" | awk '$1 == "libevmap.so.0" { print $3 }')
	[ -n "$resolved" ] || fail "$1 does not load libevmap.so.0"
	[ "$(readlink -f "$resolved")" = "$(readlink -f "$2")" ] ||
		fail "$1 loads libevmap.so.0 from $resolved, expected $2"
	ok "$(basename "$1") loads $resolved"
	"$1" || fail "$1 exited with $?"
	ok "$(basename "$1") ran"
}

# check_static BINARY: no libevmap.so in the binary's dependencies, the
# library's code is in it, and it runs.
check_static() {
	if readelf --dynamic "$1" 2>/dev/null | grep -q 'NEEDED.*libevmap'; then
		fail "$1 needs libevmap.so dynamically"
	fi
	if ldd "$1" 2>&1 | grep -q libevmap; then
		fail "$1: ldd lists libevmap"
	fi
	nm "$1" | grep -q ' T evmap_new$' ||
		fail "$1 does not contain evmap_new (static library not linked?)"
	ok "$(basename "$1") contains the library, ldd: $(ldd "$1" 2>&1 | head -n1 | sed 's/^[[:space:]]*//')"
	"$1" || fail "$1 exited with $?"
	ok "$(basename "$1") ran"
}

for tool in "$CC" pkg-config meson ninja readelf nm ldd; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found"
done
echo "source tree: $srcdir"
echo "work dir:    $work"

# ---------------------------------------------------------------------
step "1. meson install --destdir tree (prefix /opt/libevmap)"
destdir=$work/destdir
prefix=/opt/libevmap
run "$work/destdir-setup.log" meson setup "$work/build-destdir" "$srcdir" \
	--prefix="$prefix" --libdir=lib -Dtests=false -Dbench=disabled
run "$work/destdir-build.log" meson compile -C "$work/build-destdir"
run "$work/destdir-install.log" meson install -C "$work/build-destdir" \
	--destdir "$destdir"
for f in include/evmap.h include/evmap-version.h lib/libevmap.so.0 \
	lib/libevmap.so lib/libevmap.a lib/pkgconfig/evmap.pc; do
	[ -e "$destdir$prefix/$f" ] || fail "meson install did not install $prefix/$f"
done
ok "installed headers, libraries and evmap.pc under $destdir$prefix"

(
	# pkg-config finds evmap.pc in the tree and prefixes its -I/-L paths
	# with the sysroot; system packages (liburcu) resolve as usual.
	export PKG_CONFIG_PATH="$destdir$prefix/lib/pkgconfig"
	export PKG_CONFIG_SYSROOT_DIR="$destdir"
	echo "PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
	echo "PKG_CONFIG_SYSROOT_DIR=$PKG_CONFIG_SYSROOT_DIR"
	[ "$(pkg-config --modversion evmap)" = "$(sed -n 's/^#define EVMAP_VERSION_STRING "\(.*\)"$/\1/p' "$destdir$prefix/include/evmap-version.h")" ] ||
		fail "evmap.pc version differs from evmap-version.h"
	ok "pkg-config --modversion evmap: $(pkg-config --modversion evmap)"
	build_consumer "$work/consumer-destdir" consumer-shared shared
	export LD_LIBRARY_PATH="$destdir$prefix/lib"
	check_shared "$work/consumer-destdir/consumer-shared" \
		"$destdir$prefix/lib/libevmap.so.0"
	build_consumer "$work/consumer-destdir" consumer-static static
	check_static "$work/consumer-destdir/consumer-static"
)

# ---------------------------------------------------------------------
step "2. Debian packages"
command -v dpkg-buildpackage >/dev/null 2>&1 || fail "dpkg-buildpackage not found (install dpkg-dev)"
command -v apt-get >/dev/null 2>&1 || fail "apt-get not found"
[ "$(id -u)" = 0 ] || fail "installing the packages needs root"

# A copy of the tree without build directories or VCS data: the package
# build writes obj-*/, debian/.debhelper, debian/tmp ... into it.
copy=$work/libevmap
mkdir "$copy"
set -- --exclude=./.git --exclude='./obj-*' --exclude=./debian/.debhelper \
	--exclude=./debian/tmp --exclude=./debian/files \
	--exclude=./debian/libevmap0 --exclude=./debian/libevmap-dev \
	--exclude=./debian/libevmap0-dbgsym --exclude='./debian/*.substvars' \
	--exclude='./debian/*.debhelper.log' --exclude=./debian/debhelper-build-stamp
for d in "$srcdir"/*/ "$srcdir"/.[!.]*/; do
	[ -d "$d/meson-private" ] && set -- "$@" "--exclude=./$(basename "$d")"
done
tar -C "$srcdir" "$@" -cf - . | tar -C "$copy" -xf -
ok "copied the source tree to $copy"

echo "+ dpkg-buildpackage -us -uc -b (log: $work/dpkg-buildpackage.log)"
(cd "$copy" && dpkg-buildpackage -us -uc -b) >"$work/dpkg-buildpackage.log" 2>&1 || {
	tail -n 80 "$work/dpkg-buildpackage.log" >&2
	fail "dpkg-buildpackage"
}
grep -E '^(Ok|Fail|Skipped|Expected Fail|Unexpected Pass|Timeout):' \
	"$work/dpkg-buildpackage.log" || true
arch=$(dpkg --print-architecture)
version=$(cd "$copy" && dpkg-parsechangelog -S Version)
deb0=$work/libevmap0_${version}_$arch.deb
debdev=$work/libevmap-dev_${version}_$arch.deb
{ [ -f "$deb0" ] && [ -f "$debdev" ]; } || fail "packages not found in $work"
ok "built $(basename "$deb0") $(basename "$debdev")"

if command -v lintian >/dev/null 2>&1; then
	echo "+ lintian --fail-on error,warning $work/libevmap_${version}_$arch.changes"
	lintian --allow-root --fail-on error,warning --display-info \
		"$work/libevmap_${version}_$arch.changes" ||
		fail "lintian reported errors or warnings"
	ok "lintian: no errors, no warnings"
else
	echo "SKIP: lintian not installed"
fi

dpkg-deb -c "$debdev" | grep -q '\./usr/share/man/man3/evmap\.3\.gz$' ||
	fail "libevmap-dev lacks usr/share/man/man3/evmap.3.gz"
ok "libevmap-dev ships evmap(3)"
pages=$(dpkg-deb -c "$debdev" | grep -c '\./usr/share/man/man3/evmap_[a-z0-9_]*\.3\.gz$' || true)
want=$(ls "$srcdir"/doc/man3/*.3 | wc -l)
[ "$pages" -eq "$want" ] ||
	fail "libevmap-dev ships $pages function man pages, doc/man3 has $want"
ok "libevmap-dev ships a man page per function ($pages)"

for p in libevmap0 libevmap-dev; do
	if dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		echo "note: $p was already installed; purging it first"
		apt-get purge -y -q "$p" >/dev/null
	fi
done
installed_by_us=1
run "$work/apt-install.log" apt-get install -y -q --no-install-recommends "$deb0" "$debdev"
ok "installed libevmap0 and libevmap-dev $version"

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch
EVMAP_SRCDIR=$srcdir "$srcdir/tests/abi/check-symbols.sh" \
	"$libdir/libevmap.so.0" "$libdir/libevmap.a" || fail "installed library's symbols"
[ "$(pkg-config --variable=libdir evmap)" = "$libdir" ] ||
	fail "evmap.pc libdir is $(pkg-config --variable=libdir evmap), expected $libdir"
[ "${version%%-*}" = "$(pkg-config --modversion evmap)" ] ||
	fail "debian/changelog version $version does not match the project version $(pkg-config --modversion evmap)"
ok "evmap.pc: version $(pkg-config --modversion evmap) (debian/changelog: $version), libdir $libdir"

(
	unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
	build_consumer "$work/consumer-deb" consumer-shared shared
	check_shared "$work/consumer-deb/consumer-shared" "$libdir/libevmap.so.0"
	build_consumer "$work/consumer-deb" consumer-static static
	check_static "$work/consumer-deb/consumer-static"
)

run "$work/apt-purge.log" apt-get purge -y -q libevmap0 libevmap-dev
installed_by_us=0
if pkg-config --exists evmap 2>/dev/null || [ -e "$libdir/libevmap.so.0" ]; then
	fail "libevmap is still installed after the purge"
fi
ok "purged libevmap0 and libevmap-dev"
