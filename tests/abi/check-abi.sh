#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-abi.sh - compare the library's ABI with abi/libevmap.so.0.abi.
#
# Usage: tests/abi/check-abi.sh [BUILD_DIR | SHARED_LIB]
#
# With no argument the library is built (debugoptimized, so with DWARF) in
# a temporary directory. abidiff (abigail-tools) compares the baseline with
# an abidw description of the library made the same way (only the types
# declared under include/). abidiff's exit status is a bit set: 1 tool
# error, 2 usage error, 4 ABI change, 8 incompatible ABI change.
#
#  - error or incompatible change (bits 1, 2, 8): exit 1 (a symbol removed,
#    or its type changed).
#  - any other change except added symbols: exit 1. abidiff reports a new
#    layout of evmap_iter or evmap_type (frozen for SONAME 0) or a changed
#    parameter list only as bit 4, so a second abidiff --no-added-syms run
#    must find no change at all.
#  - added symbols only: the report is printed and the check passes,
#    unless EVMAP_ABI_STRICT=1 (then exit 1); a release must refresh the
#    baseline with abi/update-baseline.sh.
#  - abidiff missing, no debug info, or not x86-64 (the baseline is an
#    x86-64 one): exit 77, which meson counts as skipped.
set -eu
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
. "$srcdir/abi/abi-lib.sh"

if ! command -v abidiff >/dev/null 2>&1; then
	echo "SKIP: abidiff not found (install abigail-tools)"
	exit 77
fi
abi_tmp=""
trap '[ -z "$abi_tmp" ] || rm -rf "$abi_tmp"' EXIT
abi_find_lib "${1:-}" || exit 1
if ! readelf --file-header "$shlib" | grep -q 'Machine:.*X86-64'; then
	echo "SKIP: the baseline is for x86-64; $shlib is not"
	exit 77
fi
if ! abi_has_debug_info "$shlib"; then
	echo "SKIP: $shlib has no debug info (configure with -g, e.g. buildtype=debugoptimized)"
	exit 77
fi

# Describe the library exactly as the baseline was made (public types
# only, no locations or paths), then compare the two descriptions.
current=$(mktemp "${TMPDIR:-/tmp}/evmap-abi-current.XXXXXX")
trap 'rm -f "$current"; [ -z "$abi_tmp" ] || rm -rf "$abi_tmp"' EXIT
abi_dump "$shlib" "$current"

echo "+ abidiff abi/libevmap.so.0.abi <abidw of $shlib>"
set +e
abidiff "$abi_baseline" "$current"
rc=$?
set -e
if [ $((rc & 3)) -ne 0 ]; then
	echo "FAIL: abidiff could not compare (exit $rc)"
	exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
	echo "FAIL: incompatible ABI change against abi/libevmap.so.0.abi (abidiff exit $rc)."
	echo "      libevmap.so.0 must stay compatible; see README, \"Versioning and ABI policy\"."
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	# abidiff counts a changed layout of a type used through pointers
	# (evmap_iter, evmap_type) as a mere "change"; only added symbols
	# are acceptable, so compare again ignoring them.
	set +e
	abidiff --no-added-syms "$abi_baseline" "$current" >/dev/null
	rc_changed=$?
	set -e
	if [ "$rc_changed" -ne 0 ]; then
		echo "FAIL: the ABI changed other than by adding symbols (abidiff exit $rc, $rc_changed without additions)."
		echo "      libevmap.so.0 must stay compatible; see README, \"Versioning and ABI policy\"."
		exit 1
	fi
	if [ "${EVMAP_ABI_STRICT:-0}" = 1 ]; then
		echo "FAIL: symbols were added and EVMAP_ABI_STRICT=1: refresh the baseline (abi/update-baseline.sh)"
		exit 1
	fi
	echo "PASS (symbols added, nothing else changed): refresh the baseline with abi/update-baseline.sh when releasing"
	exit 0
fi
echo "PASS: ABI identical to abi/libevmap.so.0.abi"
