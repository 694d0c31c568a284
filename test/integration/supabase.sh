#!/usr/bin/env bash
# A self-hosted Supabase database after install_compat('supabase', project_url => ...)
# (docs/migrating.md, "A self-hosted Supabase project"), over real connections and the
# extended protocol, as the platform's servers talk to it:
#   - PostgREST logs in as authenticator (the ALTER ROLE setting rowguard.role_binding_claim
#     applies at login), and per request runs its settings statement with bind parameters
#     (role = authenticator, request.jwt.claims, request.headers) and the pre-request;
#     300 requests in a seeded order mix user tokens (no kid, kid), the anon and
#     service_role API keys (no kid, iss "supabase"), forged request.jwt.claims with and
#     without a token, tampered tokens and tokens whose role claim is not theirs to use.
#     Every response must be the rows the header's token may see, nothing else;
#   - the same connection can never SET ROLE to anon / authenticated / service_role;
#   - Storage logs in as supabase_storage_admin and runs its scope statement
#     (src/internal/database/postgres/scope.ts) with its nine bind parameters: the owner's
#     update touches her row, forged claims next to her token touch nothing else, a forged
#     token in request.jwt fails with 28000;
#   - a GoTrue migration re-run as supabase_auth_admin leaves auth.uid() rowguard's.
#
# Own cluster (pick_port from ROWGUARD_PORT_MIN, default 54480): it creates Supabase's role
# names, which are cluster-wide. Environment: ROWGUARD_ROOT, PGBIN. Needs python3-psycopg.
# Prints "supabase: N passed, M failed".
set -uo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3
"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "supabase: $PY has no psycopg (Debian package python3-psycopg)"; echo "supabase: 0 passed, 1 failed"; exit 1; }

PORT=""
cleanup() { [[ -n "$PORT" ]] && stop_cluster "$PORT" >/dev/null 2>&1; }
trap cleanup EXIT
PORT=$(pick_port "${ROWGUARD_PORT_MIN:-54480}")
start_cluster "$PORT" >/dev/null || { echo "supabase: cannot start a cluster"; echo "supabase: 0 passed, 1 failed"; exit 1; }
PSQL=("${PGBIN:+$PGBIN/}psql" -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -h "$PGHOST" -p "$PORT")

"${PSQL[@]}" -d postgres >/dev/null <<'SQL' || { echo "supabase: setup failed"; echo "supabase: 0 passed, 1 failed"; exit 1; }
CREATE ROLE supabase_admin SUPERUSER LOGIN;
CREATE ROLE anon NOLOGIN INHERIT;
CREATE ROLE authenticated NOLOGIN INHERIT;
CREATE ROLE service_role NOLOGIN INHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE;
GRANT anon, authenticated, service_role TO supabase_storage_admin;
CREATE DATABASE rg_supabase;
SQL
"${PSQL[@]}" -d rg_supabase >/dev/null <<'SQL' || { echo "supabase: setup failed"; echo "supabase: 0 passed, 1 failed"; exit 1; }
CREATE EXTENSION rowguard;
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
SET ROLE supabase_auth_admin;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text $$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text $$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;
RESET ROLE;
CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO anon, authenticated, service_role;
SET ROLE supabase_storage_admin;
CREATE TABLE storage.objects (id int PRIMARY KEY, bucket_id text, name text, owner uuid, version text);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
GRANT ALL ON storage.objects TO anon, authenticated, service_role;
INSERT INTO storage.objects VALUES
    (1, 'avatars', 'a/1.png', 'aaaaaaaa-0000-4000-8000-00000000000a', 'v1'),
    (2, 'avatars', 'b/1.png', 'bbbbbbbb-0000-4000-8000-00000000000b', 'v1');
RESET ROLE;
CREATE POLICY own_read ON storage.objects FOR SELECT TO authenticated USING (auth.uid() = owner);
CREATE POLICY own_update ON storage.objects FOR UPDATE TO authenticated
    USING (auth.uid() = owner) WITH CHECK (auth.uid() = owner);
CREATE TABLE public.todos (id int PRIMARY KEY, user_id uuid NOT NULL DEFAULT auth.uid(), task text);
ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.todos TO anon, authenticated, service_role;
CREATE POLICY own_todos ON public.todos FOR SELECT USING ((select auth.uid()) = user_id);
CREATE POLICY public_todos ON public.todos FOR SELECT TO anon USING (user_id = '00000000-0000-4000-8000-000000000000');
INSERT INTO public.todos
SELECT g, (ARRAY['aaaaaaaa-0000-4000-8000-00000000000a', 'bbbbbbbb-0000-4000-8000-00000000000b',
                 '00000000-0000-4000-8000-000000000000'])[g % 3 + 1]::uuid, 'task ' || g
  FROM generate_series(1, 30) g;
SELECT rowguard.install_compat('supabase', project_url => 'http://localhost:8000',
                               jwt_secret => 'your-super-secret-jwt-token-with-at-least-32-characters-long',
                               jwt_kid => 'gotrue-kid', api_key_issuer => 'supabase-demo');
SQL

PGHOST="$PGHOST" PGPORT="$PORT" "$PY" - <<'PY'
import base64, hashlib, hmac, json, os, random, sys, time
import psycopg

host, port = os.environ["PGHOST"], os.environ["PGPORT"]
def connect(user):
    return psycopg.connect(f"host={host} port={port} dbname=rg_supabase user={user}", autocommit=True)

SECRET = b"your-super-secret-jwt-token-with-at-least-32-characters-long"
ISS = "http://localhost:8000/auth/v1"
A, B, PUB = ("aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b",
             "00000000-0000-4000-8000-000000000000")
def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def hs256(claims, kid=None, secret=SECRET):
    header = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())
now = int(time.time())
def user(sub, **extra):
    claims = {"aud": "authenticated", "exp": now + 3600, "iat": now, "iss": ISS, "sub": sub,
              "email": sub[:1] + "@example.test", "phone": "", "role": "authenticated",
              "app_metadata": {"provider": "email"}, "user_metadata": {}, "aal": "aal1",
              "session_id": "5e55a000-0000-4000-8000-000000000001", "is_anonymous": False}
    claims.update(extra)
    return claims
tok = {
    "alice": hs256(user(A)),
    "alice_kid": hs256(user(A), kid="gotrue-kid"),
    "bob_kid": hs256(user(B), kid="gotrue-kid"),
    "anon": hs256({"role": "anon", "iss": "supabase-demo", "iat": 1641769200, "exp": 1799535600}),
    "service": hs256({"role": "service_role", "iss": "supabase-demo", "iat": 1641769200, "exp": 1799535600}),
    # refused: wrong secret, a user token claiming service_role, an API key claiming authenticated
    "forged_service": hs256({"role": "service_role", "iss": "supabase-demo", "exp": 1799535600},
                            secret=b"guessed-secret-guessed-secret-guessed-secret"),
    "user_as_service": hs256(user(A, role="service_role")),
    "key_as_user": hs256({"role": "authenticated", "iss": "supabase-demo", "sub": B, "exp": 1799535600}),
}
tok["tampered"] = tok["alice"][:-3] + ("AAA" if not tok["alice"].endswith("AAA") else "BBB")
su = connect("postgres")
rows = lambda where: set(r[0] for r in su.execute(f"SELECT id FROM public.todos WHERE {where}"))
want = {"alice": rows(f"user_id = '{A}'"), "alice_kid": rows(f"user_id = '{A}'"),
        "bob_kid": rows(f"user_id = '{B}'"), "anon": rows(f"user_id = '{PUB}'"),
        "service": rows("true")}
ok = bad = 0
def check(cond, what):
    global ok, bad
    if cond:
        ok += 1
    else:
        bad += 1
        print("FAIL ", what, flush=True)

# PostgREST.
api = connect("authenticator")
check(api.execute("SHOW rowguard.role_binding_claim").fetchone()[0] == "role",
      "authenticator logs in with rowguard.role_binding_claim = role")
def request(bearer, claims):
    headers = {"accept": "application/json"}
    if bearer is not None:
        headers["authorization"] = "Bearer " + bearer
    with api.transaction():
        api.execute("SELECT set_config('search_path', %s, true), set_config('role', %s, true),"
                    " set_config('request.jwt.claims', %s, true), set_config('request.headers', %s, true)",
                    ("public", "authenticator", json.dumps(claims), json.dumps(headers)), prepare=True)
        api.execute("SELECT rowguard.postgrest_pre_request()", prepare=True)
        who = api.execute("SELECT current_user", prepare=True).fetchone()[0]
        got = set(r[0] for r in api.execute("SELECT id FROM todos", prepare=True))
        return who, got
forged = {"sub": B, "role": "service_role"}
kinds = ["alice", "alice_kid", "bob_kid", "anon", "service", "forged_only", "forged_service",
         "user_as_service", "key_as_user", "tampered"] * 30
random.Random(25).shuffle(kinds)
roles = {"alice": "authenticated", "alice_kid": "authenticated", "bob_kid": "authenticated",
         "anon": "anon", "service": "service_role"}
for i, kind in enumerate(kinds):
    try:
        if kind == "forged_only":
            # no token: authenticator itself, which may read nothing
            who, got = request(None, forged)
            check(False, f"request {i} ({kind}): read as {who}")
            continue
        who, got = request(tok[kind], forged)
    except psycopg.errors.InsufficientPrivilege:
        check(kind == "forged_only", f"request {i} ({kind}): 42501")
        continue
    except psycopg.errors.InvalidAuthorizationSpecification:
        check(kind in ("forged_service", "user_as_service", "key_as_user", "tampered"),
              f"request {i} ({kind}): refused")
        continue
    check(kind in want and who == roles[kind] and got == want[kind],
          f"request {i} ({kind}): as {who}, {len(got)} rows")
for target in ("anon", "authenticated", "service_role"):
    for stmt in (f"SET ROLE {target}", f"SELECT set_config('role', '{target}', false)"):
        try:
            api.execute(stmt)
            check(False, f"authenticator: {stmt} succeeded")
            api.execute("RESET ROLE")
        except psycopg.errors.InsufficientPrivilege:
            check(True, "")
check(api.execute("SELECT current_user, rowguard.is_authenticated()").fetchone() == ("authenticator", False),
      "the PostgREST connection ends as authenticator without identity")

# Storage.
storage = connect("supabase_storage_admin")
SCOPE = ("SELECT set_config('role', %s, true), set_config('request.jwt.claim.role', %s, true),"
         " set_config('request.jwt', %s, true), set_config('request.jwt.claim.sub', %s, true),"
         " set_config('request.jwt.claims', %s, true), set_config('request.headers', %s, true),"
         " set_config('request.method', %s, true), set_config('request.path', %s, true),"
         " set_config('storage.operation', %s, true), set_config('storage.allow_delete_query', 'true', true)")
def scope(jwt, sub, claims):
    storage.execute(SCOPE, ("authenticated", "authenticated", jwt, sub, json.dumps(claims), "{}",
                            "PUT", "/object/avatars/x", "object.upload"), prepare=True)
with storage.transaction():
    scope(tok["alice"], A, user(A))
    n = storage.execute("UPDATE storage.objects SET version = 'v2' WHERE name = 'a/1.png'").rowcount
    check(n == 1, f"storage: the owner's update touched {n} rows")
with storage.transaction():
    scope(tok["alice"], B, user(B))
    n = storage.execute("UPDATE storage.objects SET version = 'v3' WHERE name = 'b/1.png'").rowcount
    check(n == 0, f"storage: forged claims next to Alice's token touched {n} of Bob's rows")
    seen = [r[0] for r in storage.execute("SELECT name FROM storage.objects ORDER BY 1")]
    check(seen == ["a/1.png"], f"storage: Alice's token lists {seen}")
with storage.transaction():
    scope("", B, user(B))
    seen = storage.execute("SELECT count(*) FROM storage.objects").fetchone()[0]
    check(seen == 0, f"storage: forged claims without a token list {seen} objects")
try:
    with storage.transaction():
        scope(hs256(user(B), secret=b"guessed-secret-guessed-secret-guessed-secret"), B, user(B))
        storage.execute("SELECT count(*) FROM storage.objects").fetchone()
    check(False, "storage: a forged token in request.jwt was accepted")
except psycopg.errors.InvalidAuthorizationSpecification:
    check(True, "")

# A GoTrue migration re-run.
gotrue = connect("supabase_auth_admin")
gotrue.execute("""create or replace function auth.uid() returns uuid language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$""")
body = su.execute("SELECT prosrc FROM pg_proc WHERE oid = 'auth.uid()'::regprocedure").fetchone()[0]
check("rowguard" in body, "auth.uid() is rowguard's after GoTrue's migration")
print(f"requests: {len(kinds)}, checks passed {ok}, failed {bad}")
sys.exit(1 if bad else 0)
PY
rc=$?
if ((rc == 0)); then echo "supabase: 1 passed, 0 failed"; else echo "supabase: 0 passed, 1 failed"; fi
exit $rc
