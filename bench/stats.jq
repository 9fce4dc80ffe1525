# Estimators shared by bench/overhead (one run's verdict) and
# bench/overhead-pool (several runs pooled): jq -L bench 'include "stats"; ...'

def r4: if . == null then null else . * 10000 | round / 10000 end;

# Student t, two-sided 95 %, by degrees of freedom 1..29, then the normal limit
def tcrit: [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
            2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
            2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045][. - 1]
    // (if . < 60 then 2.021 elif . < 120 then 2.000 else 1.980 end);

# geometric mean of ratios with its 95 % confidence interval (t on the logs)
def gmean_ci: map(select(. != null and . > 0) | log) as $l | ($l | length) as $n |
    if $n < 2 then null else
    ($l | add / $n) as $m |
    (($l | map((. - $m) * (. - $m)) | add) / ($n - 1) | sqrt) as $sd |
    ((($n - 1) | tcrit) * $sd / ($n | sqrt)) as $h |
    {mean: ($m | exp | r4), ci95: [($m - $h | exp | r4), ($m + $h | exp | r4)], n: $n} end;

# The on/off ratios of one run's rounds: round i off with round i on (adjacent
# in time, so drift mostly cancels), ok rounds only.
def round_pairs: map(select(.status == "ok")) as $ok |
    [$ok[] | select(.side == "off") | .round as $i | . as $a |
     ($ok | map(select(.side == "on" and .round == $i)) | .[0]) as $b |
     select($b != null and $a.rps > 0 and $b.rps > 0) |
     {rps: ($b.rps / $a.rps), p99: ($b.p99_us / $a.p99_us),
      cpu: (if $a.host_cpu_us_per_req and $b.host_cpu_us_per_req
            then $b.host_cpu_us_per_req / $a.host_cpu_us_per_req else null end)}];
