#!/usr/bin/env bash
# Server CPU per new connection that loads rowguard (issue 16): pgbench -C (a new,
# not preloaded backend per transaction) runs `SELECT rowguard.is_authenticated()`, which
# loads rowguard.so and nothing else; the CPU is the postmaster's cutime + cstime
# (/proc/PID/stat fields 16 and 17: its exited children, the backends) over the run,
# divided by the transactions. Two builds of rowguard.so alternate in one cluster (the
# file is swapped between runs; a new backend maps whatever is installed), and the
# medians are printed.
#
#   test/bench/connection_cpu.sh BEFORE.so AFTER.so    (BENCH_T seconds per run [4],
#                                                      BENCH_ROUNDS [3])
# Installs into `pg_config --pkglibdir` (use a private PostgreSQL) and puts AFTER.so back
# at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
BEFORE=${1:?BEFORE.so}; AFTER=${2:?AFTER.so}
T=${BENCH_T:-4}; ROUNDS=${BENCH_ROUNDS:-3}
LIB=$(pg_config --pkglibdir)
PORT=""
cleanup() {
  install -m 755 "$AFTER" "$LIB/rowguard.so.bench" && mv -f "$LIB/rowguard.so.bench" "$LIB/rowguard.so"
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  rm -f "${SQL:-}"
}
trap cleanup EXIT
PORT=$(pick_port "${ROWGUARD_BENCH_PORT:-55432}")
start_cluster "$PORT" >/dev/null
psql_as postgres -q -c "CREATE EXTENSION rowguard" >/dev/null
SQL=$(mktemp /tmp/rowguard-connection-cpu-XXXXXX.sql)
echo 'SELECT rowguard.is_authenticated();' >"$SQL"
chmod 644 "$SQL"
postmaster=$(head -n1 "$(cluster_data "$PORT")/postmaster.pid")
hz=$(getconf CLK_TCK)
children_ticks() { awk '{print $16 + $17}' "/proc/$postmaster/stat"; }

run() { # run LIBRARY -> microseconds of server CPU per connection
  install -m 755 "$1" "$LIB/rowguard.so.bench" && mv -f "$LIB/rowguard.so.bench" "$LIB/rowguard.so"
  local before after tx
  before=$(children_ticks)
  tx=$(pgbench -n -C -c 1 -T "$T" -f "$SQL" -h "$PGHOST" -p "$PORT" -U postgres postgres 2>/dev/null |
    awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)
  sleep 0.5   # the last backend exits
  after=$(children_ticks)
  awk -v t="$((after - before))" -v n="$tx" -v hz="$hz" 'BEGIN { printf "%.0f %d\n", t * 1e6 / hz / n, n }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
b=(); a=()
for ((i = 1; i <= ROUNDS; ++i)); do
  read -r us n < <(run "$BEFORE"); b+=("$us"); echo "round $i  before: $us us/connection ($n connections)"
  read -r us n < <(run "$AFTER"); a+=("$us"); echo "round $i  after:  $us us/connection ($n connections)"
done
mb=$(printf '%s\n' "${b[@]}" | median); ma=$(printf '%s\n' "${a[@]}" | median)
echo "median before: $mb us, after: $ma us, saved: $((mb - ma)) us of server CPU per new connection"
