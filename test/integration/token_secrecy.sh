#!/usr/bin/env bash
# No other session reads a token (issue 22, items 8 and 9; item 10 is sql/token_secrecy.sql
# and the unit tests).
#
# Part 1, rowguard not preloaded: CREATE EXTENSION warns and lint's preload rule reports an
# error; a token set by SET / SET LOCAL / set_config before the module loads in the backend
# is refused (28000, hint naming the preload settings) by the first rowguard function, and
# no identity is in force; a token from the startup packet (PGOPTIONS) is not refused; a
# database-wide session_preload_libraries satisfies lint.
# Part 2, rowguard loaded per session (session_preload_libraries): the same SET is
# accepted; lint is quiet and CREATE EXTENSION does not warn. Then statements that wait or
# fail before parse analysis ends, read from another session's pg_stat_activity: a
# victim's `SELECT rowguard.authenticate('<token>'), (SELECT count(*) FROM t)` waiting for
# the lock another session of the application role holds on t; `SELECT
# set_config('rowguard.token', '<token>', true), (SELECT ...)` waiting with
# log_lock_waits on, after deadlock_timeout; a syntax error and a statement sent into an
# aborted transaction, read while the victim sits idle afterwards. None may show the
# token. The server log gets one warning per backend that sent a token as a literal, the
# client none; and no server log line holds a token.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3
"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "token_secrecy: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PORT=""
WORK=$(mktemp -d)
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

PORT=$(pick_port 55840)
start_cluster "$PORT" "shared_preload_libraries = 'pg_stat_statements'" \
  "pg_stat_statements.track_utility = on" "log_min_error_statement = error"
LOG=$(cluster_log "$PORT")
DATA=$(cluster_data "$PORT")
HOST=$(cluster_dir "$PORT")

psql_as postgres -c "CREATE EXTENSION rowguard" >"$WORK/create.out" 2>&1
if grep -q "WARNING:  rowguard is not preloaded" "$WORK/create.out" &&
   grep -q "session_preload_libraries" "$WORK/create.out"; then
  pass "CREATE EXTENSION warns when rowguard is not preloaded"
else
  fail "CREATE EXTENSION did not warn: $(cat "$WORK/create.out")"
fi

psql_as postgres >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION pg_stat_statements;
SELECT rowguard.add_key(:'jwk_hs256');
CREATE ROLE app LOGIN;
CREATE ROLE app_lw LOGIN;
-- The lock-wait checks must not depend on deadlock_timeout's log line, except where
-- they are about it.
ALTER ROLE app SET deadlock_timeout = '1h';
ALTER ROLE app_lw SET log_lock_waits = on;
ALTER ROLE app_lw SET deadlock_timeout = '100ms';
CREATE TABLE public.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL);
INSERT INTO public.docs
SELECT g, CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
               ELSE '22222222-2222-4222-8222-222222222222'::uuid END
  FROM generate_series(1, 200) AS g;
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON public.docs USING (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT ON public.docs TO app, app_lw;
-- A table the application role may lock (LOCK ... ACCESS EXCLUSIVE needs UPDATE).
CREATE TABLE public.lockme (x int);
GRANT SELECT, UPDATE ON public.lockme TO app, app_lw;
SQL
TOKEN=$(psql_as postgres -Atc "SELECT rowguard.sign('{\"sub\":\"alice\",\"tenant_id\":\"11111111-1111-4111-8111-111111111111\",\"exp\":4102444800}', 'hs256-key')")
SIG=${TOKEN##*.}

lint_rows() { psql_as postgres -d "${1:-postgres}" -Atc "SELECT severity FROM rowguard._lint_030_preload()"; }

# --- Part 1: not preloaded -------------------------------------------------------------
[[ "$(lint_rows)" == "error" ]] && pass "lint's preload rule reports an error" ||
  fail "lint's preload rule: '$(lint_rows)'"

# A statement sets the token before anything loads rowguard in the backend.
app_psql() { "$PGBIN/psql" -X -h "$HOST" -p "$PORT" -U app -d postgres "$@"; }
app_psql >"$WORK/set.out" 2>&1 <<SQL || true
SET rowguard.token = '$TOKEN';
SELECT count(*) AS rows_seen FROM public.docs;
SELECT rowguard.is_authenticated() AS authenticated_afterwards;
SQL
if grep -q "ERROR:  invalid token" "$WORK/set.out" &&
   grep -q "HINT:  .*shared_preload_libraries or session_preload_libraries" "$WORK/set.out" &&
   ! grep -qE "^ +100$" "$WORK/set.out" && grep -qE "^ f$" "$WORK/set.out"; then
  pass "SET rowguard.token before the module loads is refused (28000, with the hint)"
else
  fail "SET before load: $(cat "$WORK/set.out")"
fi
app_psql -v VERBOSITY=verbose >"$WORK/setlocal.out" 2>&1 <<SQL || true
BEGIN;
SET LOCAL rowguard.token = '$TOKEN';
SELECT rowguard.claim('sub');
ROLLBACK;
SQL
if grep -q "ERROR:  28000: invalid token" "$WORK/setlocal.out" && ! grep -q "alice" "$WORK/setlocal.out"; then
  pass "SET LOCAL before the module loads is refused"
else
  fail "SET LOCAL before load: $(cat "$WORK/setlocal.out")"
fi
app_psql -v VERBOSITY=verbose >"$WORK/setconfig.out" 2>&1 <<SQL || true
BEGIN;
SELECT set_config('rowguard.token', '$TOKEN', true) IS NOT NULL AS set;
SELECT rowguard.sub();
ROLLBACK;
SQL
if grep -q "ERROR:  28000: invalid token" "$WORK/setconfig.out" && ! grep -q "alice" "$WORK/setconfig.out"; then
  pass "set_config before the module loads is refused"
else
  fail "set_config before load: $(cat "$WORK/setconfig.out")"
fi
# The startup packet is not shown to other sessions: that token stays.
out=$(PGOPTIONS="-c rowguard.token=$TOKEN" app_psql -Atc "SELECT rowguard.sub(), count(*) FROM public.docs" 2>&1 || true)
[[ "$out" == "alice|100" ]] && pass "a token given at connection (PGOPTIONS) is not refused" ||
  fail "PGOPTIONS token: $out"
# The module loads inside a nested statement that holds a literal token (PL/pgSQL
# EXECUTE): no line of the server log may carry that statement (rowguard's notice about
# the literal is raised there, with the nested statement as its CONTEXT).
psql_as postgres -qc "CREATE FUNCTION public.run_sql(t text) RETURNS void LANGUAGE plpgsql AS \$f\$ BEGIN EXECUTE t; END \$f\$"
app_psql -c "SELECT public.run_sql(\$q\$SELECT rowguard.verify('$TOKEN')\$q\$)" >"$WORK/nested.out" 2>&1 || true
if grep -qF "$SIG" "$LOG"; then
  fail "module loaded inside a nested statement: the server log holds the token: $(grep -nF "$SIG" "$LOG" | head -2 | cut -c1-160)"
else
  pass "module loaded inside a nested statement with a literal token: no token in the server log"
fi
# A database-wide session_preload_libraries satisfies lint.
psql_as postgres -qc "CREATE DATABASE other" -c "ALTER DATABASE other SET session_preload_libraries = 'rowguard'"
psql_as postgres -d other -qc "CREATE EXTENSION rowguard" >"$WORK/create-other.out" 2>&1
[[ -z "$(lint_rows other)" ]] && ! grep -q WARNING "$WORK/create-other.out" &&
  pass "ALTER DATABASE ... SET session_preload_libraries satisfies lint and CREATE EXTENSION" ||
  fail "database-wide preload: lint '$(lint_rows other)', $(cat "$WORK/create-other.out")"

# --- Part 2: loaded per session ---------------------------------------------------------
printf '%s\n' "session_preload_libraries = 'rowguard'" >> "$DATA/postgresql.conf"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 restart >/dev/null
[[ -z "$(lint_rows)" ]] && pass "lint's preload rule is quiet when rowguard is preloaded" ||
  fail "lint's preload rule, preloaded: '$(lint_rows)'"
psql_as postgres -qc "CREATE DATABASE third" 
psql_as postgres -d third -c "CREATE EXTENSION rowguard" >"$WORK/create-third.out" 2>&1
grep -q WARNING "$WORK/create-third.out" && fail "CREATE EXTENSION warned although preloaded" ||
  pass "CREATE EXTENSION does not warn when rowguard is preloaded"
out=$(app_psql -At 2>&1 <<SQL || true
SET rowguard.token = '$TOKEN';
SELECT count(*) FROM public.docs;
SQL
)
[[ "$out" == $'SET\n100' ]] && pass "preloaded, the same SET is accepted" || fail "preloaded SET: $out"

# Statements that wait or fail before parse analysis ends, seen from another session.
"$PY" - "$HOST" "$PORT" "$TOKEN" "$LOG" >"$WORK/windows.out" 2>&1 <<'PY' || true
import sys, threading, time
import psycopg
host, port, token, log = sys.argv[1:5]
sig = token.rsplit(".", 1)[1]

def connect(user):
    return psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True)

observer = connect("postgres")
def activity(pid):
    return observer.execute(
        "SELECT state, coalesce(wait_event_type, ''), query FROM pg_stat_activity WHERE pid = %s",
        (pid,)).fetchone()

def report(label, pid):
    state, wait, query = activity(pid)
    verdict = "LEAK" if sig in query or token[:40] in query else "clean"
    print(f"{label}: {verdict} state={state} wait={wait} masked={'[redacted]' in query}")

def wait_for(pred, what, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    print(f"TIMEOUT waiting for {what}")
    return False

def lock_wait(label, user, statement, until_logged):
    holder = connect("app")  # the application role itself holds the lock
    victim = connect(user)
    victim.add_notice_handler(lambda d: print("client notice:", d.message_primary))
    # Resolve search_path now: a session's first lookup of an unqualified name would
    # mask the text through the object access hook; this case is about the log line.
    victim.execute("SELECT now()")
    vpid = victim.info.backend_pid
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE public.lockme IN ACCESS EXCLUSIVE MODE")
    errors = []
    def run():
        try:
            victim.execute(statement)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    if wait_for(lambda: activity(vpid)[1] == "Lock", f"{label} to wait for the lock"):
        if until_logged:
            wait_for(lambda: f"[{vpid}]" in open(log, errors="replace").read()
                     and "still waiting" in open(log, errors="replace").read(),
                     f"{label}: the lock-wait log line")
        report(label, vpid)
    holder.execute("ROLLBACK")
    t.join(60)
    print(f"{label}: finished, errors={errors!r}")
    victim.close(); holder.close()

lock_wait("lock wait, rowguard.authenticate", "app",
          f"SELECT rowguard.authenticate('{token}') ->> 'sub', (SELECT count(*) FROM public.lockme)",
          False)
lock_wait("lock wait, set_config, log_lock_waits", "app_lw",
          f"SELECT set_config('rowguard.token', '{token}', false) <> '', (SELECT count(*) FROM public.lockme)",
          True)

# A syntax error inside a transaction: the victim then sits idle (aborted).
victim = connect("app")
victim.add_notice_handler(lambda d: print("client notice:", d.message_primary))
victim.execute("BEGIN")
try:
    victim.execute(f"SELEC rowguard.authenticate('{token}')")
except psycopg.Error as e:
    print("syntax error:", e.sqlstate)
report("syntax error", victim.info.backend_pid)
victim.execute("ROLLBACK")
# A statement sent into an aborted transaction.
victim.execute("BEGIN")
try:
    victim.execute("SELECT 1/0")
except psycopg.Error as e:
    print("division:", e.sqlstate)
try:
    victim.execute(f"SELECT rowguard.authenticate('{token}')")
except psycopg.Error as e:
    print("aborted transaction:", e.sqlstate)
report("aborted transaction", victim.info.backend_pid)
victim.execute("ROLLBACK")
# Two literal tokens, then one as a bind parameter, in one backend.
victim.execute(f"SELECT rowguard.verify('{token}') IS NOT NULL")
victim.execute(f"SELECT rowguard.verify('{token}') IS NOT NULL")
victim.execute("SELECT rowguard.verify(%s) IS NOT NULL", (token,))
print("warning pid:", victim.info.backend_pid)
victim.close()
PY
cat "$WORK/windows.out"
for label in "lock wait, rowguard.authenticate" "lock wait, set_config, log_lock_waits" \
             "syntax error" "aborted transaction"; do
  if grep -qF "$label: clean" "$WORK/windows.out"; then
    pass "$label: pg_stat_activity shows no token"
  else
    fail "$label: $(grep -F "$label" "$WORK/windows.out" | head -2)"
  fi
done
grep -q "syntax error: 42601" "$WORK/windows.out" || fail "the syntax error did not happen"
grep -q "aborted transaction: 25P02" "$WORK/windows.out" || fail "the aborted transaction did not happen"

# One warning per backend that sent a literal token, in the server log only.
wpid=$(sed -n 's/^warning pid: //p' "$WORK/windows.out")
n=$(grep -c "\[$wpid\] .*LOG:  rowguard: a token was sent inside the text of a statement" "$LOG" || true)
[[ "$n" == 1 ]] && pass "one literal-token warning for the backend in the server log" ||
  fail "literal-token warnings of backend $wpid: $n"
grep -q "a token was sent inside" "$WORK/windows.out" "$WORK/set.out" &&
  fail "the literal-token warning reached a client" || pass "no client received the warning"

if grep -qF "$SIG" "$LOG"; then
  fail "the server log holds a token: $(grep -nF "$SIG" "$LOG" | head -3 | cut -c1-200)"
else
  pass "the server log holds no token"
fi

if ((failures == 0)); then
  echo "token_secrecy: all checks passed"
else
  echo "token_secrecy: $failures check(s) failed"
  exit 1
fi
