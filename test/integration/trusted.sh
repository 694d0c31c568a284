#!/usr/bin/env bash
# rowguard as a trusted extension: a database owner that is not a superuser (no
# CREATEROLE, no CREATEDB) installs it with CREATE EXTENSION, administers keys, applies a
# template, authenticates and runs lint, and cannot turn the install against the server:
# the schema and every member stay the bootstrap superuser's, nothing can be planted in
# schema rowguard before or after the install, internal and cluster-reaching functions
# stay out of reach, superuser-only settings stay so; the owner can pg_dump its database.
# docs/security-model.md ("Installing as a database owner") gives the reasoning.
#
# Runs against the cluster in PGHOST/PGPORT (scripts/test.sh's), in two databases of its
# own, which it drops at the end. Prints one line per check and "trusted: N passed, M failed".
set -uo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
PSQL=("${PGBIN:+$PGBIN/}psql" -X -q -A -t -v ON_ERROR_STOP=1)
OWNER=rg_trusted_owner
DB=rg_trusted
PLANTED=rg_trusted_planted
passed=0
failed=0

cleanup() {
  "${PSQL[@]}" -U postgres -d postgres >/dev/null 2>&1 <<SQL
DROP DATABASE IF EXISTS $DB;
DROP DATABASE IF EXISTS $PLANTED;
DROP DATABASE IF EXISTS ${DB}_restored;
DROP ROLE IF EXISTS $OWNER;
SQL
}
trap cleanup EXIT

check() { # check NAME EXPECTED ACTUAL
  if [[ "$3" == "$2" ]]; then
    passed=$((passed + 1)); echo "PASS  $1"
  else
    failed=$((failed + 1)); echo "FAIL  $1"; echo "      expected: $2"; echo "      actual:   $3"
  fi
}
as_owner() { "${PSQL[@]}" -U "$OWNER" -d "${2:-$DB}" -c "$1" 2>&1; }
# The SQLSTATE of a statement the owner runs ("ok" when it succeeds).
state_of() {
  local out
  out=$("${PSQL[@]}" -U "$OWNER" -d "${2:-$DB}" -v VERBOSITY=sqlstate -c "$1" 2>&1) &&
    { echo ok; return; }
  sed -n 's/^.*ERROR:  \([0-9A-Z]\{5\}\).*$/\1/p' <<<"$out" | head -n 1
}

cleanup
"${PSQL[@]}" -U postgres -d postgres <<SQL || { echo "trusted: setup failed"; echo "trusted: 0 passed, 1 failed"; exit 1; }
CREATE ROLE $OWNER LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS;
CREATE DATABASE $DB OWNER $OWNER;
CREATE DATABASE $PLANTED OWNER $OWNER;
CREATE DATABASE ${DB}_restored OWNER $OWNER;
SQL

# --- install as the database owner ---------------------------------------------------------
check "the database owner installs rowguard" "ok" "$(state_of 'CREATE EXTENSION rowguard')"
check "the extension is the owner's" "$OWNER" \
  "$(as_owner "SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'rowguard'")"
check "schema rowguard belongs to the bootstrap superuser" "t" \
  "$(as_owner "SELECT r.oid = 10 FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'rowguard'")"
check "every member function belongs to the bootstrap superuser" "t" \
  "$(as_owner "SELECT bool_and(proowner = 10) FROM pg_proc WHERE pronamespace = 'rowguard'::regnamespace")"
check "no member function is SECURITY DEFINER in C" "0" \
  "$(as_owner "SELECT count(*) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.pronamespace = 'rowguard'::regnamespace AND p.prosecdef AND l.lanname = 'c'")"
check "every SECURITY DEFINER function pins search_path" "0" \
  "$(as_owner "SELECT count(*) FROM pg_proc WHERE pronamespace = 'rowguard'::regnamespace AND prosecdef AND NOT coalesce(proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)")"

# --- keys, a template, an identity, lint: as the owner -------------------------------------
JWK='{"kty":"oct","kid":"trusted-key","alg":"HS256","k":"dHJ1c3RlZC1leHRlbnNpb24tc2VjcmV0LW9mLTMyLWJ5dGVz"}'
check "owner adds a key" "trusted-key" "$(as_owner "SELECT rowguard.add_key('$JWK')")"
check "owner sets issuer rules" "ok" \
  "$(state_of "SELECT rowguard.set_issuer('https://trusted.test', audience => ARRAY['api'])")"
check "owner sees which keys exist" "trusted-key" "$(as_owner "SELECT kid FROM rowguard.keys")"
TOKEN=$(as_owner "SELECT rowguard.sign('{\"sub\":\"t1-user\",\"tenant_id\":\"11111111-1111-4111-8111-111111111111\",\"exp\":4102444800}', 'trusted-key')")
out=$("${PSQL[@]}" -U "$OWNER" -d "$DB" 2>&1 <<SQL
SET client_min_messages = error;
CREATE TABLE public.docs (id int PRIMARY KEY, tenant_id uuid NOT NULL, body text);
CREATE INDEX ON public.docs (tenant_id);
INSERT INTO public.docs VALUES (1, '11111111-1111-4111-8111-111111111111', 'one'),
                               (2, '22222222-2222-4222-8222-222222222222', 'two');
SELECT length(rowguard.tenant_policy('public.docs')) > 0;
SELECT count(*) FROM public.docs;
BEGIN;
SELECT rowguard.authenticate('$TOKEN') ->> 'sub';
SELECT string_agg(body, ',') FROM public.docs;
COMMIT;
SQL
)
check "owner applies tenant_policy and reads one tenant" "$(printf 't\n0\nt1-user\none')" "$out"
check "owner runs lint: its own login ownership is reported" "1" \
  "$(as_owner "SELECT count(*) FROM rowguard.lint() WHERE object = 'role $OWNER' AND problem LIKE '%owns public.docs%'")"
check "owner runs lint: the verification rules see the keys" "1" \
  "$(as_owner "SELECT count(*) FROM rowguard.lint() WHERE object = 'setting rowguard.audience'")"
check "owner installs the supabase compatibility functions" "ok" \
  "$(state_of "SELECT rowguard.install_compat('supabase')")"
# (FORCE ROW LEVEL SECURITY binds the owner's dump of public.docs too: docs/policies.md,
# cross-tenant maintenance. rowguard's own tables have no row level security.)
"${PGBIN:+$PGBIN/}pg_dump" -U "$OWNER" -d "$DB" --exclude-table-data=public.docs -f /dev/null 2>/tmp/rg_trusted_dump.$$ && dump=ok || dump=$(head -n 2 /tmp/rg_trusted_dump.$$)
rm -f /tmp/rg_trusted_dump.$$
check "owner dumps its database, rowguard's configuration tables included" "ok" "$dump"
# ... and restores it into another database of its own: the keys, issuers (and
# revocations) it manages come back; nothing needs a superuser (--no-owner: the schema
# rowguard belongs to the bootstrap superuser, which the owner cannot assign; role
# bindings, JWKS URIs and OAuth sign-in roles are a superuser's to restore, docs/install.md).
dumpfile=/tmp/rg_trusted_dump.$$.fc
"${PGBIN:+$PGBIN/}pg_dump" -Fc -U "$OWNER" -d "$DB" --exclude-table-data=public.docs \
  --exclude-table-data=rowguard.role_bindings --exclude-table-data=rowguard.privileged_role_bindings \
  --exclude-table-data=rowguard.jwks_sources --exclude-table-data=rowguard.oauth_logins \
  -f "$dumpfile" 2>/dev/null
# --single-transaction: the dump creates schema rowguard before CREATE EXTENSION, and the
# install takes a schema made before it only from a superuser (docs/security-model.md,
# "0.3.0 hardening: the database owner"); made in the same transaction, it is the install's.
restore=$("${PGBIN:+$PGBIN/}pg_restore" -U "$OWNER" -d "${DB}_restored" --no-owner --single-transaction --exit-on-error "$dumpfile" 2>&1 | head -n 2)
rm -f "$dumpfile"
check "owner restores its dump as itself" "" "$restore"
check "the restored database has the same keys" \
  "$(as_owner "SELECT string_agg(kid, ',' ORDER BY kid) FROM rowguard.keys")" \
  "$(as_owner "SELECT string_agg(kid, ',' ORDER BY kid) FROM rowguard.keys" "${DB}_restored")"

# --- what the owner must not be able to do -------------------------------------------------
check "owner cannot create in schema rowguard" "42501" \
  "$(state_of "CREATE FUNCTION rowguard._policy_column(oid, text) RETURNS name LANGUAGE sql AS 'SELECT NULL::name'")"
check "owner cannot detach a member from the extension" "42501" \
  "$(state_of 'ALTER EXTENSION rowguard DROP FUNCTION rowguard._store_key(text, text, text, jsonb)')"
check "owner cannot drop a member" "42501" "$(state_of 'DROP FUNCTION rowguard.add_key(jsonb, text, text)')"
check "owner cannot replace a member" "42501" \
  "$(state_of "CREATE OR REPLACE FUNCTION rowguard.claims() RETURNS jsonb LANGUAGE sql AS 'SELECT NULL::jsonb'")"
check "owner cannot call internal C functions" "42501" \
  "$(state_of "SELECT rowguard._describe_jwk('$JWK', NULL)")"
check "owner cannot write the key table directly" "42501" \
  "$(state_of "UPDATE rowguard.keys SET issuer = 'x'")"
check "owner cannot loosen a superuser-only setting for the database" "42501" \
  "$(state_of "ALTER DATABASE $DB SET rowguard.leeway = 99999")"
for f in "rowguard.allow_role(regrole,text)" "rowguard.set_jwks_uri(text,text)" \
         "rowguard.refresh_keys(text)" "rowguard.discover_issuer(text)"; do
  if [[ $(as_owner "SELECT to_regprocedure('$f') IS NOT NULL") == t ]]; then
    check "owner cannot execute $f" "f" \
      "$(as_owner "SELECT has_function_privilege('$OWNER', '$f', 'EXECUTE')")"
  fi
done

# Test identities (docs/testing-policies.md): the owner, who can already sign tokens, may
# make them and grant them to a test role, which gains no role it could not SET ROLE to.
check "owner makes a test identity" "alice" \
  "$(as_owner "BEGIN; SELECT rowguard.test_authenticate('{\"sub\":\"alice\"}') ->> 'sub'; COMMIT;")"
check "owner grants test_authenticate on" "ok" \
  "$(state_of "GRANT EXECUTE ON FUNCTION rowguard.test_authenticate(jsonb) TO PUBLIC")"
state_of "REVOKE EXECUTE ON FUNCTION rowguard.test_authenticate(jsonb) FROM PUBLIC" >/dev/null

# --- a schema rowguard prepared before the install -----------------------------------------
"${PSQL[@]}" -U "$OWNER" -d "$PLANTED" >/dev/null 2>&1 <<'SQL'
CREATE SCHEMA rowguard;
CREATE FUNCTION rowguard._policy_column(oid, text) RETURNS name LANGUAGE sql
    AS 'SELECT NULL::name';
SQL
check "install into a schema rowguard holding other objects is refused" "42P15" \
  "$(state_of 'CREATE EXTENSION rowguard' "$PLANTED")"
check "nothing was installed there" "0" \
  "$(as_owner "SELECT count(*) FROM pg_extension WHERE extname = 'rowguard'" "$PLANTED")"
as_owner "DROP SCHEMA rowguard CASCADE" "$PLANTED" >/dev/null
# 0.3.0: a schema made before the install that a role other than superusers can create in
# is refused even when empty (a second session could plant objects during the install;
# test/integration/harden_owner.sh races one).
"${PSQL[@]}" -U postgres -d "$PLANTED" -c "CREATE SCHEMA rowguard AUTHORIZATION $OWNER" >/dev/null
check "an empty schema rowguard of the owner made before the install is refused" "42P15" \
  "$(state_of 'CREATE EXTENSION rowguard' "$PLANTED")"
"${PSQL[@]}" -U postgres -d "$PLANTED" -c "DROP SCHEMA rowguard" >/dev/null
"${PSQL[@]}" -U postgres -d "$PLANTED" -c "CREATE SCHEMA rowguard; CREATE FUNCTION rowguard._policy_column(oid, text) RETURNS name LANGUAGE sql AS 'SELECT NULL::name'" >/dev/null
check "a superuser's schema rowguard holding other objects is refused" "42P15" \
  "$(state_of 'CREATE EXTENSION rowguard' "$PLANTED")"
"${PSQL[@]}" -U postgres -d "$PLANTED" -c "DROP SCHEMA rowguard CASCADE" >/dev/null 2>&1
"${PSQL[@]}" -U postgres -d "$PLANTED" -c "CREATE SCHEMA rowguard; GRANT USAGE ON SCHEMA rowguard TO $OWNER" >/dev/null
check "an empty schema rowguard of a superuser is taken over" "ok" "$(state_of 'CREATE EXTENSION rowguard' "$PLANTED")"
check "and its grants are gone" "{postgres=UC/postgres,=U/postgres}" \
  "$(as_owner "SELECT nspacl FROM pg_namespace WHERE nspname = 'rowguard'" "$PLANTED")"
check "the owner drops its extension" "ok" "$(state_of 'DROP EXTENSION rowguard CASCADE' "$PLANTED")"

echo "trusted: $passed passed, $failed failed"
((failed == 0))
