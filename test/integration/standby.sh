#!/usr/bin/env bash
# A streaming hot standby (pg_basebackup -R from the test primary): verify, authenticate,
# claim accessors and protected queries (also with forced parallel workers) work on the
# standby; a key removed and a key added on the primary take effect on the standby once
# replayed - in the very backends that had verified (and cached) with the old key set -
# and so does a revocation, for identities in force and mid-transaction. A role-bound
# token switches current_user on the standby, and a replayed disallow_role ends it.
# Both servers preload rowguard: the primary's new backends are served by the shared key
# snapshot, the standby's never use it (no trigger runs there) and read the replayed tables:
# a key added, replaced and removed on the primary is seen by the next new standby backend,
# and so is a revocation (the primary's backends share revocation answers, the standby's
# probe the replayed table).
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3   # Debian's python3 with psycopg 3 (python3-psycopg)

PRIMARY="" STANDBY=""
cleanup() {
  local rc=$?
  if ((rc != 0)); then
    for p in $PRIMARY $STANDBY; do
      echo "--- last lines of the server log of $p ---"; tail -n 25 "$(cluster_log "$p")" || true
    done
  fi
  [[ -n "$STANDBY" ]] && stop_cluster "$STANDBY"
  [[ -n "$PRIMARY" ]] && stop_cluster "$PRIMARY"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "standby: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PRIMARY=$(pick_port 54460)
start_cluster "$PRIMARY" "max_worker_processes = 8" "max_parallel_workers_per_gather = 2" \
  "shared_preload_libraries = 'rowguard'"
PRIMARY_HOST=$PGHOST

psql_as postgres >/dev/null <<'SQL'
\set ECHO none
\i test/fixtures/keys.psql
\i test/fixtures/tokens.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256');
SELECT rowguard.add_key(:'jwk_es256_pub');
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests']);
CREATE ROLE app LOGIN;
CREATE TABLE public.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL);
CREATE INDEX ON public.docs (tenant_id);
INSERT INTO public.docs
SELECT g, CASE WHEN g % 3 = 0 THEN :'tenant_a'::uuid ELSE :'tenant_b'::uuid END, 'doc ' || g
  FROM generate_series(1, 30000) AS g;
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY base ON public.docs USING (true) WITH CHECK (true);
CREATE POLICY tenant ON public.docs AS RESTRICTIVE
    USING (tenant_id = rowguard.claim_uuid('tenant_id'))
    WITH CHECK (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT ON public.docs TO app;
ANALYZE public.docs;
SQL

# An immediate checkpoint first, so the one pg_basebackup requests has nothing to spread.
psql_as postgres -c CHECKPOINT
STANDBY=$(pick_port $((PRIMARY + 1)))
start_standby "$PRIMARY" "$STANDBY" "max_worker_processes = 8" "max_parallel_workers_per_gather = 2"
echo "standby: hot standby on port $STANDBY streaming from $PRIMARY"

PRIMARY_DSN="host=$PRIMARY_HOST port=$PRIMARY dbname=postgres user=postgres" \
STANDBY_DSN="host=$(cluster_dir "$STANDBY") port=$STANDBY dbname=postgres" \
FIXTURES="$ROOT/test/fixtures" "$PY" - <<'PYEOF'
import json, os, sys, time
import psycopg

fx = os.environ["FIXTURES"]
tok = json.load(open(os.path.join(fx, "tokens.json")))
jwk_hs384 = open(os.path.join(fx, "keys", "hs384.jwk.json")).read()
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
NA, NB = 10000, 20000   # rows of tenant A and B

cases = 0
failures = []


def check(name, ok, detail=""):
    global cases
    cases += 1
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def outcome(conn, stmt, params=()):
    """('ok', first row) or (sqlstate, message + detail) of one statement."""
    try:
        cur = conn.execute(stmt, params)
        return "ok", (cur.fetchone() if cur.description else None)
    except psycopg.Error as e:
        d = e.diag
        return e.sqlstate, f"{d.message_primary}: {d.message_detail}"


def connect(dsn, **kw):
    return psycopg.connect(dsn, autocommit=True, prepare_threshold=None, **kw)


primary = connect(os.environ["PRIMARY_DSN"])
standby_dsn = os.environ["STANDBY_DSN"]


def wait_replay(what):
    # The insert position, not pg_current_wal_lsn() (the write position): the test cluster
    # runs with synchronous_commit = off, so a commit record can still sit in WAL buffers.
    # A transaction with an xid first, so the insert position is the end of a record (its
    # commit) that the standby will replay, never a bare page header after a segment switch.
    primary.execute("SELECT txid_current()")
    lsn = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    with connect(standby_dsn + " user=postgres") as s:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            done = s.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]
            if done:
                print(f"  replayed {what} (primary LSN {lsn}) in {time.monotonic() - t0:.2f} s")
                return
            time.sleep(0.05)
    raise SystemExit(f"standby did not replay up to {lsn} within 60 s")


wait_replay("the fixture")

# --- 1. everything works on the standby, as the application role --------------------------
print("on the standby, as role app:")
app = connect(standby_dsn + " user=app", application_name="standby-app")
pid = app.execute("SELECT pg_backend_pid()").fetchone()[0]
check("is a hot standby", app.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True)
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["alice_hs256"]])
check("verify(alice_hs256)", (st, row) == ("ok", ("alice",)), f"{st} {row}")
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["bob_es256"]])
check("verify(bob_es256)", (st, row) == ("ok", ("bob",)), f"{st} {row}")
st, row = outcome(app, "SELECT rowguard.verify(%s)", [tok["valid_hs384"]])
check("verify(valid_hs384) before its key exists: 28000", st == "28000", f"{st} {row}")
st, row = outcome(app, "SELECT rowguard.verify(%s)", [tok["forged"]])
check("verify(forged): 28000", st == "28000", f"{st} {row}")
st, row = outcome(app, "SELECT rowguard.verify(%s)", [tok["wrong_aud"]])
check("issuer rule replicated: wrong_aud 28000", st == "28000", f"{st} {row}")

app.execute("BEGIN")
claims = app.execute("SELECT rowguard.authenticate(%s)", [tok["alice_hs256"]]).fetchone()[0]
check("authenticate(alice_hs256) returns the claims", claims.get("sub") == "alice")
row = app.execute("""SELECT rowguard.is_authenticated(), rowguard.sub(),
    rowguard.claim_uuid('tenant_id')::text, rowguard.claim_bigint('org.id'),
    rowguard.claim_bool('flags.admin'), rowguard.has_role('reader'), rowguard.has_role('root'),
    rowguard.has_scope('orders:read'), rowguard.claim('/https:~1~1example.com~1tenant'),
    rowguard.claim_array('roles')""").fetchone()
check("claim accessors", row == (True, "alice", A, 42, True, True, False, True, "t1",
                                 ["reader", "writer"]), repr(row))
row = app.execute("SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s::uuid) FROM public.docs",
                  [A]).fetchone()
check(f"protected query sees tenant A's {NA} rows only", row == (NA, 0), repr(row))
app.execute("COMMIT")
row = app.execute("SELECT rowguard.is_authenticated(), count(*) FROM public.docs").fetchone()
check("after COMMIT: unauthenticated, no rows", row == (False, 0), repr(row))

app.execute("BEGIN")
app.execute("SET LOCAL rowguard.token = '%s'" % tok["bob_es256"])
app.execute("SET LOCAL force_parallel_mode = on")
app.execute("SET LOCAL parallel_setup_cost = 0")
app.execute("SET LOCAL parallel_tuple_cost = 0")
app.execute("SET LOCAL min_parallel_table_scan_size = 0")
plan = "\n".join(r[0] for r in app.execute(
    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM public.docs"))
row = app.execute("SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s::uuid) FROM public.docs",
                  [B]).fetchone()
workers = [l.strip() for l in plan.splitlines() if "Workers Launched" in l]
check("parallel plan on the standby launched workers", bool(workers) and "Launched: 0" not in workers[0],
      plan)
check(f"parallel protected query sees tenant B's {NB} rows only", row == (NB, 0), repr(row))
app.execute("COMMIT")

# --- 2. key change on the primary reaches this same, cached backend ------------------------
print("key change on the primary while the standby backend stays connected:")
# Warm the caches again: verified tokens and the key set, and hold a session identity.
for _ in range(3):
    outcome(app, "SELECT rowguard.verify(%s)", [tok["alice_hs256"]])
app.execute("SELECT rowguard.authenticate(%s, false)", [tok["alice_hs256"]])
check("session identity alice in force", app.execute("SELECT rowguard.sub()").fetchone()[0] == "alice")
# A second standby backend in the middle of a transaction with a local identity.
mid = connect(standby_dsn + " user=app", application_name="standby-mid")
mid.execute("BEGIN")
mid.execute("SELECT rowguard.authenticate(%s)", [tok["alice_hs256"]])
mid.execute("SELECT count(*) FROM public.docs")

removed = primary.execute("SELECT rowguard.remove_key('hs256-key')").fetchone()[0]
added = primary.execute("SELECT rowguard.add_key(%s::jsonb)", [jwk_hs384]).fetchone()[0]
check("primary: remove_key('hs256-key') and add_key(hs384)", removed is True and added == "hs384-key",
      f"{removed} {added}")
wait_replay("remove_key + add_key")

check("same standby backend", app.execute("SELECT pg_backend_pid()").fetchone()[0] == pid)
st, det = outcome(app, "SELECT rowguard.sub()")
check("session identity with the removed key fails at next use: 28000", st == "28000", f"{st} {det}")
st, det = outcome(app, "SELECT count(*) FROM public.docs")
check("protected query with that identity fails: 28000", st == "28000", f"{st} {det}")
app.execute("RESET rowguard.token")
st, det = outcome(app, "SELECT rowguard.verify(%s)", [tok["alice_hs256"]])
check("removed key's token (cached before) rejected: 28000", st == "28000", f"{st} {det}")
st, det = outcome(app, "SELECT rowguard.authenticate(%s)", [tok["alice_hs256"]])
check("authenticate with the removed key's token: 28000", st == "28000", f"{st} {det}")
st, det = outcome(app, "SET rowguard.token = '%s'" % tok["alice_hs256"])
check("SET rowguard.token with it: 28000", st == "28000", f"{st} {det}")
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["valid_hs384"]])
check("new key's token accepted", (st, row) == ("ok", ("valid-user",)), f"{st} {row}")
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["bob_es256"]])
check("untouched key still accepted", (st, row) == ("ok", ("bob",)), f"{st} {row}")
app.execute("BEGIN")
st, det = outcome(app, "SELECT rowguard.authenticate(%s) ->> 'sub'", [tok["valid_hs384"]])
if st == "ok":
    st, det = outcome(app, "SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s::uuid) "
                      "FROM public.docs", [A])
check("protected query with the new key's identity", (st, det) == ("ok", (NA, 0)), f"{st} {det}")
app.execute("ROLLBACK")

# The backend that was mid-transaction: its next statement.
st, det = outcome(mid, "SELECT rowguard.sub()")
mid_next = f"{st} {det}"
st2, det2 = outcome(mid, "SELECT count(*) FROM public.docs") if st == "ok" else (st, det)
check("mid-transaction backend: identity with the removed key fails by its next table access",
      st2 in ("28000", "25P02"), f"sub(): {mid_next}; table: {st2} {det2}")
print(f"    (its first statement after replay, SELECT rowguard.sub(): {mid_next})")
mid.execute("ROLLBACK")
st, det = outcome(mid, "SELECT rowguard.verify(%s)", [tok["alice_hs256"]])
check("mid-transaction backend, next transaction: removed key rejected", st == "28000", f"{st} {det}")
mid.close()

# A rolled-back removal on the primary changes nothing on the standby.
primary.execute("BEGIN")
primary.execute("SELECT rowguard.remove_key('es256-key')")
primary.execute("ROLLBACK")
wait_replay("a rolled-back remove_key")
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["bob_es256"]])
check("rolled-back removal: key still accepted on the standby", (st, row) == ("ok", ("bob",)),
      f"{st} {row}")

# --- 2b. new standby backends: keys added, replaced and removed on the primary ------------
print("new standby backends while keys change on the primary (both preloaded):")


def fresh(dsn, token):
    """Verifies `token` in a new backend: (sqlstate or 'ok', sub, key-snapshot debug lines)."""
    notes = []
    with connect(dsn, options="-c client_min_messages=debug2") as c:
        c.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
        try:
            sub = c.execute("SELECT rowguard.verify(%s) ->> 'sub'", [token]).fetchone()[0]
            state = "ok"
        except psycopg.Error as e:
            state, sub = e.sqlstate, e.diag.message_detail
    return state, sub, [n for n in notes if "snapshot" in n]


primary_dsn = os.environ["PRIMARY_DSN"]
sb = standby_dsn + " user=app"
fresh(primary_dsn, tok["valid_hs384"])
state, sub, snap = fresh(primary_dsn, tok["valid_hs384"])
check("primary: a new backend is served by the shared key snapshot",
      state == "ok" and "rowguard: served from the key snapshot" in snap, f"{state} {sub} {snap}")
state, sub, snap = fresh(sb, tok["valid_hs384"])
check("standby: a new backend accepts hs384 and uses no snapshot",
      (state, sub, snap) == ("ok", "valid-user", []), f"{state} {sub} {snap}")
# Replace: other material under the same kid.
primary.execute("BEGIN")
primary.execute("SELECT rowguard.remove_key('hs384-key')")
primary.execute("SELECT rowguard.add_secret(repeat('s', 48), 'HS384', 'hs384-key')")
primary.execute("COMMIT")
swapped = primary.execute("""SELECT rowguard.sign('{"sub":"swapped","exp":4102444800}',
                                                   'hs384-key')""").fetchone()[0]
check("primary: the next new backend refuses the replaced material's token",
      fresh(primary_dsn, tok["valid_hs384"])[0] == "28000")
wait_replay("the replaced key")
state, sub, snap = fresh(sb, tok["valid_hs384"])
check("standby: replaced key: the old material's token refused by a new backend",
      state == "28000" and snap == [], f"{state} {sub} {snap}")
state, sub, snap = fresh(sb, swapped)
check("standby: replaced key: the new material's token accepted by a new backend",
      (state, sub) == ("ok", "swapped"), f"{state} {sub} {snap}")
primary.execute("SELECT rowguard.remove_key('hs384-key')")
wait_replay("the removed key")
state, sub, snap = fresh(sb, swapped)
check("standby: removed key: refused by a new backend", state == "28000", f"{state} {sub} {snap}")
primary.execute("SELECT rowguard.add_key(%s::jsonb)", [jwk_hs384])
wait_replay("the key added back")
state, sub, snap = fresh(sb, tok["valid_hs384"])
check("standby: key added back: accepted by a new backend", (state, sub) == ("ok", "valid-user"),
      f"{state} {sub} {snap}")
state, sub, snap = fresh(primary_dsn, tok["valid_hs384"])
check("primary: key added back: accepted by a new backend", (state, sub) == ("ok", "valid-user"),
      f"{state} {sub} {snap}")

# Revocations: the primary's new backends share the revocation probes' answers (shared
# revocation answers), the standby's never do (no trigger runs there) and probe the
# replayed table: a revocation on the primary is seen by the next new backend of both.
def fresh_rv(dsn, token):
    notes = []
    with connect(dsn, options="-c client_min_messages=debug2") as c:
        c.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
        try:
            c.execute("SELECT rowguard.verify(%s)", [token]).fetchone()
            state = "ok"
        except psycopg.Error as e:
            state = e.sqlstate
    return state, [n for n in notes if "revocation answer shared" in n]


rv = primary.execute("""SELECT rowguard.sign('{"sub":"sb-rv","jti":"sb-rv-1","iat":1700000000,
                                               "exp":4102444800}', 'hs384-key')""").fetchone()[0]
fresh_rv(primary_dsn, rv)
state, notes = fresh_rv(primary_dsn, rv)
check("primary: a second new backend uses the shared revocation answers",
      state == "ok" and len(notes) == 2, f"{state} {notes}")
fresh_rv(sb, rv)
state, notes = fresh_rv(sb, rv)
check("standby: new backends accept it and share no revocation answer",
      (state, notes) == ("ok", []), f"{state} {notes}")
primary.execute("SELECT rowguard.revoke_token('sb-rv-1')")
state, notes = fresh_rv(primary_dsn, rv)
check("primary: revoked: the next new backend refuses it", state == "28000", f"{state} {notes}")
wait_replay("revoke_token('sb-rv-1')")
state, notes = fresh_rv(sb, rv)
check("standby: revoked on the primary: the next new standby backend refuses it",
      (state, notes) == ("28000", []), f"{state} {notes}")
primary.execute("DELETE FROM rowguard.revocations WHERE jti = 'sb-rv-1'")
wait_replay("the revocation deleted")
check("standby: revocation deleted on the primary: accepted again by a new backend",
      fresh_rv(sb, rv)[0] == "ok")

# --- 3. a revocation on the primary reaches standby backends that hold the identity -------
print("revocation on the primary while standby backends hold the identity:")
app.execute("SELECT rowguard.authenticate(%s, false)", [tok["bob_es256"]])
check("session identity bob in force", app.execute("SELECT rowguard.sub()").fetchone()[0] == "bob")
mid = connect(standby_dsn + " user=app", application_name="standby-mid-revoke")
mid.execute("BEGIN")
mid.execute("SELECT rowguard.authenticate(%s)", [tok["bob_es256"]])
mid_count = mid.execute("SELECT count(*) FROM public.docs").fetchone()[0]
check("mid-transaction backend sees tenant B's rows", mid_count == NB, repr(mid_count))
primary.execute("SELECT rowguard.revoke_subject('bob')")
wait_replay("revoke_subject('bob')")
st, det = outcome(app, "SELECT rowguard.sub()")
check("session identity of a revoked subject fails at next use: 28000 revoked",
      st == "28000" and "revoked" in det, f"{st} {det}")
st, det = outcome(mid, "SELECT count(*) FROM public.docs")
check("mid-transaction backend: next statement fails: 28000 revoked",
      st == "28000" and "revoked" in det, f"{st} {det}")
mid.execute("ROLLBACK")
mid.close()
app.execute("RESET rowguard.token")
st, det = outcome(app, "SELECT rowguard.verify(%s)", [tok["bob_es256"]])
check("revoked subject's token (cached before) rejected on the standby", st == "28000", f"{st} {det}")
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["valid_hs384"]])
check("another subject's token still accepted", (st, row) == ("ok", ("valid-user",)), f"{st} {row}")
primary.execute("DELETE FROM rowguard.revocations WHERE sub = 'bob'")
wait_replay("deleting the revocation")
st, row = outcome(app, "SELECT rowguard.verify(%s) ->> 'sub'", [tok["bob_es256"]])
check("revocation deleted on the primary: accepted again", (st, row) == ("ok", ("bob",)), f"{st} {row}")

# --- 4. role binding on the standby: rules replicated, role switched and restored ----------
print("role-bound token on the standby:")
primary.execute("CREATE ROLE standby_reader NOLOGIN")
primary.execute("GRANT SELECT ON public.docs TO standby_reader")
primary.execute("REVOKE SELECT ON public.docs FROM app")
primary.execute("SELECT rowguard.allow_role('standby_reader')")
primary.execute("ALTER ROLE app SET rowguard.role_binding_claim = 'role'")
bound = primary.execute("""SELECT rowguard.sign(jsonb_build_object('sub', 'sb', 'role',
    'standby_reader', 'tenant_id', %s::text, 'exp', 4102444800), 'hs384-key')""", [A]).fetchone()[0]
wait_replay("allow_role and grants")
with connect(standby_dsn + " user=app") as rb:
    st, det = outcome(rb, "SELECT count(*) FROM public.docs")
    check("standby, no token: app cannot read docs (42501)", st == "42501", f"{st} {det}")
    rb.execute("BEGIN")
    st, row = outcome(rb, "SELECT rowguard.authenticate(%s) ->> 'sub', current_user::text", [bound])
    check("standby: bound token makes standby_reader current_user",
          (st, row) == ("ok", ("sb", "standby_reader")), f"{st} {row}")
    st, row = outcome(rb, "SELECT count(*) FROM public.docs")
    check(f"standby: bound role reads tenant A's {NA} rows", (st, row) == ("ok", (NA,)), f"{st} {row}")
    rb.execute("COMMIT")
    st, row = outcome(rb, "SELECT current_user::text")
    check("standby: after COMMIT current_user is app", (st, row) == ("ok", ("app",)), f"{st} {row}")
    rb.execute("SELECT rowguard.authenticate(%s, false)", [bound])
    primary.execute("SELECT rowguard.disallow_role('standby_reader')")
    wait_replay("disallow_role")
    st, det = outcome(rb, "SELECT count(*) FROM public.docs")
    check("standby: disallow_role replayed ends the bound session identity (28000)",
          st == "28000", f"{st} {det}")
    rb.execute("RESET rowguard.token")
    st, row = outcome(rb, "SELECT current_user::text")
    check("standby: after RESET current_user is app", (st, row) == ("ok", ("app",)), f"{st} {row}")
primary.execute("ALTER ROLE app RESET rowguard.role_binding_claim")
primary.execute("GRANT SELECT ON public.docs TO app")

# Writes stay refused on the standby, also for key administration by a superuser.
with connect(standby_dsn + " user=postgres") as su:
    st, det = outcome(su, "SELECT rowguard.remove_key('es256-key')")
    check("remove_key on the standby: 25006 read-only", st == "25006", f"{st} {det}")
    st, row = outcome(su, "SELECT rowguard.verify(rowguard.sign('{\"sub\":\"s\",\"exp\":4102444800}', 'hs384-key')) ->> 'sub'")
    check("sign() on the standby works (reads only)", (st, row) == ("ok", ("s",)), f"{st} {row}")
app.close()

print(f"standby: {cases} cases, {len(failures)} failed")
sys.exit(1 if failures else 0)
PYEOF

if grep -E "terminated by signal|PANIC" "$(cluster_log "$PRIMARY")" "$(cluster_log "$STANDBY")"; then
  echo "FAIL: a server process crashed" >&2; exit 1
fi
echo "standby: PASS"
