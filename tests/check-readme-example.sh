#!/bin/sh
# SPDX-License-Identifier: MIT
# check-readme-example.sh - the README's example must be the program the
# test suite builds and runs: the README's first ```c block must equal
# tests/readme_example.c from its first #include on.
#
# Usage: check-readme-example.sh README.md tests/readme_example.c
set -eu
readme=$1
example=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/ { inside = 1; next } inside && /^```$/ { exit } inside' \
	"$readme" >"$tmp/readme.c"
sed -n '/^#include/,$p' "$example" >"$tmp/example.c"
if [ ! -s "$tmp/readme.c" ]; then
	echo "not ok: no \`\`\`c block in $readme"
	exit 1
fi
if ! diff -u "$tmp/example.c" "$tmp/readme.c"; then
	echo "not ok: the README's example differs from $example"
	exit 1
fi
echo "ok: the README's example is $example"
