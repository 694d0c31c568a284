#!/usr/bin/env bash
# Signing in to PostgreSQL with an OAuth token, with the real clients (issue 27, item 4):
# psql's device authorization flow (libpq-oauth) and a libpq program that hands over a
# token it already holds (test/oauth/bearer_hook.c, PQsetAuthDataHook), against a local
# HTTPS identity provider that answers like Keycloak (test/integration/oauth_issuer.py,
# CA and server certificate made here by openssl) and rowguard's validator library
# rowguard_oauth (docs/oauth.md).
#
#   - sign-in through the device flow; SELECT count(*) from a table under rowguard's
#     tenant policy returns exactly the signed-in tenant's rows, the same as the pooled
#     path (authenticate) with the same token; the session's identity (sub, SYSTEM_USER,
#     role, session_status); pg_ident mapping and delegated role mapping
#   - the device flow's own failures: the user declines, the device code expires, slow_down,
#     an issuer whose certificate the client does not trust
#   - refusals at sign-in with the reason in the server log: wrong issuer, unknown key,
#     audience, scope, expired, revoked (token and subject), bad signature, oversized,
#     a role the token does not name, a role not allowed, a superuser
#   - expiry in the middle of a session (28000, a hint to reconnect)
#   - key rotation at the issuer (new key accepted once the refresher has it; a removed
#     key ends the sessions signed with it and refuses its tokens)
#   - a hostile client presenting another token (or resetting the identity) after sign-in
#
# Runs on PostgreSQL 18 and later (scripts/test-matrix.sh runs it in the pg18 and pg19
# roots); on older versions it says so and exits 0. Needs libpq-oauth, libpq-dev, a C
# compiler, python3 with jwt and cryptography (scripts/pg-roots.sh installs them).
# Own cluster; prints PASS/FAIL per check and exits non-zero on any failure.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh and test-matrix.sh export both),
# ROWGUARD_PORT_MIN.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

major=$("$PGBIN/postgres" -V | sed -E 's/^[^0-9]*([0-9]+).*/\1/')   # "postgres (PostgreSQL) 19rc1"
if ((major < 18)); then
  echo "oauth: signing in with OAuth needs PostgreSQL 18 or later (this is $major): nothing to test"
  exit 0
fi

PY=/usr/bin/python3
ISSUER_PY="$ROOT/test/integration/oauth_issuer.py"
PORT="" HPORT="" SERVER_PID="" STATE=""
failures=0 checks=0
cleanup() {
  local rc=$?
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null
  ((failures == 0)) || rc=1
  finish_own_cluster "$rc"
  [[ -n "$HPORT" ]] && rm -rf "$(cluster_dir "$HPORT")"
  [[ -n "$STATE" ]] && rm -rf "$STATE"
  return $rc
}
trap cleanup EXIT

pass() { checks=$((checks + 1)); echo "PASS $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $1"; }
check() {  # check NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}
check_match() {  # check_match NAME REGEX ACTUAL
  if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1: [$3] does not match [$2]"; fi
}
check_contains() {  # check_contains NAME FIXED-STRING ACTUAL
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: [$3] does not contain [$2]"; fi
}

# --- prerequisites: a missing one is a failure, never a skip --------------------------------
LIBDIR=$("$PGBIN/pg_config" --pkglibdir)
if [[ ! -f "$LIBDIR/rowguard_oauth.so" ]]; then
  fail "rowguard_oauth.so is installed in $LIBDIR (the validator library, PostgreSQL 18+)"
  exit 1
fi
if ! ls /usr/lib/*/libpq-oauth*.so >/dev/null 2>&1; then
  fail "libpq-oauth is installed (libpq's device flow; Debian package libpq-oauth)"
  exit 1
fi

STATE=$(mktemp -d /tmp/rowguard-oauth-XXXXXX)
chmod 0755 "$STATE"

# --- the identity provider: CA, certificate, realms, clients, users --------------------------
# (the extensions a strict X.509 verifier asks for, e.g. Python 3.13+'s default context)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=rowguard oauth test CA" -keyout "$STATE/ca.key" -out "$STATE/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$STATE/server.key" -out "$STATE/server.csr" 2>/dev/null
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
  "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" > "$STATE/san.ext"
openssl x509 -req -in "$STATE/server.csr" -CA "$STATE/ca.pem" -CAkey "$STATE/ca.key" \
  -CAcreateserial -days 2 -extfile "$STATE/san.ext" -out "$STATE/server.pem" 2>/dev/null
chmod 0644 "$STATE"/*.pem
# The trust store a client of this machine would have once the operator trusts the CA.
cat /etc/ssl/certs/ca-certificates.crt "$STATE/ca.pem" > "$STATE/bundle.pem" 2>/dev/null ||
  cp "$STATE/ca.pem" "$STATE/bundle.pem"

PORT=$(pick_port "${ROWGUARD_OAUTH_PORT:-54680}")
HPORT=$(pick_port $((PORT + 1)))
BASE="https://127.0.0.1:$HPORT"
ISS="$BASE/realms/rowguard"
OTHER="$BASE/realms/other"
iss() { "$PY" "$ISSUER_PY" "$1" "$STATE" "${@:2}"; }
iss init "$BASE"
KID1=$(iss realm rowguard)
iss realm other >/dev/null
iss realm stranger >/dev/null
for realm in rowguard other stranger; do
  iss client "$realm" psql '{"public": true, "device": true, "audience": ["rowguard-db"],
    "default_scopes": ["profile", "email"], "optional_scopes": ["rowguard"]}'
  iss client "$realm" reporting-app '{"secret": "s3cret", "audience": ["rowguard-db"],
    "default_scopes": ["profile", "email"], "optional_scopes": ["rowguard"],
    "service_account": {"db_role": "analyst", "tenant_id": "00000000-0000-0000-0000-00000000000a"}}'
done
TENANT_A=0b6f5c8e-1a2b-4c3d-8e9f-00000000000a
TENANT_B=0b6f5c8e-1a2b-4c3d-8e9f-00000000000b
TENANT_C=0b6f5c8e-1a2b-4c3d-8e9f-00000000000c
ALICE=5d1c1f0e-8a43-4b0e-9a4c-a11ce0000001
BOB=5d1c1f0e-8a43-4b0e-9a4c-b0b000000002
CAROL=5d1c1f0e-8a43-4b0e-9a4c-ca4010000003
iss user rowguard alice "{\"sub\": \"$ALICE\", \"tenant_id\": \"$TENANT_A\", \"db_role\": \"analyst\", \"email\": \"alice@example.com\"}"
iss user rowguard bob "{\"sub\": \"$BOB\", \"tenant_id\": \"$TENANT_B\", \"db_role\": \"analyst\", \"email\": \"bob@example.com\"}"
iss user rowguard carol "{\"sub\": \"$CAROL\", \"tenant_id\": \"$TENANT_A\", \"db_role\": \"analyst\"}"
iss user rowguard mallory '{"sub": "5d1c1f0e-8a43-4b0e-9a4c-0000000000ff", "tenant_id": "'$TENANT_C'", "db_role": "intruder"}'
iss user other alice "{\"sub\": \"$ALICE\", \"tenant_id\": \"$TENANT_B\", \"db_role\": \"analyst\"}"
iss user stranger alice "{\"sub\": \"$ALICE\", \"tenant_id\": \"$TENANT_B\", \"db_role\": \"analyst\"}"
"$PY" "$ISSUER_PY" serve "$STATE" "$HPORT" "$STATE/server.pem" "$STATE/server.key" \
  >"$STATE/issuer.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$HPORT") 2>/dev/null && break; sleep 0.2
done
mint() {  # mint REALM USER [OVERRIDES]: the access token an approval would give
  local overrides=${3:-}
  iss mint "$1" "$2" "${overrides:-{\}}"
}

# --- the cluster -----------------------------------------------------------------------------
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" \
  "oauth_validator_libraries = 'rowguard_oauth'" \
  "rowguard.oauth_role_claim = 'db_role'" \
  "rowguard.refresh_databases = 'app'" \
  "rowguard.http_ca_file = '$STATE/ca.pem'" "rowguard.http_timeout = 3000"
DATA=$(cluster_data "$PORT")
LOG=$(cluster_log "$PORT")
# OAuth for TCP connections to database app (reporter through pg_ident, everyone else
# through rowguard's role mapping); the unix socket stays trust for the administrator.
{
  printf 'host app reporter 127.0.0.1/32 oauth issuer="%s" scope="openid rowguard" map=oauth\n' "$ISS"
  printf 'host app all 127.0.0.1/32 oauth issuer="%s" scope="openid rowguard" delegate_ident_mapping=1\n' "$ISS"
  cat "$DATA/pg_hba.conf"
} > "$STATE/pg_hba.conf"
printf 'oauth "%s@%s" reporter\n' "$ALICE" "$ISS" >> "$DATA/pg_ident.conf"
cp "$STATE/pg_hba.conf" "$DATA/pg_hba.conf"
chown postgres: "$DATA/pg_hba.conf" "$DATA/pg_ident.conf"
admin() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "${DB:-app}" "$@"; }
admin -d postgres -c "SELECT pg_reload_conf()" >/dev/null
admin -d postgres -c "CREATE DATABASE app"

admin <<SQL >/dev/null
CREATE EXTENSION rowguard;
SELECT rowguard.discover_issuer('$ISS');
SELECT * FROM rowguard.refresh_keys('$ISS');
SELECT rowguard.set_issuer('$ISS', audience => ARRAY['rowguard-db'], leeway => '5 seconds',
                           max_lifetime => '1 hour');
-- A second realm this database also trusts (for its API, say): its tokens verify, but the
-- pg_hba line names the first realm.
SELECT rowguard.discover_issuer('$OTHER');
SELECT * FROM rowguard.refresh_keys('$OTHER');
SELECT rowguard.set_issuer('$OTHER', audience => ARRAY['rowguard-db']);
CREATE ROLE analyst LOGIN;
CREATE ROLE reporter LOGIN;
CREATE ROLE intruder LOGIN;
SELECT rowguard.allow_oauth_login('$ISS', 'analyst');
CREATE TABLE docs (id serial PRIMARY KEY, tenant_id uuid NOT NULL, body text);
CREATE INDEX ON docs (tenant_id);
INSERT INTO docs (tenant_id, body)
  SELECT '$TENANT_A'::uuid, 'a' || g FROM generate_series(1, 3) g UNION ALL
  SELECT '$TENANT_B'::uuid, 'b' || g FROM generate_series(1, 5) g UNION ALL
  SELECT '$TENANT_C'::uuid, 'c' || g FROM generate_series(1, 2) g;
SELECT rowguard.tenant_policy('docs');
GRANT SELECT ON docs TO analyst, reporter, intruder;
SQL
check "the tenant table holds 10 rows of 3 tenants" "10" "$(admin -c "SELECT count(*) FROM docs")"
check "the realm's keys are in the database" "1" \
  "$(admin -c "SELECT count(*) FROM rowguard.keys WHERE issuer = '$ISS'")"

CONN="host=127.0.0.1 port=$PORT dbname=app oauth_issuer=$ISS"

# --- psql with the device flow -----------------------------------------------------------------
# The client trusts the test CA the way a user's machine trusts its identity provider: in
# the system trust store, here bound over it in a private mount namespace of psql alone
# (nothing on the machine changes). Without unshare, libpq's documented test switch
# (PGOAUTHDEBUG=UNSAFE with PGOAUTHCAFILE) is the fallback.
if unshare -m --propagation private sh -c \
     "mount --bind '$STATE/bundle.pem' /etc/ssl/certs/ca-certificates.crt" 2>/dev/null; then
  trusted() {
    unshare -m --propagation private sh -c \
      'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' "$STATE/bundle.pem" "$@"
  }
  echo "     (psql trusts the test CA through its system trust store, in a private mount namespace)"
else
  trusted() { PGOAUTHDEBUG=UNSAFE PGOAUTHCAFILE="$STATE/ca.pem" "$@"; }
  echo "     (no private mount namespace here: psql trusts the test CA through PGOAUTHDEBUG=UNSAFE + PGOAUTHCAFILE)"
fi

# device_psql NAME USER ACTION [OVERRIDES] [psql args...]: run psql against database app as
# USER, wait for its device prompt, then act as the person at the browser: ACTION is
# "approve:LOGIN" (sign in as LOGIN at the identity provider), "deny:LOGIN" or "none".
# Leaves psql's stdout in $STATE/NAME.out, stderr in $STATE/NAME.err, exit status in
# $STATE/NAME.rc and the user code in $STATE/NAME.code.
device_psql() {
  local name=$1 user=$2 action=$3 overrides=${4:-'{}'}
  shift 4
  local out="$STATE/$name.out" err="$STATE/$name.err" code="" pid rc
  : > "$err"
  trusted timeout --kill-after=10 120 "$PGBIN/psql" -X -At -v VERBOSITY=verbose \
    "$CONN user=$user oauth_client_id=psql" "$@" > "$out" 2> "$err" &
  pid=$!
  for _ in $(seq 1 300); do
    code=$(sed -n 's/^Visit .* and enter the code: \([A-Z-]*\)$/\1/p' "$err" | head -1)
    [[ -n "$code" ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$code" > "$STATE/$name.code"
  if [[ -n "$code" ]]; then
    case $action in
      approve:*) iss approve "$code" "${action#approve:}" "$overrides" ;;
      deny:*) iss deny "$code" "${action#deny:}" ;;
    esac
  fi
  rc=0; wait "$pid" || rc=$?
  echo "$rc" > "$STATE/$name.rc"
}

t0=$SECONDS
device_psql alice analyst approve:alice '{}' \
  -c "SELECT count(*) FROM docs" \
  -c "SELECT rowguard.sub(), system_user, current_user, rowguard.session_status() ->> 'scope'"
signin_s=$((SECONDS - t0))
check_match "psql prints the device prompt (verification URL and user code) on stderr" \
  "^Visit $ISS/device and enter the code: [A-Z]{4}-[A-Z]{4}\$" "$(grep '^Visit' "$STATE/alice.err" || true)"
check "alice signs in through the device flow (psql exits 0)" "0" "$(cat "$STATE/alice.rc")"
check "alice's psql: count(*) is exactly tenant A's rows" "3" "$(sed -n 1p "$STATE/alice.out")"
check "alice's session: sub, SYSTEM_USER, role, session-long identity" \
  "$ALICE|oauth:$ALICE@$ISS|analyst|session" "$(sed -n 2p "$STATE/alice.out")"
echo "     FIGURE: device-flow sign-in and two statements with psql: ${signin_s} s (poll interval 1 s)"
[[ "$(cat "$STATE/alice.rc")" == 0 ]] || { echo "--- psql stderr ---"; cat "$STATE/alice.err"; }

device_psql bob analyst approve:bob '{}' -c "SELECT count(*) FROM docs"
check "bob signs in and sees exactly tenant B's rows" "0|5" "$(cat "$STATE/bob.rc")|$(cat "$STATE/bob.out")"
# Users often paste the discovery URL: libpq takes it as oauth_issuer (the issuer is what
# precedes /.well-known/). libpq 19 then starts the device flow without asking the server
# first, so it does not learn the pg_hba line's scope: the client names it (oauth_scope).
before=$(stat -c %s "$LOG")
CONN="host=127.0.0.1 port=$PORT dbname=app oauth_issuer=$ISS/.well-known/openid-configuration oauth_scope='openid rowguard'"
device_psql wellknown analyst approve:bob '{}' -c "SELECT count(*) FROM docs"
CONN="host=127.0.0.1 port=$PORT dbname=app oauth_issuer=$ISS"
check "psql given the discovery URL as oauth_issuer (and oauth_scope) signs in too" "0|5" \
  "$(cat "$STATE/wellknown.rc")|$(cat "$STATE/wellknown.out")"
if [[ "$(cat "$STATE/wellknown.rc")" != 0 ]]; then
  sed 's/^/     psql: /' "$STATE/wellknown.err"
  tail -c +"$((before + 1))" "$LOG" | grep 'sign-in refused' | sed 's/^/     server: /'
fi

# The pooled API path with the same kind of token: the same policy, the same rows.
TA=$(mint rowguard alice)
check "the pooled path (authenticate) with alice's token sees the same rows" "3" \
  "$(admin -c "BEGIN" -c "SET LOCAL ROLE analyst" -c "SELECT rowguard.authenticate('$TA') IS NOT NULL" \
     -c "SELECT count(*) FROM docs" -c "COMMIT" | sed -n 2p)"

device_psql reporter reporter approve:alice '{}' -c "SELECT current_user, count(*) FROM docs"
check "pg_ident mapping: alice's token logs in as reporter (map=oauth) and sees tenant A" \
  "0|reporter|3" "$(cat "$STATE/reporter.rc")|$(cat "$STATE/reporter.out")"
device_psql reporter_bob reporter approve:bob '{}' -c "SELECT 1"
check "pg_ident mapping: bob's identity is not mapped to reporter (refused)" "2" "$(cat "$STATE/reporter_bob.rc")"
check_contains "... with PostgreSQL's authentication failure" \
  'OAuth bearer authentication failed for user "reporter"' "$(cat "$STATE/reporter_bob.err")"

# --- the device flow's own failures ------------------------------------------------------
device_psql denied analyst deny:alice '{}' -c "SELECT 1"
check "the user declines at the identity provider: psql fails" "2" "$(cat "$STATE/denied.rc")"
check_contains "... saying so (access_denied)" "access_denied" "$(cat "$STATE/denied.err")"

iss set device_expires_in 2
device_psql expired_code analyst none '{}' -c "SELECT 1"
iss set device_expires_in 600
check "nobody approves before the device code expires: psql fails" "2" "$(cat "$STATE/expired_code.rc")"
check_contains "... with the provider's expired_token" "expired_token" "$(cat "$STATE/expired_code.err")"

t0=$SECONDS
device_psql slow analyst approve:bob '{"_slow_down": 1}' -c "SELECT count(*) FROM docs"
check "slow_down from the token endpoint: psql waits 5 s longer and signs in" "0|5" \
  "$(cat "$STATE/slow.rc")|$(cat "$STATE/slow.out")"
check "... the provider answered slow_down once" "1" "$(wc -l < "$STATE/slow_down.log" | tr -d ' ')"
echo "     (slow_down sign-in took $((SECONDS - t0)) s)"

out=$(timeout 60 "$PGBIN/psql" -X -At "$CONN user=analyst oauth_client_id=psql" -c "SELECT 1" 2>&1 </dev/null || true)
check_match "an issuer whose certificate the client does not trust: refused before any prompt" \
  "certificate" "$out"
check "... and no device prompt was shown" "" "$(grep '^Visit' <<< "$out" || true)"

# --- an application holding a token: test/oauth/bearer_hook.c ---------------------------------
HOOK="$STATE/bearer_hook"
if cc -Wall -Werror -o "$HOOK" test/oauth/bearer_hook.c -I"$("$PGBIN/pg_config" --includedir)" \
     -L"$("$PGBIN/pg_config" --libdir)" -lpq 2>"$STATE/cc.log"; then
  pass "bearer_hook.c compiles against this libpq (-Wall -Werror)"
else
  fail "bearer_hook.c compiles against this libpq"; cat "$STATE/cc.log"; exit 1
fi
APPCONN="$CONN oauth_client_id=reporting-app"
# hook USER TOKEN [STEP...]: connect as USER with TOKEN; output of bearer_hook.
hook() { printf '%s\n' "$2" | timeout --kill-after=10 60 "$HOOK" "$APPCONN user=$1" "${@:3}" 2>&1 || true; }
# The client credentials grant, as a service would obtain its token.
APP_TOKEN=$("$PY" - "$BASE" "$STATE/ca.pem" <<'PYEOF'
import base64, json, ssl, sys, urllib.parse, urllib.request
base, ca = sys.argv[1], sys.argv[2]
req = urllib.request.Request(base + "/realms/rowguard/protocol/openid-connect/token",
    urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "openid rowguard"}).encode(),
    {"Authorization": "Basic " + base64.b64encode(b"reporting-app:s3cret").decode()})
print(json.load(urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca)))["access_token"])
PYEOF
)
out=$(hook analyst "$APP_TOKEN" "sql:SELECT count(*) FROM docs")
check_contains "bearer_hook: libpq asks the hook with the server's discovery URI and scope" \
  "hook: discovery=$ISS/.well-known/openid-configuration scope=openid rowguard" "$out"
check "bearer_hook: a service token (client credentials, tenant …0a has no rows) connects and sees 0 rows" \
  "connected|row: 0" "$(grep -E '^(connected|row:)' <<< "$out" | paste -sd'|')"
out=$(hook analyst "$TA" "sql:SELECT count(*), rowguard.sub() FROM docs")
check "bearer_hook: alice's token connects and sees tenant A" "connected|row: 3|$ALICE" \
  "$(grep -E '^(connected|row:)' <<< "$out" | paste -sd'|')"

# refused NAME USER TOKEN REASON: the connection fails (never a statement) and the server
# log gives rowguard's REASON (a fixed string). Before the database is open (the validator)
# the client sees only PostgreSQL's "OAuth bearer authentication failed"; a refusal once
# the database is open (revocation, the login role's checks) is a FATAL with the reason.
refused() {
  local name=$1 user=$2 token=$3 reason=$4 before out new msg
  before=$(stat -c %s "$LOG")
  out=$(hook "$user" "$token" "sql:SELECT count(*) FROM docs")
  sleep 0.3
  new=$(tail -c +"$((before + 1))" "$LOG")
  msg=$(sed -n 's/^connect failed: //p' <<< "$out")
  if [[ -n "$msg" && ( "$msg" == *"OAuth bearer authentication failed for user \"$user\""* ||
        "$msg" == *"$reason"* ) ]]; then
    pass "refused at sign-in: $name"
    echo "     client: ${msg:0:220}"
  else
    fail "refused at sign-in: $name: bearer_hook said [$out]"
  fi
  if [[ "$new" == *"$reason"* ]]; then
    pass "... the server log says why: $reason"
  else
    fail "... the server log says why: [$reason] not in [$(grep -i 'oauth\|rowguard' <<< "$new" | head -5)]"
  fi
  [[ "$new" != *"$token"* ]] || fail "... the server log holds the token"
  LAST_LOG=$new
}
stats_now() {
  admin -c "SELECT string_agg(outcome || '=' || count, ' ' ORDER BY outcome) FROM rowguard.stats()
            WHERE outcome NOT IN ('accepted', 'cache_hit', 'outside_transaction')"
}
STATS_BEFORE=$(stats_now)
now=$(date +%s)
refused "a token of another realm that the database trusts (iss is not the pg_hba issuer)" analyst \
  "$(mint other alice)" "iss \"$OTHER\" is not the issuer of the pg_hba line"
STRANGER_KID=$(sed -n 's/.*"signing": "\([^"]*\)".*/\1/p' "$STATE/realms/stranger/realm.json")
refused "a token of an unknown realm signed with the pg_hba issuer's name (unknown key)" analyst \
  "$(mint rowguard alice '{"_realm_key": "stranger"}')" "unknown key id \"$STRANGER_KID\""
refused "wrong audience (aud is another client of the realm)" analyst \
  "$(mint rowguard alice '{"aud": "account"}')" 'token audience "account" is not accepted'
refused "no audience at all" analyst \
  "$(mint rowguard alice '{"aud": null}')" 'token has no "aud" claim'
refused "the scope of the pg_hba line is missing" analyst \
  "$(mint rowguard alice '{"scope": "openid profile email"}')" 'scope "rowguard" is missing'
if ((major >= 19)); then   # 19: the validator's reason is the DETAIL of PostgreSQL's line
  check_contains "PostgreSQL 19: the reason is the DETAIL of the authentication failure" \
    'DETAIL:  scope "rowguard" is missing' "$LAST_LOG"
fi
refused "expired" analyst \
  "$(mint rowguard alice "{\"iat\": $((now - 600)), \"auth_time\": $((now - 600)), \"exp\": $((now - 60))}")" \
  "token expired at"
TR=$(mint rowguard alice)
JTI=$("$PY" -c 'import jwt,sys; print(jwt.decode(sys.argv[1], options={"verify_signature": False})["jti"])' "$TR")
admin -c "SELECT rowguard.revoke_token('$JTI', '$ISS')" >/dev/null
refused "a revoked token (revoke_token)" analyst "$TR" "token has been revoked (its jti)"
TS=$(mint rowguard carol)
admin -c "SELECT rowguard.revoke_subject('$CAROL', now() + interval '1 second', '$ISS')" >/dev/null
refused "a revoked subject (revoke_subject)" analyst "$TS" \
  "tokens of this subject issued before the revocation have been revoked"
refused "a tampered token (bad signature)" analyst \
  "$("$PY" -c 'import sys,base64,json
h,p,s=sys.argv[1].split(".")
c=json.loads(base64.urlsafe_b64decode(p+"=="*2)); c["tenant_id"]=sys.argv[2]
print(h+"."+base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()+"."+s)' "$TA" "$TENANT_B")" \
  "signature does not match"
refused "a token larger than rowguard.max_token_bytes" analyst \
  "$(mint rowguard alice "{\"pad\": \"$(head -c 20000 /dev/zero | tr '\0' x)\"}")" \
  "the token is larger than rowguard.max_token_bytes"
refused "the role claim names another role than the one asked for" intruder \
  "$TA" "does not name the requested role \"intruder\""
refused "a login role the issuer may not sign in as (allow_oauth_login)" intruder \
  "$(mint rowguard mallory)" "role \"intruder\" may not sign in with tokens of issuer \"$ISS\""
refused "a superuser named by the token" postgres \
  "$(mint rowguard alice '{"db_role": "postgres"}')" "role \"postgres\" may not sign in with tokens of issuer \"$ISS\""
out=$(hook ghost "$(mint rowguard alice '{"db_role": "ghost"}')" "sql:SELECT 1")
check_match "refused at sign-in: a role that does not exist" "^connect failed: .*(OAuth bearer authentication failed|does not exist)" \
  "$(grep '^connect failed' <<< "$out" || echo "$out")"
# An anonymous client cannot make the server fetch: 20 sign-ins with tokens of an unknown
# key cause no request to the issuer beyond the refresher's own rate (one wake per 5 s).
FLOOD=$(mint rowguard alice '{"_realm_key": "stranger"}')
certs_before=$(grep -c 'GET /realms/rowguard/protocol/openid-connect/certs' "$STATE/hits.log" || true)
t0=$SECONDS
for _ in $(seq 1 20); do hook analyst "$FLOOD" "sql:SELECT 1" >/dev/null; done
flood_s=$((SECONDS - t0))
sleep 1
certs=$(( $(grep -c 'GET /realms/rowguard/protocol/openid-connect/certs' "$STATE/hits.log" || true) - certs_before ))
if ((certs <= 1 + flood_s / 5 + 1)); then
  pass "20 sign-ins with an unknown kid in ${flood_s} s: $certs fetches of the key set (at most one per 5 s, plus the schedule)"
else
  fail "20 sign-ins with an unknown kid in ${flood_s} s made the server fetch the key set $certs times"
fi
STATS_AFTER=$(stats_now)
check "refusals are counted in rowguard.stats() by class (increase during the refusals above)" \
  "audience=2 expired=1 issuer=1 malformed=1 other=1 revoked=2 role=1 signature=1 unknown_key=21" \
  "$("$PY" -c 'import sys
a = dict(x.split("=") for x in sys.argv[1].split())
b = dict(x.split("=") for x in sys.argv[2].split())
print(" ".join("%s=%d" % (k, int(b[k]) - int(a.get(k, 0))) for k in sorted(b) if int(b[k]) != int(a.get(k, 0))))' "$STATS_BEFORE" "$STATS_AFTER")"

# --- expiry in the middle of a session (psql) ---------------------------------------------
# A token living 4 s (+ 5 s leeway): the first statement runs, the one after 12 s fails.
device_psql expiry analyst approve:alice '{"_lifetime": 4}' \
  -c "SELECT count(*) FROM docs" -c '\! sleep 12' -c "SELECT count(*) FROM docs"
check "expiry mid-session: the first statement ran" "3" "$(sed -n 1p "$STATE/expiry.out")"
err=$(cat "$STATE/expiry.err")
check_contains "expiry mid-session: the statement after expiry fails with 28000" "ERROR:  28000" "$err"
check_match "... with a hint to reconnect" "HINT: .*reconnect" "$err"
check "... and returns no rows" "1" "$(wc -l < "$STATE/expiry.out" | tr -d ' ')"

# --- a hostile client presenting another token after sign-in (psql) --------------------------
TB=$(mint rowguard bob)
cat > "$STATE/hostile.sql" <<SQL
\\set ON_ERROR_STOP 0
\\echo step:authenticate
SELECT rowguard.authenticate('$TB', false);
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:set
SET rowguard.token = '$TB';
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:set_config
SELECT set_config('rowguard.token', '$TB', false);
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:local
BEGIN;
SET LOCAL rowguard.token = '$TB';
COMMIT;
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:reset
RESET rowguard.token;
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:test_authenticate
SELECT rowguard.test_authenticate('{"sub": "$BOB", "tenant_id": "$TENANT_B"}');
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:reset_all
RESET ALL;
DISCARD ALL;
SELECT 'now', rowguard.sub(), count(*) FROM docs;
\\echo step:set_role
SET ROLE postgres;
SET SESSION AUTHORIZATION postgres;
SELECT 'now', rowguard.sub(), count(*), current_user FROM docs;
SQL
device_psql hostile analyst approve:alice '{}' -f "$STATE/hostile.sql"
out=$(cat "$STATE/hostile.out")
check "hostile client: every step still runs as alice with tenant A's rows, never bob's" \
  "8" "$(grep -c "^now|$ALICE|3" <<< "$out" || true)"
check "hostile client: bob's identity never appears" "0" "$(grep -c "$BOB" <<< "$out" || true)"
n=$(grep -c 'ERROR:  28000: the identity of a session that signed in with OAuth cannot be changed' "$STATE/hostile.err" || true)
check "hostile client: authenticate / SET / set_config / SET LOCAL with bob's token are refused with 28000" "4" "$n"
[[ "$n" == 4 ]] || grep -h -E '^(step:|now)|ERROR' "$STATE/hostile.out" "$STATE/hostile.err" | sed 's/^/     /' | head -40
check "hostile client: RESET rowguard.token, RESET ALL and DISCARD ALL keep alice's identity" \
  "reset:now|$ALICE|3 reset_all:now|$ALICE|3" \
  "$(awk '/^step:/ { step = substr($0, 6) } /^now/ && (step == "reset" || step == "reset_all") { printf "%s%s:%s", sep, step, $0; sep = " " }' "$STATE/hostile.out")"
check "hostile client: test_authenticate is not granted to the signed-in role (42501)" "1" \
  "$(grep -c 'ERROR:  42501: permission denied for function test_authenticate' "$STATE/hostile.err" || true)"

# The same through the startup packet: alice's token through the hook, bob's in options.
out=$(printf '%s\n' "$TA" | timeout 60 "$HOOK" "$APPCONN user=analyst options='-c rowguard.token=$TB'" \
  "sql:SELECT count(*), rowguard.sub() FROM docs" 2>&1 || true)
if [[ "$out" == *"row: 3|$ALICE"* || ( "$out" == *"connect failed:"* && "$out" != *"row:"* ) ]]; then
  pass "hostile client: bob's token in the startup packet (options -c rowguard.token) does not replace alice's"
  echo "     ($(grep -E '^(connect failed|row:)' <<< "$out" | head -1 | cut -c1-200))"
else
  fail "hostile client: bob's token in the startup packet: [$out]"
fi

# --- key rotation at the issuer -------------------------------------------------------------
# A psql session signed with the first key stays open through the rotation.
KID2=$(iss rotate rowguard)
TK2=$(mint rowguard alice)
first=$(hook analyst "$TK2" "sql:SELECT count(*) FROM docs" | head -1)
echo "     (right after the rotation, a token of the new key: [$first])"
t0=$SECONDS accepted=""
# The refresher refetches at least every 60 s (the certs endpoint sends no-store); 100 s
# of wall time bound the wait however slow each attempt is.
while ((SECONDS - t0 < 100)); do
  out=$(hook analyst "$TK2" "sql:SELECT count(*) FROM docs")
  if [[ "$out" == *"row: 3"* ]]; then accepted=yes; break; fi
  sleep 2
done
check "rotation: a token of the new key signs in once the refresher has the key (no admin action)" \
  "yes" "$accepted"
echo "     FIGURE: rotation at the issuer to the first accepted sign-in: $((SECONDS - t0)) s"
check "rotation: both keys are in the database" "$(printf '%s\n' "$KID1" "$KID2" | sort | paste -sd,)" \
  "$(admin -c "SELECT string_agg(kid, ',' ORDER BY kid) FROM rowguard.keys WHERE issuer = '$ISS'")"
TK1=$(mint rowguard alice "{\"_kid\": \"$KID1\"}")
out=$(hook analyst "$TK1" "sql:SELECT count(*) FROM docs")
check_contains "rotation: a token of the old key still signs in while the issuer publishes it" "row: 3" "$out"
# A session signed with the old key, open while the issuer drops that key.
printf '%s\n' "$TK1" | timeout 90 "$HOOK" "$APPCONN user=analyst" "sql:SELECT count(*) FROM docs" \
  "sleep:6" "sql:SELECT count(*) FROM docs" > "$STATE/oldkey.out" 2>&1 &
oldkey_pid=$!
sleep 2
iss publish rowguard "$KID2"
admin -c "SELECT * FROM rowguard.refresh_keys('$ISS')" >/dev/null
wait "$oldkey_pid" || true
check "rotation: the old key's session ran before the key was removed" "row: 3" \
  "$(grep '^row:' "$STATE/oldkey.out" | head -1)"
check_match "rotation: ... and its next statement fails with 28000 once the key is gone" \
  "error: 28000" "$(grep '^error:' "$STATE/oldkey.out" || true)"
refused "rotation: a token of the removed key" analyst "$TK1" "unknown key id \"$KID1\""
out=$(hook analyst "$TK2" "sql:SELECT count(*) FROM docs")
check_contains "rotation: the new key's tokens still sign in" "row: 3" "$out"

echo
echo "oauth: $checks checks, $failures failed"
((failures == 0))
