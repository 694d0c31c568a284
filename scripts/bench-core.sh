#!/bin/sh
# Core verification benchmark: runs rowguard_bench and prints, per algorithm, the bare
# OpenSSL primitive against TrustStore::Verify of a whole token, as a ratio of
# throughputs (bare time / verify time; 1.0 = no overhead) with the issue's targets.
#
#   scripts/bench-core.sh [build-dir] [benchmark options...]
#   scripts/bench-core.sh build --benchmark_min_time=0.05     # quick run
#
# The build dir needs -DROWGUARD_BENCHMARKS=ON (the default) and a non-sanitizer build.
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
bin="$build/rowguard_bench"
if [ ! -x "$bin" ]; then
  echo "bench-core: $bin not found; build it with: cmake -S . -B $build && cmake --build $build --target rowguard_bench" >&2
  exit 2
fi
json=$(mktemp)
trap 'rm -f "$json"' EXIT
# Ratios are taken on CPU time: median bare / median verify. The repetitions of every
# benchmark run interleaved in random order, so on a machine whose speed drifts (shared
# vCPUs) bare and verify are measured over the same period. BENCH_CORE_REPS [10].
"$bin" --benchmark_filter='BM_(Bare|Verify)' --benchmark_format=json \
  --benchmark_repetitions="${BENCH_CORE_REPS:-10}" --benchmark_enable_random_interleaving=true \
  "$@" >"$json"
python3 - "$json" <<'PY'
import json, sys
import statistics
data = json.load(open(sys.argv[1]))
runs = {}
for b in data["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    unit = {"ns": 1, "us": 1e3, "ms": 1e6}[b.get("time_unit", "ns")]
    runs.setdefault(b.get("run_name", b["name"]), []).append(b["cpu_time"] * unit)
times = {name: statistics.median(v) for name, v in runs.items()}
targets = {"HS256": 0.4, "RS256": 0.8, "PS256": 0.8, "ES256": 0.8, "EdDSA": 0.8}
ctx = data.get("context", {})
print(f"# {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, {ctx.get('date', '')}; "
      "ratio = bare CPU time / verify CPU time (medians of the interleaved repetitions)")
print()
print("| alg | bare (ns) | verify (ns) | ratio | target | |")
print("|---|---:|---:|---:|---:|---|")
order = ["HS256", "RS256", "PS256", "ES256", "EdDSA", "HS384", "HS512", "RS384", "RS512",
         "PS384", "PS512", "ES384", "ES512"]
names = {n[len("BM_Bare"):] for n in times if n.startswith("BM_Bare")}
for name in sorted(names, key=lambda a: order.index(a) if a in order else len(order)):
    bare, verify = times.get("BM_Bare" + name), times.get("BM_Verify" + name)
    if bare is None or verify is None:
        continue
    ratio = bare / verify
    target = targets.get(name)
    mark = "" if target is None else ("ok" if ratio >= target else "MISSED")
    print(f"| {name} | {bare:.0f} | {verify:.0f} | {ratio:.2f} | {'' if target is None else f'{target:.1f}'} | {mark} |")
sys.exit(0)
PY
