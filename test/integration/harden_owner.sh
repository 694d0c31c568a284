#!/usr/bin/env bash
# A database owner never becomes superuser (issue 22, items 1 and 2). A role that owns a
# database and installed rowguard there as a trusted extension, and nothing more, tries
# the ways the review found:
#
# 1. The key refresher runs as the bootstrap superuser in that database. The owner plants
#    operators in public (=(name,name), =(text,text), <>(text,text), <=(timestamptz,
#    timestamptz), +(integer,integer), -(timestamptz,timestamptz)) whose body makes it a
#    superuser when the caller is one, sets ALTER DATABASE ... SET search_path = public,
#    pg_catalog, and a superuser lists the database in rowguard.refresh_databases with a
#    JWKS URI to fetch. Once the refresher has recorded an attempt, the owner must not be
#    a superuser and no planted operator may have run as one.
# 2. A superuser calls every SECURITY DEFINER function of rowguard (and lint, the
#    templates, explain_access) in that database, under its hostile search_path: the same
#    two assertions.
# 3. Two sessions of the owner: one creates rowguard.add_key(jwk text) in a schema
#    rowguard made before the install and commits after CREATE EXTENSION, the documented
#    SELECT rowguard.add_key('{...}') of a superuser would then run it. The install must
#    be refused (42P15), and the owner must not become superuser. Also: a superuser's
#    schema is used and the planting session is refused; a schema made in the same
#    transaction as CREATE EXTENSION (pg_restore --single-transaction) is used; a
#    superuser's schema with CREATE granted to PUBLIC is refused; the frozen 0.1.0 script
#    alone is guarded too.
# 4. Updates: the owner's ALTER EXTENSION UPDATE from 0.2.0 while a session tries to plant
#    (refused: the schema is the superuser's); an update of an installation whose schema
#    the owner still owns (an old 0.1.0 install into the owner's schema) is refused while
#    that session plants.
#
# Starts its own cluster (rowguard preloaded, for the refresher). Prints one line per
# check and "harden_owner: N passed, M failed".
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -uo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3
"$PY" -c 'import psycopg' 2>/dev/null ||
  { echo "harden_owner: $PY has no psycopg (Debian package python3-psycopg)" >&2; exit 1; }

OWNER=rg_ho_owner
passed=0
failed=0
PORT=""
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  return $rc
}
trap cleanup EXIT

check() { # check NAME EXPECTED ACTUAL
  if [[ "$3" == "$2" ]]; then
    passed=$((passed + 1)); echo "PASS  $1"
  else
    failed=$((failed + 1)); echo "FAIL  $1"; echo "      expected: $2"; echo "      actual:   $3"
  fi
}
PSQL=("$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1)
# A superuser that protects its own session's search_path, as an administrator should.
as_super() { PGOPTIONS="-c search_path=pg_catalog" "${PSQL[@]}" -U postgres -d "$1" -c "$2" 2>&1; }
# A superuser that does not: the database's settings apply.
as_super_plain() { "${PSQL[@]}" -U postgres -d "$1" -c "$2" 2>&1; }
as_owner() { "${PSQL[@]}" -U "$OWNER" -d "$1" -c "$2" 2>&1; }
state_of() { # state_of ROLE DB SQL: the SQLSTATE of SQL ("ok" when it succeeds)
  local out
  out=$("${PSQL[@]}" -U "$1" -d "$2" -v VERBOSITY=sqlstate -c "$3" 2>&1) && { echo ok; return; }
  sed -n 's/^.*ERROR:  \([0-9A-Z]\{5\}\).*$/\1/p' <<<"$out" | head -n 1
}
is_superuser() { as_super postgres "SELECT rolsuper FROM pg_roles WHERE rolname = '$OWNER'"; }

PORT=$(pick_port 55830)
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" >/dev/null ||
  { echo "harden_owner: cluster did not start"; exit 1; }

psql_as postgres >/dev/null <<SQL
CREATE ROLE $OWNER LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS;
CREATE ROLE rg_ho_app NOLOGIN;
CREATE DATABASE rg_ho OWNER $OWNER;
SQL

# --- 1. the key refresher under the database's search_path --------------------------------
"${PSQL[@]}" -U "$OWNER" -d rg_ho >/dev/null <<SQL
CREATE EXTENSION rowguard;
-- Calls by a superuser are recorded, and make the owner a superuser.
CREATE TABLE public.planted_calls (op text, caller name);
GRANT INSERT ON public.planted_calls TO PUBLIC;
CREATE FUNCTION public.planted(op text) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
    IF pg_catalog.current_setting('is_superuser') OPERATOR(pg_catalog.=) 'on' THEN
        INSERT INTO public.planted_calls VALUES (op, CURRENT_USER);
        EXECUTE 'ALTER ROLE $OWNER SUPERUSER';
    END IF;
END
\$\$;
CREATE FUNCTION public.eq(name, name) RETURNS boolean LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM public.planted('=(name,name)'); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.eq);
CREATE FUNCTION public.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM public.planted('=(text,text)'); RETURN \$1 OPERATOR(pg_catalog.=) \$2; END \$\$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.eq);
CREATE FUNCTION public.ne(text, text) RETURNS boolean LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM public.planted('<>(text,text)'); RETURN \$1 OPERATOR(pg_catalog.<>) \$2; END \$\$;
CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = public.ne);
CREATE FUNCTION public.le(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM public.planted('<=(timestamptz,timestamptz)'); RETURN \$1 OPERATOR(pg_catalog.<=) \$2; END \$\$;
CREATE OPERATOR public.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.le);
CREATE FUNCTION public.plus(integer, integer) RETURNS integer LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM public.planted('+(integer,integer)'); RETURN \$1 OPERATOR(pg_catalog.+) \$2; END \$\$;
CREATE OPERATOR public.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.plus);
CREATE FUNCTION public.minus(timestamptz, timestamptz) RETURNS interval LANGUAGE plpgsql AS
    \$\$ BEGIN PERFORM public.planted('-(timestamptz,timestamptz)'); RETURN \$1 OPERATOR(pg_catalog.-) \$2; END \$\$;
CREATE OPERATOR public.- (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.minus);
ALTER DATABASE rg_ho SET search_path = public, pg_catalog;
SQL
check "the planted operator answers the owner's own queries (the trap is armed)" "t" \
  "$(as_owner rg_ho "SELECT 'a'::name = 'a'::name AND (SELECT count(*) FROM pg_extension WHERE extname = 'rowguard') = 1")"

# A source to fetch (nothing listens on port 9: the fetch fails and is recorded).
as_super rg_ho "SELECT rowguard.set_jwks_uri('https://issuer.rg-ho.test', 'https://127.0.0.1:9/jwks.json')" >/dev/null
as_super postgres "ALTER SYSTEM SET rowguard.refresh_databases = 'rg_ho'" >/dev/null
as_super postgres "SELECT pg_reload_conf()" >/dev/null
attempted=f
for _ in $(seq 1 240); do
  attempted=$(as_super rg_ho "SELECT count(*) = 1 FROM rowguard.jwks_sources WHERE last_attempt IS NOT NULL AND failures >= 1")
  [[ "$attempted" == t ]] && break
  sleep 0.5
done
check "the refresher ran its queries in the owner's database (an attempt is recorded)" "t" "$attempted"
# A second cycle (the wake path and the schedule), then stop it.
as_super rg_ho "UPDATE rowguard.jwks_sources SET next_refresh = now() - interval '1 minute'" >/dev/null
for _ in $(seq 1 240); do
  [[ $(as_super rg_ho "SELECT failures >= 2 FROM rowguard.jwks_sources") == t ]] && break
  sleep 0.5
done
check "the refresher ran a second cycle" "t" "$(as_super rg_ho "SELECT failures >= 2 FROM rowguard.jwks_sources")"
as_super postgres "ALTER SYSTEM RESET rowguard.refresh_databases" >/dev/null
as_super postgres "SELECT pg_reload_conf()" >/dev/null
check "no planted operator ran as the refresher" "" \
  "$(as_super rg_ho "SELECT string_agg(DISTINCT op, ', ') FROM public.planted_calls")"
check "the owner is not a superuser after the refresher ran" "f" "$(is_superuser)"

# --- 2. a superuser runs rowguard's functions under the owner's search_path ----------------
JWK='{"kty":"oct","kid":"rg-ho-key","alg":"HS256","k":"aGFyZGVuLW93bmVyLXNlY3JldC1vZi0zMi1ieXRlcy0h"}'
JWKS='{"keys":[{"kty":"oct","kid":"rg-ho-set","alg":"HS256","k":"aGFyZGVuLW93bmVyLXNldC1zZWNyZXQtb2YtMzItYnl0ZXM"}]}'
as_owner rg_ho "CREATE TABLE public.docs (id int PRIMARY KEY, tenant_id uuid NOT NULL, body text); CREATE INDEX ON public.docs (tenant_id)" >/dev/null
for call in \
  "SELECT rowguard.add_key('$JWK', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.sign('{\"iss\":\"https://issuer.rg-ho.test\",\"sub\":\"s\",\"exp\":4102444800}', 'rg-ho-key')" \
  "SELECT rowguard.add_jwks('$JWKS', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.sync_jwks('$JWKS', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.add_secret('aGFyZGVuLW93bmVyLWFub3RoZXItc2VjcmV0LTMyLWJ5dGVz', 'HS256', 'rg-ho-secret', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.set_issuer('https://issuer.rg-ho.test', ARRAY['api'], interval '5 seconds', interval '1 hour')" \
  "SELECT rowguard.revoke_token('jti-1', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.revoke_subject('sub-1', now(), 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.allow_role('rg_ho_app', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.disallow_role('rg_ho_app', 'https://issuer.rg-ho.test')" \
  "SELECT rowguard.set_jwks_uri('https://issuer2.rg-ho.test', 'https://127.0.0.1:9/other.json')" \
  "SELECT rowguard.set_jwks_uri('https://issuer2.rg-ho.test', NULL)" \
  "SELECT rowguard.tenant_policy('public.docs')" \
  "SELECT rowguard.explain_access('public.docs')" \
  "SELECT count(*) FROM rowguard.lint()" \
  "SELECT rowguard.install_compat('supabase', false)" \
  "SELECT rowguard.drop_policies('public.docs')" \
  "SELECT rowguard.remove_key('rg-ho-set')" \
  "SELECT rowguard.remove_issuer('https://issuer.rg-ho.test')" \
  "SELECT rowguard.stats_reset()" \
  "SELECT rowguard.session_status()"; do
  as_super rg_ho "TRUNCATE public.planted_calls" >/dev/null
  out=$(as_super_plain rg_ho "$call" 2>&1)
  name=$(grep -o 'rowguard\.[a-z_]*' <<<"$call" | head -n 1)
  check "$name as a superuser under the owner's search_path: no planted operator runs" "" \
    "$(as_super rg_ho "SELECT string_agg(DISTINCT op, ', ') FROM public.planted_calls")"
  [[ "$out" == *ERROR* ]] && echo "      ($name failed, which is not what this checks: $out)"
done
check "the owner is not a superuser after a superuser ran rowguard's functions" "f" "$(is_superuser)"

# --- 3. a schema rowguard seeded while the extension is installed --------------------------
# Two sessions (psycopg): the owner's planting session creates rowguard.add_key(jwk text)
# and stays open; the installing session runs STMT; then the planting session commits.
# Prints "<planting outcome> <install outcome>" (ok or a SQLSTATE).
race() { # race DB INSTALLER STMT
  PGHOST=$PGHOST PGPORT=$PGPORT "$PY" - "$1" "$OWNER" "$2" "$3" <<'PY'
import sys, psycopg
db, owner, installer, stmt = sys.argv[1:5]
def connect(user):
    return psycopg.connect(dbname=db, user=user, autocommit=True)
planter = connect(owner)
planter.execute("BEGIN")
try:
    planter.execute(f"""CREATE FUNCTION rowguard.add_key(jwk text) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN
            IF pg_catalog.current_setting('is_superuser') OPERATOR(pg_catalog.=) 'on' THEN
                EXECUTE 'ALTER ROLE {owner} SUPERUSER';
            END IF;
            RETURN 'planted';
        END $$""")
    planted = "ok"
except psycopg.Error as e:
    planted = e.sqlstate
installing = connect(installer)
# A generous deadline against a hang (a lock the planting session holds): an error, not a
# wait forever.
installing.execute("SET lock_timeout = '120s'")
try:
    installing.execute(stmt)
    installed = "ok"
except psycopg.Error as e:
    installed = e.sqlstate
try:
    planter.execute("COMMIT")
except psycopg.Error:
    pass
print(planted, installed)
PY
}
# What a superuser runs next, as docs/keys.md shows it (the literal is untyped).
superuser_adds_key() {
  [[ $(as_super "$1" "SELECT count(*) FROM pg_extension WHERE extname = 'rowguard'") == 1 ]] || return 0
  as_super "$1" "SELECT rowguard.add_key('$JWK')" >/dev/null 2>&1 || true
}
foreign_in_schema() { # functions in schema rowguard that are not rowguard's
  as_super "$1" "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'rowguard'::regnamespace
                   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                     AND d.objid = p.oid AND d.deptype = 'e')"
}
fresh_db() { as_super postgres "DROP DATABASE IF EXISTS $1" >/dev/null; as_super postgres "CREATE DATABASE $1 OWNER $OWNER" >/dev/null; }

fresh_db rg_ho_seed
as_owner rg_ho_seed "CREATE SCHEMA rowguard" >/dev/null
check "the owner's schema rowguard made before the install: the install is refused while a session plants" \
  "ok 42P15" "$(race rg_ho_seed "$OWNER" "CREATE EXTENSION rowguard")"
superuser_adds_key rg_ho_seed
check "no foreign function in an installed schema rowguard" "0" \
  "$( [[ $(as_super rg_ho_seed "SELECT count(*) FROM pg_extension WHERE extname = 'rowguard'") == 1 ]] && foreign_in_schema rg_ho_seed || echo 0)"
check "the owner is not a superuser after a seeded install" "f" "$(is_superuser)"
check "the same install is refused without a planting session" "42P15" \
  "$(state_of "$OWNER" rg_ho_seed "CREATE EXTENSION rowguard")"
check "a superuser's install into the owner's schema is refused too" "42P15" \
  "$(state_of postgres rg_ho_seed "CREATE EXTENSION rowguard")"
check "so is the frozen 0.1.0 script alone (the module's utility hook)" "42P15" \
  "$(state_of postgres rg_ho_seed "CREATE EXTENSION rowguard VERSION '0.1.0'")"
check "a schema made in the install's transaction is used (pg_restore --single-transaction)" "ok" \
  "$(state_of "$OWNER" rg_ho_seed "BEGIN; DROP SCHEMA rowguard CASCADE; CREATE SCHEMA rowguard; CREATE EXTENSION rowguard; COMMIT")"

fresh_db rg_ho_seed
as_super rg_ho_seed "CREATE SCHEMA rowguard" >/dev/null
check "a superuser's schema rowguard: the planting session is refused, the install succeeds" \
  "42501 ok" "$(race rg_ho_seed "$OWNER" "CREATE EXTENSION rowguard")"
check "no foreign function in schema rowguard" "0" "$(foreign_in_schema rg_ho_seed)"

fresh_db rg_ho_seed
as_super rg_ho_seed "CREATE SCHEMA rowguard; GRANT CREATE ON SCHEMA rowguard TO PUBLIC" >/dev/null
check "a superuser's schema rowguard with CREATE granted to PUBLIC is refused" "42P15" \
  "$(state_of "$OWNER" rg_ho_seed "CREATE EXTENSION rowguard")"

# --- 4. updates --------------------------------------------------------------------------
fresh_db rg_ho_seed
check "the owner installs 0.2.0" "ok" "$(state_of "$OWNER" rg_ho_seed "CREATE EXTENSION rowguard VERSION '0.2.0'")"
check "the owner's update from 0.2.0: the planting session is refused, the update succeeds" \
  "42501 ok" "$(race rg_ho_seed "$OWNER" "ALTER EXTENSION rowguard UPDATE")"
check "updated" "0.3.0" "$(as_owner rg_ho_seed "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'")"
check "no foreign function in schema rowguard after the update" "0" "$(foreign_in_schema rg_ho_seed)"

# An installation of 0.1.0 (not trusted: a superuser installed it) whose schema the owner
# owns, as an install into the owner's pre-made schema left it.
fresh_db rg_ho_seed
as_super rg_ho_seed "CREATE EXTENSION rowguard VERSION '0.1.0'" >/dev/null
as_super rg_ho_seed "ALTER SCHEMA rowguard OWNER TO $OWNER" >/dev/null
check "an update while the owner's session plants into the schema it owns is refused" \
  "ok 42P15" "$(race rg_ho_seed postgres "ALTER EXTENSION rowguard UPDATE")"
check "the installation stays at 0.1.0" "0.1.0" \
  "$(as_super rg_ho_seed "SELECT extversion FROM pg_extension WHERE extname = 'rowguard'")"
as_super rg_ho_seed "DROP FUNCTION rowguard.add_key(text); ALTER SCHEMA rowguard OWNER TO postgres" >/dev/null
check "once a superuser owns the schema, the update succeeds" "ok" \
  "$(state_of postgres rg_ho_seed "ALTER EXTENSION rowguard UPDATE")"
check "the owner is not a superuser at the end" "f" "$(is_superuser)"

echo "harden_owner: $passed passed, $failed failed"
((failed == 0))
