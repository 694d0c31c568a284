#!/usr/bin/python3
"""Hostile SQL against rowguard, for test/integration/hostile_sql.sh.

Everything here runs as the application role `app` (LOGIN, no superuser, no BYPASSRLS, not
the owner of anything) unless a case says otherwise. Each case states what must happen;
after every case the backend must still answer. Usage:

  hostile_client.py PHASE     PHASE = load (rowguard loaded per session, the default way)
                                    | preload (shared_preload_libraries = 'rowguard')

Environment: PGHOST, PGPORT (the cluster), FIXTURES (test/fixtures), TOKENS_OUT (a file
that receives every token text used, one per line, for the log check).
"""

import base64
import hashlib
import hmac
import json
import os
import random
import sys

import psycopg
from psycopg import sql

PHASE = sys.argv[1]
FX = os.environ["FIXTURES"]
TOK = json.load(open(os.path.join(FX, "tokens.json")))
EXPECT = json.load(open(os.path.join(FX, "tokens.expect.json")))
_k = json.load(open(os.path.join(FX, "keys", "hs256.jwk.json")))["k"]
HS256_SECRET = base64.urlsafe_b64decode(_k + "=" * (-len(_k) % 4))
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"

# Superuser-only settings, each with a value that would loosen or blind verification.
HOSTILE = {
    "rowguard.audience": "attacker",
    "rowguard.cache_size": "7",
    "rowguard.leeway": "99999",
    "rowguard.log_authentications": "off",
    "rowguard.max_token_bytes": "1000000",
    "rowguard.require_exp": "off",
    "rowguard.roles_claim": "groups",
    "rowguard.tenant_claim": "org",
}

cases = 0
failures = []
used_tokens = set()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def craft(header, payload, sig=b"", hs256=False):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    if hs256:
        sig = hmac.new(HS256_SECRET, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64u(sig)}"


CLAIMS = {"iss": "https://issuer.example", "aud": "rowguard-tests", "sub": "mallory",
          "iat": 1700000000, "exp": 4102444800, "tenant_id": B}


def crafted_tokens():
    t = {}
    for alg in ("None", "NONE", "nOnE", "none "):
        t[f"alg_{alg.strip()}_crafted"] = craft({"alg": alg, "kid": "hs256-key", "typ": "JWT"}, CLAIMS)
    t["alg_none_nokid"] = craft({"alg": "none"}, CLAIMS)
    t["alg_none_with_mac"] = craft({"alg": "none", "kid": "hs256-key"}, CLAIMS, hs256=True)
    t["alg_empty"] = craft({"alg": "", "kid": "hs256-key"}, CLAIMS, hs256=True)
    t["alg_missing"] = craft({"kid": "hs256-key"}, CLAIMS, hs256=True)
    t["alg_array"] = craft({"alg": ["HS256"], "kid": "hs256-key"}, CLAIMS, hs256=True)
    t["kid_newline"] = craft({"alg": "HS256", "kid": "x\n2026-01-01 00:00:00 UTC [1] LOG:  forged line"},
                             CLAIMS, hs256=True)
    t["kid_huge"] = craft({"alg": "HS256", "kid": "k" * 8000}, CLAIMS, hs256=True)
    t["kid_nul"] = craft({"alg": "HS256", "kid": "hs256-key\u0000evil"}, CLAIMS, hs256=True)
    t["kid_traversal"] = craft({"alg": "HS256", "kid": "../../../../etc/passwd"}, CLAIMS, hs256=True)
    t["kid_sql"] = craft({"alg": "HS256", "kid": "x' OR '1'='1"}, CLAIMS, hs256=True)
    t["crit_empty"] = craft({"alg": "HS256", "kid": "hs256-key", "crit": []}, CLAIMS, hs256=True)
    t["x5c_attacker"] = craft({"alg": "HS256", "kid": "hs256-key", "x5c": ["MIIB"]}, CLAIMS, b"\1" * 32)
    t["jwk_oct_attacker"] = craft({"alg": "HS256", "kid": "hs256-key",
                                   "jwk": {"kty": "oct", "k": b64u(b"\1" * 32)}},
                                  CLAIMS, hmac.new(b"\1" * 32, b"", hashlib.sha256).digest())
    t["enc_header_jwe"] = craft({"alg": "dir", "enc": "A256GCM", "kid": "hs256-key"}, CLAIMS, b"x" * 16)
    t["hs256_wrong_secret"] = craft({"alg": "HS256", "kid": "hs256-key"}, CLAIMS, b"\0" * 32)
    t["es256_sig_empty"] = craft({"alg": "ES256", "kid": "es256-key"}, CLAIMS)
    t["psychic_es384"] = craft({"alg": "ES384", "kid": "es384-key"}, CLAIMS, b"\0" * 96)
    t["psychic_es512"] = craft({"alg": "ES512", "kid": "es512-key"}, CLAIMS, b"\0" * 132)
    t["rs256_sig_empty"] = craft({"alg": "RS256", "kid": "rs256-key"}, CLAIMS)
    t["rs256_sig_zero"] = craft({"alg": "RS256", "kid": "rs256-key"}, CLAIMS, b"\0" * 256)
    t["eddsa_sig_zero"] = craft({"alg": "EdDSA", "kid": "eddsa-key"}, CLAIMS, b"\0" * 64)
    return t


CRAFTED = crafted_tokens()
# Signed by the stored key, with header members that are ignored (RFC 7515: unknown
# members are ignored unless listed in crit; offered keys are never used): accepted.
IGNORED_MEMBERS = {
    "x5c_ignored": craft({"alg": "HS256", "kid": "hs256-key", "x5c": ["MIIB"]}, CLAIMS, hs256=True),
    "x5u_ignored": craft({"alg": "HS256", "kid": "hs256-key", "x5u": "https://evil.example/c"}, CLAIMS, hs256=True),
    "zip_ignored": craft({"alg": "HS256", "kid": "hs256-key", "zip": "DEF"}, CLAIMS, hs256=True),
}
REJECT = {k: TOK[k] for k, v in EXPECT.items() if v["expect"] == "reject"}
REJECT.update(CRAFTED)


def check(name, ok, detail=""):
    global cases
    cases += 1
    if not ok:
        failures.append(f"{name}: {detail}")
        print(f"  FAIL {name}: {detail}", flush=True)
    return ok


class App:
    """A connection as `app` that records notices; reconnects when the backend is gone."""

    def __init__(self, options=None, user="app"):
        self.notices = []
        kw = {"autocommit": True, "prepare_threshold": None, "user": user, "dbname": "postgres"}
        if options:
            kw["options"] = options
        self.conn = psycopg.connect(**kw)
        self.conn.add_notice_handler(
            lambda d: self.notices.append((d.severity_nonlocalized, d.sqlstate, d.message_primary)))

    def run(self, stmt, params=None):
        """('ok', rows or None) or (sqlstate, message: detail)."""
        try:
            cur = self.conn.execute(stmt, params)
            return "ok", (cur.fetchall() if cur.description else None)
        except psycopg.Error as e:
            d = e.diag
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                self.conn.execute("ROLLBACK")
            return e.sqlstate, f"{d.message_primary}: {d.message_detail}"

    def val(self, stmt, params=None):
        st, rows = self.run(stmt, params)
        if st != "ok":
            raise RuntimeError(f"{stmt}: {st} {rows}")
        return rows[0][0] if rows else None

    def alive(self, after):
        try:
            ok = self.conn.execute("SELECT 1").fetchone()[0] == 1
        except Exception as e:
            ok = False
            after = f"{after}: {e}"
        check(f"backend survives: {after}", ok, "backend gone")
        return ok

    def rollback_if_open(self):
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.execute("ROLLBACK")

    def close(self):
        self.conn.close()


def expect_state(app, name, stmt, state, params=None):
    st, det = app.run(stmt, params)
    want = state if isinstance(state, tuple) else (state,)
    check(name, st in want, f"got {st} {det}, expected {'/'.join(want)}")
    return st, det


def superuser():
    return psycopg.connect(autocommit=True, user="postgres", dbname="postgres")


with superuser() as su:
    su.execute("SELECT rowguard.is_authenticated()")  # load, so SHOW knows the settings
    CONFIGURED = {n: su.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone()[0]
                  for n in HOSTILE}
print(f"configured values of the superuser-only settings: {CONFIGURED}")


def settings_honoured(app, label):
    """After the module loaded in app's backend: every setting has its configured value
    and verification behaves accordingly."""
    for n, v in CONFIGURED.items():
        shown = app.val(sql.SQL("SHOW {}").format(sql.Identifier(n)))
        check(f"{label}: SHOW {n} is the configured {v!r}", shown == v, f"shows {shown!r}")
    st, det = app.run("SELECT rowguard.verify(%s)", [TOK["no_exp"]])
    check(f"{label}: token without exp still rejected", st == "28000", f"{st} {det}")
    st, det = app.run("SELECT rowguard.verify(%s)", [TOK["too_long"]])
    check(f"{label}: token over 16384 bytes still rejected", st == "28000", f"{st} {det}")
    st, det = app.run("SELECT rowguard.verify(%s) ->> 'sub'", [TOK["valid_hs256"]])
    check(f"{label}: audience unchanged (valid token accepted)", st == "ok", f"{st} {det}")
    if CONFIGURED["rowguard.audience"]:
        st, det = app.run("SELECT rowguard.verify(%s) ->> 'aud'", [TOK["wrong_aud"]])
        check(f"{label}: the configured audience still applies (wrong_aud rejected)", st == "28000",
              f"{st} {det}")


def load_module(app):
    app.notices.clear()
    app.val("SELECT rowguard.is_authenticated()")
    return [n for n in app.notices if n[0] == "WARNING"]


# ==========================================================================================
def phase_load():
    print("superuser-only settings, placed before the module loads:")
    for how in ("SET", "set_config", "SET LOCAL"):
        app = App()
        if how == "SET LOCAL":
            app.val("BEGIN")
        for n, v in HOSTILE.items():
            if how == "SET":
                st, det = app.run(sql.SQL("SET {} = {}").format(sql.Identifier(n), sql.Literal(v)))
            elif how == "SET LOCAL":
                st, det = app.run(sql.SQL("SET LOCAL {} = {}").format(sql.Identifier(n), sql.Literal(v)))
            else:
                st, det = app.run("SELECT set_config(%s, %s, false)", [n, v])
            # A placeholder is accepted (PostgreSQL cannot know the setting yet).
            check(f"{how} {n} before load: placeholder accepted", st == "ok", f"{st} {det}")
        warnings = load_module(app)
        denied = [w for w in warnings if "permission denied to set parameter" in w[2]]
        check(f"{how} before load: a WARNING per setting at load", len(denied) == len(HOSTILE),
              f"{warnings}")
        settings_honoured(app, f"{how} before load")
        if how == "SET LOCAL":
            app.val("COMMIT")
            settings_honoured(app, "SET LOCAL before load, after COMMIT")
        app.alive(f"{how} placeholders")
        app.close()

    # PGOPTIONS: the startup packet. libpq reads PGOPTIONS from the environment.
    opts = " ".join(f"-c {n}={v}" for n, v in HOSTILE.items())
    os.environ["PGOPTIONS"] = opts
    try:
        app = App()
    finally:
        del os.environ["PGOPTIONS"]
    warnings = load_module(app)
    check("PGOPTIONS with every superuser-only setting: a WARNING per setting at load",
          len([w for w in warnings if "permission denied" in w[2]]) == len(HOSTILE), f"{warnings}")
    # PostgreSQL keeps one base value per placeholder, so the client's values displaced
    # the configured ones before rowguard loaded; rowguard then fails closed for the
    # whole session rather than run with built-in defaults.
    check("PGOPTIONS: rowguard announces it will not verify tokens in this session",
          any("will not verify tokens" in w[2] for w in warnings), f"{warnings}")
    for fn in ("verify", "authenticate"):
        st, det = app.run(f"SELECT rowguard.{fn}(%s) ->> 'sub'", [TOK["valid_hs256"]])
        check(f"PGOPTIONS: {fn} fails closed, even for a valid token",
              st == "28000" and "overrode" in (det or ""), f"{st} {det}")
    authenticated = app.val("SELECT rowguard.is_authenticated()")
    check("PGOPTIONS: the session stays unauthenticated", authenticated in (False, "f"),
          f"{authenticated!r}")
    app.close()

    # A token in PGOPTIONS: a forged one is discarded at load, a valid one is used.
    for name, expect_sub in (("forged", None), ("alg_none", None), ("alice_hs256", "alice")):
        app = App(options=f"-c rowguard.token={TOK[name]}")
        load_module(app)
        sub = app.val("SELECT rowguard.sub()")
        check(f"PGOPTIONS rowguard.token={name}: identity {expect_sub}", sub == expect_sub, f"sub={sub!r}")
        app.close()

    # A function with a SET clause, created before the module loads.
    app = App()
    st, det = app.run("CREATE FUNCTION public.loosen() RETURNS text LANGUAGE sql "
                      "SET rowguard.require_exp = off AS "
                      "$$ SELECT rowguard.verify(current_setting('hostile.no_exp')) ->> 'sub' $$")
    print(f"    CREATE FUNCTION ... SET rowguard.require_exp = off before load: {st} {det or ''}")
    app.close()
    if st == "ok":
        app = App()
        load_module(app)
        app.run("SELECT set_config('hostile.no_exp', %s, false)", [TOK["no_exp"]])
        st, det = app.run("SELECT public.loosen()")
        check("function SET clause rowguard.require_exp = off: refused when called", st in ("42501", "28000"),
              f"{st} {det}")
        app.run("DROP FUNCTION public.loosen()")
        app.close()

    # ALTER ROLE app SET ... by app itself, before the module loads in that backend.
    app = App()
    results = {}
    for n, v in HOSTILE.items():
        results[n] = app.run(sql.SQL("ALTER ROLE app SET {} = {}").format(sql.Identifier(n), sql.Literal(v)))
    app.close()
    print("    ALTER ROLE app SET <setting> by app before load: "
          + ", ".join(sorted({st for st, _ in results.values()})))
    app = App()  # a new session gets whatever was stored
    warnings = load_module(app)
    settings_honoured(app, "ALTER ROLE app SET (by app, before load)")
    app.close()
    with superuser() as su:
        su.execute("ALTER ROLE app RESET ALL")

    print("superuser-only settings, after the module loaded:")
    app = App()
    load_module(app)
    for n, v in HOSTILE.items():
        ident, lit = sql.Identifier(n), sql.Literal(v)
        expect_state(app, f"SET {n}", sql.SQL("SET {} = {}").format(ident, lit), "42501")
        expect_state(app, f"SET LOCAL {n}", sql.SQL("BEGIN; SET LOCAL {} = {}").format(ident, lit), "42501")
        app.run("ROLLBACK")
        expect_state(app, f"set_config({n})", "SELECT set_config(%s, %s, false)", "42501", [n, v])
        expect_state(app, f"set_config({n}, local)", "SELECT set_config(%s, %s, true)", "42501", [n, v])
        expect_state(app, f"RESET {n}", sql.SQL("RESET {}").format(ident), "42501")
        expect_state(app, f"SET {n} TO DEFAULT", sql.SQL("SET {} TO DEFAULT").format(ident), "42501")
        expect_state(app, f"ALTER ROLE app SET {n}",
                     sql.SQL("ALTER ROLE app SET {} = {}").format(ident, lit), "42501")
        expect_state(app, f"ALTER DATABASE postgres SET {n}",
                     sql.SQL("ALTER DATABASE postgres SET {} = {}").format(ident, lit), "42501")
        expect_state(app, f"ALTER SYSTEM SET {n}",
                     sql.SQL("ALTER SYSTEM SET {} = {}").format(ident, lit), "42501")
        expect_state(app, f"CREATE FUNCTION ... SET {n}",
                     sql.SQL("CREATE FUNCTION public.f_{}() RETURNS int LANGUAGE sql SET {} = {} AS 'SELECT 1'")
                     .format(sql.SQL(n.split(".")[1]), ident, lit), "42501")
    expect_state(app, "SET rowguard.made_up (reserved prefix)", "SET rowguard.made_up = 'x'",
                 ("42501", "42704", "42602"))
    settings_honoured(app, "after the refused attempts")
    expect_state(app, "RESET ALL leaves the settings", "RESET ALL", "ok")
    settings_honoured(app, "after RESET ALL")
    app.alive("settings after load")
    app.close()

    common_cases()


def phase_preload():
    print("shared_preload_libraries = 'rowguard': the settings exist before the startup packet")
    # A superuser-only setting in the startup packet of an ordinary role.
    opts = "-c rowguard.require_exp=off"
    try:
        app = App(options=opts)
        st = "connected"
        settings_honoured(app, "preload PGOPTIONS require_exp=off")
        app.close()
    except psycopg.Error as e:
        msg = " ".join(str(e).split())
        st = e.sqlstate or f"connection refused: {msg[msg.find('FATAL'):][:90]}"
    check("preload: PGOPTIONS rowguard.require_exp=off refused (42501) or not honoured",
          st in ("42501", "connected") or "permission denied to set parameter" in st, st)
    print(f"    preload PGOPTIONS -c rowguard.require_exp=off: {st}")
    # Since 0.3.0 a token from the startup packet is admitted at the session's first
    # statement, with the settings of ALTER ROLE/DATABASE applied (docs/roles.md, "Tokens
    # given at connection"); a refused one ends the connection there (FATAL, which
    # libpq reports as the connection closing after "invalid token").
    for name in ("forged", "psychic", "alg_none"):
        try:
            app = App(options=f"-c rowguard.token={TOK[name]}")
            sub = app.conn.execute("SELECT rowguard.sub()").fetchone()[0]
            app.close()
            st = f"connected, sub={sub!r}"
            ok = sub is None
        except psycopg.Error as e:
            msg = " ".join(str(e).split())
            st = e.sqlstate or f"connection refused: {msg[:90]}"
            ok = st == "28000" or "invalid token" in str(e)
        check(f"preload: PGOPTIONS rowguard.token={name} refused (28000) or unauthenticated", ok, st)
        print(f"    preload PGOPTIONS -c rowguard.token=<{name}>: {st}")
    app = App(options=f"-c rowguard.token={TOK['bob_es256']}")
    check("preload: PGOPTIONS with a valid token authenticates", app.val("SELECT rowguard.sub()") == "bob")
    app.close()
    app = App()
    for n, v in HOSTILE.items():
        ident, lit = sql.Identifier(n), sql.Literal(v)
        expect_state(app, f"preload: SET {n}", sql.SQL("SET {} = {}").format(ident, lit), "42501")
        expect_state(app, f"preload: set_config({n})", "SELECT set_config(%s, %s, false)", "42501", [n, v])
        expect_state(app, f"preload: ALTER ROLE app SET {n}",
                     sql.SQL("ALTER ROLE app SET {} = {}").format(ident, lit), "42501")
    settings_honoured(app, "preload")
    app.close()
    common_cases()


# ==========================================================================================
def common_cases():
    app = App()
    load_module(app)

    print("row-level security and privileges:")
    n_a = app.val("SELECT count(*) FROM public.docs WHERE false OR true")  # unauthenticated
    check("unauthenticated: no rows", n_a == 0, f"{n_a}")
    expect_state(app, "SET row_security = off, then the protected table: 42501",
                 "SET row_security = off; SELECT count(*) FROM public.docs", "42501")
    app.run("RESET row_security")
    app.val("BEGIN")
    app.val("SELECT rowguard.authenticate(%s)", [TOK["alice_hs256"]])
    st, det = app.run("SET LOCAL row_security = off; SELECT count(*) FROM public.docs")
    check("authenticated, row_security = off: 42501", st == "42501", f"{st} {det}")
    app.run("ROLLBACK")
    for stmt in ("TRUNCATE public.docs", "TRUNCATE public.docs CASCADE",
                 "ALTER TABLE public.docs DISABLE ROW LEVEL SECURITY",
                 "ALTER TABLE public.docs NO FORCE ROW LEVEL SECURITY",
                 "DROP POLICY tenant ON public.docs",
                 "ALTER POLICY tenant ON public.docs USING (true)",
                 "CREATE POLICY evil ON public.docs USING (true)",
                 "ALTER TABLE public.docs OWNER TO app",
                 "DROP TABLE public.docs",
                 "SET ROLE postgres", "SET SESSION AUTHORIZATION postgres",
                 "ALTER ROLE app BYPASSRLS", "ALTER ROLE app SUPERUSER",
                 "GRANT pg_read_all_data TO app",
                 "SELECT * FROM rowguard.keys", "SELECT kid FROM rowguard.keys",
                 "SELECT * FROM rowguard.issuers",
                 "INSERT INTO rowguard.keys SELECT * FROM rowguard.keys",
                 "UPDATE rowguard.keys SET alg = 'none'", "DELETE FROM rowguard.keys",
                 "TRUNCATE rowguard.keys", "TRUNCATE rowguard.issuers",
                 "COPY rowguard.keys TO STDOUT",
                 "ALTER TABLE rowguard.keys DISABLE TRIGGER ALL",
                 "DROP EXTENSION rowguard", "ALTER EXTENSION rowguard UPDATE",
                 "CREATE FUNCTION rowguard.sub() RETURNS text LANGUAGE sql AS $$SELECT 'admin'$$",
                 "CREATE TABLE rowguard.evil (x int)",
                 "LOAD 'rowguard'"):
        if stmt == "LOAD 'rowguard'":
            # LOAD of a library outside $libdir/plugins needs superuser.
            expect_state(app, stmt, stmt, ("42501",))
            continue
        expect_state(app, stmt, stmt, ("42501", "42P01") if "evil" in stmt else "42501")
    with app.conn.cursor() as cur:
        with cur.copy("COPY public.docs TO STDOUT") as cp:
            data = b"".join(bytes(b) for b in cp)
    check("COPY docs TO STDOUT unauthenticated: no rows", data == b"", f"{len(data)} bytes")
    st, rows = app.run("WITH d AS (DELETE FROM public.docs RETURNING 1) SELECT count(*) FROM d")
    check("DELETE unauthenticated: nothing deleted", (st, rows) == ("ok", [(0,)]), f"{st} {rows}")
    st, rows = app.run("WITH u AS (UPDATE public.docs SET body = 'x' RETURNING 1) SELECT count(*) FROM u")
    check("UPDATE unauthenticated: nothing updated", (st, rows) == ("ok", [(0,)]), f"{st} {rows}")
    app.val("BEGIN")
    app.val("SELECT rowguard.authenticate(%s)", [TOK["alice_hs256"]])
    st, rows = app.run("SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s) FROM public.docs", [A])
    check("alice sees only tenant A", st == "ok" and rows[0][0] > 0 and rows[0][1] == 0, f"{st} {rows}")
    expect_state(app, "alice inserts a tenant B row: 42501",
                 "INSERT INTO public.docs (id, tenant_id, body) VALUES (-1, %s, 'x')", "42501", [B])
    app.val("BEGIN")
    app.val("SELECT rowguard.authenticate(%s)", [TOK["alice_hs256"]])
    expect_state(app, "alice moves her row to tenant B: 42501",
                 "UPDATE public.docs SET tenant_id = %s", "42501", [B])
    app.val("BEGIN")
    app.val("SELECT rowguard.authenticate(%s)", [TOK["alice_hs256"]])
    st, rows = app.run("WITH d AS (DELETE FROM public.docs WHERE tenant_id = %s RETURNING 1) "
                       "SELECT count(*) FROM d", [B])
    check("alice deletes tenant B rows: none", (st, rows) == ("ok", [(0,)]), f"{st} {rows}")
    app.val("ROLLBACK")
    with superuser() as su:
        n = su.execute("SELECT count(*) FROM public.docs").fetchone()[0]
        check("the table is intact", n == 300, f"{n} rows")
        expected_public = {"verify", "authenticate", "claims", "claim", "claim_uuid", "claim_bigint",
                           "claim_bool", "claim_array", "sub", "has_role", "has_scope", "is_authenticated"}
        funcs = su.execute("""
            SELECT p.oid::regprocedure::text, p.proname,
                   array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) AS t),
                   has_function_privilege('app', p.oid, 'EXECUTE')
              FROM pg_proc p WHERE p.pronamespace = 'rowguard'::regnamespace ORDER BY 1""").fetchall()
    app.alive("RLS and privileges")

    print("key administration and internal functions:")
    public = {name for _, name, _, can in funcs if can}
    admin = {"add_key", "add_jwks", "remove_key", "set_issuer", "remove_issuer", "sign",
             "_store_key", "_describe_jwk", "_describe_jwks", "_keys_changed"}
    check("EXECUTE for app: every verification and claim function", expected_public <= public,
          f"missing: {sorted(expected_public - public)}")
    check("EXECUTE for app: no key administration function", not (public & admin),
          f"executable: {sorted(public & admin)}")
    print(f"    app may also execute: {', '.join(sorted(public - expected_public)) or 'nothing else'}")
    for sig, name, argtypes, can in funcs:
        if can:
            continue
        # Arguments the planner cannot fold (a strict function of NULL constants is folded
        # to NULL before any privilege check).
        args = ", ".join(f"(SELECT NULL::{t})" for t in argtypes)
        expect_state(app, f"call {sig}", f"SELECT rowguard.{name}({args})", ("42501",))
    for stmt, params in (("SELECT rowguard.add_key(%s::jsonb)", [open(os.path.join(FX, "keys", "attacker.jwk.json")).read()]),
                         ("SELECT rowguard.add_jwks('{\"keys\":[]}')", None),
                         ("SELECT rowguard.remove_key('hs256-key')", None),
                         ("SELECT rowguard.set_issuer('https://issuer.example')", None),
                         ("SELECT rowguard.remove_issuer('https://issuer.example')", None),
                         ("SELECT rowguard.sign('{\"sub\":\"admin\",\"exp\":4102444800}', 'hs256-key')", None)):
        expect_state(app, stmt.split("(")[0].replace("SELECT ", "") + " as app: 42501", stmt, "42501", params)
    app.alive("key administration")

    print("forged and malformed tokens:")
    n_tok = 0
    for name, t in sorted(REJECT.items()):
        used_tokens.add(t)
        n_tok += 1
        lit = sql.Literal(t)
        app.val("SELECT rowguard.authenticate(%s, false)", [TOK["bob_hs256"]])  # an identity to keep
        if t == "":  # the empty string is the setting's default: no identity
            expect_state(app, "verify('')", "SELECT rowguard.verify('')", "28000")
            expect_state(app, "authenticate('')", "SELECT rowguard.authenticate('')", "28000")
            expect_state(app, "SET rowguard.token = '' (= RESET)", "SET rowguard.token = ''", "ok")
            check("SET rowguard.token = '' leaves no identity", app.val("SELECT rowguard.sub()") is None)
            continue
        expect_state(app, f"verify({name})", "SELECT rowguard.verify(%s)", "28000", [t])
        expect_state(app, f"SET rowguard.token = {name}", sql.SQL("SET rowguard.token = {}").format(lit), "28000")
        expect_state(app, f"set_config(rowguard.token, {name})", "SELECT set_config('rowguard.token', %s, false)",
                     "28000", [t])
        expect_state(app, f"authenticate({name}, session)", "SELECT rowguard.authenticate(%s, false)", "28000", [t])
        sub = app.val("SELECT rowguard.sub()")
        check(f"after {name}: the session identity is unchanged", sub == "bob", f"sub={sub!r}")
        app.val("BEGIN")
        expect_state(app, f"SET LOCAL rowguard.token = {name}", sql.SQL("SET LOCAL rowguard.token = {}").format(lit),
                     "28000")
        app.rollback_if_open()
        app.val("BEGIN")
        expect_state(app, f"authenticate({name})", "SELECT rowguard.authenticate(%s)", "28000", [t])
        app.rollback_if_open()
        if not app.alive(name):
            app = App()
    print(f"    {n_tok} rejected tokens x 6 ways ({len(CRAFTED)} crafted here, the rest from fixtures)")
    app.val("RESET rowguard.token")
    for name, t in sorted(IGNORED_MEMBERS.items()):
        used_tokens.add(t)
        st, det = app.run("SELECT rowguard.verify(%s) ->> 'sub'", [t])
        print(f"    {name} (signed by the stored key): {st} {det if st != 'ok' else det[0][0]}")

    # Random garbage in the token setting: printable, non-ASCII, dotted, huge.
    rng = random.Random(5)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"':\\\n\té€😀"
    garbage_ok = 0
    n_garbage = 300
    for i in range(n_garbage):
        size = rng.choice([1, 2, 3, 10, 100, 1000, 16383, 16384, 16385, 100000])
        if i % 3 == 0:  # three base64url segments of random bytes
            segs = [b64u(rng.randbytes(max(1, size // 3))) for _ in range(3)]
            g = ".".join(segs)
        elif i % 3 == 1:  # a real header and signature around a random payload
            h, _, s = TOK["valid_hs256"].split(".")
            g = f"{h}.{b64u(rng.randbytes(max(1, size)))}.{s}"
        else:
            g = "".join(rng.choice(alphabet) for _ in range(size))
        st, det = app.run("SELECT set_config('rowguard.token', %s, true)", [g])
        garbage_ok += st == "28000"
        if st != "28000":
            check(f"garbage #{i} (len {len(g)})", False, f"{st} {det}")
    check(f"{n_garbage} random garbage values of rowguard.token: all 28000",
          garbage_ok == n_garbage, f"{garbage_ok}")
    app.val("RESET rowguard.token")
    app.alive("garbage tokens")

    # Uncaught failures that end in the server log (log_min_error_statement = error):
    # the statements hold the token, the log must not.
    print("statements holding tokens that fail, uncaught (for the server-log check):")
    for name in ("forged", "psychic", "crit_header"):
        t = TOK[name]
        app.run(sql.SQL("SET rowguard.token = {}").format(sql.Literal(t)))
        app.run(sql.SQL("SELECT rowguard.authenticate({})").format(sql.Literal(t)))
        app.run(sql.SQL("SELECT rowguard.verify({})").format(sql.Literal(t)))
        app.run(sql.SQL("DO $$BEGIN PERFORM rowguard.authenticate({}); END$$").format(sql.Literal(t)))
        app.run(sql.SQL("DO $$BEGIN EXECUTE format('SET rowguard.token = %L', {}); END$$").format(sql.Literal(t)))
    for name in ("alice_hs256", "bob_es256", "valid_rs256", "valid_eddsa"):  # accepted: logged with =all
        t = TOK[name]
        used_tokens.add(t)
        app.run(sql.SQL("SET rowguard.token = {}").format(sql.Literal(t)))
        app.run("SELECT rowguard.authenticate(%s)", [t])
    app.run("RESET rowguard.token")
    app.alive("logged failures")
    app.close()


if __name__ == "__main__":
    {"load": phase_load, "preload": phase_preload}[PHASE]()
    with open(os.environ["TOKENS_OUT"], "a") as f:
        for t in sorted(used_tokens | set(TOK.values())):
            f.write(t.replace("\n", " ") + "\n")
    print(f"hostile ({PHASE}): {cases} cases, {len(failures)} failed")
    sys.exit(1 if failures else 0)
