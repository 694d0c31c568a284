#!/usr/bin/env bash
# ALTER EXTENSION rowguard UPDATE from the released 0.1.0 to the default version, on a
# database in use: keys (add_key, add_jwks), an issuer rule, tables protected by
# tenant_policy / owner_policy / scope_policy as a table owner without superuser, and an
# application session that holds a SESSION identity (SET rowguard.token) in another
# connection and stays open across the update. After the update:
#   - the held session keeps its identity and still sees only its own rows;
#   - tokens made by other tools verify, new sessions are isolated, sign() works;
#   - the keys and issuers are all still there and PUBLIC still cannot touch them;
#   - the extension's schema equals a fresh CREATE EXTENSION rowguard in another database
#     (pg_dump --schema-only --binary-upgrade of both, which dumps every member object of
#     the extension, normalised only for OIDs, xids and pg_dump's per-run \restrict key);
#   - a second ALTER EXTENSION rowguard UPDATE is a no-op.
#
# Own cluster (pick_port from ROWGUARD_UPGRADE_PORT, default 54470). Environment:
# ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both). Needs python3-psycopg.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3   # Debian's python3 with psycopg 3 (python3-psycopg)
START=$SECONDS

PORT=""
cleanup() {
  local rc=$?
  if ((rc != 0)) && [[ -n "$PORT" ]]; then
    echo "--- last lines of the server log ---"; tail -n 25 "$(cluster_log "$PORT")" || true
  fi
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  ((rc == 0)) || echo "upgrade: FAIL after $((SECONDS - START))s"
  return $rc
}
trap cleanup EXIT

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "upgrade: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

VERSION=$(sed -n "s/^default_version = '\(.*\)'/\1/p" rowguard.control)
PORT=$(pick_port "${ROWGUARD_UPGRADE_PORT:-54470}")
start_cluster "$PORT"

PGHOST="$PGHOST" PGPORT="$PORT" FIXTURES="$ROOT/test/fixtures" VERSION="$VERSION" \
PGBIN="$PGBIN" "$PY" - <<'PYEOF'
import difflib, json, os, re, subprocess, sys
import psycopg, psycopg.sql

host, port = os.environ["PGHOST"], os.environ["PGPORT"]
base = f"host={host} port={port}"
fx = os.environ["FIXTURES"]
version = os.environ["VERSION"]
pgbin = os.environ["PGBIN"]
tok = json.load(open(os.path.join(fx, "tokens.json")))
# The public set's asymmetric keys (its HMAC entries carry no secret), and two HMAC keys.
jwks_public = json.dumps({"keys": [k for k in json.load(open(os.path.join(fx, "keys", "jwks.public.json")))["keys"]
                                   if k["kty"] != "oct"]})
hmac_jwks = [open(os.path.join(fx, "keys", f"{n}.jwk.json")).read() for n in ("hs256", "hs512")]
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
ISS = "https://issuer.example"

checks = 0
def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print(f"upgrade: FAILED: {what}", flush=True)
        sys.exit(1)

def connect(db, user="postgres"):
    return psycopg.connect(f"{base} dbname={db} user={user}", autocommit=True)

def one(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]

def sqlstate(conn, sql, params=None):
    try:
        conn.execute(sql, params)
        return "ok"
    except psycopg.Error as e:
        return e.sqlstate

su = connect("postgres")
for db in ("rg_up", "rg_fresh"):
    su.execute(f"DROP DATABASE IF EXISTS {db}")
    su.execute(f"CREATE DATABASE {db}")
su.execute("DROP ROLE IF EXISTS rg_owner")
su.execute("DROP ROLE IF EXISTS rg_app")
su.execute("CREATE ROLE rg_owner LOGIN NOSUPERUSER NOBYPASSRLS")
su.execute("CREATE ROLE rg_app LOGIN NOSUPERUSER NOBYPASSRLS")

# --- 0.1.0 in use --------------------------------------------------------------------------
up = connect("rg_up")
up.execute("CREATE EXTENSION rowguard VERSION '0.1.0'")
check(one(up, "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'") == "0.1.0",
      "CREATE EXTENSION rowguard VERSION '0.1.0' installs 0.1.0")
check(one(up, "SELECT rowguard.add_jwks(%s::jsonb, %s)", (jwks_public, ISS)) == 10, "add_jwks")
for jwk in hmac_jwks:
    up.execute("SELECT rowguard.add_key(%s::jsonb, %s)", (jwk, ISS))
SIGN_JWK = '{"kty":"oct","kid":"upgrade-hs","alg":"HS256","k":"dXBncmFkZS10ZXN0LW9ubHktbm90LWEtcmVhbC1zZWNyZXQ"}'
check(one(up, "SELECT rowguard.add_key(%s::jsonb, %s)", (SIGN_JWK, ISS)) == "upgrade-hs", "add_key")
up.execute("SELECT rowguard.set_issuer(%s, audience => ARRAY['rowguard-tests'], leeway => '30 seconds')", (ISS,))
up.execute("CREATE SCHEMA app AUTHORIZATION rg_owner")

owner = connect("rg_up", "rg_owner")
for sql in ("CREATE TABLE app.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, body text NOT NULL)",
            "CREATE INDEX ON app.docs (tenant_id)",
            "CREATE TABLE app.notes (id bigint PRIMARY KEY, owner_id text NOT NULL, body text NOT NULL)",
            "CREATE INDEX ON app.notes (owner_id)",
            "CREATE TABLE app.audit (id bigint PRIMARY KEY, body text NOT NULL)",
            "INSERT INTO app.notes SELECT g, CASE WHEN g <= 7 THEN 'alice' ELSE 'bob' END, 'note ' || g"
            "  FROM generate_series(1, 12) g",
            "INSERT INTO app.audit SELECT g, 'entry ' || g FROM generate_series(1, 20) g"):
    owner.execute(sql)
owner.execute("INSERT INTO app.docs SELECT g, CASE WHEN g %% 3 = 0 THEN %s::uuid ELSE %s::uuid END,"
              " 'doc ' || g FROM generate_series(1, 300) g", (A, B))
# The templates, run by the table owner (not a superuser).
for sql in ("SELECT rowguard.tenant_policy('app.docs')",
            "SELECT rowguard.owner_policy('app.notes')",
            "SELECT rowguard.scope_policy('app.audit', 'SELECT', 'audit:read')"):
    check(sqlstate(owner, sql) == "ok", f"{sql} as the table owner")
owner.execute("GRANT USAGE ON SCHEMA app TO rg_app")
owner.execute("GRANT SELECT, INSERT ON app.docs, app.notes, app.audit TO rg_app")
owner.close()

def visible(conn):
    return tuple(one(conn, f"SELECT count(*) FROM app.{t}") for t in ("docs", "notes", "audit"))

# The application session that stays open across the update: a SESSION identity.
held = connect("rg_up", "rg_app")
held.execute("SELECT set_config('rowguard.token', %s, false)", (tok["alice_hs256"],))
check(visible(held) == (100, 7, 0), f"before the update, alice sees (100, 7, 0), got {visible(held)}")
keys_before = one(up, "SELECT array_agg(kid ORDER BY kid) FROM rowguard.keys")
issuers_before = one(up, "SELECT array_agg(i::text ORDER BY iss) FROM rowguard.issuers i")

# --- the update ------------------------------------------------------------------------------
up.execute("ALTER EXTENSION rowguard UPDATE")
check(one(up, "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'") == version,
      f"after ALTER EXTENSION rowguard UPDATE the version is {version}")

# The held session: same identity, same rows, same refusals.
check(one(held, "SELECT rowguard.sub()") == "alice", "held session: sub() is still alice")
check(str(one(held, "SELECT rowguard.claim_uuid('tenant_id')")) == A, "held session: tenant claim")
check(one(held, "SELECT rowguard.is_authenticated()") is True, "held session: still authenticated")
check(visible(held) == (100, 7, 0), f"held session after the update sees (100, 7, 0), got {visible(held)}")
check(sqlstate(held, "INSERT INTO app.docs VALUES (1001, %s, 'cross-tenant')", (B,)) == "42501",
      "held session cannot insert into another tenant after the update")
check(sqlstate(held, "INSERT INTO app.docs VALUES (1002, %s, 'own tenant')", (A,)) == "ok",
      "held session can insert into its own tenant after the update")

# New sessions: other tools' tokens verify, isolation holds, bad tokens are refused.
app = connect("rg_up", "rg_app")
app.execute(psycopg.sql.SQL("SET rowguard.token = {}").format(psycopg.sql.Literal(tok["bob_es256"])))
check(one(app, "SELECT rowguard.sub()") == "bob", "a new session authenticates bob (ES256)")
check(visible(app) == (200, 5, 0), f"bob sees (200, 5, 0), got {visible(app)}")
app.execute("RESET rowguard.token")
check(visible(app) == (0, 0, 0), f"no token sees nothing, got {visible(app)}")
for name in ("valid_rs256", "valid_ps384", "valid_es512", "valid_eddsa", "valid_hs512", "aud_array"):
    check(one(app, "SELECT rowguard.verify(%s) ->> 'iss'", (tok[name],)) == ISS, f"verify({name})")
for name in ("expired_hs256", "alg_none", "unknown_kid", "wrong_aud", "alg_mismatch"):
    check(sqlstate(app, "SELECT rowguard.verify(%s)", (tok[name],)) == "28000", f"verify({name}) refused")

# sign() after the update, and the signed token opens the scope-protected table.
minted = one(up, """SELECT rowguard.sign(jsonb_build_object('iss', %s::text, 'aud', 'rowguard-tests',
                     'sub', 'auditor', 'scope', 'audit:read', 'tenant_id', %s::text,
                     'exp', extract(epoch FROM now())::bigint + 600), 'upgrade-hs')""", (ISS, A))
check(one(app, "SELECT rowguard.authenticate(%s, false) ->> 'sub'", (minted,)) == "auditor",
      "a token signed after the update authenticates")
check(visible(app) == (101, 0, 20), f"the auditor sees (101, 0, 20), got {visible(app)}")

# Keys and issuers came through; PUBLIC still cannot read or change them.
check(one(up, "SELECT array_agg(kid ORDER BY kid) FROM rowguard.keys") == keys_before, "keys kept")
check(one(up, "SELECT array_agg(i::text ORDER BY iss) FROM rowguard.issuers i") == issuers_before,
      "issuers kept")
check(sqlstate(app, "SELECT count(*) FROM rowguard.keys") == "42501", "rg_app cannot read keys")
check(sqlstate(app, "SELECT rowguard.add_key(%s::jsonb)",
               ('{"kty":"oct","kid":"evil","alg":"HS256","k":"ZXZpbC1ldmlsLWV2aWwtZXZpbC1ldmlsLWV2aWwtZXZpbA"}',))
      == "42501", "rg_app cannot add a key")
check(sqlstate(app, "ALTER EXTENSION rowguard UPDATE") == "42501", "rg_app cannot update the extension")
held.close()
app.close()

# --- the schema equals a fresh install -------------------------------------------------------
fresh = connect("rg_fresh")
fresh.execute("CREATE EXTENSION rowguard")
check(one(fresh, "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'") == version,
      f"a fresh CREATE EXTENSION rowguard installs {version}")

def dump(db):
    out = subprocess.run([os.path.join(pgbin, "pg_dump"), "--schema-only", "--binary-upgrade",
                          "--exclude-schema=app", "-h", host, "-p", port, "-U", "postgres", "-d", db],
                         check=True, capture_output=True, text=True).stdout
    # Only what must differ between two databases: OIDs, xids, pg_dump's \restrict key.
    lines = []
    for line in out.splitlines():
        if re.match(r"^\\(un)?restrict ", line) or \
           line.startswith("SELECT pg_catalog.binary_upgrade_set_next_"):
            continue
        line = re.sub(r"(binary_upgrade_create_empty_extension\('[^']*', '[^']*', \w+, '[^']*', )'\{[0-9,]*\}'",
                      r"\1'{OIDS}'", line)
        line = re.sub(r"relfrozenxid = '\d+', relminmxid = '\d+'", "relfrozenxid = X, relminmxid = X", line)
        line = re.sub(r"^WHERE oid = '\d+';$", "WHERE oid = X;", line)
        lines.append(line)
    return lines

d_up, d_fresh = dump("rg_up"), dump("rg_fresh")
diff = list(difflib.unified_diff(d_fresh, d_up, "fresh install", "after the update", lineterm=""))
if diff:
    print("\n".join(diff[:200]))
check(not diff, "the schema after the update equals a fresh install (diff above)")
check(sum(1 for l in d_up if "ALTER EXTENSION rowguard ADD" in l) > 30,
      "the dump lists the extension's member objects")
extconf = """SELECT array_agg(c::regclass::text || ':' || coalesce(w, '') ORDER BY 1)
               FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w)
              WHERE e.extname = 'rowguard'"""
check(one(up, extconf) == one(fresh, extconf), "the same tables are dumped with pg_dump (extconfig)")
rights = """SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
             WHERE p.pronamespace = 'rowguard'::regnamespace
               AND has_function_privilege('rg_app', p.oid, 'EXECUTE')"""
check(one(up, rights) == one(fresh, rights), "rg_app may execute the same functions in both")

# --- a second update is a no-op -------------------------------------------------------------
notices = []
up.add_notice_handler(lambda n: notices.append(n.message_primary))
up.execute("ALTER EXTENSION rowguard UPDATE")
check(any(f'version "{version}" of extension "rowguard" is already installed' in n for n in notices),
      f"the second update says it is already installed (notices: {notices})")
check(dump("rg_up") == d_up, "the second update changed nothing in the schema")
up.close()
fresh.close()
for db in ("rg_up", "rg_fresh"):
    su.execute(f"DROP DATABASE {db}")
su.execute("DROP ROLE rg_owner")
su.execute("DROP ROLE rg_app")
print(f"upgrade: {checks} checks passed (0.1.0 -> {version})")
PYEOF
echo "upgrade: PASS in $((SECONDS - START))s"
