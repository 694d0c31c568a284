#!/usr/bin/env bash
# Seeing what happens, with rowguard (and pgaudit) in shared_preload_libraries:
# - rowguard.stats() counts the outcomes of every backend (shared memory, atomics);
# - the view rowguard.sessions lists each backend's identity with its scope, to
#   superusers and pg_read_all_stats members only, and forgets a backend that ends;
# - rowguard.log_identity puts sub, iss, kid and jti on every server log entry written
#   under an identity, pgaudit's AUDIT lines included, and never tells the client;
# - no output of these functions and no line of the server log holds any segment of a
#   token. (Without preload, sql/observe.sql covers the rest.)
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

PORT=""
BACKGROUND=()
WORK=$(mktemp -d)
cleanup() {
  local rc=$?
  local pid
  for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null || true; done
  finish_own_cluster "$rc"
  rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT

if [[ ! -f "$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pgaudit.so" ]]; then
  echo "observe: pgaudit is not installed (Debian package postgresql-15-pgaudit)" >&2
  exit 1
fi

passed=0
failed=0
check() { # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    passed=$((passed + 1)); echo "ok    $1"
  else
    failed=$((failed + 1)); echo "FAIL  $1: expected [$2], got [$3]"
  fi
}
q() { local role=$1; shift; psql_as "$role" -At "$@" 2>&1 | tee -a "$WORK/outputs"; }

PORT=$(pick_port 55710)
start_cluster "$PORT" "shared_preload_libraries = 'pgaudit, rowguard'" \
  "rowguard.log_identity = on" "pgaudit.log = 'read, write'" "pgaudit.log_relation = on" \
  "log_min_error_statement = error" "rowguard.log_authentications = all"
LOG=$(cluster_log "$PORT")

psql_as postgres >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
CREATE EXTENSION pgaudit;
SELECT rowguard.add_key(:'jwk_hs256');
CREATE ROLE app LOGIN;
CREATE ROLE watcher LOGIN IN ROLE pg_read_all_stats;
CREATE TABLE public.docs (id bigint PRIMARY KEY, tenant_id text NOT NULL, body text);
INSERT INTO public.docs VALUES (1, 't1', 'one'), (2, 't2', 'two');
GRANT SELECT, INSERT ON public.docs TO app;
SELECT rowguard.tenant_policy('public.docs') IS NOT NULL;
SQL
tok() { psql_as postgres -At -c "SELECT rowguard.sign('$1', 'hs256-key')"; }
ALICE=$(tok '{"sub":"alice","iss":"https://observe.example","jti":"jti-a","tenant_id":"t1","exp":4102444800}')
BOB=$(tok '{"sub":"bob","iss":"https://observe.example","jti":"jti-b","tenant_id":"t2","exp":4102444800}')
FORGED="${ALICE%????}AAAA"
TOKENS=("$ALICE" "$BOB")

# --- stats across backends --------------------------------------------------------------
q postgres -c "SELECT rowguard.stats_reset()" >/dev/null
# Tokens go in SET statements, which pgaudit (read, write) does not log: the server log
# check at the end is then about what rowguard writes, not about statement text.
for i in 1 2 3; do
  # One backend each: a verification, a cache hit, a bad signature.
  q app -c "SET rowguard.token = '$ALICE'" -c "SET rowguard.token = '$ALICE'" \
    -c "SET rowguard.token = '$FORGED'" >/dev/null 2>&1 || true
done
stats=$(q watcher -c "SELECT string_agg(outcome || '=' || count, ' ' ORDER BY outcome) FROM rowguard.stats() WHERE count > 0")
check "stats count every backend" "accepted=3 cache_hit=3 signature=3" "$stats"
check "app may not reset" "ERROR:  permission denied for function stats_reset" \
  "$(q app -c 'SELECT rowguard.stats_reset()' 2>&1 | head -1)"

# --- the sessions view --------------------------------------------------------------------
# Two backends that keep an identity: one for the session, one inside a transaction.
"$PGBIN/psql" -X -q -U app -d postgres -c "SET rowguard.token = '$ALICE'" -c "SELECT pg_sleep(60)" \
  >/dev/null 2>&1 & BACKGROUND+=($!)
"$PGBIN/psql" -X -q -U app -d postgres -c "BEGIN" -c "SET LOCAL rowguard.token = '$BOB'" \
  -c "SELECT pg_sleep(60)" -c "COMMIT" >/dev/null 2>&1 & BACKGROUND+=($!)
for _ in $(seq 1 50); do
  n=$(q postgres -c "SELECT count(*) FROM rowguard.sessions")
  [[ "$n" == 2 ]] && break
  sleep 0.2
done
rows=$(q postgres -c "SELECT string_agg(format('%s/%s/%s/%s/%s/%s', sub, iss, kid, jti, exp, scope), ' ' ORDER BY sub) FROM rowguard.sessions")
check "sessions lists both identities" \
  "alice/https://observe.example/hs256-key/jti-a/2100-01-01 00:00:00+00/session bob/https://observe.example/hs256-key/jti-b/2100-01-01 00:00:00+00/transaction" \
  "$rows"
check "sessions pids are live backends" "2" \
  "$(q postgres -c "SELECT count(*) FROM rowguard.sessions s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'app'")"
check "pg_read_all_stats may read sessions" "2" "$(q watcher -c 'SELECT count(*) FROM rowguard.sessions')"
check "app may not read sessions" "ERROR:  permission denied for view sessions" \
  "$(q app -c 'SELECT count(*) FROM rowguard.sessions' 2>&1 | head -1)"
check "app may not call _sessions" "ERROR:  permission denied for function _sessions" \
  "$(q app -c 'SELECT count(*) FROM rowguard._sessions()' 2>&1 | head -1)"
q postgres -c "SELECT * FROM rowguard.sessions" >/dev/null
# The identity of a backend that ends leaves the view.
q postgres -c "SELECT pg_terminate_backend(pid) FROM rowguard.sessions WHERE sub = 'alice'" >/dev/null
for _ in $(seq 1 50); do
  n=$(q postgres -c "SELECT count(*) FROM rowguard.sessions WHERE sub = 'alice'")
  [[ "$n" == 0 ]] && break
  sleep 0.2
done
check "a terminated backend leaves sessions" "0" "$n"
# A transaction identity leaves the view at COMMIT, in the same backend.
during_after=$(q postgres <<SQL | paste -sd'|'
BEGIN;
SET LOCAL rowguard.token = '$BOB';
SELECT count(*) FROM rowguard.sessions WHERE pid = pg_backend_pid() AND scope = 'transaction';
COMMIT;
SELECT count(*) FROM rowguard.sessions WHERE pid = pg_backend_pid();
SQL
)
check "transaction identity ends at commit" "1|0" "$during_after"
# One backend, one identity per transaction: the view follows every change of identity
# (a republished identity with the same facts skips escaping them again).
sequence=$(q postgres <<SQL | paste -sd'|'
BEGIN; SET LOCAL rowguard.token = '$BOB';
SELECT sub || '/' || jti FROM rowguard.sessions WHERE pid = pg_backend_pid(); COMMIT;
BEGIN; SET LOCAL rowguard.token = '$BOB';
SELECT sub || '/' || jti FROM rowguard.sessions WHERE pid = pg_backend_pid(); COMMIT;
BEGIN; SET LOCAL rowguard.token = '$ALICE';
SELECT sub || '/' || jti FROM rowguard.sessions WHERE pid = pg_backend_pid(); COMMIT;
BEGIN; SET LOCAL rowguard.token = '$BOB';
SELECT sub || '/' || jti FROM rowguard.sessions WHERE pid = pg_backend_pid(); COMMIT;
SELECT count(*) FROM rowguard.sessions WHERE pid = pg_backend_pid();
SQL
)
check "sessions follow each identity of a backend" "bob/jti-b|bob/jti-b|alice/jti-a|bob/jti-b|0" "$sequence"

# --- log_identity with pgaudit ----------------------------------------------------------
check "app may not turn log_identity off" "ERROR:  permission denied to set parameter \"rowguard.log_identity\"" \
  "$(q app -c 'SET rowguard.log_identity = off' 2>&1 | head -1)"
marker="observe_marker_$$"
client=$(q app -c "SET rowguard.token = '$ALICE'" \
  -c "SELECT count(*) AS $marker FROM public.docs" \
  -c "INSERT INTO public.docs VALUES (10, 't1', '$marker')" \
  -c "SELECT 1 / 0 AS ${marker}_error" 2>&1 || true)
# The log is written by the logging collector, after the client has its answer: wait for
# the last statement's line (a deadline, not a speed).
for _ in $(seq 1 150); do grep -qF "${marker}_error" "$LOG" && break; sleep 0.2; done
check "client sees its rows" "1" "$(echo "$client" | head -1)"
check "client never sees the identity line" "0" "$(echo "$client" | grep -c 'rowguard identity' || true)"
identity='DETAIL:  rowguard identity: sub="alice" iss="https://observe.example" kid="hs256-key" jti="jti-a"'
# Each entry and the line after it: the AUDIT lines of the read and the write, the
# statement lines and the error all carry the identity.
after() { grep -A1 -F "$1" "$LOG" | grep -F -- "$2" | head -1 || true; }
audit_read=$(grep -A1 -E "AUDIT: SESSION,[0-9]+,[0-9]+,READ,SELECT,TABLE,public.docs,.*$marker" "$LOG" | grep -cF "$identity" || true)
audit_write=$(grep -A1 -E "AUDIT: SESSION,[0-9]+,[0-9]+,WRITE,INSERT,TABLE,public.docs,.*$marker" "$LOG" | grep -cF "$identity" || true)
check "pgaudit READ line carries the identity" "1" "$audit_read"
check "pgaudit WRITE line carries the identity" "1" "$audit_write"
check "the error entry carries the identity" "1" \
  "$(grep -A3 -F 'ERROR:  division by zero' "$LOG" | grep -cF "$identity" || true)"
check "no identity on entries without one" "0" \
  "$(grep -B1 -F 'rowguard identity' "$LOG" | grep -c 'CREATE EXTENSION' || true)"

# --- no token anywhere --------------------------------------------------------------------
q postgres -c "SELECT rowguard.session_status()" -c "SELECT * FROM rowguard.stats()" >/dev/null
q app -c "SET rowguard.token = '$BOB'" -c "SELECT rowguard.session_status()" \
  -c "SELECT * FROM rowguard.explain_access('public.docs')" >/dev/null
leaks=0
for t in "${TOKENS[@]}" "$FORGED"; do
  IFS=. read -r h p s <<<"$t"
  for segment in "$h" "$p" "$s"; do
    if grep -qF -- "$segment" "$WORK/outputs" "$LOG"; then
      leaks=$((leaks + 1)); grep -nF -- "$segment" "$WORK/outputs" "$LOG" | head -3 | cut -c1-200
    fi
  done
done
check "no token segment in any output or the server log" "0" "$leaks"

echo "observe: $passed passed, $failed failed"
((failed == 0))
