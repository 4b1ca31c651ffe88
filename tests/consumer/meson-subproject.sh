#!/bin/sh
# SPDX-License-Identifier: MIT
#
# meson-subproject.sh - libevmap as a meson subproject: a tiny project with
# subprojects/libevmap (a link to this source tree) gets the library with
# dependency('evmap') alone (src/meson.build calls
# meson.override_dependency), builds tests/consumer/consumer.c against it
# and runs it.
#
# Usage: tests/consumer/meson-subproject.sh   (needs meson and ninja)
# The source tree is never written to; the project and its build live in a
# temporary directory, removed at exit. Exit 0 if the consumer built and
# ran, 1 otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/evmap-subproject.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

mkdir -p "$work/project/subprojects"
ln -s "$srcdir" "$work/project/subprojects/libevmap"
cp "$here/consumer.c" "$work/project/"
cat >"$work/project/meson.build" <<'MESON'
project('evmap-subproject-consumer', 'c', default_options : ['c_std=c11'])
subproject('libevmap', default_options : ['tests=false', 'bench=disabled'])
executable('consumer', 'consumer.c',
  dependencies : [dependency('evmap'), dependency('threads')])
MESON

if ! meson setup "$work/build" "$work/project" >"$work/log" 2>&1 ||
	! ninja -C "$work/build" >>"$work/log" 2>&1; then
	cat "$work/log" >&2
	echo "FAIL: the subproject consumer does not build" >&2
	exit 1
fi
grep -q "Dependency evmap found: YES .*(overridden)" "$work/log" || {
	grep -i "evmap" "$work/log" >&2
	echo "FAIL: dependency('evmap') did not come from the subproject" >&2
	exit 1
}
"$work/build/consumer" || { echo "FAIL: the consumer failed" >&2; exit 1; }
echo "ok: dependency('evmap') from the subproject; the consumer ran"
