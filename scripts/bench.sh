#!/usr/bin/env bash
# SQL benchmarks of rowguard (issue 6): starts its own PostgreSQL 15 cluster, loads data,
# runs pgbench -M prepared comparisons in alternating A/B pairs and prints a table of
# throughput ratios (A/B, median of the pairs) with the issue's targets.
#
#   scripts/bench.sh            full run (1,000,000-row tables, 10,000,000 rows for growth;
#                               about 15 minutes on 2 cores)
#   scripts/bench.sh --smoke    a few seconds: small tables, one pair of 200 transactions per comparison,
#                               growth skipped; checks the plans use the tenant index and
#                               exits non-zero when they do not. Timing is reported, never
#                               asserted.
#
# Environment (full mode defaults in brackets):
#   BENCH_T        seconds per pgbench run [5]        BENCH_PAIRS   A/B pairs [5]
#   BENCH_ROWS     rows of the main table [1000000]   BENCH_BIG     rows of the growth table [10000000]
#   BENCH_TOKENS   distinct tokens per algorithm [1000]   BENCH_T4  seconds per case-4 run [3]
#   BENCH_CLIENTS  pgbench clients [1]                BENCH_TX  transactions per run in --smoke [200]
#   BENCH_KEYS     keys added for the new-connection comparisons N2/N3b [10000; --smoke 1000]
#   BENCH_ALGS     algorithms of case 4 (space separated) [all 13; --smoke HS256 RS256 ES256 EdDSA]
#   BENCH_CONNECT_TX  transactions per new-connection run in --smoke [50]
#   BENCH_REVOCATIONS rows in rowguard.revocations during the pooled comparisons [1000000;
#                  --smoke 1000]; with them role binding (rowguard.role_binding_claim =
#                  'role', bench_user allowed) and the preload (cluster-wide stats) are on
#   BENCH_ONLY     a regular expression: run only the comparisons whose id matches
#                  (e.g. '^N' for the new-connection ones, '^(1|2|3)$', '^4$'); plans always
#   BENCH_OUT      directory for the plans, the raw pgbench figures and the table
#                  [/tmp/rowguard-bench-<pid>]
#   BENCH_CORE     the core benchmark binary, for the bare OpenSSL primitives of case 4
#                  [build/rowguard_bench]
#   ROWGUARD_KEEP_CLUSTER=1  leave the cluster running (and its directory) afterwards
#
# Needs the extension installed (make -f Makefile.pgxs install) and, for case 4's bare
# primitive, build/rowguard_bench (cmake -S . -B build && cmake --build build).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SQL=test/bench/sql

MODE=full
for arg in "$@"; do
  case $arg in
    --smoke) MODE=smoke ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

if [[ $MODE == smoke ]]; then
  T=${BENCH_T:-1}; PAIRS=${BENCH_PAIRS:-1}; ROWS=${BENCH_ROWS:-20000}; BIG=0
  TX=${BENCH_TX:-200}   # smoke: a fixed number of transactions per run instead of -T
  NTOK=${BENCH_TOKENS:-20}; ALGS=(HS256 RS256 ES256 EdDSA); SHARED_BUFFERS=128MB
  NKEYS=${BENCH_KEYS:-1000}; CONNECT_TX=${BENCH_CONNECT_TX:-50}
  NREVOKED=${BENCH_REVOCATIONS:-1000}
else
  T=${BENCH_T:-5}; PAIRS=${BENCH_PAIRS:-5}; ROWS=${BENCH_ROWS:-1000000}
  BIG=${BENCH_BIG:-10000000}; NTOK=${BENCH_TOKENS:-1000}
  ALGS=(RS256 PS256 ES256 EdDSA HS256 HS384 HS512 RS384 RS512 PS384 PS512 ES384 ES512)
  SHARED_BUFFERS=2GB
  NKEYS=${BENCH_KEYS:-10000}; CONNECT_TX=""
  NREVOKED=${BENCH_REVOCATIONS:-1000000}
fi
ONLY=${BENCH_ONLY:-}
want() { [[ -z "$ONLY" || "$1" =~ $ONLY ]]; }
# shellcheck disable=SC2206
[[ -n "${BENCH_ALGS:-}" ]] && ALGS=($BENCH_ALGS)
CONNECT=""                   # "-C" while the new-connection comparisons run
CLIENTS=${BENCH_CLIENTS:-1}
TX=${TX:-}
T4=${BENCH_T4:-$([[ $MODE == smoke ]] && echo 1 || echo 3)}
BATCH=$([[ $MODE == smoke ]] && echo 10 || echo 100)   # tokens per statement, case 4 batched
OUT=${BENCH_OUT:-/tmp/rowguard-bench-$$}
CORE=${BENCH_CORE:-build/rowguard_bench}
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv     # kind  id  pair  label  tpsA  tpsB  (or: single id rep label tps)
: > "$RESULTS"
PLAN_FAILURES=0
TENANT_N=7                   # the identity's tenant in every table

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
reap_clusters
PORT=""
cleanup() { [[ -n "$PORT" ]] && stop_cluster "$PORT"; PORT=""; }
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

echo "rowguard SQL benchmarks, mode $MODE: ${T}s per run, $PAIRS pair(s), $CLIENTS client(s), out $OUT"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), " \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

PORT=$(pick_port "${ROWGUARD_BENCH_PORT:-55432}")
start_cluster "$PORT" "shared_buffers = $SHARED_BUFFERS" "maintenance_work_mem = 512MB" \
  "max_parallel_workers_per_gather = 2" "max_wal_size = 4GB" "checkpoint_timeout = 30min" \
  "autovacuum = off" "shared_preload_libraries = 'rowguard'"
PGVERSION=$(psql_as postgres -Atc 'SHOW server_version')
PM=$(head -1 "$(cluster_data "$PORT")/postmaster.pid")

# --- data ---------------------------------------------------------------------------------
t0=$(now)
psql_as postgres -v ntokens="$NTOK" -f "$SQL/setup.sql" >/dev/null
echo "setup + $NTOK tokens per algorithm x 13: $(elapsed "$t0") s"
make_table() { # make_table NAME ROWS TENANTS POLICY
  local t1; t1=$(now)
  psql_as postgres -c "SELECT bench.make_table('$1', $2, $3, '$4')" >/dev/null 2>"$OUT/load-$1.err" ||
    { cat "$OUT/load-$1.err" >&2; return 1; }
  echo "load bench.$1: $2 rows, $3 tenants, policy $4: $(elapsed "$t1") s"
}
make_table orders "$ROWS" 100 rowguard
make_table orders_pgrst "$ROWS" 100 postgrest
if ((BIG > 0)); then
  make_table g_small 100000 100 rowguard
  make_table g_big "$BIG" 100 rowguard
  make_table t_few "$ROWS" 10 rowguard
  make_table t_many "$ROWS" 10000 rowguard
fi
# Everything 0.2.0 adds, switched on for the pooled comparisons and case 4 (issue 16): a
# large revocation list (none of it matches the benchmark's tokens, so every verification
# and every cache hit probes it), role-bound tokens (the claims' "role": "bench_user", a
# NOLOGIN role: bench_app logs in, the token makes bench_user the current role), the
# preload (rowguard.stats() counted cluster-wide) and log_identity off (its default).
t1=$(now)
psql_as postgres -v n="$NREVOKED" >/dev/null <<'SQL'
\set ON_ERROR_STOP 1
INSERT INTO rowguard.revocations (jti, issuer)
  SELECT 'revoked-' || g, 'https://issuer.example' FROM generate_series(1, :n * 9 / 10) g;
INSERT INTO rowguard.revocations (sub, issuer, issued_before)
  SELECT 'revoked-subject-' || g, NULL, now() FROM generate_series(1, :n - :n * 9 / 10) g;
SELECT rowguard.allow_role('bench_user');
ALTER DATABASE postgres SET rowguard.role_binding_claim = 'role';
SQL
echo "0.2.0 features: $(psql_as postgres -Atc 'SELECT count(*) FROM rowguard.revocations') revocations," \
  "role binding on, preloaded, log_identity $(psql_as bench_app -Atc 'SHOW rowguard.log_identity'):" \
  "$(elapsed "$t1") s"
t1=$(now)
psql_as postgres -c 'VACUUM ANALYZE' >/dev/null
psql_as postgres -c 'CREATE EXTENSION pg_prewarm' \
  -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'bench' AND c.relkind IN ('r', 'i')" >/dev/null
echo "vacuum analyze + prewarm: $(elapsed "$t1") s; database $(psql_as postgres -Atc \
  "SELECT pg_size_pretty(pg_database_size(current_database()))")"

TENANT=$(psql_as postgres -Atc "SELECT bench.tenant_uuid($TENANT_N)")
TOKEN=$(psql_as postgres -Atc "SELECT rowguard.sign(bench.claims($TENANT_N, 'session'), 'rs256-key')")
TOKEN_ES=$(psql_as postgres -Atc "SELECT rowguard.sign(bench.claims($TENANT_N, 'session'), 'es256-key')")
CLAIMS=$(psql_as postgres -Atc "SELECT bench.claims($TENANT_N, 'session')::text")

# --- pgbench ------------------------------------------------------------------------------
# script NAME TABLE [ALG]: the pgbench script with its placeholders filled in.
script() {
  local f="$OUT/$1-${2//./_}${3:+-$3}.pgbench"
  sed -e "s/@TABLE@/$2/g" -e "s/@TENANT@/$TENANT/g" -e "s/@ALG@/${3:-}/g" "$SQL/$1.pgbench" > "$f"
  echo "$f"
}
rows_of() { psql_as postgres -Atc "SELECT count(*) FROM $1"; }
tenants_of() { psql_as postgres -Atc "SELECT count(DISTINCT tenant_id) FROM $1"; }

# Server CPU time, in clock ticks, of the cluster's exited processes: the postmaster's
# cutime + cstime. A pgbench backend (and every parallel worker) exits when its run ends,
# so the difference across a run is the server CPU the run used, whatever else the
# machine is doing; wall-clock tps on a shared 2-core machine is not that robust.
children_cpu() {
  local s; s=$(< "/proc/${PM:?}/stat"); s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${14} + ${15} ))   # fields 16 and 17 of stat(5); $1 is field 3
}
# Until the postmaster has no children but its long-lived ones (BASE_CHILDREN): a backend
# is counted in cutime only once the postmaster has reaped it, and an exiting backend has
# no command line any more, so match on PIDs, not names.
children() { pgrep -P "$PM" | sort | tr '\n' ' '; }
wait_backends_gone() {
  local i pid extra
  for i in $(seq 1 200); do
    extra=0
    for pid in $(children); do [[ " $BASE_CHILDREN " == *" $pid "* ]] || extra=1; done
    ((extra == 0)) && return 0
    sleep 0.05
  done
  echo "bench: backends of the last run still alive after 10 s" >&2
}
sleep 1; BASE_CHILDREN=$(children)   # checkpointer, walwriter, ...: no client is connected now
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))

# tps ROLE SCRIPT TABLE [ALG] [PGOPTIONS] [PER:NT]: one pgbench run (T seconds); prints its tps and
# the server CPU time per transaction in microseconds.
tps() {
  local role=$1 file table=$3 nt per log T=$T c0 c1 n
  [[ $table == bench.tokens ]] && T=$T4
  file=$(script "$2" "$3" "${4:-}")
  nt=${NT[$table]}; per=$(( ${NROWS[$table]} / nt ))
  if [[ -n "${6:-}" ]]; then per=${6%%:*}; nt=${6##*:}; fi   # looked-up ids: (0..per-1) * nt + t
  log="$OUT/pgbench.log"
  wait_backends_gone
  c0=$(children_cpu)
  local duration=(-T "$T"); [[ -n "$TX" ]] && duration=(-t "$TX")
  [[ -n "$CONNECT" && -n "$CONNECT_TX" ]] && duration=(-t "$CONNECT_TX")
  # shellcheck disable=SC2086
  if ! PGOPTIONS="${5:-}" "$PGBIN/pgbench" -n -M prepared $CONNECT -c "$CLIENTS" -j "$CLIENTS" "${duration[@]}" \
      -U "$role" -D inited=0 -D tok="$TOKEN" -D tok_es="$TOKEN_ES" -D claims="$CLAIMS" -D nt="$nt" -D per="$per" \
      -D t="$TENANT_N" -D win=$(( per * 3 / 10 )) -D ntokens="$NTOK" -D batch="$BATCH" -f "$file" postgres \
      > "$log.out" 2> "$log.err"; then
    { echo "pgbench $role $file failed:"; tail -n 20 "$log.err"; } >&2
    return 1
  fi
  wait_backends_gone
  c1=$(children_cpu)
  n=$(awk '/number of transactions actually processed/ { print $NF }' "$log.out")
  n=${n%%/*}
  echo "$(grep -m1 -E '^tps = ' "$log.out" | awk '{ print $3 }')" \
    "$(awk -v d=$(( c1 - c0 )) -v t="$TICK_US" -v n="$n" 'BEGIN { printf "%.2f", d * t / n }')"
}

declare -A NT NROWS
register() { NT[$1]=$(tenants_of "$1"); NROWS[$1]=$(rows_of "$1"); }
register bench.orders
register bench.orders_pgrst
if ((BIG > 0)); then
  register bench.g_small; register bench.g_big; register bench.t_few; register bench.t_many
fi

# pair ID LABEL "ROLE SCRIPT TABLE [ALG] [PGOPTIONS]" "same for B": PAIRS alternating pairs
# (AB, BA, AB, ...), each recorded with tps and server CPU per transaction of both sides.
pair() {
  local id=$1 label=$2 a=$3 b=$4 i ta tb ca cb
  want "$id" || return 0
  for ((i = 1; i <= PAIRS; i++)); do
    if ((i % 2 == 1)); then
      read -r ta ca < <(eval "tps $a"); read -r tb cb < <(eval "tps $b")
    else
      read -r tb cb < <(eval "tps $b"); read -r ta ca < <(eval "tps $a")
    fi
    printf 'pair\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$id" "$i" "$label" "$ta" "$tb" "$ca" "$cb" >> "$RESULTS"
    printf '  %-4s pair %d: A %9.1f tps %8.1f us CPU/tx   B %9.1f tps %8.1f us CPU/tx   A/B tps %.3f  CPU B/A %.3f\n' \
      "$id" "$i" "$ta" "$ca" "$tb" "$cb" "$(awk -v a="$ta" -v b="$tb" 'BEGIN { print a / b }')" \
      "$(awk -v a="$ca" -v b="$cb" 'BEGIN { print b / a }')"
  done
}

# --- plans --------------------------------------------------------------------------------
# explain NAME ROLE SQL...: EXPLAIN (ANALYZE, BUFFERS) after one warm-up execution, with the
# session identity set for bench_app; saved in $OUT/plan-NAME.txt. The BYPASSRLS role of
# the literal queries presents no token, as in its pgbench scripts: with role binding on,
# the token would make it bench_user, and its "literal" plan would carry the policy.
explain() {
  local name=$1 role=$2 sql=$3 opts=${4:-} auth="SELECT rowguard.authenticate(:'tok', false) IS NOT NULL AS authenticated"
  [[ $role == bench_bypass ]] && auth="SELECT true AS no_token"
  PGOPTIONS="$opts" psql_as "$role" -v tok="$TOKEN" > "$OUT/plan-$name.txt" <<EOF
\pset pager off
$auth \g /dev/null
$sql \g /dev/null
EXPLAIN (ANALYZE, BUFFERS, VERBOSE, COSTS OFF) $sql;
EOF
}
check_plan() { # check_plan NAME PATTERN WHAT
  if grep -qE -- "$2" "$OUT/plan-$1.txt"; then
    echo "  plan $1: $3: ok"
  else
    echo "  plan $1: $3: NOT FOUND" >&2
    sed 's/^/    /' "$OUT/plan-$1.txt" >&2
    PLAN_FAILURES=$((PLAN_FAILURES + 1))
  fi
}
check_no_plan() { # check_no_plan NAME PATTERN WHAT: the plan must not match
  if grep -qE -- "$2" "$OUT/plan-$1.txt"; then
    echo "  plan $1: $3: FOUND" >&2
    sed 's/^/    /' "$OUT/plan-$1.txt" >&2
    PLAN_FAILURES=$((PLAN_FAILURES + 1))
  else
    echo "  plan $1: $3: ok"
  fi
}
buffers() { grep -m1 -oE 'Buffers: shared [a-z=0-9 ]+' "$OUT/plan-$1.txt" || echo "Buffers: none"; }

echo
echo "== plans"
per=$(( ${NROWS[bench.orders]} / 100 ))
point_id=$(( (per / 2) * 100 + TENANT_N ))
lo=$(( per / 3 )); hi=$(( lo + per * 3 / 10 ))
range_where="created_at >= timestamptz '2024-01-01 00:00:00+00' + $lo * interval '1 minute'
   AND created_at < timestamptz '2024-01-01 00:00:00+00' + $hi * interval '1 minute'"
explain point_policy bench_app "SELECT id, amount, created_at FROM bench.orders WHERE id = $point_id"
explain point_literal bench_bypass \
  "SELECT id, amount, created_at FROM bench.orders WHERE id = $point_id AND tenant_id = '$TENANT'"
explain range_policy bench_app "SELECT count(*), sum(amount) FROM bench.orders WHERE $range_where"
explain range_literal bench_bypass \
  "SELECT count(*), sum(amount) FROM bench.orders WHERE $range_where AND tenant_id = '$TENANT'"
SCAN_OPTS="-c enable_indexscan=off -c enable_bitmapscan=off -c enable_indexonlyscan=off"
# The smoke table is too small for a parallel plan on its own.
[[ $MODE == smoke ]] && SCAN_OPTS+=" -c min_parallel_table_scan_size=0 -c parallel_setup_cost=0 -c parallel_tuple_cost=0"
explain scan_policy bench_app "SELECT count(*), sum(amount) FROM bench.orders WHERE amount >= 100" \
  "$SCAN_OPTS"
explain scan_literal bench_bypass \
  "SELECT count(*), sum(amount) FROM bench.orders WHERE amount >= 100 AND tenant_id = '$TENANT'" \
  "$SCAN_OPTS"
check_plan point_policy 'Index Scan using orders_pkey' "primary key index"
check_plan point_policy "rowguard.claim_uuid\('tenant_id'::text\)" "policy predicate applied"
check_plan point_literal 'Index Scan using orders_pkey' "primary key index"
check_no_plan point_literal 'rowguard\.' "no policy on the literal side"
check_no_plan range_literal 'rowguard\.' "no policy on the literal side"
# The templates put the accessor in an InitPlan ($0), evaluated once per query.
check_plan range_policy "Index Cond: \(+orders\.tenant_id = (\\\$0|rowguard\.claim_uuid)" \
  "tenant index condition from the policy"
check_plan range_policy 'using orders_tenant_idx|on orders_tenant_idx' "tenant index"
check_plan range_literal 'using orders_tenant_idx|on orders_tenant_idx' "tenant index"
check_plan scan_policy 'Workers Launched: [1-9]' "parallel workers"
check_plan scan_policy "Parallel Seq Scan on bench.orders" "parallel sequential scan"
check_plan scan_policy "Filter: .*tenant_id = (\\\$0|rowguard\.claim_uuid)" \
  "the scan filters by the policy"
for c in point range scan; do
  echo "  buffers $c: policy $(buffers "${c}_policy")  |  literal $(buffers "${c}_literal")"
done

# --- comparisons --------------------------------------------------------------------------
echo
echo "== 1. point lookup: policy (bench_app, session identity) vs literal (BYPASSRLS)"
pair 1 "point lookup, policy vs literal" \
  "bench_app point_policy bench.orders" "bench_bypass point_literal bench.orders"
echo "== 2. range aggregate: policy vs literal"
pair 2 "range aggregate, policy vs literal" \
  "bench_app range_policy bench.orders" "bench_bypass range_literal bench.orders"
echo "== 3. per transaction: authenticate + lookup vs PostgREST set_config + lookup"
pair 3 "BEGIN; authenticate; lookup; COMMIT vs PostgREST" \
  "bench_app txn_authenticate bench.orders" "bench_app txn_postgrest bench.orders_pgrst"
pair 3b "BEGIN; set_config('rowguard.token'); lookup; COMMIT vs PostgREST" \
  "bench_app txn_setconfig bench.orders" "bench_app txn_postgrest bench.orders_pgrst"
echo "== i3. authenticate (cache hit) vs set_config of the same string"
pair i3a "authenticate (cache hit) vs set_config(token)" \
  "bench_app auth_cached bench.orders" "bench_app setconfig_token bench.orders"
pair i3b "authenticate (cache hit) vs set_config(claims)" \
  "bench_app auth_cached bench.orders" "bench_app setconfig_claims bench.orders"
pair i3c "set_config('rowguard.token') (cache hit) vs set_config(token)" \
  "bench_app auth_setconfig bench.orders" "bench_app setconfig_token bench.orders"
if ((BIG > 0)); then
  echo "== 5. growth"
  pair 5a "point lookup at $BIG rows vs 100000 rows" \
    "bench_app point_policy bench.g_big" "bench_app point_policy bench.g_small"
  pair 5c "diagnostic: literal lookup (BYPASSRLS) at $BIG rows vs 100000 rows" \
    "bench_bypass point_literal bench.g_big" "bench_bypass point_literal bench.g_small"
  pair 5d "diagnostic: protected lookup of the same 1000 ids at $BIG vs 100000 rows" \
    "bench_app point_policy bench.g_big '' '' 1000:100" "bench_app point_policy bench.g_small '' '' 1000:100"
  # The same 100 rows in both tables (ids 7, 10007, ...: tenant 7 in both), so only the
  # number of tenants differs, not the lookups' working set.
  pair 5b "point lookup, 10000 tenants vs 10 tenants (same 100 rows)" \
    "bench_app point_policy bench.t_many '' '' 100:10000" "bench_app point_policy bench.t_few '' '' 100:10000"
fi
echo "== 6. parallel scan: policy vs literal (index and bitmap scans off on both sides)"
pair 6 "parallel scan, policy vs literal" \
  "bench_app scan_policy bench.orders '' \"$SCAN_OPTS\"" \
  "bench_bypass scan_literal bench.orders '' \"$SCAN_OPTS\""
if [[ $MODE == full ]]; then
  pair 6x "diagnostic: claim_uuid per row (no RLS) vs literal" \
    "bench_bypass scan_function bench.orders '' \"$SCAN_OPTS\"" \
    "bench_bypass scan_literal bench.orders '' \"$SCAN_OPTS\""
  pair 6y "diagnostic: claim once (InitPlan, no RLS) vs literal" \
    "bench_bypass scan_initplan bench.orders '' \"$SCAN_OPTS\"" \
    "bench_bypass scan_literal bench.orders '' \"$SCAN_OPTS\""
fi

echo "== 4. uncached authenticate per algorithm (bench_nocache: rowguard.cache_size = 0)"
if [[ "$(psql_as bench_nocache -Atc "SELECT rowguard.is_authenticated(); SHOW rowguard.cache_size" | tail -1)" != 0 ]]; then
  echo "rowguard.cache_size is not 0 for bench_nocache" >&2; exit 1
fi
NT[bench.tokens]=1; NROWS[bench.tokens]=1
# bare ALG: the bare OpenSSL primitive of the core benchmark, run now (so under the same
# machine load as the pgbench runs next to it): "ops/s by wall time, ops/s by CPU time".
bare() {
  [[ -x "$CORE" ]] || { echo "nan nan"; return; }
  "$CORE" --benchmark_filter="^BM_Bare$1\$" --benchmark_format=json \
    --benchmark_min_time="$BARE_MIN_TIME" 2>/dev/null | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin)["benchmarks"] if x.get("run_type", "iteration") == "iteration"][0]
u = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3}[b.get("time_unit", "ns")]
print(1 / (b["real_time"] * u), 1 / (b["cpu_time"] * u))' 2>/dev/null || echo "nan nan"
}
BARE_MIN_TIME=$([[ $MODE == smoke ]] && echo 0.1 || echo 1)
[[ -x "$CORE" ]] || echo "  $CORE not found: no bare primitive figures (cmake -S . -B build && cmake --build build)"
RUNS4=$(want 4 && echo $(( PAIRS > 1 ? 2 : 1 )) || echo 0)
for ((i = 1; i <= RUNS4; i++)); do
  for alg in "${ALGS[@]}"; do
    ((i % 2 == 0)) && read -r br bc < <(bare "$alg")
    read -r v cv < <(tps bench_nocache verify_uncached bench.tokens "$alg")
    read -r b cbl < <(tps bench_nocache verify_baseline bench.tokens "$alg")
    read -r vb cvb < <(tps bench_nocache verify_batch bench.tokens "$alg")
    read -r bb cbb < <(tps bench_nocache verify_batch_baseline bench.tokens "$alg")
    ((i % 2 == 1)) && read -r br bc < <(bare "$alg")
    printf 'alg\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$alg" "$i" "$v" "$b" \
      "$(awk -v x="$vb" -v n="$BATCH" 'BEGIN { print x * n }')" \
      "$(awk -v x="$bb" -v n="$BATCH" 'BEGIN { print x * n }')" "$br" "$bc" \
      "$cv" "$cbl" "$(awk -v x="$cvb" -v n="$BATCH" 'BEGIN { print x / n }')" \
      "$(awk -v x="$cbb" -v n="$BATCH" 'BEGIN { print x / n }')" >> "$RESULTS"
    printf '  %-6s run %d: authenticate %8.1f tps (%.1f us CPU), lookup only %8.1f (%.1f); batched x%d: %8.1f (%.1f) / %8.1f (%.1f) tps; bare %8.0f ops/s wall, %8.0f CPU\n' \
      "$alg" "$i" "$v" "$cv" "$b" "$cbl" "$BATCH" "$vb" "$cvb" "$bb" "$cbb" "$br" "$bc"
  done
done
# --- new connections ----------------------------------------------------------------------
# pgbench -C: every transaction on a new connection (serverless functions, PHP, jobs without
# a pooler). N1/N2 load the library in each backend; N3a/N3b run with
# shared_preload_libraries = 'rowguard' (the postmaster loads it and warms OpenSSL up once).
# restart_server [PRELOAD]: the same cluster, restarted with or without the preload.
restart_server() {
  local data; data=$(cluster_data "$PORT")
  as_postgres "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -m fast \
    -o "-c shared_preload_libraries='${1:-}'" restart >/dev/null
  PM=$(head -1 "$data/postmaster.pid")
  sleep 1; BASE_CHILDREN=$(children)
}
add_keys() { # add_keys N: N more ES256 keys (the fixture's public key under other kids)
  psql_as postgres -Atc "SELECT count(rowguard.add_key(jsonb_set(jwk - 'd', '{kid}', to_jsonb('bulk-' || g))))
    FROM rowguard.keys, generate_series(1, $1) g WHERE kid = 'es256-key'" >/dev/null
}
KEYS0=$(psql_as postgres -Atc 'SELECT count(*) FROM rowguard.keys')
echo "== N. new connection per transaction (pgbench -C): authenticate(ES256) + lookup vs PostgREST"
CONNECT=-C
# The server is preloaded here (above): N3a first, then N1/N2 without the preload, N3b with.
pair N3a "new connection, preloaded: authenticate + lookup vs PostgREST, $KEYS0 keys" \
  "bench_app newconn_authenticate bench.orders" "bench_app txn_postgrest bench.orders_pgrst"
if want N1 || want N2; then restart_server ""; fi
pair N1 "new connection: authenticate + lookup vs PostgREST, $KEYS0 keys" \
  "bench_app newconn_authenticate bench.orders" "bench_app txn_postgrest bench.orders_pgrst"
if want N2 || want N3b; then
  t1=$(now); add_keys "$NKEYS"; echo "  $NKEYS keys added: $(elapsed "$t1") s"
fi
KEYS1=$(psql_as postgres -Atc 'SELECT count(*) FROM rowguard.keys')
pair N2 "new connection: authenticate + lookup vs PostgREST, $KEYS1 keys" \
  "bench_app newconn_authenticate bench.orders" "bench_app txn_postgrest bench.orders_pgrst"
if want N3b; then restart_server rowguard; fi
pair N3b "new connection, preloaded: authenticate + lookup vs PostgREST, $KEYS1 keys" \
  "bench_app newconn_authenticate bench.orders" "bench_app txn_postgrest bench.orders_pgrst"
CONNECT=""
psql_as postgres -Atc "SELECT count(rowguard.remove_key(kid)) FROM rowguard.keys WHERE kid LIKE 'bulk-%'" >/dev/null

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- table --------------------------------------------------------------------------------
echo
python3 - "$RESULTS" "$MODE" "$PGVERSION" "$([[ -n "$TX" ]] && echo "-t $TX" || echo "-T $T")" "$PAIRS" "$CLIENTS" "$BATCH" <<'PY' | tee "$OUT/table.md"
import statistics, sys
results, mode, pgversion, T, pairs, clients, batch = sys.argv[1:]
med = statistics.median
rows, labels, algs = {}, {}, {}
for line in open(results):
    f = line.rstrip("\n").split("\t")
    if f[0] == "alg":
        algs.setdefault(f[1], []).append([float(x) for x in f[3:]])
    else:
        rows.setdefault(f[1], []).append([float(x) for x in f[4:]])
        labels[f[1]] = f[3]
targets = {"1": 0.97, "2": 0.97, "3": 0.97, "5a": 1 / 1.1, "5b": 0.95, "6": 0.9,
           "N1": 0.75, "N2": 0.75, "N3a": 0.95, "N3b": 0.95}
def ratio(x, y):
    return x / y if y > 0 else float("nan")
mark = lambda v, t: "" if t is None else ("ok" if v >= t else "MISSED")
print(f"mode {mode}, PostgreSQL {pgversion}, pgbench -M prepared -c {clients} {T}, "
      f"{pairs} alternating pair(s). tps ratio = A tps / B tps; CPU ratio = B server CPU per "
      "transaction / A's (both: higher is better for A, 1.0 = equal cost); medians over the pairs.")
print()
print("| # | comparison (A vs B) | A tps | B tps | tps ratio per pair | tps ratio | A us CPU/tx | B us CPU/tx | CPU ratio per pair | CPU ratio | target | tps | CPU |")
print("|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|---|---|")
for cid, vals in rows.items():
    tr = [ratio(v[0], v[1]) for v in vals]
    cr = [ratio(v[3], v[2]) for v in vals]
    t = targets.get(cid)
    print(f"| {cid} | {labels[cid]} | {med(v[0] for v in vals):.0f} | {med(v[1] for v in vals):.0f} | "
          f"{', '.join(f'{r:.2f}' for r in tr)} | {med(tr):.3f} | {med(v[2] for v in vals):.1f} | "
          f"{med(v[3] for v in vals):.1f} | {', '.join(f'{r:.2f}' for r in cr)} | {med(cr):.3f} | "
          f"{'' if t is None else f'{t:.2f}'} | {mark(med(tr), t)} | {mark(med(cr), t)} |")
if algs:
    print()
    print("Case 4: uncached `rowguard.authenticate` (rowguard.cache_size = 0, random pre-minted "
          "tokens, distinct within a statement) against the bare OpenSSL primitive of the core "
          "benchmark (`BM_Bare<alg>`, run next to the pgbench runs). `1/stmt`: one token per "
          f"pgbench transaction; `x{batch}`: {batch} tokens per statement. Wall ratio = "
          "verifications/s in SQL / bare ops/s by wall time; CPU ratio = bare CPU time / server "
          "CPU time per verification. `net us CPU` = server CPU of the statement with "
          "authenticate minus the same statement without it (per verification).")
    print()
    print(f"| alg | 1/stmt tps | wall ratio 1/stmt | x{batch} verif/s | wall ratio x{batch} | bare us CPU | server us CPU 1/stmt | CPU ratio 1/stmt | server us CPU per verif x{batch} | CPU ratio x{batch} | net us CPU 1/stmt | net us CPU x{batch} | target | wall 1/stmt | wall x{batch} | CPU x{batch} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    headline = ("RS256", "PS256", "ES256", "EdDSA")
    for alg in sorted(algs, key=lambda a: (a not in headline, a)):
        R = algs[alg]
        col = lambda k: med(r[k] for r in R)
        v, b, vb, bb, br, bc, cv, cbl, cvb, cbb = (col(k) for k in range(10))
        t = 0.7 if alg in headline else None
        if all(r[4] == r[4] for r in R):
            w1 = med(r[0] / r[4] for r in R); wb = med(r[2] / r[4] for r in R)
            bare_us = 1e6 / bc
            c1 = bare_us / cv; cb = bare_us / cvb
            print(f"| {alg} | {v:.0f} | {w1:.3f} | {vb:.0f} | {wb:.3f} | {bare_us:.1f} | {cv:.1f} | "
                  f"{c1:.3f} | {cvb:.1f} | {cb:.3f} | {cv - cbl:.1f} | {cvb - cbb:.1f} | "
                  f"{'' if t is None else t} | {mark(w1, t)} | {mark(wb, t)} | {mark(cb, t)} |")
        else:
            print(f"| {alg} | {v:.0f} | n/a | {vb:.0f} | n/a | n/a | {cv:.1f} | n/a | {cvb:.1f} | n/a | "
                  f"{cv - cbl:.1f} | {cvb - cbb:.1f} | | | | |")
PY

echo
if ((PLAN_FAILURES > 0)); then
  echo "bench: $PLAN_FAILURES plan check(s) failed (plans in $OUT)"
  exit 1
fi
echo "bench: plans ok; figures in $OUT (timing is reported, not asserted)"
