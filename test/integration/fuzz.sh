#!/usr/bin/env bash
# libFuzzer over the core: fuzz_verify (token parse + verify + claims), fuzz_jwk (JWK and
# JWK Set parsing) and fuzz_oauth_login (the OAuth sign-in checks, what an unauthenticated
# client sends at login), each built with clang-14 and ASan + UBSan (tree build-fuzz,
# CMake option ROWGUARD_FUZZ=ON) and run for a bounded time from the committed seed corpus. Any crash,
# leak or sanitizer report makes libFuzzer exit non-zero, and so this script.
#
# Environment:
#   ROWGUARD_FUZZ_SECONDS  seconds per target (default 45)
#   ROWGUARD_FUZZ_JOBS     build parallelism (default ROWGUARD_JOBS or 2)
#   ROWGUARD_FUZZ_KEEP=1   keep the work corpus and logs (printed at the end)
# Needs no server. Reproduce a failure with: build-fuzz/fuzz_verify <crash file>
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
SECONDS_PER_TARGET=${ROWGUARD_FUZZ_SECONDS:-45}
JOBS=${ROWGUARD_FUZZ_JOBS:-${ROWGUARD_JOBS:-2}}
BUILD=$ROOT/build-fuzz
CXX=${ROWGUARD_FUZZ_CXX:-clang++-14}

command -v "$CXX" >/dev/null || { echo "fuzz: $CXX not found (Debian package clang-14)" >&2; exit 1; }

echo "fuzz: building fuzz_verify, fuzz_jwk and fuzz_oauth_login in $BUILD with $CXX"
cmake -S . -B "$BUILD" -DROWGUARD_FUZZ=ON -DCMAKE_CXX_COMPILER="$CXX" \
  -DROWGUARD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"/tmp/rowguard-fuzz-cmake.$$.log" 2>&1 ||
  { cat "/tmp/rowguard-fuzz-cmake.$$.log" >&2; rm -f "/tmp/rowguard-fuzz-cmake.$$.log"; exit 1; }
rm -f "/tmp/rowguard-fuzz-cmake.$$.log"
cmake --build "$BUILD" -j "$JOBS" --target fuzz_verify fuzz_jwk fuzz_oauth_login

WORK=$(mktemp -d /tmp/rowguard-fuzz.XXXXXX)
cleanup() { [[ "${ROWGUARD_FUZZ_KEEP:-0}" == 1 ]] && echo "fuzz: kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
total=0
run_target() { # run_target NAME MAX_LEN [extra libFuzzer flags...]
  local name=$1 max_len=$2 rc=0 execs
  shift 2
  mkdir -p "$WORK/$name/corpus" "$WORK/$name/artifacts"
  echo "fuzz: $name for ${SECONDS_PER_TARGET}s (-max_len=$max_len)"
  # New inputs go to the work corpus (first directory); the committed seeds are only read.
  "$BUILD/$name" "$WORK/$name/corpus" "$ROOT/test/fuzz/corpus/${name#fuzz_}" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$name/artifacts/" "$@" \
    >"$WORK/$name/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$WORK/$name/log" | tail -n 1)
  grep -E '^(INFO: (seed corpus|[0-9]+ files found)|#[0-9]+[[:space:]]+DONE|stat::)' "$WORK/$name/log" || true
  if ((rc != 0)) || [[ -z "$execs" ]] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$WORK/$name/log"; then
    echo "fuzz: $name FAILED (exit $rc); last lines of its log:" >&2
    tail -n 60 "$WORK/$name/log" >&2
    ls "$WORK/$name/artifacts" >&2 || true
    mkdir -p "$BUILD/artifacts"
    cp -r "$WORK/$name/artifacts/." "$BUILD/artifacts/" 2>/dev/null || true
    echo "fuzz: reproducers copied to $BUILD/artifacts/ (run $BUILD/$name FILE)" >&2
    status=1
  else
    echo "fuzz: $name passed: $execs executions, $(ls "$WORK/$name/corpus" | wc -l) new corpus inputs"
    total=$((total + execs))
  fi
}

run_target fuzz_verify 17000
run_target fuzz_jwk 8192 -dict="$ROOT/test/fuzz/jwk.dict"
run_target fuzz_oauth_login 17000

if ((status == 0)); then
  echo "fuzz: ok, $total executions in all"
fi
exit $status
