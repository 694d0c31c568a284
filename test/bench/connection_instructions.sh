#!/usr/bin/env bash
# Instructions per new preloaded connection (issue 26), deterministic where pgbench ratios
# on a shared machine are not: the sides of scripts/bench.sh's N3a/N3b comparisons, run
# with the postmaster under valgrind's callgrind, so every backend writes its own count.
#
#   A = BEGIN; SELECT rowguard.authenticate(<ES256 token>); point lookup on a rowguard
#       policy table; COMMIT           (test/bench/sql/newconn_authenticate.pgbench)
#   B = BEGIN; set_config('request.jwt.claims', ...); point lookup on a current_setting
#       policy table; COMMIT           (test/bench/sql/txn_postgrest.pgbench, PostgREST)
#
# Each side runs BENCH_CONNECTIONS new connections (pgbench -n -C -M prepared -t N, as in
# bench.sh) after two warm-up connections of each side (the first backend after a start
# or a key change builds the shared key snapshot and the relcache init file; that is not
# a new connection's steady cost). The per-backend totals (callgrind's Ir: instructions
# executed in the backend from its fork to its exit) are printed, min/median/max per
# side, and the ratio B/A of the medians, which is what the server-CPU ratio of bench.sh
# measures without the noise. Then BENCH_KEYS more ES256 keys are stored (N3b) and the
# same is measured again. The setup is bench.sh's: 1,000,000 revocations by default
# (BENCH_REVOCATIONS), role-bound tokens (role_binding_claim = 'role'), the preload.
#
# For each key count it keeps one backend's profile of each side in BENCH_OUT and prints
# the functions whose inclusive cost differs most between A and B (callgrind_annotate
# --inclusive=yes of both, joined by function name): where A's extra instructions go.
#
#   test/bench/connection_instructions.sh      (about 5 minutes: valgrind is slow)
#
# Before each valgrind run, BENCH_PLAIN connections of each side [100; 0: none] run under
# the ordinary postmaster for their minor page faults (nearly deterministic; not counted
# by callgrind) and server CPU (noisy) per connection.
#
# Environment [defaults]: BENCH_CONNECTIONS [5], BENCH_KEYS [10000; 0 skips N3b],
# BENCH_ROWS rows per table [100000], BENCH_REVOCATIONS [1000000], BENCH_TOP [40] lines of
# the difference, BENCH_OUT [/tmp/rowguard-instr-<pid>], ROWGUARD_BENCH_PORT [55432],
# BENCH_EXTRA_CONF a postgresql.conf line for both sides (e.g. rowguard.shared_key_store_size=0).
# Manual, not part of scripts/test.sh. Needs valgrind and the extension installed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
N=${BENCH_CONNECTIONS:-5}; NKEYS=${BENCH_KEYS:-10000}; ROWS=${BENCH_ROWS:-100000}
NREVOKED=${BENCH_REVOCATIONS:-1000000}; TOP=${BENCH_TOP:-40}; PLAIN=${BENCH_PLAIN:-100}
OUT=${BENCH_OUT:-/tmp/rowguard-instr-$$}
SQL=test/bench/sql
command -v valgrind >/dev/null || { echo "connection_instructions.sh: needs valgrind" >&2; exit 2; }
mkdir -p "$OUT"; chmod 777 "$OUT"
PORT=""
cleanup() { [[ -n "$PORT" ]] && stop_cluster "$PORT"; PORT=""; }
trap cleanup EXIT

PORT=$(pick_port "${ROWGUARD_BENCH_PORT:-55432}")
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" "autovacuum = off" \
  ${BENCH_EXTRA_CONF:+"$BENCH_EXTRA_CONF"} >/dev/null
DATA=$(cluster_data "$PORT")
psql_as postgres -v ntokens=1 -f "$SQL/setup.sql" >/dev/null
psql_as postgres -c "SELECT bench.make_table('orders', $ROWS, 100, 'rowguard')" \
  -c "SELECT bench.make_table('orders_pgrst', $ROWS, 100, 'postgrest')" >/dev/null
psql_as postgres -v n="$NREVOKED" >/dev/null <<'SQL'
\set ON_ERROR_STOP 1
INSERT INTO rowguard.revocations (jti, issuer)
  SELECT 'revoked-' || g, 'https://issuer.example' FROM generate_series(1, :n * 9 / 10) g;
INSERT INTO rowguard.revocations (sub, issuer, issued_before)
  SELECT 'revoked-subject-' || g, NULL, now() FROM generate_series(1, :n - :n * 9 / 10) g;
SELECT rowguard.allow_role('bench_user');
ALTER DATABASE postgres SET rowguard.role_binding_claim = 'role';
SQL
psql_as postgres -c 'VACUUM ANALYZE' >/dev/null
TENANT_N=7
TENANT=$(psql_as postgres -Atc "SELECT bench.tenant_uuid($TENANT_N)")
TOKEN_ES=$(psql_as postgres -Atc "SELECT rowguard.sign(bench.claims($TENANT_N, 'session'), 'es256-key')")
CLAIMS=$(psql_as postgres -Atc "SELECT bench.claims($TENANT_N, 'session')::text")
script() { # script NAME TABLE: the pgbench script with its placeholders filled in
  local f="$OUT/$1.pgbench"
  sed -e "s/@TABLE@/$2/g" -e "s/@TENANT@/$TENANT/g" "$SQL/$1.pgbench" > "$f"
  echo "$f"
}
SCRIPT_A=$(script newconn_authenticate bench.orders)
SCRIPT_B=$(script txn_postgrest bench.orders_pgrst)

# The postmaster under callgrind: every forked backend writes callgrind.out.<pid> at exit.
CG=$OUT/cg
start_valgrind() {
  as_postgres "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 120 stop >/dev/null
  rm -rf "$CG"; mkdir -p "$CG"; chmod 777 "$CG"
  # --dump-before=fork_process: the postmaster writes out and zeroes its counters before
  # each fork, so a backend counts only its own work (from the fork to its exit).
  runuser -u postgres -- valgrind --tool=callgrind --trace-children=no \
    --callgrind-out-file="$CG/callgrind.out.%p" --dump-before=fork_process --error-limit=no \
    "$PGBIN/postgres" -D "$DATA" >"$OUT/valgrind.log" 2>&1 &
  local i
  for i in $(seq 1 240); do
    "$PGBIN/pg_isready" -q -h "$PGHOST" -p "$PORT" -U postgres -d postgres && return 0
    sleep 0.5
  done
  echo "the postmaster under valgrind did not start; log:" >&2; tail -n 30 "$OUT/valgrind.log" >&2
  return 1
}
stop_valgrind() {
  as_postgres "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null
  as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null
}
# backend_files: the profiles of exited backends (the postmaster's own parts excluded).
backend_files() {
  local pm; pm=$(head -n1 "$DATA/postmaster.pid")
  ls "$CG" | grep -v "^callgrind\.out\.$pm\(\.\|$\)" || true
}
# connect SIDE COUNT: COUNT new connections of side A or B; prints the new profile files
# (one per backend, written when it exits).
connect() {
  local side=$1 n=$2 before f i script
  [[ $side == A ]] && script=$SCRIPT_A || script=$SCRIPT_B
  before=$(backend_files)
  "$PGBIN/pgbench" -n -C -M prepared -t "$n" -U bench_app -h "$PGHOST" -p "$PORT" \
    -D tok_es="$TOKEN_ES" -D claims="$CLAIMS" -D nt=100 -D per=$((ROWS / 100)) -D t="$TENANT_N" \
    -f "$script" postgres >"$OUT/pgbench-$side.log" 2>&1 ||
    { cat "$OUT/pgbench-$side.log" >&2; return 1; }
  # Until every backend has exited and written its file: pgbench's own first connection
  # (no query) and the N of the script; only those that ran a statement are printed.
  for i in $(seq 1 600); do
    (( $(comm -13 <(echo "$before") <(backend_files) | wc -l) >= n + 1 )) && break
    sleep 0.5
  done
  sleep 1
  for f in $(comm -13 <(echo "$before") <(backend_files)); do
    grep -q '[ )]PortalRun$' "$CG/$f" && echo "$CG/$f"
  done
}
total() { awk '/^(totals|summary):/ { print $2; exit }' "$1"; }
stats() { # stats FILE...: min median max of the totals
  local f; for f in "$@"; do total "$f"; done | sort -n |
    awk '{ a[NR] = $1 } END { printf "%d %d %d", a[1], a[int((NR + 1) / 2)], a[NR] }'
}
# inclusive FILE: "inclusive-Ir<TAB>function" for every function (callgrind_annotate).
inclusive() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk '/^-+$/ { sep++; next } sep >= 3 && $1 ~ /^[0-9,]+$/ {
           c = $1; gsub(",", "", c); $1 = ""; sub(/^ +/, ""); sub(/^\([0-9.]+%\) +/, ""); sub(/^\* +/, "");
           if ($0 != "") print c "\t" $0 }'
}
# plain SIDE COUNT: COUNT new connections of side A or B under the ordinary postmaster;
# prints the minor page faults and the server CPU (microseconds) per connection, from the
# postmaster's cminflt and cutime + cstime (its exited children; /proc/PID/stat fields
# 11, 16, 17). Faults are nearly deterministic; the CPU is as noisy as the machine.
plain() {
  local side=$1 n=$2 script pm s0 s1 hz
  [[ $side == A ]] && script=$SCRIPT_A || script=$SCRIPT_B
  pm=$(head -n1 "$DATA/postmaster.pid"); hz=$(getconf CLK_TCK)
  s0=$(awk '{ print $11, $16 + $17 }' "/proc/$pm/stat")
  "$PGBIN/pgbench" -n -C -M prepared -t "$n" -U bench_app -h "$PGHOST" -p "$PORT" \
    -D tok_es="$TOKEN_ES" -D claims="$CLAIMS" -D nt=100 -D per=$((ROWS / 100)) -D t="$TENANT_N" \
    -f "$script" postgres >"$OUT/pgbench-plain-$side.log" 2>&1 ||
    { cat "$OUT/pgbench-plain-$side.log" >&2; return 1; }
  sleep 1
  s1=$(awk '{ print $11, $16 + $17 }' "/proc/$pm/stat")
  awk -v a="$s0" -v b="$s1" -v n="$n" -v hz="$hz" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.0f %.0f", (y[1] - x[1]) / n, (y[2] - x[2]) * 1e6 / hz / n }'
}
measure() { # measure LABEL
  local label=$1 a b fa fb sa sb pa pb
  if ((PLAIN > 0)); then
    plain A 2 >/dev/null; plain B 2 >/dev/null
    pa=$(plain A "$PLAIN"); pb=$(plain B "$PLAIN")
  fi
  start_valgrind
  connect A 2 >/dev/null; connect B 2 >/dev/null     # warm-up: snapshot, init file
  mapfile -t fa < <(connect A "$N")
  mapfile -t fb < <(connect B "$N")
  stop_valgrind
  sa=$(stats "${fa[@]}"); sb=$(stats "${fb[@]}")
  read -r _ a _ <<<"$sa"; read -r _ b _ <<<"$sb"
  echo "== $label: instructions per new connection (min median max of $N backends)"
  printf '  A rowguard.authenticate + lookup: %s\n  B PostgREST set_config + lookup:  %s\n' "$sa" "$sb"
  awk -v a="$a" -v b="$b" 'BEGIN { printf "  A - B = %d instructions (%.1f%% of B); B/A = %.3f\n", a - b, (a - b) * 100 / b, b / a }'
  if ((PLAIN > 0)); then
    printf '  without valgrind, %d connections each: minor page faults, server CPU (us) per connection: A %s, B %s\n' \
      "$PLAIN" "$pa" "$pb"
  fi
  # The backend closest to each median, kept, and the difference by function.
  local ma mb f
  ma=$(for f in "${fa[@]}"; do echo "$(total "$f") $f"; done | sort -n | awk -v m="$a" '$1 == m { print $2; exit }')
  mb=$(for f in "${fb[@]}"; do echo "$(total "$f") $f"; done | sort -n | awk -v m="$b" '$1 == m { print $2; exit }')
  cp "$ma" "$OUT/A-$label.callgrind"; cp "$mb" "$OUT/B-$label.callgrind"
  inclusive "$ma" > "$OUT/A-$label.inclusive"; inclusive "$mb" > "$OUT/B-$label.inclusive"
  echo "  inclusive instructions, A - B, largest differences (profiles: $OUT/{A,B}-$label.callgrind):"
  awk -F'\t' 'NR == FNR { b[$2] = $1; next } { d = $1 - b[$2]; if (d != 0) print d "\t" $1 "\t" ($2 in b ? b[$2] : 0) "\t" $2 }' \
    "$OUT/B-$label.inclusive" "$OUT/A-$label.inclusive" | sort -t$'\t' -k1,1nr |
    awk -F'\t' '$4 !~ /^=>/ && !seen[$1 " " $2 " " $3]++' |
    awk -F'\t' -v top="$TOP" 'NR <= top { printf "  %12d  (A %12d, B %12d)  %s\n", $1, $2, $3, $4 }'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); out $OUT"
KEYS0=$(psql_as postgres -Atc 'SELECT count(*) FROM rowguard.keys')
measure "${KEYS0}keys"
if ((NKEYS > 0)); then
  psql_as postgres -Atc "SELECT count(rowguard.add_key(jsonb_set(jwk - 'd', '{kid}', to_jsonb('bulk-' || g))))
    FROM rowguard.keys, generate_series(1, $NKEYS) g WHERE kid = 'es256-key'" >/dev/null
  KEYS1=$(psql_as postgres -Atc 'SELECT count(*) FROM rowguard.keys')
  measure "${KEYS1}keys"
fi
