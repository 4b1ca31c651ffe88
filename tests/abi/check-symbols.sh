#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-symbols.sh - the exported symbols agree everywhere they are listed.
#
# Usage: tests/abi/check-symbols.sh SHARED_LIB [STATIC_LIB]
#        tests/abi/check-symbols.sh BUILD_DIR
#
# Compares four lists, which must name exactly the same symbols:
#   1. the EVMAP_EXPORT declarations in include/evmap.h,
#   2. the global entries of the version script src/evmap.map,
#   3. the defined dynamic symbols of the shared library (readelf),
#   4. debian/libevmap0.symbols,
# and checks that each symbol carries the same version node in 2, 3 and 4,
# that the library defines exactly the version nodes of the map, and that
# every global symbol of the static library starts with evmap_ (public) or
# evmap__ (internal): hidden visibility does not apply to a .a, so any
# other name could collide with an application's own symbols.
#
# The source tree is the one this script lives in, or $EVMAP_SRCDIR.
# Exit 0 when all agree, 1 on a mismatch, 77 (skip) without readelf/nm.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${EVMAP_SRCDIR:-$(cd "$here/../.." && pwd)}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 SHARED_LIB [STATIC_LIB] | BUILD_DIR" >&2
	exit 2
fi
if [ -d "$1" ]; then
	shlib=$1/src/libevmap.so
	stlib=$1/src/libevmap.a
else
	shlib=$1
	stlib=${2:-}
fi
for tool in readelf nm perl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found"
		exit 77
	fi
done
if [ ! -e "$shlib" ]; then
	echo "FAIL: no shared library at $shlib" >&2
	exit 1
fi

header=$srcdir/include/evmap.h
mapfile=$srcdir/src/evmap.map
symfile=$srcdir/debian/libevmap0.symbols
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# 1. Header: every declaration (up to its ';') carrying EVMAP_EXPORT,
# comments and preprocessor lines removed. The name is the identifier
# before the first '(' (functions) or the last identifier (objects).
perl -0777 -ne '
	s{/\*.*?\*/}{}gs; s{//[^\n]*}{}g; s{^[ \t]*#.*$}{}mg;
	for (split /;/) {
		next unless /\bEVMAP_EXPORT\b/;
		s/\s+/ /g;
		if (/\b(\w+)\s*\(/) { print "$1\n" }
		elsif (/\b(\w+)\s*(?:\[[^\]]*\])?\s*$/) { print "$1\n" }
		else { print STDERR "cannot parse declaration: $_\n"; exit 1 }
	}' "$header" | sort >"$tmp/header"

# 2. Version script: "symbol node" for each global entry; nodes listed
# separately. Wildcards are refused: every export is named.
perl -0777 -ne '
	s{/\*.*?\*/}{}gs; s{#[^\n]*}{}g;
	while (/([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*[\w.]*\s*;/gs) {
		my ($node, $body) = ($1, $2);
		print "NODE $node\n";
		$body =~ s/\blocal\s*:.*//s;
		$body =~ s/\bglobal\s*:\s*//;
		for my $sym ($body =~ /([^\s;]+)\s*;/g) {
			if ($sym =~ /[*?\[]/) {
				print STDERR "wildcard in version script: $sym\n"; exit 1;
			}
			print "$sym $node\n";
		}
	}' "$mapfile" >"$tmp/map.all"
grep '^NODE ' "$tmp/map.all" | cut -d' ' -f2 | sort >"$tmp/map.nodes"
grep -v '^NODE ' "$tmp/map.all" | sort >"$tmp/map"

# 3. Shared library: defined GLOBAL/WEAK dynamic symbols with default or
# protected visibility, as "name@@node" (the node's own ABS symbol apart).
readelf --dyn-syms --wide "$shlib" | awk '
	$1 ~ /^[0-9]+:$/ && $7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") &&
	($6 == "DEFAULT" || $6 == "PROTECTED") {
		# A version node is an ABS symbol named after it (binutils
		# prints it without "@@node").
		if ($7 == "ABS" && index($8, "@") == 0) print $8 "@@" $8
		else print $8
	}' >"$tmp/so.raw"
: >"$tmp/so"
: >"$tmp/so.nodes"
while read -r entry; do
	name=${entry%%@*}
	case $entry in
	*@@*) node=${entry##*@@} ;;
	*@*) node=${entry##*@} ;; # a non-default (compat) version
	*) node=NONE ;;
	esac
	if [ "$name" = "$node" ]; then
		echo "$node" >>"$tmp/so.nodes"
	else
		echo "$name $node" >>"$tmp/so"
	fi
done <"$tmp/so.raw"
sort -o "$tmp/so" "$tmp/so"
sort -o "$tmp/so.nodes" "$tmp/so.nodes"

# 4. Debian symbols file: " name@node minver" lines; the node's own
# entry ("EVMAP_0.1@EVMAP_0.1") is a node.
awk '/^ / { split($1, p, "@"); print p[1], p[2] }' "$symfile" |
	awk '$1 == $2 { print $1 > "'"$tmp"'/deb.nodes"; next } { print }' |
	sort >"$tmp/deb"
touch "$tmp/deb.nodes"
sort -o "$tmp/deb.nodes" "$tmp/deb.nodes"

status=0
compare() { # compare LABEL_A FILE_A LABEL_B FILE_B
	if diff -u --label "$1" --label "$3" "$2" "$4" >"$tmp/diff"; then
		echo "ok: $1 == $3"
	else
		echo "FAIL: $1 != $3 ('-' only in $1, '+' only in $3):"
		sed -n '3,$p' "$tmp/diff" | grep '^[-+]' || true
		status=1
	fi
}

echo "checking $(wc -l <"$tmp/header") exported declarations of $header"
bad=$(grep -v '^evmap_' "$tmp/header" || true)
if [ -n "$bad" ]; then
	echo "FAIL: EVMAP_EXPORT on names without the evmap_ prefix: $bad"
	status=1
fi
cut -d' ' -f1 "$tmp/map" | sort >"$tmp/map.names"
cut -d' ' -f1 "$tmp/so" | sort >"$tmp/so.names"
cut -d' ' -f1 "$tmp/deb" | sort >"$tmp/deb.names"
compare "header (EVMAP_EXPORT)" "$tmp/header" "version script" "$tmp/map.names"
compare "version script" "$tmp/map" "shared library ($(basename "$shlib"))" "$tmp/so"
compare "version script" "$tmp/map" "debian/libevmap0.symbols" "$tmp/deb"
compare "version script nodes" "$tmp/map.nodes" "shared library nodes" "$tmp/so.nodes"
compare "version script nodes" "$tmp/map.nodes" "debian/libevmap0.symbols nodes" "$tmp/deb.nodes"

soname=$(readelf --dynamic --wide "$shlib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" = libevmap.so.0 ]; then
	echo "ok: SONAME $soname"
else
	echo "FAIL: SONAME is '$soname', expected libevmap.so.0"
	status=1
fi
if head -n1 "$symfile" | grep -q "^$soname libevmap0 "; then
	echo "ok: debian/libevmap0.symbols is for $soname"
else
	echo "FAIL: debian/libevmap0.symbols does not start with '$soname libevmap0'"
	status=1
fi

# The manual page names every exported symbol (SYNOPSIS and SEE ALSO).
manpage=$srcdir/doc/evmap.3
if [ -f "$manpage" ]; then
	missing=""
	while read -r sym; do
		grep -q "\\<$sym\\>" "$manpage" || missing="$missing $sym"
	done <"$tmp/map.names"
	if [ -n "$missing" ]; then
		echo "FAIL: doc/evmap.3 does not mention:$missing"
		status=1
	else
		echo "ok: doc/evmap.3 mentions every exported symbol"
	fi
fi

if [ -n "$stlib" ]; then
	# Defined global symbols of the archive (nm -g: external only).
	# Symbols that sanitizer or coverage instrumentation adds are not
	# the library's (e.g. __odr_asan.evmap_type_cstr in ASan builds).
	nm -g --defined-only "$stlib" 2>/dev/null |
		awk 'NF == 3 { print $3 }' |
		grep -Ev '^__(odr_asan|asan|tsan|ubsan|msan|sancov|gcov|llvm_)' |
		sort -u >"$tmp/a.names"
	leaks=$(grep -v '^evmap_' "$tmp/a.names" || true)
	if [ -n "$leaks" ]; then
		echo "FAIL: global symbols of $(basename "$stlib") without the evmap_ prefix:"
		echo "$leaks" | sed 's/^/  /'
		status=1
	else
		echo "ok: all $(wc -l <"$tmp/a.names") global symbols of $(basename "$stlib") are evmap_*"
	fi
	grep -v '^evmap__' "$tmp/a.names" >"$tmp/a.public" || true
	compare "version script" "$tmp/map.names" "static library public (evmap_ but not evmap__)" "$tmp/a.public"
fi

if [ $status -eq 0 ]; then
	echo "PASS: $(wc -l <"$tmp/map") symbols agree"
fi
exit $status
