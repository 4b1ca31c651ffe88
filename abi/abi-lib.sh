# SPDX-License-Identifier: MIT
# shellcheck shell=sh disable=SC2034,SC2154
# abi-lib.sh - shared by abi/update-baseline.sh and tests/abi/check-abi.sh
# (sourced, not run). Needs $srcdir; sets $shlib and, when it builds one,
# $abi_tmp (removed by the caller's trap).

abi_baseline=$srcdir/abi/libevmap.so.0.abi

# abi_find_lib [BUILD_DIR | SHARED_LIB]: set $shlib, building the library
# with debug info in a temporary build directory when no argument is given.
abi_find_lib() {
	if [ $# -gt 0 ] && [ -n "$1" ]; then
		if [ -d "$1" ]; then
			shlib=$1/src/libevmap.so
		else
			shlib=$1
		fi
		[ -e "$shlib" ] || { echo "no shared library at $shlib" >&2; return 1; }
		return 0
	fi
	abi_tmp=$(mktemp -d "${TMPDIR:-/tmp}/evmap-abi.XXXXXX")
	echo "building libevmap (debugoptimized, -g) in $abi_tmp/build"
	if ! meson setup "$abi_tmp/build" "$srcdir" --buildtype=debugoptimized \
		-Dtests=false -Dbench=disabled >"$abi_tmp/setup.log" 2>&1 ||
		! meson compile -C "$abi_tmp/build" >"$abi_tmp/build.log" 2>&1; then
		cat "$abi_tmp/setup.log" "$abi_tmp/build.log" >&2 2>/dev/null
		return 1
	fi
	shlib=$abi_tmp/build/src/libevmap.so
}

# abi_has_debug_info LIB: abidw and abidiff need DWARF to see types.
abi_has_debug_info() {
	readelf --section-headers --wide "$1" | grep -q '\.debug_info'
}

# abi_dump LIB OUT: the ABI description used for the baseline and for the
# comparison: public types only (declared under include/), without source
# locations, build paths or DT_NEEDED (translation units are named
# src/FILE.c wherever the build was), so it changes only when the ABI does.
abi_dump() {
	abidw --headers-dir "$srcdir/include" --drop-private-types \
		--no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed \
		--out-file "$2.raw" "$1" || return 1
	sed "s|^\\(  <abi-instr [^>]* path='\\)[^']*/src/|\\1src/|" "$2.raw" >"$2"
	rm -f "$2.raw"
}
