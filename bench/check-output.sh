#!/bin/sh
# SPDX-License-Identifier: MIT
# check-output.sh - smoke test of the benchmark programs for `meson test`
# (suite 'bench'): run each briefly and check the shape of its output and
# its exit status. No timing is asserted.
#
# Usage: check-output.sh bench PATH/evmap-bench [1|0: built with ck or not]
#        check-output.sh micro PATH/evmap-micro
#        check-output.sh flavors PATH/rcu-flavors
set -u

fail() {
	echo "not ok: $*" >&2
	exit 1
}

# Run "$@", capture stdout in $out; fail on a non-zero exit.
run() {
	echo "# $*"
	out=$("$@") || fail "exit status $? from: $*"
	printf '%s\n' "$out"
}

# The line format of evmap's benchmark, with the optional ns/op of --pregen.
line_re='^[ 0-9][0-9] [ 0-9][0-9] (uniform |skewed  ) {3}[a-z0-9-]+ +[0-9]+ ops/s (read|write) [0-9]+( [0-9]+\.[0-9] ns/op)?$'

# expect_lines VARIANT OP COUNT: exactly COUNT well-formed lines.
expect_lines() {
	n=$(printf '%s\n' "$out" | grep -E "$line_re" |
		awk -v v="$1" -v op="$2" '$4 == v && $7 == op' | wc -l)
	[ "$n" -eq "$3" ] || fail "expected $3 '$1 $2' lines, got $n"
}

check_bench() {
	bin=$1
	with_ck=${2:-1} # 0: built without Concurrency Kit (no ck peer)
	run "$bin" -r 2 -w 1 -t 0.1 -c
	bad=$(printf '%s\n' "$out" | grep -Evc "$line_re")
	[ "$bad" -eq 0 ] || fail "$bad malformed lines"
	peers="evmap rwlock lfht"
	[ "$with_ck" -eq 1 ] && peers="$peers ck"
	for v in $peers; do
		expect_lines "$v" read 2
		expect_lines "$v" write 1
	done
	expect_lines nosync read 1
	[ "$(printf '%s\n' "$out" | wc -l)" -eq $((with_ck ? 13 : 10)) ] ||
		fail "line count"
	if [ "$with_ck" -eq 0 ]; then
		"$bin" -r 1 -w 1 -t 0.05 -V ck >/dev/null 2>&1 &&
			fail "accepted -V ck without the ck peer"
	fi

	run "$bin" -r 1 -w 2 -d skewed -e 16 -t 0.1 --pregen
	expect_lines evmap-refresh16 read 1
	expect_lines evmap-refresh16 write 2
	printf '%s\n' "$out" | grep -q ' ns/op$' || fail "no ns/op with --pregen"

	run "$bin" -r 1 -w 1 -t 0.05 -V null,nosync -d skewed
	expect_lines null read 1
	expect_lines null write 1
	expect_lines nosync read 1

	"$bin" -r 1 >/dev/null 2>&1 && fail "accepted a missing -w"
	"$bin" -r 1 -w 1 -d zipf >/dev/null 2>&1 && fail "accepted a bad -d"
	return 0
}

check_micro() {
	bin=$1
	run "$bin" --quick
	printf '%s\n' "$out" | head -n 1 | grep -q '^evmap-micro: libevmap ' ||
		fail "no title line"
	rows=$(printf '%s\n' "$out" |
		grep -Ec '^[a-z].* (ns|us|bytes/key|x) +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2}$')
	[ "$rows" -eq 18 ] || fail "expected 18 measurement rows, got $rows"
	rows=$(printf '%s\n' "$out" |
		grep -Ec '^barriers per refresh, .* +[0-9]+\.[0-9]{4} +[0-9]+\.[0-9]{4}$')
	[ "$rows" -eq 3 ] || fail "expected 3 barrier rows, got $rows"
	return 0
}

check_flavors() {
	bin=$1
	run "$bin" --quick
	rows=$(printf '%s\n' "$out" | grep -Ec '^(memb|mb|bp) .* +-?[0-9]+\.[0-9]{2} (ns|us)$')
	[ "$rows" -eq 7 ] || fail "expected 7 measurement rows, got $rows"
	"$bin" --bogus >/dev/null 2>&1 && fail "accepted a bad option"
	return 0
}

case "${1-}" in
bench) check_bench "$2" "${3:-1}" ;;
micro) check_micro "$2" ;;
flavors) check_flavors "$2" ;;
*) fail "usage: $0 bench|micro|flavors PROGRAM" ;;
esac
echo "ok"
