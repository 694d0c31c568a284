#!/usr/bin/env bash
# The new-connection path (issue 16): with shared_preload_libraries = 'rowguard' the
# postmaster warms OpenSSL up and every backend inherits it; with or without the preload a
# new backend loads only the key its token names (one index lookup). Checked here, on a
# server restarted both ways with 1,500 extra keys stored (more than a backend keeps):
#   - the postmaster's warm-up succeeded (no "could not warm up" line in the log);
#   - in new connections, tokens of every family verify (ES256, RS256, EdDSA, HS256), a
#     token of a lazily loaded kid verifies, an unknown kid and a kid-less forgery do not;
#   - a key removed in one backend ends verification in another, which had loaded it
#     lazily, and adding it back is seen (dblink, two live backends);
#   - the application role cannot read the keys either way.
# Timing is measured by scripts/bench.sh (N1, N2, N3a, N3b), never asserted here.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both); ROWGUARD_PERF_PORT
# (first port tried, default 54580).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

PORT=""
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  return $rc
}
trap cleanup EXIT

PASSED=0 FAILED=0
check() { # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "FAIL $1: expected [$2], got [$3]"
  fi
}

PORT=$(pick_port "${ROWGUARD_PERF_PORT:-54580}")
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'"
LOG=$(cluster_log "$PORT")
DATA=$(cluster_data "$PORT")

psql_as postgres -q >/dev/null <<'SQL'
\set ON_ERROR_STOP 1
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
CREATE EXTENSION dblink;
SELECT rowguard.add_key(:'jwk_hs256'), rowguard.add_key(:'jwk_rs256'),
       rowguard.add_key(:'jwk_es256'), rowguard.add_key(:'jwk_eddsa');
SELECT count(rowguard.add_key(jsonb_set(:'jwk_es256'::jsonb, '{kid}', to_jsonb('bulk-' || g))))
  FROM generate_series(1, 1500) g;
CREATE ROLE app LOGIN;
CREATE TABLE public.tokens AS
SELECT 'bulk-' || g AS kid,
       rowguard.sign(jsonb_build_object('sub', 'bulk-user-' || g, 'exp', 4102444800), 'bulk-' || g) AS token
  FROM generate_series(1, 1500) g;
GRANT SELECT ON public.tokens TO app;
SQL

# One new connection per call, as the application role.
as_app() { psql_as app -AtX -v ON_ERROR_STOP=0 "$@" 2>&1 || true; }
verdict() { # verdict TOKEN: "ok: <sub>" or the error's detail, from a new backend
  as_app -v tok="$1" <<'SQL' | tail -1
\set QUIET on
SELECT 'ok: ' || coalesce(rowguard.verify(:'tok') ->> 'sub', '(no sub)');
SQL
}
token_of() { psql_as postgres -AtX -c "SELECT token FROM public.tokens WHERE kid = '$1'"; }
fixture() { sed -n "s/^\\\\set $1 '\\(.*\\)'\$/\\1/p" test/fixtures/tokens.psql; }

run_checks() { # run_checks MODE
  local mode=$1 tok
  for alg in es256 rs256 eddsa hs256; do
    check "$mode: valid_$alg" "ok: valid-user" "$(verdict "$(fixture "valid_$alg")")"
  done
  check "$mode: lazy kid" "ok: bulk-user-1234" "$(verdict "$(token_of bulk-1234)")"
  check "$mode: unknown kid" "DETAIL:  unknown key id \"no-such-key\"" \
    "$(verdict "$(fixture unknown_kid)" | sed -n 's/.*\(DETAIL: .*\)/\1/p' | tail -1)"
  check "$mode: no kid" "ok: valid-user" "$(verdict "$(fixture no_kid)")"
  check "$mode: keys unreadable" "ERROR:  permission denied for table keys" \
    "$(as_app -c 'SELECT count(*) FROM rowguard.keys')"

  # Two live backends: "other" loads bulk-77 lazily; this one removes it, then adds it back.
  tok=$(token_of bulk-77)
  local out
  out=$(psql_as postgres -AtX -v ON_ERROR_STOP=0 -v tok="$tok" -v port="$PORT" -v host="$(cluster_dir "$PORT")" <<'SQL' 2>&1
\set QUIET on
SELECT dblink_connect('other', format('host=%s port=%s dbname=postgres user=app', :'host', :'port')) \g /dev/null
SELECT * FROM dblink('other', format('SELECT rowguard.verify(%L) ->> %L', :'tok', 'sub')) AS t(sub text);
CREATE TEMP TABLE saved AS SELECT * FROM rowguard.keys WHERE kid = 'bulk-77';
SELECT rowguard.remove_key('bulk-77') \g /dev/null
SELECT * FROM dblink('other', format('SELECT coalesce(rowguard.verify(%L) ->> %L, %L)', :'tok', 'sub', 'none'))
    AS t(sub text);
INSERT INTO rowguard.keys SELECT * FROM saved;
SELECT * FROM dblink('other', format('SELECT rowguard.verify(%L) ->> %L', :'tok', 'sub')) AS t(sub text);
SQL
) || true
  check "$mode: invalidation across backends" \
    "bulk-user-77|unknown key id \"bulk-77\"|bulk-user-77" \
    "$(echo "$out" | sed -n -e 's/^bulk-user-77$/bulk-user-77/p' -e 's/.*DETAIL: *\(unknown key id "bulk-77"\).*/\1/p' | paste -sd'|')"
}

if grep -q "could not warm up" "$LOG"; then
  check "preload: warm-up" "no warm-up failure" "the postmaster logged a warm-up failure"
else
  check "preload: warm-up" "ok" "ok"
fi
check "preload: library preloaded" "rowguard" "$(psql_as postgres -AtX -c 'SHOW shared_preload_libraries')"
run_checks preload

as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -m fast \
  -o "-c shared_preload_libraries=''" restart >/dev/null
check "per session: library not preloaded" "" "$(psql_as postgres -AtX -c 'SHOW shared_preload_libraries')"
run_checks "per session"

echo "perf: $PASSED passed, $FAILED failed"
((FAILED == 0))
