#!/bin/sh
# SPDX-License-Identifier: MIT
#
# update-baseline.sh - regenerate abi/libevmap.so.0.abi, the ABI baseline
# that tests/abi/check-abi.sh compares every build against.
#
# Usage: abi/update-baseline.sh [BUILD_DIR | SHARED_LIB]
#
# Run it only when a release deliberately changes the ABI in a compatible
# way (new symbols in a new version node), after check-abi.sh has shown
# the change, and commit the new baseline together with that change. An
# incompatible change needs a SONAME bump first (see README, "Versioning
# and ABI policy"). The library must be built with debug info (-g); with
# no argument it is built in a temporary directory.
#
# Only the public types (those declared under include/) are recorded;
# locations and build paths are left out so the file changes only when
# the ABI does.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/abi/abi-lib.sh"
abi_tmp=""
trap '[ -z "$abi_tmp" ] || rm -rf "$abi_tmp"' EXIT
abi_find_lib "${1:-}"
if ! abi_has_debug_info "$shlib"; then
	echo "$shlib has no debug info; build with -g (buildtype debug/debugoptimized)" >&2
	exit 1
fi
abi_dump "$shlib" "$abi_baseline"
echo "wrote $abi_baseline from $shlib"
