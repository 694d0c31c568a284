#!/usr/bin/env bash
# Server CPU per new preloaded connection with and without the shared key store (issue
# 26): one cluster with shared_preload_libraries = 'rowguard', the fixture keys plus
# BENCH_KEYS ES256 keys, an issuer rule and a role binding; pgbench -C (a new backend per
# transaction) runs `SELECT rowguard.verify(<ES256 token>) ->> 'sub'`. The cluster is
# restarted between runs with rowguard.shared_key_store_size = 0 (off: the tables are
# read as in 0.2.0) and the default (on), alternating; the CPU is the postmaster's
# cutime + cstime over the run (its exited children, the backends) divided by the
# connections, as in test/bench/connection_cpu.sh. Medians are printed.
#
#   test/bench/shared_key_store_ab.sh     (BENCH_T seconds per run [4], BENCH_ROUNDS [3],
#                                         BENCH_KEYS extra keys [10000])
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
T=${BENCH_T:-4}; ROUNDS=${BENCH_ROUNDS:-3}; NKEYS=${BENCH_KEYS:-10000}
PORT=""
SQL=""
cleanup() {
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  rm -f "$SQL"
}
trap cleanup EXIT
PORT=$(pick_port "${ROWGUARD_BENCH_PORT:-55432}")
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" >/dev/null
DATA=$(cluster_data "$PORT")
psql_as postgres -q >/dev/null <<SQL
\set ON_ERROR_STOP 1
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256'), rowguard.add_key(:'jwk_es256_pub');
SELECT count(rowguard.add_key(jsonb_set(jwk, '{kid}', to_jsonb('bulk-' || g))))
  FROM rowguard.keys, generate_series(1, $NKEYS) g WHERE kid = 'es256-key';
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests']);
CREATE ROLE bench_reader NOLOGIN;
SELECT rowguard.allow_role('bench_reader');
SQL
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bob_es256"])' test/fixtures/tokens.json)
SQL=$(mktemp /tmp/rowguard-shared-store-XXXXXX.sql)
echo "SELECT rowguard.verify('$TOKEN') ->> 'sub';" >"$SQL"
chmod 644 "$SQL"
hz=$(getconf CLK_TCK)

restart_with() { # restart_with SIZE
  as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 -m fast \
    -o "-c rowguard.shared_key_store_size=$1" restart >/dev/null
  postmaster=$(head -n1 "$DATA/postmaster.pid")
  # One connection first: the snapshot is built (size on) before the measured run.
  psql_as postgres -Atqc "SELECT rowguard.verify('$TOKEN') ->> 'sub'" >/dev/null
  sleep 0.5
}
run() { # run SIZE -> microseconds of server CPU per connection, connections
  restart_with "$1"
  local before after tx
  before=$(awk '{print $16 + $17}' "/proc/$postmaster/stat")
  tx=$(pgbench -n -C -c 1 -T "$T" -f "$SQL" -h "$PGHOST" -p "$PORT" -U postgres postgres 2>/dev/null |
    awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)
  sleep 0.5
  after=$(awk '{print $16 + $17}' "/proc/$postmaster/stat")
  awk -v t="$((after - before))" -v n="$tx" -v hz="$hz" 'BEGIN { printf "%.0f %d\n", t * 1e6 / hz / n, n }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
off=(); on=()
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= ROUNDS; ++i)); do
  read -r us n < <(run 0); off+=("$us"); echo "round $i  store off: $us us/connection ($n connections)"
  read -r us n < <(run 8MB); on+=("$us"); echo "round $i  store on:  $us us/connection ($n connections)"
done
mo=$(printf '%s\n' "${off[@]}" | median); mn=$(printf '%s\n' "${on[@]}" | median)
echo "median store off: $mo us, on: $mn us of server CPU per new preloaded connection"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
