#!/usr/bin/env bash
# A token given at connection (PGOPTIONS=-c rowguard.token=...) is admitted with the
# settings the session ends up with (issue 22, item 7). PostgreSQL applies the startup
# packet's options before ALTER ROLE/DATABASE ... SET; with rowguard preloaded the token
# used to be checked before `ALTER ROLE app SET rowguard.role_binding_claim = 'role'` was
# applied, so a token naming a role that is not allowed became an unbound identity, and an
# allowed one did not switch the role. Now the admission waits for the session's first
# statement: a refused token ends the connection (FATAL, 28000), an allowed one binds.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
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

PORT=$(pick_port "${ROWGUARD_STARTUP_TOKEN_PORT:-54620}")
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" "log_min_messages = warning"

psql_as postgres >/dev/null <<'SQL'
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"st-key","alg":"HS256","k":"q8Hg1cPcHbpRVJ7JkXl9Xy0Zj3oXbIrAv2V-Wc0dOQI"}');
CREATE ROLE app LOGIN;
CREATE ROLE st_reader NOLOGIN;
CREATE ROLE st_denied NOLOGIN;
CREATE TABLE st_docs (body text);
INSERT INTO st_docs VALUES ('d1');
GRANT SELECT ON st_docs TO st_reader, st_denied;
SELECT rowguard.allow_role('st_reader');
ALTER ROLE app SET rowguard.role_binding_claim = 'role';
SQL

mint() {
  psql_as postgres -Atc "SELECT rowguard.sign(jsonb_build_object('sub', '$1', 'role', '$2',
    'exp', extract(epoch FROM now())::bigint + 3600), 'st-key')"
}
READER=$(mint st-r st_reader)
DENIED=$(mint st-d st_denied)

failures=0
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    echo "  ok   $1"
  else
    echo "  FAIL $1: expected [$2], got [$3]"
    failures=$((failures + 1))
  fi
}
as_app() {  # as_app TOKEN SQL: psql as app with the token in the startup packet
  PGOPTIONS="-c rowguard.token=$1" "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 \
    -h "$PGHOST" -p "$PORT" -U app -d postgres -c "$2" 2>&1 || true
}

echo "startup_token: a token in the startup packet, rowguard preloaded, claim set by ALTER ROLE"
check "an allowed role claim binds the role at the first statement" \
  "st_reader|app|d1" "$(as_app "$READER" "SELECT current_user, session_user, (SELECT string_agg(body, ',') FROM st_docs)")"
check "the bound role stays after RESET ALL (the connection's value is the reset value)" \
  "st_reader" "$(as_app "$READER" "RESET ALL; SELECT current_user")"
out=$(as_app "$DENIED" "SELECT current_user, rowguard.is_authenticated()")
check "a role claim that is not allowed ends the connection (FATAL, invalid token)" \
  "yes" "$([[ "$out" == *FATAL*"invalid token"* ]] && echo yes || echo "no: $out")"
out=$(as_app "$DENIED" "SHOW rowguard.token")
check "a first statement that only inspects settings ends it too" \
  "yes" "$([[ "$out" == *FATAL*"invalid token"* ]] && echo yes || echo "no: $out")"
# A database setting applies as well: with the claim set for the database instead.
psql_as postgres -qc "ALTER ROLE app RESET rowguard.role_binding_claim" \
  -c "ALTER DATABASE postgres SET rowguard.role_binding_claim = 'role'"
check "a claim set by ALTER DATABASE binds too" \
  "st_reader" "$(as_app "$READER" "SELECT current_user")"
out=$(as_app "$DENIED" "SELECT current_user")
check "and refuses a role that is not allowed" \
  "yes" "$([[ "$out" == *FATAL*"invalid token"* ]] && echo yes || echo "no: $out")"

if ((failures > 0)); then
  echo "startup_token: $failures failed"
  exit 1
fi
echo "startup_token: all passed"
