#!/usr/bin/env bash
# The SQL benchmarks in smoke mode (a few seconds): the command runs end to end and the
# protected plans use the tenant index (and the primary key for point lookups). Timing is
# printed, never asserted: CI machines are shared and noisy.
set -uo pipefail
ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
exec bash "$ROOT/scripts/bench.sh" --smoke
