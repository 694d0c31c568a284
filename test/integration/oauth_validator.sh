#!/usr/bin/env bash
# The OAuth validator (rowguard_oauth.so, docs/oauth.md) without an identity provider: a
# tiny libpq client hands a token that the test signs with rowguard.sign through
# PQsetAuthDataHook (PQAUTHDATA_OAUTH_BEARER_TOKEN), the way an application holding an
# access token connects. Checks sign-in and tenant isolation, every refusal at sign-in
# (issuer, audience, scope, expiry, role claim, unknown kid, size, malformed) with its
# reason in the server log and never the token, the checks once the database is open
# (oauth_logins, hazardous roles, revocation), the identity fixed for the session, expiry
# and revocation mid-session, the pg_ident mapping, the key snapshot built by the
# sign-in worker after a restart, and stats(). (The device flow with psql against an
# HTTPS issuer is test/integration/oauth.sh.)
#
# PostgreSQL 18 and later. On older majors it checks only that rowguard_oauth.so was not
# built and installed there, and says so.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh and test-matrix.sh export both); a C
# compiler and libpq's headers (libpq-dev) for the client.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

PGCONFIG="$PGBIN/pg_config"
MAJOR=$("$PGCONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
LIBDIR=$("$PGCONFIG" --pkglibdir)
if ((MAJOR < 18)); then
  if [[ -e "$LIBDIR/rowguard_oauth.so" || -e rowguard_oauth.so ]]; then
    echo "FAIL: rowguard_oauth.so exists for PostgreSQL $MAJOR (built only for 18 and later)"
    exit 1
  fi
  echo "oauth_validator: PostgreSQL $MAJOR has no OAuth validators; checked that rowguard_oauth.so is not built here"
  exit 0
fi

PORT=""
WORK=""
cleanup() {
  local rc=$?
  finish_own_cluster "$rc"
  [[ -n "$WORK" ]] && rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT

ISS=https://idp.test/realms/acme
PORT=$(pick_port "${ROWGUARD_OAUTH_VALIDATOR_PORT:-54640}")
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" \
  "oauth_validator_libraries = 'rowguard_oauth'" "rowguard.failure_delay = 0" \
  "rowguard.log_identity = on" \
  "log_connections = on"
DATA=$(cluster_data "$PORT")
LOG=$(cluster_log "$PORT")
# PostgreSQL 19: the validator's own pg_hba option names the identity claim of a line.
IDENT_OPTION="" IDENT_USER=alice
if ((MAJOR >= 19)); then IDENT_OPTION=" validator.authn_claim=email" IDENT_USER=alice.mail; fi
cat > "$DATA/pg_hba.conf" <<EOF
local all all trust
host oa_ident all 127.0.0.1/32 oauth issuer="$ISS" scope="openid rowguard" map=oauth$IDENT_OPTION
host oa all 127.0.0.1/32 oauth issuer="$ISS" scope="openid rowguard" delegate_ident_mapping=1
host replication all 127.0.0.1/32 oauth issuer="$ISS" scope="openid rowguard" delegate_ident_mapping=1
EOF
cat > "$DATA/pg_ident.conf" <<EOF
oauth "/^(.*)@https://idp\\.test/realms/acme\$" oa_reader
EOF
as_postgres "$PGBIN/pg_ctl" -D "$DATA" reload >/dev/null
sleep 1

# The client: argv[1] conninfo, then statements; the token from $TOKEN.
WORK=$(mktemp -d /tmp/rowguard-oauth-validator.XXXXXX)
chmod 755 "$WORK"
cat > "$WORK/hook.c" <<'EOF'
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void cleanup(PGconn *c, PGoauthBearerRequest *r) { (void)c; free(r->token); r->token = NULL; }
static int hook(PGauthData type, PGconn *conn, void *data) {
  if (type != PQAUTHDATA_OAUTH_BEARER_TOKEN) return PQdefaultAuthDataHook(type, conn, data);
  PGoauthBearerRequest *r = data;
  const char *t = getenv("TOKEN");
  if (t == NULL) return -1;
  r->token = strdup(t);
  r->cleanup = cleanup;
  return 1;
}
int main(int argc, char **argv) {
  PQsetAuthDataHook(hook);
  PGconn *c = PQconnectdb(argv[1]);
  if (PQstatus(c) != CONNECTION_OK) {
    const char *m = PQerrorMessage(c), *last = strstr(m, "FATAL:");
    printf("CONNECT FAILED: %s", last ? last : m);
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    PGresult *r = PQexec(c, argv[i]);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      for (int row = 0; row < PQntuples(r); row++)
        for (int col = 0; col < PQnfields(r); col++)
          printf("%s%s", PQgetvalue(r, row, col), col + 1 < PQnfields(r) ? "|" : "\n");
    } else if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      printf("%s\n", PQcmdStatus(r));
    } else {
      printf("ERROR %s %s", PQresultErrorField(r, PG_DIAG_SQLSTATE), PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
      const char *h = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
      printf("%s%s\n", h ? " HINT " : "", h ? h : "");
    }
    PQclear(r);
  }
  PQfinish(c);
  return 0;
}
EOF
INCLUDEDIR=$("$PGCONFIG" --includedir)
LIBPQDIR=$("$PGCONFIG" --libdir)
cc -O1 -o "$WORK/hook" "$WORK/hook.c" -I"$INCLUDEDIR" -L"$LIBPQDIR" -lpq

for db in oa oa_ident; do
  psql_as postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
  psql_as postgres -d "$db" >/dev/null <<SQL
CREATE EXTENSION rowguard;
SELECT rowguard.set_issuer('$ISS', audience => ARRAY['db'], leeway => '1 second', max_lifetime => '1 hour');
SELECT rowguard.add_key('{"kty":"OKP","crv":"Ed25519","kid":"oa-key","alg":"EdDSA","x":"xg55ykGXVU5hplaME4TaFg2k5f2nJAmwCpipCS52kdA","d":"PdePiIFKkzWMwpkF7mvu0Yoe2_5U2ejGU59Cg4vNMdA"}', '$ISS');
CREATE TABLE notes (id int, tenant text);
INSERT INTO notes VALUES (1, 't1'), (2, 't1'), (3, 't2');
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_tenant ON notes USING (tenant = rowguard.claim('tenant_id'));
SQL
done
psql_as postgres -d postgres >/dev/null <<'SQL'
CREATE ROLE oa_analyst LOGIN;
CREATE ROLE oa_other LOGIN;
CREATE ROLE oa_reader LOGIN;
CREATE ROLE oa_super LOGIN SUPERUSER;
SQL
for db in oa oa_ident; do
  psql_as postgres -d "$db" -c "GRANT SELECT ON notes TO oa_analyst, oa_other, oa_reader" >/dev/null
done
psql_as postgres -d oa >/dev/null <<SQL
-- A session waits in WAIT_FOR_GO until the test inserts a row for it (no timing race).
CREATE TABLE go (name text);
GRANT SELECT ON go TO PUBLIC;
SELECT rowguard.allow_oauth_login('$ISS', 'oa_analyst');
-- allow_oauth_login refuses a superuser; a row put in by hand is still refused at sign-in
INSERT INTO rowguard.oauth_logins (issuer, role) VALUES ('$ISS', 'oa_super');
SQL

failures=0
check() {  # check NAME EXPECTED ACTUAL (ACTUAL must contain EXPECTED)
  if [[ "$3" == *"$2"* ]]; then
    echo "  ok   $1"
  else
    echo "  FAIL $1: expected [$2] in [$3]"
    failures=$((failures + 1))
  fi
}
mint() {  # mint DB 'jsonb overrides' [exp offset]
  psql_as postgres -d "$1" -Atc "SELECT rowguard.sign(jsonb_build_object('iss', '$ISS',
    'sub', 'alice', 'aud', 'db', 'tenant_id', 't1', 'scope', 'openid rowguard',
    'role', 'oa_analyst', 'iat', extract(epoch FROM now())::bigint - 2,
    'exp', extract(epoch FROM now())::bigint + ${3:-600}) || '${2:-{\}}'::jsonb, 'oa-key')"
}
conn() {  # conn DB USER
  echo "host=127.0.0.1 port=$PORT dbname=$1 user=$2 oauth_issuer=$ISS oauth_client_id=rowguard-test"
}
client() {  # client TOKEN CONNINFO SQL...
  local token=$1; shift
  TOKEN="$token" "$WORK/hook" "$@" 2>&1 || true
}
# A statement for a client that waits until the test says go NAME (deadline 120 s).
wait_for_go() {
  echo "DO \$\$ BEGIN FOR i IN 1..1200 LOOP EXIT WHEN EXISTS (SELECT FROM public.go WHERE name = '$1'); PERFORM pg_sleep(0.1); END LOOP; END \$\$"
}
go() { psql_as postgres -d oa -c "INSERT INTO go VALUES ('$1')" >/dev/null; }
# Waits (up to 60 s) until a session with this application_name is in rowguard.sessions.
await_session() {
  local i
  for i in $(seq 1 600); do
    [[ -n "$(psql_as postgres -d oa -Atc "SELECT 1 FROM rowguard.sessions WHERE application_name = '$1'")" ]] && return 0
    sleep 0.1
  done
  return 1
}
last_refusal() { grep 'rowguard: OAuth sign-in refused' "$LOG" | tail -n 1; }
OA=$(conn oa oa_analyst)

echo "sign-in and isolation"
GOOD=$(mint oa)
check "signed in with the token as identity" "oa_analyst|alice|2|oauth:alice@$ISS" \
  "$(client "$GOOD" "$OA" "SELECT current_user, rowguard.sub(), (SELECT count(*) FROM notes), system_user")"
T2=$(mint oa '{"sub":"bob","tenant_id":"t2"}')
check "another tenant sees its rows" "bob|1" \
  "$(client "$T2" "$OA" "SELECT rowguard.sub(), (SELECT count(*) FROM notes)")"

echo "the session behaves as after authenticate(token, false)"
check "parallel workers see the identity" "2|alice" \
  "$(client "$GOOD" "$OA" "SET debug_parallel_query = on" "SELECT count(*), max(rowguard.sub()) FROM notes" | tail -n 1)"
client "$GOOD" "$OA application_name=oa-probe" "$(wait_for_go probe)" "SELECT 1/0" >/dev/null &
await_session oa-probe || true
check "a row in rowguard.sessions" "alice|$ISS|oa-probe" \
  "$(psql_as postgres -d oa -Atc "SELECT s.sub, s.iss, s.application_name FROM rowguard.sessions s WHERE s.application_name = 'oa-probe'")"
go probe
wait
check "log_identity names the identity" 'rowguard identity: sub="alice"' \
  "$(grep -A2 "division by zero" "$LOG" || true)"
check "session_status says session scope" '"scope": "session"' \
  "$(client "$GOOD" "$OA" "SELECT rowguard.session_status()")"

echo "refused at sign-in, with the reason in the log"
refused() {  # refused NAME TOKEN LOG-REASON [CONNINFO]
  local out
  out=$(client "$2" "${4:-$OA}" "SELECT 1")
  check "$1: refused" 'OAuth bearer authentication failed' "$out"
  check "$1: logged" "$3" "$(last_refusal)"
}
refused "other issuer" "$(mint oa '{"iss":"https://evil.test"}')" 'accepts only issuer'
refused "audience" "$(mint oa '{"aud":"other"}')" 'audience "other" is not accepted'
refused "scope" "$(mint oa '{"scope":"openid profile"}')" 'scope "rowguard" is missing'
refused "expired" "$(mint oa '{}' -100)" 'token expired'
refused "role claim names another role" "$(mint oa '{"role":"oa_other"}')" \
  'does not name the requested role "oa_analyst"'
refused "no role claim" "$(mint oa '{"role":null}')" 'no string claim "role"'
H=$(printf '{"alg":"EdDSA","kid":"unknown-kid"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
refused "unknown kid (no fetch)" "$H.${GOOD#*.}" 'unknown key id "unknown-kid"'
BIG=$(head -c 20000 /dev/zero | tr '\0' 'a')
refused "oversized" "$BIG.$BIG.$BIG" 'larger than rowguard.max_token_bytes'
refused "malformed" "not-a-jwt" 'not a well-formed compact JWS'
if ((MAJOR >= 19)); then
  check "PostgreSQL 19: the reason is the DETAIL of the failure" 'DETAIL:  token expired at' "$(cat "$LOG")"
fi
refused "replication connection" "$GOOD" 'not accepted for replication connections' "$OA replication=true"
check "the token never reaches the log" "0" "$(grep -c "${GOOD##*.}" "$LOG" || true)"
STATS=$(psql_as postgres -d oa -Atc "SELECT string_agg(outcome || '=' || count, ' ' ORDER BY outcome) FROM rowguard.stats() WHERE outcome IN ('audience', 'expired', 'malformed', 'unknown_key')")
check "refusals counted in stats() by class" "audience=1 expired=1 malformed=2 unknown_key=1" "$STATS"

echo "refused once the database is open"
check "role not allowed for the issuer" 'may not sign in with tokens of issuer' \
  "$(client "$(mint oa '{"role":"oa_other"}')" "$(conn oa oa_other)" "SELECT 1")"
check "superuser refused even when listed" 'cannot sign in with OAuth tokens' \
  "$(client "$(mint oa '{"role":"oa_super"}')" "$(conn oa oa_super)" "SELECT 1")"
REV=$(mint oa '{"sub":"mallory","jti":"oa-j1"}')
psql_as postgres -d oa -c "SELECT rowguard.revoke_token('oa-j1', '$ISS')" >/dev/null
check "revoked token" 'FATAL:  invalid token' "$(client "$REV" "$OA" "SELECT 1")"

echo "the identity is fixed for the session"
OUT=$(client "$GOOD" "$OA" "SET rowguard.token = '$T2'" \
  "SELECT rowguard.authenticate('$T2', false)" "SELECT set_config('rowguard.token', '', false)" \
  "RESET rowguard.token" "DISCARD ALL" "RESET ALL" "SELECT rowguard.sub(), (SELECT count(*) FROM notes)")
check "SET another token refused" "ERROR 28000 the identity of a session that signed in with OAuth cannot be changed" "$OUT"
check "still alice after RESET/DISCARD ALL" "alice|2" "$(tail -n 1 <<<"$OUT")"
check "three refusals" "3" "$(grep -c 'cannot be changed' <<<"$OUT")"
check "another token in the startup packet" 'FATAL:  the identity of a session that signed in with OAuth cannot be changed' \
  "$(client "$GOOD" "$OA options='-c rowguard.token=$T2'" "SELECT 1")"

echo "expiry and revocation mid-session"
SHORT=$(mint oa '{}' 5)
OUT=$(client "$SHORT" "$OA" "SELECT count(*) FROM notes" "SELECT pg_sleep(8)" "SELECT 1")
check "works before expiry" "2" "$(head -n 1 <<<"$OUT")"
check "every statement fails after expiry, with a hint to reconnect" \
  "ERROR 28000 invalid token HINT This session signed in with an OAuth token" "$(tail -n 1 <<<"$OUT")"
EVE=$(mint oa '{"sub":"eve"}')
client "$EVE" "$OA application_name=oa-eve" "SELECT count(*) FROM notes" "$(wait_for_go eve)" \
  "SELECT count(*) FROM notes" > "$WORK/eve" &
await_session oa-eve || true
psql_as postgres -d oa -c "SELECT rowguard.revoke_subject('eve', now(), '$ISS')" >/dev/null
go eve
wait
check "worked before the revocation" "2" "$(head -n 1 "$WORK/eve")"
check "revoked mid-session" "ERROR 28000 invalid token" "$(tail -n 1 "$WORK/eve")"

echo "pg_ident mapping"
ID=$(mint oa_ident '{"role":null,"email":"alice.mail"}')
check "mapped to oa_reader" "oa_reader|oauth:$IDENT_USER@$ISS|2" \
  "$(client "$ID" "$(conn oa_ident oa_reader)" "SELECT current_user, system_user, (SELECT count(*) FROM notes)")"
check "not mapped to oa_analyst" 'OAuth bearer authentication failed' \
  "$(client "$ID" "$(conn oa_ident oa_analyst)" "SELECT 1")"

echo "the first sign-in after a restart builds the key snapshot"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -w restart -l "$LOG" -o "-c log_min_messages=debug1" >/dev/null
check "signed in" "alice|2" "$(client "$GOOD" "$OA" "SELECT rowguard.sub(), (SELECT count(*) FROM notes)")"
check "the worker published it" 'rowguard: key snapshot of database "oa" for sign-in: current' "$(cat "$LOG")"

echo "no token in the server log (also the statements that tried to set one)"
for t in "$GOOD" "$T2" "$SHORT" "$REV"; do
  check "not in the log: a token's signature" "0" "$(grep -c -- "${t##*.}" "$LOG" || true)"
done

echo "without rowguard preloaded every sign-in is refused"
as_postgres "$PGBIN/pg_ctl" -D "$DATA" -w restart -l "$LOG" -o "-c shared_preload_libraries=''" >/dev/null
client "$GOOD" "$OA" "SELECT 1" >/dev/null
check "refused with the reason" 'rowguard is not in shared_preload_libraries' "$(last_refusal)"

if ((failures)); then
  echo "oauth_validator: $failures check(s) failed"
  exit 1
fi
echo "oauth_validator: ok"
