#!/usr/bin/env bash
# Valgrind memcheck over the plain (uninstrumented) unit test binary: every GoogleTest case,
# including the Wycheproof and RFC vector suites, with definite leaks counted as errors.
# test/valgrind.supp holds suppressions, each checked to be a false positive inside
# libcrypto (see the file; it may be empty of entries).
#
# Environment:
#   ROWGUARD_VALGRIND_FILTER  gtest filter (default "*": the whole suite, about 2-3 minutes
#                             on 2 cores; see docs/testing.md for the figures)
#   ROWGUARD_JOBS             build parallelism when build/ must be built (default 2)
# Needs no server. Exit 0 when valgrind reports no error and every test passes.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
BIN=$ROOT/build/rowguard_unit_tests
FILTER=${ROWGUARD_VALGRIND_FILTER:-*}

command -v valgrind >/dev/null || { echo "valgrind: not installed (Debian package valgrind)" >&2; exit 1; }

if [[ ! -x "$BIN" ]]; then
  echo "valgrind: $BIN missing: building build/"
  cmake -S . -B build -DROWGUARD_BENCHMARKS=OFF >/dev/null
  cmake --build build -j "${ROWGUARD_JOBS:-2}" --target rowguard_unit_tests
fi

LOG=$(mktemp /tmp/rowguard-valgrind.XXXXXX)
trap 'rm -f "$LOG"' EXIT
echo "valgrind: $(valgrind --version) over $BIN --gtest_filter='$FILTER'"
start=$SECONDS
rc=0
valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
  --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes \
  --num-callers=30 --suppressions="$ROOT/test/valgrind.supp" --log-file="$LOG" \
  "$BIN" --gtest_filter="$FILTER" --gtest_brief=1 || rc=$?
elapsed=$((SECONDS - start))

summary=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|suppressed:' "$LOG" | sed 's/^==[0-9]*== *//')
echo "$summary"
if ((rc != 0)); then
  echo "valgrind: FAILED (exit $rc) after ${elapsed}s; valgrind log:" >&2
  cat "$LOG" >&2
  exit 1
fi
echo "valgrind: ok, no memcheck error and every test passed, ${elapsed}s"
