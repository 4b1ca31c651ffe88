#!/bin/bash
# SPDX-License-Identifier: MIT
# run-fuzzer.sh - build the libFuzzer binary and fuzz for SECONDS.
#
# Usage: bash tests/fuzz/run-fuzzer.sh SECONDS [--reader]
# --reader: with a concurrent reader thread checking snapshot invariants
# (EVMAP_FUZZ_READER=1, see fuzz_ops.c).
# Runs over a scratch copy of tests/fuzz/corpus (the committed corpus is
# not modified), fails on any finding (crash, leak, failed model check,
# sanitizer report) and prints each fuzzing process's last status line
# (executions, cov:, ft:) and the executions of all of them. Findings are
# left in build-fuzz/findings/ (crash-*, leak-*): minimise one with
# `build-fuzz/fuzz_ops -minimize_crash=1 FILE` and commit it to
# tests/fuzz/corpus/ as regress-NAME.bin.
#
# Without --reader, one fuzzing process runs per CPU (FUZZ_JOBS, default
# nproc), all on the one scratch corpus, which libFuzzer rereads, so each
# builds on what the others found. On this project's 2-core machine, 360 s
# from the seed corpus: two processes made 4 019 824 executions (11 166/s),
# 874 edges and 6 085 features (at 9c1b67c; the README's section Testing
# has the earlier runs); at 50e42b0, before the item pool, two made
# 2 400 341 and one 1 503 801 in 120 s.
# With --reader an execution already uses two threads: one process.
set -euo pipefail

seconds=${1:?usage: run-fuzzer.sh SECONDS [--reader]}
jobs=${FUZZ_JOBS:-$(nproc)}
if [ "${2:-}" = --reader ]; then
	export EVMAP_FUZZ_READER=1
	jobs=1
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$root/build-fuzz
bin=$work/fuzz_ops

bash "$root/tests/fuzz/build-fuzzer.sh" "$bin"
rm -rf "$work/corpus" "$work/findings" "$work"/fuzz-*.log
mkdir -p "$work/corpus" "$work/findings"
cp "$root"/tests/fuzz/corpus/* "$work/corpus/"
log=$work/fuzz.log
parallel=()
if [ "$jobs" -gt 1 ]; then
	# -jobs: the processes write fuzz-N.log in the current directory.
	parallel=(-jobs="$jobs" -workers="$jobs")
fi

# malloc_context_size=0: no stack is unwound and stored at each malloc and
# free. That was a tenth of the run time (replaying a grown corpus, CPU
# time, medians of 9: 2.09 s against 2.33 s), and a report still names
# the bad access's own stack. For the allocation and free stacks, replay
# the finding with the default options: build-fuzz/fuzz_ops FILE.
set +e
(cd "$work" &&
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:malloc_context_size=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$bin" "${parallel[@]}" -max_total_time="$seconds" -max_len=512 -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/findings/" \
    "$work/corpus" >"$log" 2>&1)
rc=$?
set -e

logs=("$log")
[ "$jobs" -gt 1 ] && logs=("$work"/fuzz-*.log)
for l in "${logs[@]}"; do
	grep -E '^#[0-9]+' "$l" | tail -n 1 || true
done
total=$(cat "${logs[@]}" | sed -n 's/^stat::number_of_executed_units: *//p' |
	awk '{ s += $1 } END { print s + 0 }')
echo "run-fuzzer: $jobs process(es), $total executions in $seconds s ($((total / seconds))/s)"
findings=$(find "$work/findings" -type f | wc -l)
if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
    echo "run-fuzzer: FAILED (exit $rc, $findings finding(s) in $work/findings)"
    grep -hE 'ERROR|check failed|runtime error|SUMMARY' "${logs[@]}" | head -n 20
    echo "run-fuzzer: allocation and free stacks: ASAN_OPTIONS=detect_leaks=1 $bin FILE"
    exit 1
fi
echo "run-fuzzer: $seconds s, no findings; corpus grew to $(ls "$work/corpus" | wc -l) inputs"
