#!/usr/bin/env bash
# Hostile SQL: as the application role (LOGIN, no superuser, no BYPASSRLS, owner of
# nothing) try to switch row security off, truncate, loosen every superuser-only rowguard
# setting (before and after the module loads; by SET, SET LOCAL, set_config, RESET,
# ALTER ROLE/DATABASE/SYSTEM, function SET clauses, PGOPTIONS), read or change the key
# tables, call the administrative and internal functions, and present forged and malformed
# tokens (alg none in every case, algorithm confusion, psychic ECDSA, crit, embedded jwk,
# jku/x5u/x5c, random garbage) by SET, SET LOCAL, set_config, authenticate and verify.
# Every attempt must be refused, and the backend and the cluster must survive each one.
# Run twice: rowguard loaded per session (the default), then with
# shared_preload_libraries = 'rowguard'. Finally the server log - written with
# log_min_error_statement = error and rowguard.log_authentications = all - must not
# contain the text of any token.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3

PORT=""
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "hostile_sql: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PORT=$(pick_port 54520)
# Superuser-configured rowguard settings (not the defaults), so that a client that could
# reset them would be seen.
start_cluster "$PORT" "log_min_error_statement = error" "rowguard.log_authentications = all" \
  "rowguard.audience = 'rowguard-tests'" "rowguard.leeway = 5"
LOG=$(cluster_log "$PORT")
DATA=$(cluster_data "$PORT")

psql_as postgres >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
\i test/fixtures/tokens.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256'), rowguard.add_key(:'jwk_hs384'), rowguard.add_key(:'jwk_hs512');
SELECT rowguard.add_jwks(jsonb_build_object('keys', (SELECT jsonb_agg(k)
  FROM jsonb_array_elements((:'jwks_public')::jsonb -> 'keys') AS k WHERE k ->> 'kty' <> 'oct')));
CREATE ROLE app LOGIN;
GRANT CREATE ON SCHEMA public TO app;  -- so CREATE FUNCTION ... SET fails for the setting, not the schema
CREATE TABLE public.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);
INSERT INTO public.docs
SELECT g, CASE WHEN g % 2 = 0 THEN :'tenant_a'::uuid ELSE :'tenant_b'::uuid END, 'doc ' || g
  FROM generate_series(1, 300) AS g;
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY base ON public.docs USING (true) WITH CHECK (true);
CREATE POLICY tenant ON public.docs AS RESTRICTIVE
    USING (tenant_id = rowguard.claim_uuid('tenant_id'))
    WITH CHECK (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON public.docs TO app;
SQL

TOKENS_OUT=$(cluster_dir "$PORT")/tokens.txt
: >"$TOKENS_OUT"
export FIXTURES="$ROOT/test/fixtures" TOKENS_OUT
rc=0
t0=$SECONDS

echo "== phase 1: rowguard loaded by each session =="
"$PY" "$ROOT/test/integration/hostile_client.py" load || rc=1

echo "== phase 2: shared_preload_libraries = 'rowguard' =="
psql_as postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'rowguard'"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 restart >/dev/null
psql_as postgres -At -c "SHOW shared_preload_libraries"
"$PY" "$ROOT/test/integration/hostile_client.py" preload || rc=1

# --- the cluster survived every case ------------------------------------------------------
if grep -E "terminated by signal|PANIC|all server processes terminated" "$LOG"; then
  echo "FAIL: a server process crashed" >&2; rc=1
fi
psql_as postgres -At -c "SELECT 1" >/dev/null || { echo "FAIL: the server does not answer" >&2; rc=1; }

# --- no token text in the server log ------------------------------------------------------
# Every segment of 16 characters or more of every token used (fixtures, crafted ones).
PATTERNS=$(cluster_dir "$PORT")/token-segments.txt
tr '. ' '\n\n' <"$TOKENS_OUT" | awk 'length($0) >= 16' | sort -u >"$PATTERNS"
echo "server log: $(wc -l <"$LOG") lines, $(grep -c 'rowguard: token' "$LOG" || true) rowguard authentication LOG lines, checked for $(wc -l <"$PATTERNS") token segments"
if grep -n -F -f "$PATTERNS" "$LOG" >"$PATTERNS.hits"; then
  echo "FAIL: token text in the server log: $(wc -l <"$PATTERNS.hits") lines; by kind of line:" >&2
  sed -E 's/^[0-9]+:[^ ]+ [^ ]+ [^ ]+ \[[0-9]+\] [^ ]* ?([A-Z]+):.*/  \1/' "$PATTERNS.hits" |
    sort | uniq -c >&2
  echo "e.g.:" >&2
  cut -c1-200 "$PATTERNS.hits" | head -n 4 >&2
  rc=1
fi
if grep -q "^2026-01-01 00:00:00 UTC \[1\] LOG:  forged line" "$LOG"; then
  echo "FAIL: a kid with a newline forged a line of the server log" >&2; rc=1
fi

echo "hostile_sql: $((SECONDS - t0)) s"
if ((rc == 0)); then echo "hostile_sql: PASS"; else echo "hostile_sql: FAIL" >&2; fi
exit $rc
