#!/bin/sh
# Two builds of the core benchmark against each other, for one algorithm's bare primitive
# and whole-token verification, on a machine whose speed drifts: ROUNDS rounds, each
# running both builds (ten repetitions of BM_Bare<ALG> and BM_Verify<ALG> interleaved in
# random order), and per build the median over all repetitions of bare/verify of the
# same repetition index.
#
#   scripts/bench-core-ab.sh BUILD_DIR_A BUILD_DIR_B [ALG] [ROUNDS]
#   scripts/bench-core-ab.sh /tmp/build-before /tmp/build-after HS256 5
set -eu
[ $# -ge 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
a=$1 b=$2 alg=${3:-HS256} rounds=${4:-5}
for dir in "$a" "$b"; do
  [ -x "$dir/rowguard_bench" ] || { echo "bench-core-ab: $dir/rowguard_bench not found" >&2; exit 2; }
done
python3 - "$a" "$b" "$alg" "$rounds" <<'PY'
import collections, json, statistics, subprocess, sys
a, b, alg, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ratios = collections.defaultdict(list)
for _ in range(rounds):
    for build in (a, b):
        out = subprocess.run(
            [f"{build}/rowguard_bench", f"--benchmark_filter=^BM_(Bare|Verify){alg}$",
             "--benchmark_min_time=0.05", "--benchmark_repetitions=10",
             "--benchmark_enable_random_interleaving=true", "--benchmark_format=json"],
            check=True, capture_output=True, text=True).stdout
        runs = collections.defaultdict(list)
        for x in json.loads(out)["benchmarks"]:
            if x.get("run_type", "iteration") == "iteration":
                runs[x["run_name"]].append(x["cpu_time"])
        ratios[build] += [p / v for p, v in zip(runs[f"BM_Bare{alg}"], runs[f"BM_Verify{alg}"])]
for build in (a, b):
    r = sorted(ratios[build])
    q = lambda f: r[int(f * (len(r) - 1))]
    print(f"{build}: {alg} bare/verify median {statistics.median(r):.3f} "
          f"(quartiles {q(0.25):.3f}-{q(0.75):.3f}, n={len(r)})")
PY
