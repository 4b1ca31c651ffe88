#!/bin/bash
# SPDX-License-Identifier: MIT
# build-fuzzer.sh - build the libFuzzer binary of tests/fuzz/fuzz_ops.c.
#
# Usage: bash tests/fuzz/build-fuzzer.sh [OUTPUT]   (from anywhere)
# Compiles the library sources and the fuzzer in one clang invocation with
# -fsanitize=fuzzer,address,undefined but without comparison tracing
# (-fno-sanitize-coverage=trace-cmp): measured from the seed corpus, 60 s
# each, it made 416 k executions (6 823/s) and reached 885 edges and 5 923
# features without it, against 305 k (5 000/s), 883 and 5 745 with it. The
# inputs are op codes, not magic values, so comparison-guided mutation buys
# nothing here, and the tracing was a third of the run time. OUTPUT defaults to
# build-fuzz/fuzz_ops under the repository root. evmap-version.h is
# generated with sed from include/evmap-version.h.in and meson.build's
# project(version:), so no meson build directory is needed. EVMAP_SRC
# overrides the library source directory (default: src/).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/build-fuzz/fuzz_ops}
CC=${CC:-clang}
src=${EVMAP_SRC:-$root/src}
gen=$(dirname "$out")/fuzz-gen
mkdir -p "$gen"

version=$(sed -n "s/^ *version *: *'\([0-9.]*\)'.*/\1/p" "$root/meson.build" | head -n1)
IFS=. read -r major minor patch <<<"$version"
sed -e "s/@EVMAP_VERSION_MAJOR@/$major/" -e "s/@EVMAP_VERSION_MINOR@/$minor/" \
    -e "s/@EVMAP_VERSION_PATCH@/$patch/" -e "s/@EVMAP_VERSION@/$version/" \
    "$root/include/evmap-version.h.in" >"$gen/evmap-version.h.tmp"
mv "$gen/evmap-version.h.tmp" "$gen/evmap-version.h"

# shellcheck disable=SC2046
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-coverage=trace-cmp \
    -fno-sanitize-recover=undefined \
    -D_GNU_SOURCE -D_LGPL_SOURCE -Wall -Wextra -Wno-unused-parameter -Werror \
    -I "$root/include" -I "$src" -I "$gen" \
    "$src"/*.c "$root/tests/fuzz/fuzz_ops.c" \
    -o "$out" -lurcu-memb -lurcu-common -lpthread
echo "built $out"
