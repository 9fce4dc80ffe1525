#!/usr/bin/env bash
# bench/overhead-pool on synthetic runs whose pooled figures are known: pairs
# stay within their run, failed rounds and rounds without a partner are left
# out, and the geometric mean, its interval and the p99 median come out as
# computed by hand. Bad input: one line, exit 2.
set -u
. "$(dirname "$0")/lib.sh"
POOL=$ROOT/bench/overhead-pool
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# round R SIDE RPS P99_US CPU_US [STATUS]
round() {
	jq -cn --argjson r "$1" --arg s "$2" --argjson rps "$3" --argjson p99 "$4" --argjson cpu "$5" \
		--arg st "${6:-ok}" \
		'{round: $r, side: $s, rps: $rps, p99_us: $p99, host_cpu_us_per_req: $cpu, status: $st}'
}
run() { # run FILE STARTED ROUND-LINES...
	local f=$1 started=$2
	shift 2
	printf '%s\n' "$@" | jq -s --arg st "$started" \
		'{schema: "podscope.overhead/v1", started: $st, podscope: "test",
		  agent: {kind: "watch", command: "podscope watch"}, rounds: .}' >"$f"
}

# Run A: ratios 0.9 and 1.0 (req/s), CPU 1.1 and 1.0, p99 1.2 and 1.0. Round 3
# is failed on its on side and round 4 has no off round: both left out.
run "$TMP/a.json" A \
	"$(round 1 off 1000 100 400)" "$(round 1 on 900 120 440)" \
	"$(round 2 off 2000 200 300)" "$(round 2 on 2000 200 300)" \
	"$(round 3 off 1000 100 400)" "$(round 3 on 100 900 4000 failed)" \
	"$(round 4 on 500 100 400)"
# Run B: its round 1 must pair with B's round 1 only: ratio 0.8, CPU 1.25, p99 0.5.
run "$TMP/b.json" B "$(round 1 off 1000 100 400)" "$(round 1 on 800 50 500)"

out=$("$POOL" --json "$TMP/a.json" "$TMP/b.json")
check_eq "exit 0" 0 $?
check_eq "3 pairs: failed and unpaired rounds left out" 3 "$(jq .pairs <<<"$out")"
check_eq "pairs per run" "2 1" "$(jq -r '[.runs[].pairs] | join(" ")' <<<"$out")"
# expected: geometric mean and t-interval (2 degrees of freedom: t = 4.303) on the logs
want=$(awk 'BEGIN {
	n = 3; split("0.9 1.0 0.8", r); split("1.1 1.0 1.25", c)
	for (i = 1; i <= n; i++) { lr[i] = log(r[i]); lc[i] = log(c[i]); mr += lr[i] / n; mc += lc[i] / n }
	for (i = 1; i <= n; i++) { vr += (lr[i] - mr)^2 / (n - 1); vc += (lc[i] - mc)^2 / (n - 1) }
	hr = 4.303 * sqrt(vr / n); hc = 4.303 * sqrt(vc / n)
	printf "%.4f %.4f %.4f %.4f %.4f %.4f", exp(mr), exp(mr - hr), exp(mr + hr), exp(mc), exp(mc - hc), exp(mc + hc)
}')
got=$(jq -r '[.rps.mean, .rps.ci95[0], .rps.ci95[1], .host_cpu_per_req.mean,
	.host_cpu_per_req.ci95[0], .host_cpu_per_req.ci95[1]] | map(. * 10000 | round / 10000 | tostring) | join(" ")' <<<"$out")
# both rounded to 4 places; compare as numbers, to the last place
check "req/s and CPU: geometric means and 95% intervals ($got)" \
	awk -v a="$want" -v b="$got" 'BEGIN { n = split(a, x); split(b, y)
		for (i = 1; i <= n; i++) if (x[i] - y[i] > 0.00011 || y[i] - x[i] > 0.00011) exit 1 }'
check_eq "p99: median of 1.2, 1.0, 0.5" 1 "$(jq .p99_paired_median <<<"$out")"
text=$("$POOL" "$TMP/a.json" "$TMP/b.json")
check "text output names every run and the pooled line" \
	grep -q "pooled over 3 pairs" <<<"$text"

# bad input
echo '{"schema": "x"}' >"$TMP/bad.json"
err=$("$POOL" "$TMP/bad.json" 2>&1 >/dev/null)
rc=$?
check_eq "not a result: exit 2" 2 "$rc"
check_eq "not a result: one line" 1 "$(wc -l <<<"$err")"
"$POOL" "$TMP/missing.json" >/dev/null 2>&1
check_eq "missing file: exit 2" 2 $?
"$POOL" >/dev/null 2>&1
check_eq "no file: exit 2" 2 $?
"$POOL" --bogus "$TMP/a.json" >/dev/null 2>&1
check_eq "unknown option: exit 2" 2 $?
finish
