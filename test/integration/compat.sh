#!/usr/bin/env bash
# PostgREST's request sequence against rowguard.postgrest_pre_request(), over one
# connection handed from request to request: for each request PostgREST runs
#   BEGIN; SELECT set_config('search_path', $1, true), set_config('role', $2, true),
#          set_config('request.jwt.claims', $3, true), set_config('request.headers', $4, true);
#   SELECT rowguard.postgrest_pre_request(); <the query>; COMMIT
# with prepared statements. 400 requests in a seeded random order mix two tenants' valid
# tokens, forged request.jwt.claims without a header, forged claims next to another
# tenant's valid header, tampered, expired and alg-none tokens, and a lower-case scheme.
# Every response must hold the rows of the header's tenant only (none without a valid
# header); bad tokens must fail with 28000 and leave the connection usable.
#
# Runs against the cluster in PGHOST/PGPORT (scripts/test.sh's) in a database of its own.
# Prints "compat: N passed, M failed".
set -uo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
PY=/usr/bin/python3
PSQL=("${PGBIN:+$PGBIN/}psql" -X -q -A -t -v ON_ERROR_STOP=1 -U postgres)
DB=rg_compat

"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "compat: $PY has no psycopg (Debian package python3-psycopg)"; echo "compat: 0 passed, 1 failed"; exit 1; }

cleanup() {
  "${PSQL[@]}" -d postgres >/dev/null 2>&1 <<SQL
DROP DATABASE IF EXISTS $DB;
DROP ROLE IF EXISTS rg_compat_authenticator, rg_compat_web, rg_compat_owner;
SQL
}
trap cleanup EXIT
cleanup

"${PSQL[@]}" -d postgres <<SQL || { echo "compat: setup failed"; echo "compat: 0 passed, 1 failed"; exit 1; }
CREATE ROLE rg_compat_owner NOLOGIN;
CREATE ROLE rg_compat_web NOLOGIN;
CREATE ROLE rg_compat_authenticator LOGIN NOINHERIT IN ROLE rg_compat_web;
CREATE DATABASE $DB;
SQL
"${PSQL[@]}" -d "$DB" >/dev/null <<'SQL' || { echo "compat: setup failed"; echo "compat: 0 passed, 1 failed"; exit 1; }
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"compat-it","alg":"HS256","k":"Y29tcGF0LWludGVncmF0aW9uLXNlY3JldC1vZi0zMi1ieXRlcw"}');
CREATE SCHEMA api AUTHORIZATION rg_compat_owner;
GRANT USAGE ON SCHEMA api TO rg_compat_web;
SET ROLE rg_compat_owner;
CREATE TABLE api.todos (id int PRIMARY KEY, tenant_id uuid NOT NULL, task text NOT NULL);
CREATE INDEX ON api.todos (tenant_id);
INSERT INTO api.todos
SELECT g, CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
                              ELSE '22222222-2222-4222-8222-222222222222'::uuid END, 'task ' || g
  FROM generate_series(1, 40) g;
-- The PostgREST-documented policy, as lint's fix leaves it.
ALTER TABLE api.todos ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON api.todos TO rg_compat_web
    USING (tenant_id = ((SELECT rowguard.claims())::text::json ->> 'tenant_id')::uuid);
GRANT SELECT ON api.todos TO rg_compat_web;
RESET ROLE;
SQL

"$PY" - "$DB" <<'PY'
import json, random, sys
import psycopg

db = sys.argv[1]
A, B = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
admin = psycopg.connect(dbname=db, user="postgres", autocommit=True)
def sign(claims):
    return admin.execute("SELECT rowguard.sign(%s::jsonb, 'compat-it')", (json.dumps(claims),)).fetchone()[0]
tok = {
    "a": sign({"sub": "alice", "tenant_id": A, "exp": 4102444800}),
    "b": sign({"sub": "bob", "tenant_id": B, "exp": 4102444800}),
    "expired": sign({"sub": "alice", "tenant_id": A, "exp": 1000000000}),
}
tok["tampered"] = tok["a"][:-2] + ("AA" if not tok["a"].endswith("AA") else "BB")
tok["none"] = "eyJhbGciOiJub25lIn0." + tok["b"].split(".")[1] + "."
expected = {
    t: set(r[0] for r in admin.execute("SELECT id FROM api.todos WHERE tenant_id = %s", (u,)))
    for t, u in (("a", A), ("b", B))
}

conn = psycopg.connect(dbname=db, user="rg_compat_authenticator")
ok = bad = 0
def request(header, claims):
    headers = {"accept": "application/json"}
    if header is not None:
        headers["authorization"] = header
    with conn.transaction():
        conn.execute("SELECT set_config('search_path', %s, true), set_config('role', %s, true),"
                     " set_config('request.jwt.claims', %s, true), set_config('request.headers', %s, true)",
                     ("api", "rg_compat_web", json.dumps(claims), json.dumps(headers)), prepare=True)
        conn.execute("SELECT rowguard.postgrest_pre_request()", prepare=True)
        return set(r[0] for r in conn.execute("SELECT id FROM todos", prepare=True))

kinds = ["a", "b", "a_lower", "forged_none", "forged_with_a", "tampered", "expired", "alg_none"] * 50
random.Random(15).shuffle(kinds)
for i, kind in enumerate(kinds):
    forged_b = {"sub": "bob", "tenant_id": B, "role": "rg_compat_web"}
    try:
        if kind == "a":
            rows, want = request("Bearer " + tok["a"], {"sub": "alice"}), expected["a"]
        elif kind == "b":
            rows, want = request("Bearer " + tok["b"], {"sub": "bob"}), expected["b"]
        elif kind == "a_lower":
            rows, want = request("bearer " + tok["a"], {"sub": "alice"}), expected["a"]
        elif kind == "forged_none":
            rows, want = request(None, forged_b), set()
        elif kind == "forged_with_a":
            rows, want = request("Bearer " + tok["a"], forged_b), expected["a"]
        else:
            rows = request("Bearer " + tok[kind.replace("alg_none", "none")], forged_b)
            bad += 1
            print(f"FAIL  request {i} ({kind}): accepted, {len(rows)} rows")
            continue
    except psycopg.errors.InvalidAuthorizationSpecification:
        if kind in ("tampered", "expired", "alg_none"):
            ok += 1
        else:
            bad += 1
            print(f"FAIL  request {i} ({kind}): rejected")
        continue
    if rows == want:
        ok += 1
    else:
        bad += 1
        print(f"FAIL  request {i} ({kind}): {len(rows)} rows, expected {len(want)}")
# The connection ends as it began: no identity, no role left over.
state = conn.execute("SELECT rowguard.is_authenticated(), current_user").fetchone()
if state == (False, "rg_compat_authenticator"):
    ok += 1
else:
    bad += 1
    print(f"FAIL  after the requests: {state}")
print(f"requests: {len(kinds)}, checks passed {ok}, failed {bad}")
sys.exit(1 if bad else 0)
PY
rc=$?
if ((rc == 0)); then echo "compat: 1 passed, 0 failed"; else echo "compat: 0 passed, 1 failed"; fi
exit $rc
