#!/usr/bin/env bash
# Tokens in text that others can read (issue 11): with log_statement = 'all',
# log_min_error_statement = error, verbose error fields and pg_stat_statements tracking
# utility statements, the application role sends tokens in every form a driver may use
# (SET / SET LOCAL / set_config / authenticate with the token in the SQL text or as a
# bind parameter), inside statements that fail for other reasons (division by zero
# beside authenticate(), DO blocks with PL/pgSQL CONTEXT lines, dynamic SQL, a syntax
# error, an error raised in a parallel worker, a failing bind-parameter statement with
# log_parameter_max_length_on_error = -1). Afterwards no server log line and no
# pg_stat_statements entry may hold any token. Three loading orders, one cluster
# restarted between them: pg_stat_statements before rowguard in
# shared_preload_libraries, after it, and rowguard loaded per session
# (session_preload_libraries).
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3
"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "harden: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PORT=""
WORK=$(mktemp -d)
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  [[ -n "${HARDEN_KEEP_WORK:-}" ]] && cp -r "$WORK" "$HARDEN_KEEP_WORK"; rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

PORT=$(pick_port 55810)
start_cluster "$PORT" "shared_preload_libraries = 'pg_stat_statements,rowguard'" \
  "pg_stat_statements.track_utility = on" "log_statement = 'all'" \
  "log_min_error_statement = error" "log_error_verbosity = verbose" \
  "log_parameter_max_length_on_error = -1" \
  "rowguard.log_authentications = all" "max_parallel_workers_per_gather = 2"
LOG=$(cluster_log "$PORT")
DATA=$(cluster_data "$PORT")

psql_as postgres >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
CREATE EXTENSION pg_stat_statements;
SELECT rowguard.add_key(:'jwk_hs256');
CREATE ROLE app LOGIN;
GRANT pg_read_all_stats TO app;
CREATE TABLE public.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);
INSERT INTO public.docs
SELECT g, CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
               ELSE '22222222-2222-4222-8222-222222222222'::uuid END, 'doc ' || g
  FROM generate_series(1, 20000) AS g;
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON public.docs USING (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT ON public.docs TO app;
ANALYZE public.docs;
SQL
# Tokens minted now, so the text never appeared in a statement before the test.
TOKEN=$(psql_as postgres -Atc "SELECT rowguard.sign('{\"sub\":\"alice\",\"tenant_id\":\"11111111-1111-4111-8111-111111111111\",\"exp\":4102444800}', 'hs256-key')")
echo "$TOKEN" > "$WORK/tokens"

# Every form, as the application role. Errors are expected; psql goes on.
run_forms() {
  local tok=$TOKEN
  "$PGBIN/psql" -X -q -U app -d postgres >"$WORK/forms.out" 2>&1 <<SQL || true
BEGIN;
SET LOCAL rowguard.token = '$tok';
SELECT count(*) FROM public.docs;
COMMIT;
SET rowguard.token = '$tok';
RESET rowguard.token;
BEGIN;
SELECT set_config('rowguard.token', '$tok', true) <> '';
COMMIT;
select rowguard.authenticate('$tok'), 1/0;
BEGIN;
select rowguard.authenticate('$tok') ->> 'sub', 1/0;
ROLLBACK;
DO \$\$ BEGIN PERFORM rowguard.authenticate('$tok'); PERFORM 1/0; END \$\$;
DO \$\$ BEGIN EXECUTE format('select rowguard.authenticate(%L), 1/0', '$tok'); END \$\$;
SELEC rowguard.authenticate('$tok');
select rowguard.verify('$tok' || 'x');
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
SET rowguard.token = '$tok';
SELECT count(*) FROM public.docs WHERE body = '$tok' OR 1 / (id - 8) > 0;
SQL
  # Bind parameters (extended protocol), the documented safe form - also with errors.
  "$PY" - "$PORT" "$(cluster_dir "$PORT")" "$tok" >>"$WORK/forms.out" 2>&1 <<'PY' || true
import sys, psycopg
port, host, tok = sys.argv[1], sys.argv[2], sys.argv[3]
with psycopg.connect(host=host, port=port, user="app", dbname="postgres") as conn:
    with conn.cursor() as cur:
        cur.execute("select rowguard.authenticate(%s) ->> 'sub'", (tok,))
        cur.execute("select set_config('rowguard.token', %s, true) <> ''", (tok,))
        cur.execute("select count(*) from public.docs")
        print("bind parameters: rows", cur.fetchone()[0])
    conn.rollback()
    try:
        with conn.cursor() as cur:
            cur.execute("select rowguard.authenticate(%s), 1/0", (tok,))
    except psycopg.Error as e:
        print("expected error:", type(e).__name__)
PY
}

# No token text anywhere: neither the whole token nor its signature segment.
check_no_token() {
  local where=$1 file=$2 sig
  sig=${TOKEN##*.}
  if grep -qF -e "$TOKEN" -e "$sig" "$file"; then
    fail "$where holds a token: $(grep -nF -e "$sig" "$file" | head -3 | cut -c1-160)"
  else
    pass "$where holds no token"
  fi
}

check_pgss() {
  local label=$1
  psql_as postgres -Atc "SELECT query FROM pg_stat_statements" >"$WORK/pgss-$label.txt"
  local sets
  sets=$(grep -ci "rowguard.token" "$WORK/pgss-$label.txt" || true)
  if ((sets == 0)); then
    fail "pg_stat_statements ($label) kept no SET rowguard.token statement at all"
  fi
  check_no_token "pg_stat_statements ($label)" "$WORK/pgss-$label.txt"
}

phase() {
  local label=$1
  psql_as postgres -qc "SELECT pg_stat_statements_reset()" >/dev/null
  run_forms
  grep -q "division by zero" "$WORK/forms.out" || fail "$label: the failing statements did not run"
  grep -q "bind parameters: rows 10000" "$WORK/forms.out" ||
    fail "$label: the bind-parameter form did not authenticate: $(tail -3 "$WORK/forms.out")"
  check_pgss "$label"
  check_no_token "server log ($label)" "$LOG"
  check_no_token "psql's view of the errors ($label)" "$WORK/forms.out"
}

restart_with() {
  printf '%s\n' "$@" >> "$DATA/postgresql.conf"
  as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 restart >/dev/null
}

phase "pg_stat_statements loaded before rowguard"
restart_with "shared_preload_libraries = 'rowguard,pg_stat_statements'"
phase "pg_stat_statements loaded after rowguard"
restart_with "shared_preload_libraries = 'pg_stat_statements'" \
  "session_preload_libraries = 'rowguard'"
phase "rowguard loaded per session"

# The log really holds the statements (so the check above was not vacuous).
grep -q "division by zero" "$LOG" || fail "the server log has no error lines"
grep -q 'statement: SET LOCAL rowguard.token' "$LOG" || fail "log_statement lines are missing"
grep -q '\[redacted\]' "$LOG" || fail "the log shows no masked token"
grep -q 'CONTEXT:  parallel worker' "$LOG" || fail "no error was raised in a parallel worker"
grep -q 'unnamed portal with parameters: \$1 = .\[redacted\]' "$LOG" ||
  fail "no error line carried a bind parameter (log_parameter_max_length_on_error)"

if ((failures == 0)); then
  echo "harden: all checks passed"
else
  echo "harden: $failures check(s) failed"
  exit 1
fi
