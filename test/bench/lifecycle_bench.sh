#!/usr/bin/env bash
# Revocation and the protected point lookup (issue 12): pgbench -M prepared A/B pairs of
# a point lookup under a tenant policy against the same lookup as a literal by a BYPASSRLS
# role, with 0, 10,000 and 1,000,000 rows in rowguard.revocations. Two protected variants:
#   session  the identity is set once per pgbench session (point_policy of scripts/bench.sh)
#   txn      BEGIN; authenticate(token); lookup; COMMIT (a pooler's pattern: a verified-token
#            cache hit plus the revocation lookups on every transaction)
# Prints the median A/B ratio per row count; docs/performance.md has a run's figures.
# Also the first verify() of a new connection (not preloaded; connect excluded), median of
# BENCH_NEWCONN [20] connections per row count, and its difference to 0 rows (this figure
# was a pass/fail threshold in test/integration/lifecycle.sh; docs/testing.md).
#
#   test/bench/lifecycle_bench.sh       (BENCH_T seconds per run [5], BENCH_PAIRS [3])
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
T=${BENCH_T:-5}; PAIRS=${BENCH_PAIRS:-3}
OUT=${BENCH_OUT:-/tmp/rowguard-lifecycle-bench-$$}; mkdir -p "$OUT"
PORT=""
cleanup() { [[ -n "$PORT" ]] && stop_cluster "$PORT"; }
trap cleanup EXIT
PORT=$(pick_port "${ROWGUARD_BENCH_PORT:-55432}")
start_cluster "$PORT" "shared_buffers = 256MB" "max_wal_size = 4GB" >/dev/null
TENANT=00000000-0000-4000-8000-000000000007

psql_as postgres >/dev/null <<SQL
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"b-key","alg":"HS256","k":"q8Hg1cPcHbpRVJ7JkXl9Xy0Zj3oXbIrAv2V-Wc0dOQI"}');
CREATE ROLE bench_app LOGIN;
CREATE ROLE bench_bypass LOGIN BYPASSRLS;
CREATE TABLE public.orders (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, amount int, created_at timestamptz);
INSERT INTO public.orders SELECT g, ('00000000-0000-4000-8000-' || lpad((g % 100)::text, 12, '0'))::uuid,
    g % 1000, now() FROM generate_series(0, 999999) g;
CREATE INDEX ON public.orders (tenant_id);
SELECT rowguard.tenant_policy('public.orders');
GRANT SELECT ON public.orders TO bench_app, bench_bypass;
VACUUM ANALYZE public.orders;
SQL
TOKEN=$(psql_as postgres -At -c "SELECT rowguard.sign(jsonb_build_object('iss', 'https://b.example',
  'sub', 'bench-user', 'jti', 'bench-jti', 'tenant_id', '$TENANT', 'iat', 1700000000,
  'exp', 4102444800), 'b-key')")

cat > "$OUT/literal.pgbench" <<EOF2
\set id random(0, 9999) * 100 + 7
SELECT id, amount, created_at FROM public.orders WHERE id = :id AND tenant_id = '$TENANT';
EOF2
cat > "$OUT/session.pgbench" <<EOF2
\if :inited = 0
SELECT rowguard.authenticate('$TOKEN', false) IS NOT NULL;
\set inited 1
\endif
\set id random(0, 9999) * 100 + 7
SELECT id, amount, created_at FROM public.orders WHERE id = :id;
EOF2
cat > "$OUT/txn.pgbench" <<EOF2
\set id random(0, 9999) * 100 + 7
BEGIN;
SELECT rowguard.authenticate('$TOKEN') IS NOT NULL;
SELECT id, amount, created_at FROM public.orders WHERE id = :id;
COMMIT;
EOF2
cat > "$OUT/literal_txn.pgbench" <<EOF2
\set id random(0, 9999) * 100 + 7
BEGIN;
SELECT NULL::jsonb IS NOT NULL;
SELECT id, amount, created_at FROM public.orders WHERE id = :id AND tenant_id = '$TENANT';
COMMIT;
EOF2

tps() {  # user script
  "$PGBIN/pgbench" -n -M prepared -T "$T" -c 1 -h "$PGHOST" -p "$PORT" -U "$1" -D inited=0 \
    -f "$OUT/$2.pgbench" postgres 2>/dev/null | awk '/^tps/ {print $3; exit}'
}
# first_verify_ms LABEL: median time of the first verify() in BENCH_NEWCONN new connections.
first_verify_ms() {
  DSN="host=$PGHOST port=$PORT dbname=postgres user=bench_app" TOKEN="$TOKEN" \
  RUNS=${BENCH_NEWCONN:-20} /usr/bin/python3 - <<'PYEOF'
import os, time
import psycopg
times = []
for _ in range(int(os.environ["RUNS"])):
    with psycopg.connect(os.environ["DSN"], autocommit=True, prepare_threshold=None) as c:
        c.execute("SELECT 1")
        t0 = time.perf_counter()
        c.execute("SELECT rowguard.verify(%s) ->> 'sub'", [os.environ["TOKEN"]]).fetchone()
        times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"{times[len(times) // 2]:.2f}")
PYEOF
}
newconn() {  # label
  local ms; ms=$(first_verify_ms)
  [[ -n "${NEWCONN_BASE:-}" ]] || NEWCONN_BASE=$ms
  printf '%-22s %-8s first verify() in a new connection: %s ms (median of %s; %+.2f ms vs 0 rows)\n' \
    "$1" newconn "$ms" "${BENCH_NEWCONN:-20}" "$(awk -v a="$ms" -v b="$NEWCONN_BASE" 'BEGIN {print a - b}')"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

run_set() {  # label
  local kind lit ratios a b
  for kind in session txn; do
    lit=$([[ $kind == txn ]] && echo literal_txn || echo literal)
    ratios=()
    for _ in $(seq 1 "$PAIRS"); do
      a=$(tps bench_app "$kind"); b=$(tps bench_bypass "$lit")
      ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", a / b}')")
      echo "$1 $kind $a $b" >> "$OUT/raw.txt"
    done
    printf '%-22s %-8s ratios %s  median %s\n' "$1" "$kind" "${ratios[*]}" \
      "$(printf '%s\n' "${ratios[@]}" | median)"
  done
}

add_revocations() {  # first last: that many jti rows and as many subject rows
  psql_as postgres -q -c "INSERT INTO rowguard.revocations (jti, issuer)
    SELECT 'bulk-' || g, 'https://b.example' FROM generate_series($1, $2) g;
    INSERT INTO rowguard.revocations (sub, issuer, issued_before)
    SELECT 'bulk-user-' || g, 'https://b.example', now() FROM generate_series($1, $2) g;
    ANALYZE rowguard.revocations;"
}

echo "lifecycle bench: ${T}s per run, $PAIRS pairs, 1 client, 1,000,000 orders; out $OUT"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
newconn "0 revocations"
run_set "0 revocations"
add_revocations 1 5000
newconn "10,000 revocations"
run_set "10,000 revocations"
add_revocations 5001 500000
newconn "1,000,000 revocations"
run_set "1,000,000 revocations"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
