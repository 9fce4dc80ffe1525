#!/usr/bin/env bash
# Bounded fuzz run of every target in $OUTPUT/fuzz/ (built by `make fuzz`)
# from its seed corpus in tests/fuzz/corpus/<name>/. New inputs the fuzzer
# finds go to a temporary directory, not into the repository; a crashing
# input is kept in $OUTPUT/fuzz/crashes/. Ends with one
# "fuzz: N passed, M failed" line (N, M: targets) for tests/run-all.sh.
#
#   FUZZ_SECONDS  time per target (default 40)
#   FUZZ_SEED     the fuzzer's random seed (default 1)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUTPUT:-$ROOT/build}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
SECONDS_PER=${FUZZ_SECONDS:-40}
passed=0
failed=0

shopt -s nullglob
targets=("$OUT"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no targets in $OUT/fuzz (run make fuzz)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
for t in "${targets[@]}"; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	seeds=$ROOT/tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	crashes=$OUT/fuzz/crashes/$name
	mkdir -p "$crashes"
	log=$(mktemp)
	(cd "$crashes" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$t" -max_total_time="$SECONDS_PER" -max_len=4096 -seed="${FUZZ_SEED:-1}" -print_final_stats=1 \
		"$work" "$seeds") >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 execs in \2 s/p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "$name: ${runs:-?} from $(ls "$seeds" | wc -l) seeds, $(ls "$work" | wc -l) new inputs, no crash"
		passed=$((passed + 1))
		rmdir "$crashes" 2>/dev/null
	else
		tail -40 "$log"
		echo "$name: FAILED (exit $rc), crashing input in $crashes"
		failed=$((failed + 1))
	fi
	rm -rf "$work" "$log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
