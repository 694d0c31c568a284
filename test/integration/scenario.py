"""A database in use, shared by upgrade.sh and dump_restore.sh (run with Debian's python3
and psycopg 3): keys stored with add_jwks and add_key, an issuer rule, and three tables
protected by the policy templates, created by a table owner without superuser:

  app.docs   tenant_policy: 100 rows of tenant A, 200 of tenant B
  app.notes  owner_policy:  7 rows of alice, 5 of bob
  app.audit  scope_policy(SELECT, 'audit:read'): 20 rows

Tokens come from test/fixtures (made by PyJWT, not by rowguard) and from rowguard.sign()
with the HMAC key "scenario-hs".
"""
import json
import os
import sys

import psycopg
import psycopg.sql

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
ISS = "https://issuer.example"
SIGN_KID = "scenario-hs"
SIGN_JWK = ('{"kty":"oct","kid":"scenario-hs","alg":"HS256",'
            '"k":"dXBncmFkZS10ZXN0LW9ubHktbm90LWEtcmVhbC1zZWNyZXQ"}')


class Checker:
    """Counts checks; the first failed one prints what failed and exits 1."""

    def __init__(self, name):
        self.name = name
        self.count = 0

    def __call__(self, cond, what):
        self.count += 1
        if not cond:
            print(f"{self.name}: FAILED: {what}", flush=True)
            sys.exit(1)


def connect(db, user="postgres"):
    host, port = os.environ["PGHOST"], os.environ["PGPORT"]
    return psycopg.connect(f"host={host} port={port} dbname={db} user={user}", autocommit=True)


def one(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]


def sqlstate(conn, sql, params=None):
    """'ok' or the SQLSTATE the statement fails with."""
    try:
        conn.execute(sql, params)
        return "ok"
    except psycopg.Error as e:
        return e.sqlstate


def tokens():
    fx = os.environ["FIXTURES"]
    return json.load(open(os.path.join(fx, "tokens.json")))


def extversion(conn):
    return one(conn, "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'")


def create_roles(su, prefix):
    """Roles <prefix>owner (owns the tables) and <prefix>app (the application); both LOGIN,
    neither superuser nor BYPASSRLS."""
    for r in ("owner", "app"):
        su.execute(f"DROP ROLE IF EXISTS {prefix}{r}")
        su.execute(f"CREATE ROLE {prefix}{r} LOGIN NOSUPERUSER NOBYPASSRLS")


def drop_roles(su, prefix):
    for r in ("owner", "app"):
        su.execute(f"DROP ROLE IF EXISTS {prefix}{r}")


def add_keys(ck, conn):
    """The fixture set's asymmetric public keys (its HMAC entries carry no secret), two
    HMAC keys, the signing key, and the issuer rule; returns the number of keys."""
    fx = os.path.join(os.environ["FIXTURES"], "keys")
    public = [k for k in json.load(open(os.path.join(fx, "jwks.public.json")))["keys"]
              if k["kty"] != "oct"]
    ck(one(conn, "SELECT rowguard.add_jwks(%s::jsonb, %s)",
           (json.dumps({"keys": public}), ISS)) == len(public), "add_jwks")
    for n in ("hs256", "hs512"):
        conn.execute("SELECT rowguard.add_key(%s::jsonb, %s)",
                     (open(os.path.join(fx, f"{n}.jwk.json")).read(), ISS))
    ck(one(conn, "SELECT rowguard.add_key(%s::jsonb, %s)", (SIGN_JWK, ISS)) == SIGN_KID, "add_key")
    conn.execute("SELECT rowguard.set_issuer(%s, audience => ARRAY['rowguard-tests'],"
                 " leeway => '30 seconds')", (ISS,))
    return len(public) + 3


def create_tables(ck, su, db, prefix):
    """Schema app owned by <prefix>owner, its tables protected by the templates (run as
    that owner), SELECT and INSERT granted to <prefix>app."""
    su.execute(f"CREATE SCHEMA app AUTHORIZATION {prefix}owner")
    owner = connect(db, f"{prefix}owner")
    for sql in ("CREATE TABLE app.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL,"
                "  body text NOT NULL)",
                "CREATE INDEX ON app.docs (tenant_id)",
                "CREATE TABLE app.notes (id bigint PRIMARY KEY, owner_id text NOT NULL,"
                "  body text NOT NULL)",
                "CREATE INDEX ON app.notes (owner_id)",
                "CREATE TABLE app.audit (id bigint PRIMARY KEY, body text NOT NULL)",
                "INSERT INTO app.notes SELECT g, CASE WHEN g <= 7 THEN 'alice' ELSE 'bob' END,"
                "  'note ' || g FROM generate_series(1, 12) g",
                "INSERT INTO app.audit SELECT g, 'entry ' || g FROM generate_series(1, 20) g"):
        owner.execute(sql)
    owner.execute("INSERT INTO app.docs SELECT g, CASE WHEN g %% 3 = 0 THEN %s::uuid"
                  " ELSE %s::uuid END, 'doc ' || g FROM generate_series(1, 300) g", (A, B))
    for sql in ("SELECT rowguard.tenant_policy('app.docs')",
                "SELECT rowguard.owner_policy('app.notes')",
                "SELECT rowguard.scope_policy('app.audit', 'SELECT', 'audit:read')"):
        ck(sqlstate(owner, sql) == "ok", f"{sql} as the table owner")
    owner.execute(f"GRANT USAGE ON SCHEMA app TO {prefix}app")
    owner.execute(f"GRANT SELECT, INSERT ON app.docs, app.notes, app.audit TO {prefix}app")
    owner.close()


def visible(conn):
    """Rows of (app.docs, app.notes, app.audit) this session sees."""
    return tuple(one(conn, f"SELECT count(*) FROM app.{t}") for t in ("docs", "notes", "audit"))


def set_token(conn, token):
    # Not preloaded: rowguard is loaded before a session's first SET of rowguard.token,
    # which would otherwise be refused (docs/security-model.md, "Before rowguard is loaded").
    conn.execute("SELECT rowguard.is_authenticated()")
    conn.execute(psycopg.sql.SQL("SET rowguard.token = {}").format(psycopg.sql.Literal(token)))


def mint(conn, sub, scope, tenant, extra=None):
    """A token signed by rowguard.sign() with the signing key, valid for 10 minutes."""
    claims = {"iss": ISS, "aud": "rowguard-tests", "sub": sub, "scope": scope, "tenant_id": tenant}
    claims.update(extra or {})
    return one(conn, "SELECT rowguard.sign(%s::jsonb || jsonb_build_object("
                     "'exp', extract(epoch FROM now())::bigint + 600), %s)",
               (json.dumps(claims), SIGN_KID))


def check_in_use(ck, conn, tok, where, extra_docs=0):
    """New sessions after `where`: tokens of other tools verify or are refused as they
    should, every identity sees its own rows, no identity sees none, a minted token (signed
    in `conn`'s database by whoever called mint) opens the scope-protected table."""
    set_token(conn, tok["alice_hs256"])
    ck(visible(conn) == (100 + extra_docs, 7, 0), f"{where}: alice sees her rows, got {visible(conn)}")
    set_token(conn, tok["bob_es256"])
    ck(one(conn, "SELECT rowguard.sub()") == "bob", f"{where}: bob authenticates (ES256)")
    ck(visible(conn) == (200, 5, 0), f"{where}: bob sees (200, 5, 0), got {visible(conn)}")
    ck(sqlstate(conn, "INSERT INTO app.docs VALUES (2001, %s, 'cross-tenant')", (A,)) == "42501",
       f"{where}: bob cannot insert into tenant A")
    conn.execute("RESET rowguard.token")
    ck(visible(conn) == (0, 0, 0), f"{where}: no token sees nothing, got {visible(conn)}")
    for name in ("valid_rs256", "valid_ps384", "valid_es512", "valid_eddsa", "valid_hs512",
                 "aud_array"):
        ck(one(conn, "SELECT rowguard.verify(%s) ->> 'iss'", (tok[name],)) == ISS,
           f"{where}: verify({name})")
    for name in ("expired_hs256", "alg_none", "unknown_kid", "wrong_aud", "alg_mismatch"):
        ck(sqlstate(conn, "SELECT rowguard.verify(%s)", (tok[name],)) == "28000",
           f"{where}: verify({name}) is refused")


def check_hostile(ck, app, where):
    """The application role cannot read or change keys, nor touch the extension."""
    ck(sqlstate(app, "SELECT count(*) FROM rowguard.keys") == "42501", f"{where}: app cannot read keys")
    ck(sqlstate(app, "SELECT count(*) FROM rowguard.issuers") == "42501",
       f"{where}: app cannot read issuers")
    ck(sqlstate(app, "SELECT rowguard.add_key(%s::jsonb)",
                ('{"kty":"oct","kid":"evil","alg":"HS256",'
                 '"k":"ZXZpbC1ldmlsLWV2aWwtZXZpbC1ldmlsLWV2aWwtZXZpbA"}',)) == "42501",
       f"{where}: app cannot add a key")
    ck(sqlstate(app, "SELECT rowguard.sign('{}'::jsonb, %s)", (SIGN_KID,)) == "42501",
       f"{where}: app cannot sign")
    ck(sqlstate(app, "ALTER EXTENSION rowguard UPDATE") == "42501",
       f"{where}: app cannot update the extension")
