#!/usr/bin/env bash
# Run every rowguard test suite: unit tests (plain and ASan/UBSan), pg_regress against a
# throwaway cluster, and every executable test/integration/*.sh in order, on this machine's
# PostgreSQL 15; then the version matrix (scripts/test-matrix.sh: build, installcheck and
# the integration scripts it lists on PostgreSQL 17, 18 and 19, each in a Debian root).
# Ends with one summary for all versions: every suite with its seconds, where the rest of
# the time went (setup, waiting for the Debian roots) and the total, then a line
# "N passed, M failed" (suites); exits non-zero if anything failed. The extension is built
# with ROWGUARD_WERROR=1 and the unit tests with -DROWGUARD_WERROR=ON: a compiler warning
# in rowguard's code fails the run, and so does a skipped unit test.
#
# Environment:
#   ROWGUARD_TEST_PORT   port of the throwaway cluster (default: first free from 54329)
#   ROWGUARD_JOBS        build parallelism (default 2)
#   ROWGUARD_SKIP_ASAN=1 skip the sanitizer tree (local quick runs; CI never sets it)
#   ROWGUARD_SUITE_TIMEOUT  seconds one integration script may take (default 3600: a
#                        deadline against a hang, far above the slowest suite, package.sh
#                        on a fresh machine, which makes its clean root first)
#   ROWGUARD_KEEP_CLUSTER=1 leave the cluster directory (and server log) behind
#   ROWGUARD_MATRIX="17 18 19"  versions of the matrix (default: all scripts/pg-roots.sh knows)
#   ROWGUARD_SKIP_MATRIX=1  skip the version matrix (local quick runs; CI never sets it)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export ROWGUARD_ROOT="$ROOT"
JOBS=${ROWGUARD_JOBS:-2}
START=$SECONDS

# The suites' servers listen on ports 54300-56199 (scripts/pg-cluster.sh's pick_port and the
# scripts' own start ports). An outgoing connection that the kernel gives one of those as its
# local (ephemeral) port makes a server's bind fail although nothing listens there, which
# pick_port cannot see in advance. Reserving the range keeps the kernel from choosing it for
# outgoing connections (explicit binds are unaffected); as root only, and only widened.
if [[ $(id -u) -eq 0 && -w /proc/sys/net/ipv4/ip_local_reserved_ports ]]; then
  reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
  echo "${reserved:+$reserved,}54300-56199" > /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null ||
    echo "note: could not reserve ports 54300-56199 for the test servers" >&2
fi

passed=0
failed=0
results=()
notes=()
suite_seconds=0   # the sum of the suites' seconds (the summary says where the rest went)
setup_seconds=0
roots_wait_seconds=0

section() { printf '\n==== %s ====\n' "$*"; }
record() { # record NAME STATUS SECONDS
  suite_seconds=$((suite_seconds + $3))
  if [[ $2 == 0 ]]; then
    passed=$((passed + 1)); results+=("PASS  $1 (${3}s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $1 (${3}s)")
  fi
}

section "setup"
t0=$SECONDS
if ! bash scripts/setup.sh; then
  echo "setup failed: cannot run the tests" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
setup_seconds=$((SECONDS - t0))

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
reap_clusters

# --- version matrix roots: built or refreshed in the background while the suites on this
# machine's PostgreSQL run (downloading and unpacking overlap the builds); the matrix at
# the end waits for them. Each builder runs in its own session so it can be stopped.
roots_pids=()
roots_logs=""
if [[ "${ROWGUARD_SKIP_MATRIX:-0}" != 1 ]]; then
  roots_logs=$(mktemp -d)
  for v in ${ROWGUARD_MATRIX:-$(bash scripts/pg-roots.sh --list)}; do
    setsid bash scripts/pg-roots.sh "$v" > "$roots_logs/pg$v.log" 2>&1 < /dev/null &
    roots_pids+=($!)
  done
fi
stop_root_builders() {
  local pid
  for pid in "${roots_pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null
  done
  roots_pids=()
  [[ -n "$roots_logs" ]] && rm -rf "$roots_logs"
  roots_logs=""
}
trap stop_root_builders EXIT

# --- unit tests ---------------------------------------------------------------------------
run_ctest() { # run_ctest NAME BUILD_DIR cmake-args...
  local name=$1 dir=$2 t0=$SECONDS rc=0
  shift 2
  section "$name: configure + build ($dir)"
  if cmake -S . -B "$dir" "$@"; then
    if cmake --build "$dir" -j "$JOBS"; then
      section "$name: ctest"
      ctest --test-dir "$dir" --output-on-failure -j "$JOBS" 2>&1 | tee "$dir/ctest.log"
      rc=${PIPESTATUS[0]}
      # Tests that need the third-party vectors skip when their directory is absent
      # (ROWGUARD_VECTORS_DIR, default shared/vectors beside the checkout; docs/testing.md). The vectors'
      # terms keep them out of the repository, so a plain clone without shared/ beside it skips
      # them and says so; in CI (CI=true), or when the directory is there, a skipped test
      # tested nothing and fails the suite.
      local skipped vectors_dir
      skipped=$(grep -c '\*\*\*Skipped' "$dir/ctest.log" || true)
      vectors_dir=${ROWGUARD_VECTORS_DIR:-$(dirname "$ROOT")/shared/vectors}
      notes+=("NOTE  $name: $skipped tests skipped")
      if ((skipped > 0)); then
        if [[ "${CI:-}" == true || -d "$vectors_dir" ]]; then
          echo "$name: $skipped tests skipped although the vectors should be in $vectors_dir" >&2
          rc=1
        else
          notes+=("NOTE  $name: no vectors in $vectors_dir (shared/vectors beside the checkout, or ROWGUARD_VECTORS_DIR): $skipped tests skipped")
        fi
      fi
    else
      echo "$name: build failed" >&2; rc=1
    fi
  else
    echo "$name: cmake configure failed" >&2; rc=1
  fi
  record "$name" "$rc" $((SECONDS - t0))
}

run_ctest "ctest" build -DROWGUARD_WERROR=ON
if [[ "${ROWGUARD_SKIP_ASAN:-0}" == 1 ]]; then
  echo "ROWGUARD_SKIP_ASAN=1: sanitizer tree skipped"
else
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_ctest "ctest-asan" build-asan -DROWGUARD_SANITIZE=ON -DROWGUARD_WERROR=ON
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# --- extension: build, install, regress-file check, installcheck --------------------------
PORT=""
cleanup() {
  if [[ -n "$PORT" ]]; then
    stop_cluster "$PORT"
    PORT=""
  fi
}
trap 'cleanup; stop_root_builders' EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

print_server_log() {
  local log
  log=$(cluster_log "$PORT")
  [[ -f "$log" ]] && { echo "--- last lines of $log ---"; tail -n 40 "$log"; }
}

t0=$SECONDS
rc=0
section "extension: make -f Makefile.pgxs clean all install (ROWGUARD_WERROR=1)"
if make -f Makefile.pgxs clean >/dev/null &&
   make -f Makefile.pgxs -j "$JOBS" all ROWGUARD_WERROR=1 &&
   make -f Makefile.pgxs install >/dev/null; then
  echo "installed into $(pg_config --pkglibdir) and $(pg_config --sharedir)/extension"
else
  echo "extension build/install failed" >&2; rc=1
fi

section "check-regress-files"
bash scripts/check-regress-files.sh || rc=1

section "cluster"
if PORT=$(pick_port "${ROWGUARD_TEST_PORT:-54329}") && start_cluster "$PORT"; then
  cluster_ok=1
else
  echo "could not start the test cluster" >&2
  cluster_ok=0; rc=1
fi

section "installcheck"
if ((rc != 0)); then
  echo "installcheck not run: the steps above failed"
else
  rm -rf results regression.diffs regression.out
  if ! touch "$ROOT/.installcheck-probe" 2>/dev/null; then
    echo "pg_regress cannot write its results into $ROOT" >&2; rc=1
  else
    rm -f "$ROOT/.installcheck-probe"
    if ! make -f Makefile.pgxs installcheck PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres; then
      rc=1
      if [[ -f regression.diffs ]]; then
        echo "--- regression.diffs ---"
        cat regression.diffs
      fi
      print_server_log
    fi
  fi
fi
record "installcheck" "$rc" $((SECONDS - t0))

# --- integration suites -------------------------------------------------------------------
if [[ -d test/integration ]]; then
  shopt -s nullglob
  for script in test/integration/*.sh; do
    [[ -x "$script" ]] || { echo "skipping $script: not executable"; continue; }
    name="integration/$(basename "$script" .sh)"
    section "$name"
    t0=$SECONDS
    if ((cluster_ok)); then
      PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres PGDATABASE=postgres PGBIN="$PGBIN" \
        ROWGUARD_ROOT="$ROOT" \
        timeout --kill-after=30 "${ROWGUARD_SUITE_TIMEOUT:-3600}" "$script" </dev/null
      src=$?
      ((src == 124)) && echo "$name: timed out after ${ROWGUARD_SUITE_TIMEOUT:-3600}s" >&2
    else
      echo "$name: not run, no cluster" >&2; src=1
    fi
    record "$name" "$src" $((SECONDS - t0))
    reap_clusters  # servers a crashed or timed-out suite left behind
  done
fi

cleanup

# --- version matrix: PostgreSQL 17, 18, 19 in Debian roots --------------------------------
if [[ "${ROWGUARD_SKIP_MATRIX:-0}" == 1 ]]; then
  echo "ROWGUARD_SKIP_MATRIX=1: version matrix skipped"
else
  section "version matrix"
  if ((${#roots_pids[@]})); then
    echo "waiting for the Debian roots built in the background..."
    t0=$SECONDS
    wait "${roots_pids[@]}"
    roots_wait_seconds=$((SECONDS - t0))
    roots_pids=()
    cat "$roots_logs"/*.log
  fi
  matrix_results=$(mktemp)
  # shellcheck disable=SC2086
  ROWGUARD_MATRIX_RESULTS="$matrix_results" bash scripts/test-matrix.sh ${ROWGUARD_MATRIX:-}
  mrc=$?
  while read -r status name secs; do
    if [[ $status == PASS ]]; then record "$name" 0 "$secs"; else record "$name" 1 "$secs"; fi
  done < "$matrix_results"
  # A matrix that failed without recording any failed suite still fails the run.
  if ((mrc != 0)) && ! grep -q '^FAIL ' "$matrix_results"; then record "matrix" "$mrc" 0; fi
  rm -f "$matrix_results"
fi

total=$((SECONDS - START))
section "summary (${total}s)"
printf '%s\n' "${results[@]}"
((${#notes[@]} == 0)) || printf '%s\n' "${notes[@]}"
echo "TIME  suites ${suite_seconds}s, setup ${setup_seconds}s," \
  "waiting for the Debian roots ${roots_wait_seconds}s," \
  "other $((total - suite_seconds - setup_seconds - roots_wait_seconds))s; total ${total}s" \
  "($((total / 60)) min $((total % 60)) s)"
echo "$passed passed, $failed failed"
((failed == 0))
