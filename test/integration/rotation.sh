#!/usr/bin/env bash
# Key rotation under load (docs/keys.md, "Rotation without refusals"): pgbench clients
# authenticate with the issuer's current token while the issuer publishes a new key and
# the clients switch to tokens signed by it at once. With rowguard.unknown_key_wait = 0
# (0.2.0's behaviour) the first requests with the new kid are refused until the key
# refresher has fetched; with the wait, none is. Also: a kid the issuer never publishes
# is still refused after the wait, with the documented detail prefix; the wait is
# cancellable and holds no lock on the key tables; an issuer without jwks_uri is not
# waited for. And messages that tell the fix: refresh_keys() carries the cause of a
# certificate error and names rowguard.http_ca_file (also in jwks_sources.last_error),
# discover_issuer shows the issuer a mismatching document names, a database listed in
# rowguard.refresh_databases before it exists is a LOG line and a retry, not a FATAL.
# Functional assertions only (counts), no timing thresholds.
#
# Own cluster with shared_preload_libraries = 'rowguard' and a local HTTPS issuer
# (test/integration/jwks_issuer.py). Environment: ROWGUARD_ROOT, PGBIN.
# ROTATION_WAIT: the rowguard.unknown_key_wait of the "with wait" phase (default 10s, a
# generous bound against a loaded machine; the figure in docs/performance.md is taken
# with the default 2s).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3
ISSUER_PY="$ROOT/test/integration/jwks_issuer.py"
WAIT=${ROTATION_WAIT:-10s}

PORT="" SERVER_PID="" STATE="" BG=""
failures=0 checks=0
cleanup() {
  local rc=$?
  [[ -n "$BG" ]] && kill "$BG" 2>/dev/null
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null
  if ((rc != 0 || failures != 0)) && [[ -n "$PORT" ]]; then
    echo "--- last lines of the server log ---"; tail -n 40 "$(cluster_log "$PORT")" || true
  fi
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  [[ -n "$STATE" ]] && rm -rf "$STATE"
  return $rc
}
trap cleanup EXIT

check() {  # check NAME EXPECTED ACTUAL
  checks=$((checks + 1))
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
check_match() {  # check_match NAME REGEX ACTUAL
  checks=$((checks + 1))
  if [[ "$3" =~ $2 ]]; then echo "ok   $1"; else echo "FAIL $1: [$3] does not match [$2]"; failures=$((failures + 1)); fi
}

STATE=$(mktemp -d /tmp/rowguard-rotation-XXXXXX)
chmod 0755 "$STATE"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=rowguard test CA" -keyout "$STATE/ca.key" -out "$STATE/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$STATE/server.key" -out "$STATE/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$STATE/san.ext"
openssl x509 -req -in "$STATE/server.csr" -CA "$STATE/ca.pem" -CAkey "$STATE/ca.key" \
  -CAcreateserial -days 2 -extfile "$STATE/san.ext" -out "$STATE/server.pem" 2>/dev/null
chmod 0644 "$STATE"/*.pem

HTTPS_PORT=""
base=$(( ${ROWGUARD_PORT_MIN:-54329} + 60 ))
for p in $(seq "$base" $((base + 40))); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { HTTPS_PORT=$p; break; }
done
ISS="https://127.0.0.1:$HTTPS_PORT"
"$PY" "$ISSUER_PY" keys "$STATE" k1 k2 k3 forged
"$PY" "$ISSUER_PY" publish "$STATE" k1
echo "public, max-age=7200" > "$STATE/cache_control"
"$PY" "$ISSUER_PY" serve "$STATE" "$HTTPS_PORT" "$STATE/server.pem" "$STATE/server.key" &
SERVER_PID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$HTTPS_PORT") 2>/dev/null && break; sleep 0.2; done
mint() { "$PY" "$ISSUER_PY" mint "$STATE" "$1" "$ISS" "$2"; }

PORT=$(pick_port "${ROWGUARD_PORT_MIN:-54329}")
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" \
  "rowguard.refresh_databases = 'app'" \
  "rowguard.http_ca_file = '$STATE/ca.pem'" "max_connections = 40"
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d app "$@"; }
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE app"
q <<SQL
CREATE EXTENSION rowguard;
SELECT rowguard.set_jwks_uri('$ISS', '$ISS/jwks.json');
SELECT count(*) FROM rowguard.refresh_keys('$ISS');
CREATE UNLOGGED TABLE rot_token (tok text);
INSERT INTO rot_token VALUES ('');
CREATE UNLOGGED TABLE rot_ok (sub text);
CREATE UNLOGGED TABLE rot_refusal (detail text);
-- One request of the API: authenticate with the current token, read the identity.
CREATE FUNCTION rot_request() RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE t text; d text;
BEGIN
  SELECT tok INTO t FROM rot_token;
  BEGIN
    PERFORM rowguard.authenticate(t);
    INSERT INTO rot_ok VALUES (rowguard.sub());
  EXCEPTION WHEN invalid_authorization_specification THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    INSERT INTO rot_refusal VALUES (d);
  END;
END \$\$;
SQL
echo "SELECT rot_request();" > "$STATE/request.sql"
worker_pid() { "$PGBIN/psql" -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'rowguard key refresher' AND datname = 'app'"; }
for _ in $(seq 1 100); do [[ -n "$(worker_pid)" ]] && break; sleep 0.2; done
check_match "a refresher runs for database app" '^[0-9]+$' "$(worker_pid)"

set_wait() {
  "$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM SET rowguard.unknown_key_wait = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}
# The worker refetches an issuer on a wake at most every 5 s: start each rotation
# outside that window, as a real rotation (minutes apart) would.
quiet_issuer() {
  for _ in $(seq 1 100); do
    [[ "$(q -c "SELECT coalesce(last_attempt < now() - interval '6 s', true) FROM rowguard.jwks_sources")" == t ]] && return
    sleep 0.2
  done
}
# rotate PUBLISHED NEW: under pgbench load with the current token, publish the set and
# switch every client to a token of NEW. Prints "refusals accepted_new".
rotate() {
  local published=$1 new=$2 token
  token=$(mint "$new" "$new")
  q -c "TRUNCATE rot_ok, rot_refusal"
  quiet_issuer
  "$PGBIN/pgbench" -n -c 8 -j 2 -T 6 -f "$STATE/request.sql" app > "$STATE/pgbench.log" 2>&1 &
  BG=$!
  sleep 2
  # shellcheck disable=SC2086
  "$PY" "$ISSUER_PY" publish "$STATE" $published
  q -c "UPDATE rot_token SET tok = '$token'"
  wait "$BG" || { echo "pgbench failed:"; cat "$STATE/pgbench.log"; }
  BG=""
  q -c "SELECT (SELECT count(*) FROM rot_refusal) || ' ' || (SELECT count(*) FROM rot_ok WHERE sub = '$new')"
}

q -c "UPDATE rot_token SET tok = '$(mint k1 k1)'"

# --- before: no wait (0.2.0) ------------------------------------------------------------
set_wait 0
read -r refused_before accepted_before <<< "$(rotate "k1 k2" k2)"
echo "     FIGURE: rotation under load, unknown_key_wait = 0: $refused_before refused, $accepted_before accepted with the new key"
check_match "without the wait, the new key's first requests are refused (the test can fail)" '^[1-9][0-9]*$' "$refused_before"
check "... each refusal says unknown key id" "0" \
  "$(q -c "SELECT count(*) FROM rot_refusal WHERE detail NOT LIKE 'unknown key id \"k2\"%'")"
check_match "... and the new key is accepted afterwards" '^[1-9][0-9]*$' "$accepted_before"

# --- after: the call waits for the refresher ---------------------------------------------
set_wait "$WAIT"
read -r refused_after accepted_after <<< "$(rotate "k2 k3" k3)"
echo "     FIGURE: rotation under load, unknown_key_wait = $WAIT: $refused_after refused, $accepted_after accepted with the new key"
check "with the wait, a rotation under load refuses nothing" "0" "$refused_after"
check_match "... and the new key carries the load" '^[1-9][0-9]*$' "$accepted_after"
q -c "SELECT detail FROM rot_refusal LIMIT 3"

# --- a kid the issuer never publishes: still refused, after at most the wait ------------
quiet_issuer
before=$(grep -c ' /jwks.json$' "$STATE/hits.log")
forged=$(mint forged mallory)
check "a never-published kid is refused with the documented detail prefix" 'unknown key id "forged"' \
  "$(q -c "SELECT rowguard.verify('$forged')" 2>&1 | sed -n 's/^DETAIL:  //p' | grep -o '^unknown key id "forged"')"
after=$(grep -c ' /jwks.json$' "$STATE/hits.log")
check "... after the refresher fetched the issuer's set once" "1" "$((after - before))"
check "... and is counted as unknown_key" "t" \
  "$(q -c "SELECT count > 0 FROM rowguard.stats() WHERE outcome = 'unknown_key'")"

# --- an issuer without jwks_uri is not waited for (the wait would be for nobody) --------
"$PY" "$ISSUER_PY" keys "$STATE" other
other=$("$PY" "$ISSUER_PY" mint "$STATE" other "https://other.example" eve)
check "an unknown kid of an issuer without jwks_uri: refused" 'unknown key id "other"' \
  "$(q -c "SET rowguard.unknown_key_wait = '60s'" -c "SET statement_timeout = '30s'" -c "SELECT rowguard.verify('$other')" 2>&1 | sed -n 's/^DETAIL:  //p' | grep -o '^unknown key id "other"')"

# --- messages that tell the fix (issue 24, item 4) --------------------------------------
LOG=$(cluster_log "$PORT")
check "a database listed before it exists: no FATAL" "0" "$(grep -c 'FATAL:  database "app" does not exist' "$LOG" || true)"
check_match "... but a LOG line, and the refresher started once it was created" \
  'database "app" in rowguard.refresh_databases does not exist; its key refresher starts once it is created' \
  "$(grep -o 'database "app" in rowguard.refresh_databases does not exist; its key refresher starts once it is created' "$LOG" | head -1)"
check_match "discover_issuer on a mismatch shows the issuer the document names" \
  "The document names \"$ISS\" as its issuer" \
  "$(q -c "SELECT rowguard.discover_issuer('https://localhost:$HTTPS_PORT')" 2>&1 | sed -n 's/^DETAIL:  //p')"
# An untrusted certificate (the system bundle does not hold the test CA).
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM SET rowguard.http_ca_file = '/etc/ssl/certs/ca-certificates.crt'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
one=$(q -c "SELECT * FROM rowguard.refresh_keys('$ISS')" 2>&1 || true)
check_match "refresh_keys(iss), certificate error: the detail says why" 'DETAIL:  .*(certificate|SSL)' "$one"
check_match "... and the hint names rowguard.http_ca_file" 'HINT:  .*rowguard.http_ca_file' "$one"
all=$(q -c "SELECT issuer || ' ' || action FROM rowguard.refresh_keys()" 2>&1 || true)
check_match "refresh_keys(), certificate error: the warning carries the cause" \
  'WARNING:  keys of issuer "[^"]+" were not refreshed: could not fetch "[^"]+": .*(certificate|SSL).*rowguard.http_ca_file' "$all"
check_match "... and the row says failed" "$ISS failed" "$all"
check_match "jwks_sources.last_error carries the cause and names rowguard.http_ca_file" \
  '(certificate|SSL).*rowguard.http_ca_file' "$(q -c "SELECT last_error FROM rowguard.jwks_sources")"
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM RESET rowguard.http_ca_file" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5

# --- the wait is cancellable and holds no lock -------------------------------------------
# The issuer answers slowly: the refresher's fetch takes rowguard.http_timeout (5 s), so
# a token with an unknown kid waits for the whole 60 s.
q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/slow')" >/dev/null
quiet_issuer
check "statement_timeout cancels the wait" "57014" \
  "$(q -c "SET rowguard.unknown_key_wait = '60s'" -c "SET statement_timeout = '1s'" -c "DO \$\$ BEGIN PERFORM rowguard.verify('$forged'); EXCEPTION WHEN query_canceled THEN RAISE NOTICE '57014'; END \$\$" 2>&1 | sed -n 's/^NOTICE:  //p')"
q -c "SET rowguard.unknown_key_wait = '60s'" -c "SET statement_timeout = '20s'" -c "SELECT rowguard.verify('$forged')" >/dev/null 2>&1 &
BG=$!
sleep 1
q -c "SET lock_timeout = '10s'" -c "BEGIN" -c "LOCK rowguard.keys IN ACCESS EXCLUSIVE MODE" -c "LOCK rowguard.jwks_sources IN ACCESS EXCLUSIVE MODE" -c "COMMIT" >/dev/null 2>&1 && locked=yes || locked=no
kill -0 "$BG" 2>/dev/null && waiting=waiting || waiting=done
check "during a wait, another session takes ACCESS EXCLUSIVE on the key tables" "yes" "$locked"
check "... while the wait goes on" "waiting" "$waiting"
kill "$BG" 2>/dev/null; wait "$BG" 2>/dev/null || true; BG=""
"$PGBIN/psql" -X -q -d postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = 'app' AND query LIKE '%rowguard.verify%' AND pid <> pg_backend_pid()" >/dev/null

# --- the sessions view behind a pooler (issue 24, item 8) -------------------------------
# PgBouncer with application_name_add_host = 1 appends " - <client address>:<port>".
sess_token=$(mint k3 sess)
"$PGBIN/psql" -X -q -d app -c "SET application_name = 'api - 203.0.113.7:51234'" \
  -c "SET rowguard.token = '$sess_token'" -c "SELECT pg_sleep(6)" >/dev/null 2>&1 &
BG=$!
row=""
for _ in $(seq 1 50); do
  row=$(q -c "SELECT application_name || '|' || pooler_client_addr || '|' || (client_addr IS NOT NULL OR client_addr IS NULL) FROM rowguard.sessions WHERE sub = 'sess'")
  [[ -n "$row" ]] && break; sleep 0.1
done
check "sessions: application_name, and the client address a pooler appended to it" \
  "api - 203.0.113.7:51234|203.0.113.7|true" "$row"
check "sessions: 0.2.0's columns first, in their order" \
  "pid,sub,iss,kid,jti,exp,scope,application_name,client_addr,pooler_client_addr" \
  "$(q -c "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'rowguard.sessions'::regclass AND attnum > 0")"
kill "$BG" 2>/dev/null; wait "$BG" 2>/dev/null || true; BG=""

echo "rotation: $((checks - failures)) of $checks checks passed"
((failures == 0))
