#!/usr/bin/env bash
# Run every suite: unit tests (cmocka), the same under ASan/UBSan, a bounded
# fuzz run of the parsers (tests/fuzz/run.sh, FUZZ_SECONDS per target), and
# the integration tests (root; the pod lab). Continues past a failing suite so
# one run shows everything, and ends with one "N passed, M failed" line.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUTPUT:-$ROOT/build}
cd "$ROOT" || exit 1

total_pass=0
total_fail=0

# Run a suite, echo its output, and add up the last "N passed, M failed" it printed.
suite() {
	local name=$1 log rc line p f
	shift
	echo "=== $name"
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	[ -n "$line" ] || { p=0; f=0; }
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!!! suite $name exited with status $rc"
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	rm -f "$log"
}

mapfile -t unit < <(ls "$OUT"/tests/test_* 2>/dev/null)
mapfile -t san < <(ls "$OUT"/tests-san/test_* 2>/dev/null)
suite unit tests/run-unit.sh "${unit[@]}"
suite "unit (ASan/UBSan)" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run-unit.sh "${san[@]}"
suite "fuzz (bounded)" env OUTPUT="$OUT" tests/fuzz/run.sh
for t in tests/integration/test_*.sh tests/lab/test_*.sh; do
	[ -x "$t" ] || continue
	suite "$t" "$t"
done
suite "leftovers" tests/integration/check_leftovers.sh

echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
