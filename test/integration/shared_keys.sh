#!/usr/bin/env bash
# The shared key snapshot (issue 26; docs/design.md, "The shared key snapshot"). On a
# server with shared_preload_libraries = 'rowguard', checked with new connections (each
# one a new backend) while other sessions change the keys:
#   - the first new backend builds and publishes the snapshot, the next ones are served
#     from it (DEBUG lines with client_min_messages, never timing);
#   - a key added, replaced (same kid, other material) and removed in one session is seen
#     by the very next new connection; an issuer rule and a role binding too;
#   - two databases with a key of the same kid and other secrets never accept each
#     other's tokens;
#   - a snapshot built while a change commits is not published as current: the builder
#     is held (a lock on rowguard.issuers) after reading rowguard.keys, the change commits,
#     and the next new connection still sees the new key;
#   - a build cut short by an error in a subtransaction leaves nothing behind;
#   - inside the transaction that changes the keys the tables are read (own changes
#     seen; a rollback leaves the others unchanged); a prepared transaction's change is
#     seen once COMMIT PREPARED ran; DROP and CREATE EXTENSION leave no old key behind;
#   - revocations (shared revocation answers, preloaded): a second new backend uses the
#     answers the first one probed; revoke_token and revoke_subject in one session are
#     seen by the very next new backend; the revoking transaction sees its own change; a
#     rollback changes nothing; a probe waiting on a revoking transaction's lock refuses;
#     a prepared revocation is seen once COMMIT PREPARED ran;
#   - with rowguard.shared_key_store_size too small, or 0, verification works as before.
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
  { echo "shared_keys: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

PORT=$(pick_port 54620)
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" "max_prepared_transactions = 4"
DATA=$(cluster_data "$PORT")

psql_as postgres -q >/dev/null <<'SQL'
\set ON_ERROR_STOP 1
\set ECHO none
\i test/fixtures/keys.psql
CREATE EXTENSION rowguard;
SELECT rowguard.add_key(:'jwk_hs256'), rowguard.add_key(:'jwk_es256');
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests']);
CREATE ROLE app LOGIN;
CREATE ROLE sk_reader NOLOGIN;
CREATE DATABASE other;
SQL
psql_as postgres -q -d other >/dev/null <<'SQL'
\set ON_ERROR_STOP 1
CREATE EXTENSION rowguard;
SQL

run_python() { # run_python MODE: the checks below, for a server in MODE
  DSN="host=$PGHOST port=$PORT user=postgres" FIXTURES="$ROOT/test/fixtures" MODE="$1" "$PY" - <<'PYEOF'
import json, os, sys, threading, time
import psycopg

fx = os.environ["FIXTURES"]
mode = os.environ["MODE"]  # "on", "small" or "off"
tok = json.load(open(os.path.join(fx, "tokens.json")))
jwk_hs384 = open(os.path.join(fx, "keys", "hs384.jwk.json")).read()
dsn = os.environ["DSN"]
cases, failures = 0, []


def check(name, ok, detail=""):
    global cases
    cases += 1
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def connect(db="postgres", user="postgres", debug=False):
    options = "-c client_min_messages=debug2" if debug else ""
    return psycopg.connect(f"{dsn} dbname={db}", user=user, autocommit=True,
                           prepare_threshold=None, options=options)


admin = connect()
admin_other = connect("other")


def fresh(token, db="postgres", user="app"):
    """Verifies `token` in a new backend: (sqlstate or 'ok', sub, snapshot debug lines)."""
    notes = []
    with connect(db, user, debug=True) as c:
        c.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
        try:
            sub = c.execute("SELECT rowguard.verify(%s) ->> 'sub'", [token]).fetchone()[0]
            state = "ok"
        except psycopg.Error as e:
            state, sub = e.sqlstate, e.diag.message_detail
    snap = [n for n in notes if "snapshot" in n]
    return state, sub, snap


def accepted(token, db="postgres"):
    state, sub, _ = fresh(token, db)
    return state == "ok"


print(f"shared key store {mode}:")
# Every check below is about what new backends see, whatever served them.
admin.execute("DELETE FROM rowguard.keys WHERE false")  # the statement trigger: a change
state, sub, snap = fresh(tok["bob_es256"])
check("new backend: bob_es256 accepted", (state, sub) == ("ok", "bob"), f"{state} {sub}")
if mode == "on":
    check("  the first new backend after a change published the snapshot",
          "rowguard: key snapshot published" in snap, repr(snap))
    state, sub, snap = fresh(tok["alice_hs256"])
    check("  the next one was served from it and built none",
          state == "ok" and "rowguard: served from the key snapshot" in snap
          and not any("published" in n for n in snap), f"{state} {sub} {snap}")
else:
    check("  no snapshot published or served",
          not any(n in ("rowguard: key snapshot published", "rowguard: served from the key snapshot")
                  for n in snap), repr(snap))

# --- add, replace, remove: the very next new connection sees each ------------------------
check("hs384 token refused before its key exists", not accepted(tok["valid_hs384"]))
admin.execute("SELECT rowguard.add_key(%s::jsonb)", [jwk_hs384])
check("key added in one session: the next new backend accepts its token",
      accepted(tok["valid_hs384"]))
# Replace: the same kid, other material (an HS256 secret under es256-key's kid).
old_es = admin.execute("SELECT jwk::text FROM rowguard.keys WHERE kid = 'es256-key'").fetchone()[0]
admin.execute("BEGIN")
admin.execute("SELECT rowguard.remove_key('es256-key')")
admin.execute("SELECT rowguard.add_secret(repeat('r', 32), 'HS256', 'es256-key')")
admin.execute("COMMIT")
replaced = admin.execute("""SELECT rowguard.sign('{"sub":"swapped","exp":4102444800}', 'es256-key')""").fetchone()[0]
check("key replaced: the old material's token refused by the next new backend",
      not accepted(tok["bob_es256"]))
state, sub, _ = fresh(replaced)
check("key replaced: the new material's token accepted", (state, sub) == ("ok", "swapped"), f"{state} {sub}")
admin.execute("BEGIN")
admin.execute("SELECT rowguard.remove_key('es256-key')")
admin.execute("SELECT rowguard.add_key(%s::jsonb)", [old_es])
admin.execute("COMMIT")
check("original key back: bob_es256 accepted again", accepted(tok["bob_es256"]))
admin.execute("SELECT rowguard.remove_key('hs384-key')")
check("key removed: the next new backend refuses its token", not accepted(tok["valid_hs384"]))

# Issuer rules are in the snapshot too.
admin.execute("SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['elsewhere'])")
check("issuer rule changed: the next new backend applies it", not accepted(tok["bob_es256"]))
admin.execute("SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests'])")
check("issuer rule restored", accepted(tok["bob_es256"]))

# Role bindings are in the snapshot too.
admin.execute("ALTER ROLE app SET rowguard.role_binding_claim = 'role'")
bound = admin.execute("""SELECT rowguard.sign('{"sub":"b","role":"sk_reader","exp":4102444800}',
                                              'hs256-key')""").fetchone()[0]
check("role not allowed: the bound token refused", not accepted(bound))
admin.execute("SELECT rowguard.allow_role('sk_reader')")
with connect(user="app") as c:
    c.execute("BEGIN")
    who = c.execute("SELECT rowguard.authenticate(%s) ->> 'sub', current_user::text", [bound]).fetchone()
    c.execute("COMMIT")
check("role allowed in one session: the next new backend switches to it", who == ("b", "sk_reader"),
      repr(who))
admin.execute("SELECT rowguard.disallow_role('sk_reader')")
check("role disallowed: the next new backend refuses the token", not accepted(bound))
admin.execute("ALTER ROLE app RESET rowguard.role_binding_claim")

# --- two databases: the same kid, other secrets -------------------------------------------
admin.execute("SELECT rowguard.add_secret(repeat('a', 32), 'HS256', 'shared-kid')")
admin_other.execute("SELECT rowguard.add_secret(repeat('b', 32), 'HS256', 'shared-kid')")
claims = '{"sub":"cross","exp":4102444800}'
tok_main = admin.execute("SELECT rowguard.sign(%s, 'shared-kid')", [claims]).fetchone()[0]
tok_other = admin_other.execute("SELECT rowguard.sign(%s, 'shared-kid')", [claims]).fetchone()[0]
for round_ in (1, 2):  # the second round: both snapshots built and current
    check(f"round {round_}: database postgres accepts its own token", accepted(tok_main))
    check(f"round {round_}: database other accepts its own token", accepted(tok_other, "other"))
    check(f"round {round_}: database other refuses postgres' token", not accepted(tok_main, "other"))
    check(f"round {round_}: database postgres refuses other's token", not accepted(tok_other))
check("database other has no es256-key: bob_es256 refused there",
      not accepted(tok["bob_es256"], "other"))

# --- a change committed while a snapshot is built ------------------------------------------
hs384_signed = None
admin.execute("DELETE FROM rowguard.keys WHERE false")  # the snapshot is stale: next backend builds
changer = connect()
changer.execute("BEGIN")
changer.execute("LOCK TABLE rowguard.issuers IN ACCESS EXCLUSIVE MODE")
changer.execute("SELECT rowguard.add_key(%s::jsonb)", [jwk_hs384])
result = {}


def builder():
    result["b"] = fresh(tok["alice_hs256"])


t = threading.Thread(target=builder)
t.start()
# The builder has read rowguard.keys (without the uncommitted key) and waits for the lock
# on rowguard.issuers (or, without the snapshot, the table read waits the same way).
deadline = time.monotonic() + 60
waiting = False
while time.monotonic() < deadline and not waiting:
    waiting = admin.execute("""SELECT EXISTS (SELECT FROM pg_locks
        WHERE relation = 'rowguard.issuers'::regclass AND NOT granted)""").fetchone()[0]
    time.sleep(0.05)
check("a new backend waits on rowguard.issuers while building", waiting)
changer.execute("COMMIT")
t.join(60)
changer.close()
state, sub, snap = result.get("b", ("none", None, []))
check("  that backend verified its token", (state, sub) == ("ok", "alice"), f"{state} {sub}")
check("the change committed during the build: the next new backend accepts the new key",
      accepted(tok["valid_hs384"]))
admin.execute("SELECT rowguard.remove_key('hs384-key')")

# --- a build cut short by an error inside a subtransaction ----------------------------------
if mode == "on":
    admin.execute("DELETE FROM rowguard.keys WHERE false")  # stale: the next backend builds
    holder = connect()
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE rowguard.issuers IN ACCESS EXCLUSIVE MODE")
    with connect(user="app") as c:
        c.execute("SET lock_timeout = '200ms'")
        # The token is base64url text: safe inside a literal.
        c.execute(f"""DO $$ BEGIN PERFORM rowguard.verify('{tok["alice_hs256"]}');
            EXCEPTION WHEN lock_not_available THEN RAISE NOTICE 'build interrupted'; END $$""")
        alive = c.execute("SELECT 1").fetchone()[0]
    holder.execute("COMMIT")
    holder.close()
    check("  a build interrupted by lock_timeout in a subtransaction, the transaction commits",
          alive == 1)
    state, sub, snap = fresh(tok["alice_hs256"])
    check("  the next new backend builds and publishes again (no slot left marked as building)",
          state == "ok" and "rowguard: key snapshot published" in snap, f"{state} {sub} {snap}")

# --- the changing transaction reads the tables; a rollback changes nothing ------------------
with connect() as c:
    c.execute("BEGIN")
    c.execute("SELECT rowguard.add_key(%s::jsonb)", [jwk_hs384])
    sub = c.execute("SELECT rowguard.verify(%s) ->> 'sub'", [tok["valid_hs384"]]).fetchone()[0]
    check("inside the adding transaction its key verifies", sub == "valid-user", repr(sub))
    check("  meanwhile another new backend refuses it", not accepted(tok["valid_hs384"]))
    c.execute("ROLLBACK")
check("rolled back: the next new backend refuses it", not accepted(tok["valid_hs384"]))

# --- a prepared transaction ------------------------------------------------------------------
with connect() as c:
    c.execute("BEGIN")
    c.execute("SELECT rowguard.add_key(%s::jsonb)", [jwk_hs384])
    c.execute("PREPARE TRANSACTION 'rowguard_shared_keys'")
check("prepared, not committed: refused", not accepted(tok["valid_hs384"]))
admin.execute("COMMIT PREPARED 'rowguard_shared_keys'")
check("COMMIT PREPARED: the next new backend accepts it", accepted(tok["valid_hs384"]))
admin.execute("SELECT rowguard.remove_key('hs384-key')")
check("removed after the prepared transaction: refused", not accepted(tok["valid_hs384"]))

# --- shared revocation answers -----------------------------------------------------------------
# Preloaded (store size > 0), the answers of the revocation probes are shared by the new
# backends of a database until rowguard.revocations changes; every revocation must still
# be seen by the very next new backend. Tokens with a jti and a sub, never seen before.
def rv_token(jti, sub="rv-user", iat_ago=60):
    claims = json.dumps({"sub": sub, "jti": jti, "iat": int(time.time()) - iat_ago,
                         "exp": 4102444800, "iss": "https://issuer.example", "aud": "rowguard-tests"})
    return admin.execute("SELECT rowguard.sign(%s::jsonb, 'hs256-key')", [claims]).fetchone()[0]


def shared_notes(snap_all):
    return sorted(n for n in snap_all if n.startswith("rowguard: revocation answer shared"))


def fresh_notes(token):
    notes = []
    with connect(user="app", debug=True) as c:
        c.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
        try:
            c.execute("SELECT rowguard.verify(%s) ->> 'sub'", [token]).fetchone()
            state = "ok"
        except psycopg.Error as e:
            state = e.sqlstate
    return state, shared_notes(notes)


tag = mode  # distinct jti and sub per run: answers of an earlier run never apply
rv1, rv2 = rv_token(f"rv-1-{tag}", f"rv-user-{tag}"), rv_token(f"rv-2-{tag}", f"rv-user-{tag}")
state, notes = fresh_notes(rv1)
check("revocation: a token never seen is probed and accepted", state == "ok" and notes == [],
      f"{state} {notes}")
state, notes = fresh_notes(rv1)
if mode == "off":
    check("  store off: the next new backend probes again", state == "ok" and notes == [],
          f"{state} {notes}")
else:
    check("  the next new backend uses the shared answers (jti and sub), accepted",
          state == "ok" and notes == ["rowguard: revocation answer shared (jti)",
                                      "rowguard: revocation answer shared (sub)"],
          f"{state} {notes}")
admin.execute("SELECT rowguard.revoke_token(%s)", [f"rv-1-{tag}"])
state, notes = fresh_notes(rv1)
check("revoke_token in one session: the very next new backend refuses the token",
      state == "28000" and notes == [], f"{state} {notes}")
state, _ = fresh_notes(rv2)
check("  another jti of the same subject is still accepted", state == "ok", state)
fresh_notes(rv2)  # its answers shared now
admin.execute("SELECT rowguard.revoke_subject(%s)", [f"rv-user-{tag}"])
state, _ = fresh_notes(rv2)
check("revoke_subject: the very next new backend refuses a token issued before",
      state == "28000", state)
rv3 = rv_token(f"rv-3-{tag}", f"rv-other-{tag}")
fresh_notes(rv3)
state, _ = fresh_notes(rv3)
check("  a token of another subject accepted (and its answers shared)", state == "ok", state)
with connect() as c:
    c.execute("BEGIN")
    c.execute("SELECT rowguard.revoke_token(%s)", [f"rv-3-{tag}"])
    try:
        c.execute("SELECT rowguard.verify(%s)", [rv3])
        inside = "ok"
    except psycopg.Error as e:
        inside = e.sqlstate
    check("  inside the revoking transaction the token is refused (its own change seen)",
          inside == "28000", inside)
    c.execute("ROLLBACK")
state, _ = fresh_notes(rv3)
check("  rolled back: the next new backend accepts it", state == "ok", state)
# A probe that waits for a revoking transaction's lock (it took its generation before the
# commit): refused, and so is the next new backend.
rv4 = rv_token(f"rv-4-{tag}", f"rv-four-{tag}")
changer = connect()
changer.execute("BEGIN")
changer.execute("LOCK TABLE rowguard.revocations IN ACCESS EXCLUSIVE MODE")
changer.execute("SELECT rowguard.revoke_token(%s)", [f"rv-4-{tag}"])
result = {}
t = threading.Thread(target=lambda: result.update(r=fresh_notes(rv4)))
t.start()
deadline = time.monotonic() + 60
waiting = False
while time.monotonic() < deadline and not waiting:
    waiting = admin.execute("""SELECT EXISTS (SELECT FROM pg_locks
        WHERE relation = 'rowguard.revocations'::regclass AND NOT granted)""").fetchone()[0]
    time.sleep(0.05)
check("  a new backend's probe waits on rowguard.revocations", waiting)
changer.execute("COMMIT")
t.join(60)
changer.close()
check("  the waiting backend refuses the token revoked meanwhile",
      result.get("r", ("none",))[0] == "28000", repr(result.get("r")))
state, _ = fresh_notes(rv4)
check("  and so does the next new backend", state == "28000", state)
# A prepared transaction's revocation (committed later, in another session): this
# database probes its table from then on.
rv5 = rv_token(f"rv-5-{tag}", f"rv-five-{tag}")
fresh_notes(rv5)
state, _ = fresh_notes(rv5)
check("  a fifth token accepted (answers shared)", state == "ok", state)
with connect() as c:
    c.execute("BEGIN")
    c.execute("SELECT rowguard.revoke_token(%s)", [f"rv-5-{tag}"])
    c.execute("PREPARE TRANSACTION 'rowguard_shared_revocation'")
state, _ = fresh_notes(rv5)
check("  revocation prepared, not committed: accepted", state == "ok", state)
admin.execute("COMMIT PREPARED 'rowguard_shared_revocation'")
state, notes = fresh_notes(rv5)
check("  COMMIT PREPARED: the next new backend refuses it, probing the table",
      state == "28000" and notes == [], f"{state} {notes}")
admin.execute("DELETE FROM rowguard.revocations")

# --- DROP and CREATE EXTENSION --------------------------------------------------------------
check("before DROP EXTENSION: postgres' shared-kid token accepted", accepted(tok_main))
admin.execute("DROP EXTENSION rowguard CASCADE")
admin.execute("CREATE EXTENSION rowguard")
check("after DROP and CREATE EXTENSION: no old key accepted",
      not accepted(tok_main) and not accepted(tok["bob_es256"]))

print(f"shared key store {mode}: {cases} cases, {len(failures)} failed")
sys.exit(1 if failures else 0)
PYEOF
}

reset_keys() {
  psql_as postgres -q >/dev/null <<'SQL'
\set ON_ERROR_STOP 1
\set ECHO none
\i test/fixtures/keys.psql
SELECT rowguard.add_key(:'jwk_hs256'), rowguard.add_key(:'jwk_es256');
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests']);
SQL
  psql_as postgres -q -d other -c "DELETE FROM rowguard.keys" >/dev/null
  # More than 1 kB of keys (for the "small" run).
  psql_as postgres -q -c "SELECT count(rowguard.add_secret(repeat('k', 64), 'HS256', 'bulk-' || g))
                            FROM generate_series(1, 40) g" >/dev/null
}

run_python on
if grep -q "do not fit in the shared key store" "$DATA/server.log"; then
  echo "FAIL: the default shared key store did not hold the test's keys" >&2; exit 1
fi

# Too small for the keys: verification reads the tables, and says so once per change.
echo "rowguard.shared_key_store_size = 1" >>"$DATA/postgresql.conf"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 restart >/dev/null
reset_keys
run_python small
grep -q "do not fit in the shared key store" "$DATA/server.log" ||
  { echo "FAIL: no log line for a snapshot that does not fit" >&2; exit 1; }

echo "rowguard.shared_key_store_size = 0" >>"$DATA/postgresql.conf"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 restart >/dev/null
reset_keys
run_python off

if grep -E "terminated by signal|PANIC" "$DATA/server.log"; then
  echo "FAIL: a server process crashed" >&2; exit 1
fi
echo "shared_keys: PASS"
