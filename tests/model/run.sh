#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - check the Promela model of refresh's wait (refresh.pml) with
# Spin: the correct model must verify (no assertion violation, no invalid
# end state), and every variant that removes one ordering of the protocol
# must violate the safety assertion. Usage: bash tests/model/run.sh
# Exit status: 0 all as expected, 1 an expectation failed, 77 spin is not
# installed (skip). Nothing is written to the source tree: every model is
# built and run in a temporary directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model="$here/refresh.pml"

if ! command -v spin >/dev/null 2>&1; then
	echo "SKIP: spin is not installed (Debian/Ubuntu: apt-get install spin)"
	exit 77
fi
cc=${CC:-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "FAIL: no C compiler ($cc) to build Spin's verifier"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/evmap-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# name|expectation (ok: verifies; fail: assertion violation)|spin -D options
models=(
	"refresh (correct)|ok|"
	"refresh NO_BARRIER|fail|-DNO_BARRIER"
	"refresh NO_UNPARK_FENCE|fail|-DNO_UNPARK_FENCE"
	"refresh FLAG_BEFORE_INSIDE|fail|-DFLAG_BEFORE_INSIDE"
	"refresh NO_PUBLISH_FENCE|fail|-DNO_PUBLISH_FENCE"
	"refresh FLAG_BEFORE_WORD|fail|-DFLAG_BEFORE_WORD"
	# the C code's handling of a failed membarrier (see README.md), and
	# the fix, on a busy reader of 2 sections to keep it a few seconds
	"refresh BARRIER_MAY_FAIL (parking trusted without re-verification)|fail|-DBARRIER_MAY_FAIL"
	"refresh BARRIER_MAY_FAIL+VERIFY_RESET (as the code does)|ok|-DBARRIER_MAY_FAIL -DVERIFY_RESET -DSECTIONS0=2"
	# the map not ready at the start: a section that finds no view says
	# "outside" at once; announcing a high generation instead is unsound
	"not ready (correct)|ok|-DNOT_READY -DG=4"
	"not ready NOT_READY_ANNOUNCES_HIGH|fail|-DNOT_READY -DG=4 -DNOT_READY_ANNOUNCES_HIGH"
	# a freed handle kept as a spare and made live again (reader 1),
	# which the writer judges clear while it is spare; without the fence
	# after "live" a section can load the old view meanwhile
	"reuse (correct)|ok|-DREUSE -DSECTIONS0=2"
	"reuse REUSE_NO_FENCE|fail|-DREUSE -DSECTIONS0=2 -DREUSE_NO_FENCE"
	# destruction (evmap_writer_free) after 2 publications
	"destroy (correct)|ok|-DDESTROY -DG=2"
	"destroy DESTROY_WAIT_OLD|fail|-DDESTROY -DG=2 -DDESTROY_WAIT_OLD"
	"destroy NO_DESTROY_FENCE|fail|-DDESTROY -DG=2 -DNO_DESTROY_FENCE"
)

# check INDEX NAME EXPECT OPTIONS: build and run one model in its own
# directory; writes the verdict line to $tmp/INDEX.result
check() {
	local i=$1 name=$2 expect=$3 opts=$4 dir="$tmp/$1" out errors states secs
	mkdir "$dir"
	cp "$model" "$dir/refresh.pml"
	(
		cd "$dir"
		# shellcheck disable=SC2086  # opts is a list of -D options
		spin $opts -a refresh.pml >spin.log 2>&1 &&
		"$cc" -O2 -DSAFETY -w -o pan pan.c >cc.log 2>&1 &&
		./pan -m10000 -w24 >pan.log 2>&1
	) || {
		echo "FAIL $name: could not build or run the verifier" \
			"($(tail -n 3 "$dir"/*.log | tr '\n' ' '))" >"$tmp/$i.result"
		return 0
	}
	out="$dir/pan.log"
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | head -n 1)
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$out" | head -n 1)
	if [ -z "$errors" ]; then
		echo "FAIL $name: no result from pan" >"$tmp/$i.result"
	elif grep -q "max search depth too small" "$out"; then
		echo "FAIL $name: search depth too small, not exhaustive" >"$tmp/$i.result"
	elif [ "$expect" = ok ]; then
		if [ "$errors" = 0 ]; then
			echo "PASS $name: 0 errors, $states states, ${secs}s" >"$tmp/$i.result"
		else
			echo "FAIL $name: $errors errors, expected none:" \
				"$(grep -m 1 -E 'violated|invalid end state' "$out")" >"$tmp/$i.result"
		fi
	else
		if [ "$errors" -ge 1 ] && grep -q "assertion violated" "$out"; then
			echo "PASS $name: violation found as expected," \
				"$states states, ${secs}s" >"$tmp/$i.result"
		else
			echo "FAIL $name: no assertion violation found" \
				"($errors errors, $states states)" >"$tmp/$i.result"
		fi
	fi
}

jobs_max=$(nproc 2>/dev/null || echo 2)
running=0
for i in "${!models[@]}"; do
	IFS='|' read -r name expect opts <<<"${models[$i]}"
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	check "$i" "$name" "$expect" "$opts" &
	running=$((running + 1))
done
wait

status=0
for i in "${!models[@]}"; do
	if [ -f "$tmp/$i.result" ]; then
		cat "$tmp/$i.result"
	else
		echo "FAIL ${models[$i]%%|*}: no result"
	fi
	grep -q '^PASS' "$tmp/$i.result" 2>/dev/null || status=1
done
exit "$status"
