#!/usr/bin/env bash
# Costs of the observation features (issue 14), as pgbench A/B pairs (alternating AB,
# BA, ...), each side running the same fixed number of transactions; reported are the
# server CPU time per call or row (postmaster's reaped-children CPU, robust against
# other load on the machine) and the tps ratio, medians of the pairs:
#
#   S  rowguard's identity switch: set_config('rowguard.token', <token>, true), a cache
#      hit, 10,000 times per statement, vs set_config of a plain custom setting with the
#      same text (the floor any setting costs). Run on a cluster with rowguard preloaded
#      (cluster-wide stats: one atomic add per verification, plus the sessions slot
#      written on every identity change) and on one without (per-backend counters, no
#      slot); the difference between the two A-B costs is what shared memory adds.
#   A  INSERT of 1,000 rows per statement into a table with rowguard.audit_columns'
#      trigger vs the same INSERT into an identical table without it (session identity).
#   A2 for reference, the same rule written as a PL/pgSQL trigger vs no trigger.
#   A3 the same three inserts (50,000 rows per statement) timed inside one session,
#      alternating, 4 rounds: medians and minimums of the wall time.
#
#   scripts/bench-observe.sh     BENCH_TX transactions per run [50], BENCH_PAIRS pairs [5]
#
# Needs the extension installed (make -f Makefile.pgxs install). Figures and the command
# line go to docs/performance.md ("Observation features").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TX=${BENCH_TX:-50}
PAIRS=${BENCH_PAIRS:-5}
OUT=${BENCH_OUT:-/tmp/rowguard-bench-observe-$$}
mkdir -p "$OUT"

# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
reap_clusters
PRELOADED=""
PLAIN=""
cleanup() {
  [[ -n "$PRELOADED" ]] && stop_cluster "$PRELOADED"
  [[ -n "$PLAIN" ]] && stop_cluster "$PLAIN"
  return 0
}
trap cleanup EXIT

echo "rowguard observation benchmarks: $TX transactions per run, $PAIRS pair(s), out $OUT"
echo "machine: $(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

common=("shared_buffers = 256MB" "autovacuum = off" "max_wal_size = 2GB")
PRELOADED=$(pick_port "${ROWGUARD_BENCH_PORT:-55716}")
start_cluster "$PRELOADED" "${common[@]}" "shared_preload_libraries = 'rowguard'"
PLAIN=$(pick_port $((PRELOADED + 1)))
start_cluster "$PLAIN" "${common[@]}"

setup() {
  use_cluster "$1"
  psql_as postgres >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256');
CREATE ROLE bench_app LOGIN;
CREATE SCHEMA b AUTHORIZATION bench_app;
SET ROLE bench_app;
CREATE TABLE b.docs_plain (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text,
                           created_by text, updated_by text);
CREATE TABLE b.docs_audit (LIKE b.docs_plain INCLUDING ALL);
SELECT rowguard.audit_columns('b.docs_audit') IS NOT NULL;
-- For reference: the same rule as a PL/pgSQL trigger.
CREATE TABLE b.docs_plpgsql (LIKE b.docs_plain INCLUDING ALL);
CREATE FUNCTION b.who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_by := CASE TG_OP WHEN 'INSERT' THEN rowguard.claim('sub') ELSE OLD.created_by END;
    NEW.updated_by := rowguard.claim('sub');
    RETURN NEW;
END $$;
CREATE TRIGGER who BEFORE INSERT OR UPDATE ON b.docs_plpgsql FOR EACH ROW EXECUTE FUNCTION b.who();
RESET ROLE;
VACUUM ANALYZE;
SQL
}
setup "$PRELOADED"
TOKEN=$(psql_as postgres -Atc "SELECT rowguard.sign('{\"sub\":\"bench\",\"tenant_id\":\"t7\",\"exp\":4102444800}', 'hs256-key')")
setup "$PLAIN"
psql_as postgres -c "ALTER ROLE bench_app SET rowguard.token = '$TOKEN'" >/dev/null
use_cluster "$PRELOADED"
psql_as postgres -c "ALTER ROLE bench_app SET rowguard.token = '$TOKEN'" >/dev/null

cat > "$OUT/switch_rowguard.pgbench" <<EOF2
SELECT count(set_config('rowguard.token', '$TOKEN', true)) FROM generate_series(1, 10000);
EOF2
cat > "$OUT/switch_plain.pgbench" <<EOF2
SELECT count(set_config('bench.token', '$TOKEN', true)) FROM generate_series(1, 10000);
EOF2
for t in plain audit plpgsql; do
  printf "INSERT INTO b.docs_%s (body, created_by, updated_by) SELECT 'x', 'client', 'client' FROM generate_series(1, 1000);\n" \
    "$t" > "$OUT/insert_$t.pgbench"
done

# Server CPU of a cluster's exited backends (postmaster cutime + cstime, in clock ticks).
children_cpu() {
  local s; s=$(< "/proc/$(head -1 "$(cluster_data "$1")/postmaster.pid")/stat"); s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${14} + ${15} ))
}
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))
# tps PORT SCRIPT: one run; prints tps and server CPU microseconds per transaction.
tps() {
  local c0 c1 n
  use_cluster "$1"
  sleep 0.3; c0=$(children_cpu "$1")
  "$PGBIN/pgbench" -n -M prepared -c 1 -t "$TX" -U bench_app -f "$OUT/$2.pgbench" postgres \
    > "$OUT/pgbench.out" 2> "$OUT/pgbench.err" || { cat "$OUT/pgbench.err" >&2; return 1; }
  sleep 0.3; c1=$(children_cpu "$1")
  n=$(awk '/number of transactions actually processed/ { print $NF }' "$OUT/pgbench.out")
  n=${n%%/*}
  echo "$(awk '/^tps = / { print $3; exit }' "$OUT/pgbench.out")" \
    "$(awk -v d=$(( c1 - c0 )) -v t="$TICK_US" -v n="$n" 'BEGIN { printf "%.2f", d * t / n }')"
}
RESULTS=$OUT/results.tsv
: > "$RESULTS"
pair() { # pair ID LABEL "PORT SCRIPT" "PORT SCRIPT"
  local i ta ca tb cb
  for ((i = 1; i <= PAIRS; i++)); do
    if ((i % 2 == 1)); then
      read -r ta ca < <(tps $3); read -r tb cb < <(tps $4)
    else
      read -r tb cb < <(tps $4); read -r ta ca < <(tps $3)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$ta" "$tb" "$ca" "$cb" "$2" >> "$RESULTS"
    printf '  %-2s pair %d: A %8.1f tps %7.1f us CPU/tx   B %8.1f tps %7.1f us CPU/tx   A/B tps %.3f\n' \
      "$1" "$i" "$ta" "$ca" "$tb" "$cb" "$(awk -v a="$ta" -v b="$tb" 'BEGIN { print a / b }')"
  done
}
echo "== S. set_config('rowguard.token') x 10000 vs set_config of a plain setting, preloaded"
pair Spre "identity switch vs plain setting, preloaded" "$PRELOADED switch_rowguard" "$PRELOADED switch_plain"
echo "== S. the same, rowguard not preloaded"
pair Splain "identity switch vs plain setting, not preloaded" "$PLAIN switch_rowguard" "$PLAIN switch_plain"
echo "== A. INSERT of 1000 rows with the audit_columns trigger vs without"
pair A "insert, audit trigger vs none" "$PRELOADED insert_audit" "$PRELOADED insert_plain"
echo "== A2. for reference: the same rule as a PL/pgSQL trigger vs without"
pair A2 "insert, PL/pgSQL trigger vs none" "$PRELOADED insert_plpgsql" "$PRELOADED insert_plain"

use_cluster "$PRELOADED"
echo "== A3. 50000-row INSERTs in one session (plain, audit_columns trigger, PL/pgSQL trigger)"
psql_as bench_app -c "
CREATE TEMP TABLE timing (kind text, ms float8);
DO \$\$
DECLARE t0 timestamptz; k text;
BEGIN
  FOR i IN 1..4 LOOP
    FOREACH k IN ARRAY CASE WHEN i % 2 = 1 THEN ARRAY['plain', 'audit', 'plpgsql']
                            ELSE ARRAY['plpgsql', 'audit', 'plain'] END LOOP
      t0 := clock_timestamp();
      EXECUTE format('INSERT INTO b.%I (body, created_by, updated_by)
                      SELECT ''x'', ''client'', ''client'' FROM generate_series(1, 50000)', 'docs_' || k);
      INSERT INTO timing VALUES (k, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
  END LOOP;
END \$\$;
SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric) AS median_ms,
       round(min(ms)::numeric) AS min_ms,
       round((1000 * min(ms) / 50)::numeric) AS min_ns_per_row
  FROM timing GROUP BY kind ORDER BY min(ms);"
echo "== stats of the preloaded cluster after the runs"
psql_as postgres -Atc "SELECT outcome || ' ' || count FROM rowguard.stats() WHERE count > 0"
echo
echo "| id | comparison | A/B tps (median) | server CPU per call or row, A / B (median, ns) |"
echo "|----|------------|------------------|------------------------------------------------|"
for id in Spre Splain A A2; do
  awk -F'\t' -v id="$id" '$1 == id { r[++n] = $2 / $3; a[n] = $4; b[n] = $5; label = $6 }
    function median(x, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
      if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
      return k % 2 ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2 }
    END { per = id ~ /^S/ ? 10000 : 1000
          printf "| %s | %s | %.3f | %.0f / %.0f |\n", id, label, median(r, n),
                 1000 * median(a, n) / per, 1000 * median(b, n) / per }' "$RESULTS"
done
