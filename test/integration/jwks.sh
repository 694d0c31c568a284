#!/usr/bin/env bash
# Keys that follow the issuer, against a real HTTPS issuer on loopback
# (test/integration/jwks_issuer.py, with a CA and server certificate made here by
# openssl): discovery, refresh, rotation, every fetch failure (500, timeout, size cap,
# bad JSON, bad key set, redirects, untrusted TLS), a cancel during a fetch, no lock held
# while fetching, and the background worker (unknown kid wakes it; Cache-Control; a
# failure is logged and backed off; the worker comes back after being killed).
# Own cluster with shared_preload_libraries = 'rowguard'.
#
# Environment: ROWGUARD_ROOT, PGBIN (scripts/test.sh exports both).
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PY=/usr/bin/python3
ISSUER_PY="$ROOT/test/integration/jwks_issuer.py"

PORT="" SPORT="" SERVER_PID="" STATE=""
failures=0 checks=0
cleanup() {
  local rc=$?
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null
  if ((rc != 0 || failures != 0)) && [[ -n "$PORT" ]]; then
    echo "--- last lines of the server log ---"; tail -n 40 "$(cluster_log "$PORT")" || true
  fi
  [[ -n "$SPORT" ]] && stop_cluster "$SPORT"
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  [[ -n "$STATE" ]] && rm -rf "$STATE"
  return $rc
}
trap cleanup EXIT

check() {  # check NAME EXPECTED ACTUAL
  checks=$((checks + 1))
  if [[ "$2" == "$3" ]]; then
    echo "ok   $1"
  else
    echo "FAIL $1: expected [$2], got [$3]"
    failures=$((failures + 1))
  fi
}
check_match() {  # check_match NAME REGEX ACTUAL
  checks=$((checks + 1))
  if [[ "$3" =~ $2 ]]; then echo "ok   $1"; else echo "FAIL $1: [$3] does not match [$2]"; failures=$((failures + 1)); fi
}

STATE=$(mktemp -d /tmp/rowguard-jwks-XXXXXX)
chmod 0755 "$STATE"
# --- a CA and a server certificate for 127.0.0.1 and localhost -----------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=rowguard test CA" -keyout "$STATE/ca.key" -out "$STATE/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$STATE/server.key" -out "$STATE/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$STATE/san.ext"
openssl x509 -req -in "$STATE/server.csr" -CA "$STATE/ca.pem" -CAkey "$STATE/ca.key" \
  -CAcreateserial -days 2 -extfile "$STATE/san.ext" -out "$STATE/server.pem" 2>/dev/null
chmod 0644 "$STATE"/*.pem

# --- the issuer ----------------------------------------------------------------------
HTTPS_PORT=""
for p in $(seq 55618 55640); do
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { HTTPS_PORT=$p; break; }
done
ISS="https://127.0.0.1:$HTTPS_PORT"
"$PY" "$ISSUER_PY" keys "$STATE" k1 k2 k3 k4
"$PY" "$ISSUER_PY" publish "$STATE" k1
echo "public, max-age=7200" > "$STATE/cache_control"
"$PY" "$ISSUER_PY" serve "$STATE" "$HTTPS_PORT" "$STATE/server.pem" "$STATE/server.key" &
SERVER_PID=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$HTTPS_PORT") 2>/dev/null && break; sleep 0.2
done
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }  # seconds since $1
mint() { "$PY" "$ISSUER_PY" mint "$STATE" "$1" "$ISS" "$2"; }

# --- the cluster ----------------------------------------------------------------------
PORT=$(pick_port 55600)
start_cluster "$PORT" "shared_preload_libraries = 'rowguard'" \
  "rowguard.refresh_databases = 'app, postgres, no_such_db'" \
  "rowguard.http_ca_file = '$STATE/ca.pem'" "rowguard.http_timeout = 3000" \
  "log_min_messages = log"
LOG=$(cluster_log "$PORT")
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d app "$@"; }
# state: SQLSTATE of a statement ("ok" when it succeeds), no context lines.
state() {
  q -c "DO \$\$ BEGIN EXECUTE \$q\$$1\$q\$; RAISE NOTICE 'ok'; EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 |
    sed -n 's/^NOTICE:  //p'
}
verdict() { q -c "SELECT coalesce(rowguard.verify('$1') ->> 'sub', 'none')" 2>&1 | sed 's/^ERROR:  //' | head -1; }
keys() { q -c "SELECT string_agg(kid, ',' ORDER BY kid) FROM rowguard.keys WHERE issuer = '$ISS'"; }

"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE app"
q -c "CREATE EXTENSION rowguard"

# --- discovery and refresh by hand -----------------------------------------------------
check "discover_issuer returns the jwks_uri" "$ISS/jwks.json" "$(q -c "SELECT rowguard.discover_issuer('$ISS')")"
check "discovery of another issuer name is refused" "22023" \
  "$(state "SELECT rowguard.discover_issuer('https://localhost:$HTTPS_PORT')")"
check "refresh adds k1" "$ISS|k1|added" "$(q -c "SELECT * FROM rowguard.refresh_keys('$ISS')")"
T1=$(mint k1 alice)
check "k1 token accepted" "alice" "$(verdict "$T1")"
"$PY" "$ISSUER_PY" publish "$STATE" k1 k2
check "rotation: k2 added, k1 kept" "$ISS|k1|kept,$ISS|k2|added" \
  "$(q -c "SELECT string_agg(concat_ws('|', issuer, kid, action), ',' ORDER BY kid) FROM rowguard.refresh_keys()")"
"$PY" "$ISSUER_PY" publish "$STATE" k2
check "rotation: k1 removed" "k1 removed,k2 kept" \
  "$(q -c "SELECT string_agg(kid || ' ' || action, ',' ORDER BY kid) FROM rowguard.refresh_keys('$ISS')")"
T2=$(mint k2 bob)
check_match "old k1 token refused" "invalid token" "$(verdict "$T1")"
check "new k2 token accepted" "bob" "$(verdict "$T2")"

# --- every failure changes nothing; the last good keys keep working -------------------
fail_case() {  # fail_case NAME PATH SQLSTATE
  q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS$2')" >/dev/null
  local t0=$SECONDS
  check "$1: SQLSTATE" "$3" "$(state "SELECT * FROM rowguard.refresh_keys('$ISS')")"
  check "$1: keys unchanged" "k2" "$(keys)"
  check "$1: k2 still accepted" "bob" "$(verdict "$T2")"
  echo "     ($1 took $((SECONDS - t0)) s)"
}
fail_case "HTTP 500" /status500 08006
fail_case "timeout (http_timeout 3 s)" /slow 08006
fail_case "oversized body" /big 54000
fail_case "not JSON" /notjson 22023
fail_case "invalid key in the set" /badset 22023
fail_case "set leaving the issuer without keys" /emptyset 22023
fail_case "redirect to another host" /redirect-other 22023
fail_case "redirect to http" /redirect-http 22023
fail_case "unknown path (404)" /nothing-here 08006
q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/redirect-same')" >/dev/null
check "redirect on the same host is followed" "k2 kept" \
  "$(q -c "SELECT kid || ' ' || action FROM rowguard.refresh_keys('$ISS')")"
q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/jwks.json')" >/dev/null
check "the message names the problem" "could not fetch \"$ISS/status500\"" \
  "$(q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/status500'); SELECT * FROM rowguard.refresh_keys('$ISS')" 2>&1 | sed -n 's/^ERROR:  //p')"
q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/jwks.json')" >/dev/null

# Untrusted certificate: the system bundle does not hold the test CA.
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM SET rowguard.http_ca_file = '/etc/ssl/certs/ca-certificates.crt'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
check "untrusted TLS certificate: SQLSTATE" "08001" "$(state "SELECT * FROM rowguard.refresh_keys('$ISS')")"
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM RESET rowguard.http_ca_file" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
check "trusted again after reload" "k2 kept" "$(q -c "SELECT kid || ' ' || action FROM rowguard.refresh_keys('$ISS')")"

# --- a cancel interrupts a fetch; no lock on the key tables while it waits ------------
q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/slow')" >/dev/null
t0=$(date +%s.%N)
check "statement_timeout cancels a fetch" "57014" \
  "$(q -c "SET statement_timeout = '700ms'" -c "DO \$\$ BEGIN PERFORM rowguard.refresh_keys('$ISS'); EXCEPTION WHEN query_canceled THEN RAISE NOTICE '57014'; END \$\$" 2>&1 | sed -n 's/^NOTICE:  //p')"
cancel_s=$(since "$t0")
check_match "the cancel took effect within 2 s (took ${cancel_s} s; http_timeout is 3 s)" '^[01]\.' "$cancel_s"
q -c "SELECT * FROM rowguard.refresh_keys('$ISS')" >/dev/null 2>&1 &
fetcher=$!
sleep 0.7
t0=$(date +%s.%N)
q -c "SELECT rowguard.add_key('$(cat "$STATE/k4.jwk")'::jsonb - 'kid' || '{\"kid\":\"by-hand\"}', '$ISS')" -c "SELECT rowguard.remove_key('by-hand')" >/dev/null
lock_s=$(since "$t0")
kill -0 $fetcher 2>/dev/null && still="fetching" || still="done"
check "add_key/remove_key during a fetch: not blocked" "fetching" "$still"
check_match "... and fast (${lock_s} s)" '^0\.' "$lock_s"
wait $fetcher || true
q -c "SELECT rowguard.set_jwks_uri('$ISS', '$ISS/jwks.json')" >/dev/null

# --- the background worker ------------------------------------------------------------
worker_pid() { "$PGBIN/psql" -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'rowguard key refresher' AND datname = 'app'"; }
for _ in $(seq 1 50); do [[ -n "$(worker_pid)" ]] && break; sleep 0.2; done
check_match "a refresher runs for database app" '^[0-9]+$' "$(worker_pid)"
# The launcher is counted with ps (it connects to no database of its own).
check "one launcher" "1" "$(pgrep -f -c -P "$(head -1 "$(cluster_data "$PORT")/postmaster.pid")" 'rowguard key refresh launcher')"
sleep 1
check_match "a database without the extension is reported, not fatal" 'database "postgres" has no rowguard 0.2.0 key sources' "$(grep -o 'database "postgres" has no rowguard 0.2.0 key sources' "$LOG" | head -1)"

# The worker's schedule follows Cache-Control (max-age 7200 is served from the start).
# A token with an unknown kid (k4 is never published) wakes it; it refreshes the issuer.
T4=$(mint k4 nobody)
for _ in $(seq 1 30); do   # (a wake within 5 s of the last fetch of the issuer is ignored)
  verdict "$T4" >/dev/null || true
  [[ "$(q -c "SELECT next_refresh > now() + interval '1 hour' FROM rowguard.jwks_sources")" == "t" ]] && break
  sleep 1
done
check "woken worker refreshed; next refresh follows max-age 7200" "7200" \
  "$(q -c "SELECT round(extract(epoch FROM next_refresh - last_success)) FROM rowguard.jwks_sources")"

# Rotation to k3 with nobody calling anything: the first k3 token wakes the worker.
sleep 5   # the worker refetches an issuer at most every 5 s on a wake; start outside that window
"$PY" "$ISSUER_PY" publish "$STATE" k2 k3
T3=$(mint k3 carol)
t0=$(date +%s.%N)
accepted="" attempts=0
for _ in $(seq 1 100); do
  attempts=$((attempts + 1))
  if [[ "$(verdict "$T3")" == "carol" ]]; then accepted=yes; break; fi
  sleep 0.1
done
wake_s=$(since "$t0")
check "unknown kid wakes the worker; the new key is accepted" "yes" "$accepted"
echo "     FIGURE: rotation to acceptance with the worker: ${wake_s} s ($attempts verify attempts, 0.1 s apart)"
check_match "the worker logged the change" "key \"k3\" added" "$(grep -o 'key "k3" added' "$LOG" | head -1)"
check "old k2 still accepted" "bob" "$(verdict "$T2")"

# The issuer drops k2 and says max-age=1: the worker removes k2, and its next refresh is
# at the 60 s floor.
echo "public, max-age=1" > "$STATE/cache_control"
"$PY" "$ISSUER_PY" publish "$STATE" k3
sleep 5
verdict "$T4" >/dev/null || true
for _ in $(seq 1 50); do [[ "$(keys)" == "k3" ]] && break; sleep 0.2; done
check "worker removed k2 after the issuer dropped it" "k3" "$(keys)"
check_match "old k2 token refused" "invalid token" "$(verdict "$T2")"
check "max-age=1 is raised to 60 s" "60" \
  "$(q -c "SELECT round(extract(epoch FROM next_refresh - last_success)) FROM rowguard.jwks_sources")"
check_match "the worker logged the removal" "key \"k2\" removed" "$(grep -o 'key "k2" removed' "$LOG" | head -1)"

# A hostile application role (LOGIN, not superuser) floods tokens with an unknown kid:
# 100 verifications cause at most one fetch from the issuer per 5 s of the flood (each
# call may wait rowguard.unknown_key_wait for the next allowed fetch, so the flood lasts
# longer than its 3 s of sleeps).
"$PGBIN/psql" -X -q -d postgres -c "CREATE ROLE hostile LOGIN NOBYPASSRLS"
sleep 5
before=$(grep -c ' /jwks.json$' "$STATE/hits.log")
flood_t0=$(date +%s.%N)
"$PGBIN/psql" -X -q -U hostile -d app -c "DO \$\$ BEGIN FOR i IN 1..100 LOOP BEGIN PERFORM rowguard.verify('$T4'); EXCEPTION WHEN invalid_authorization_specification THEN NULL; END; PERFORM pg_sleep(0.03); END LOOP; END \$\$"
flood_s=$(since "$flood_t0")
sleep 1
after=$(grep -c ' /jwks.json$' "$STATE/hits.log")
allowed=$(awk -v d="$flood_s" 'BEGIN { printf "%d", 1 + int((d + 4.999) / 5) }')
fetches=$((after - before))
check "100 unknown-kid tokens from a hostile role (${flood_s} s): at most one fetch per 5 s (got $fetches, allowed $allowed)" "yes" \
  "$( ((fetches <= allowed)) && echo yes || echo no)"
check "the hostile role cannot refresh" "permission denied for function refresh_keys" \
  "$("$PGBIN/psql" -X -At -U hostile -d app -c "SELECT rowguard.refresh_keys()" 2>&1 | grep -o 'permission denied for function refresh_keys')"

# A failing issuer: logged, counted, backed off; the keys stay.
echo 500 > "$STATE/mode"
sleep 5
verdict "$T4" >/dev/null || true
for _ in $(seq 1 50); do [[ "$(q -c "SELECT failures FROM rowguard.jwks_sources")" == "1" ]] && break; sleep 0.2; done
check "a failed refresh is counted" "1|HTTP status 500" \
  "$(q -c "SELECT failures, substring(last_error from 'HTTP status 500') FROM rowguard.jwks_sources")"
check "first backoff is 30 s" "30" \
  "$(q -c "SELECT round(extract(epoch FROM next_refresh - last_attempt)) FROM rowguard.jwks_sources")"
check_match "the failure is logged" 'keys of issuer "[^"]+" not refreshed: could not fetch' "$(grep -o 'keys of issuer "[^"]*" not refreshed: could not fetch' "$LOG" | tail -1)"
check "k3 still accepted during the outage" "carol" "$(verdict "$T3")"
# A set the sync refuses (a 1024-bit RSA key): the worker survives its failed
# transaction, logs it and keeps the keys.
echo badset > "$STATE/mode"
wpid=$(worker_pid)
sleep 5
verdict "$T4" >/dev/null || true
for _ in $(seq 1 50); do grep -q 'not refreshed: invalid JWK Set' "$LOG" && break; sleep 0.2; done
check_match "a refused set is logged" 'not refreshed: invalid JWK Set: JWK Set key at index 0: RSA modulus is 1024 bits' \
  "$(grep -o 'not refreshed: invalid JWK Set: .*' "$LOG" | tail -1)"
check "the worker survives a failed sync" "$wpid" "$(worker_pid)"
check "failures counted: 2" "2" "$(q -c "SELECT failures FROM rowguard.jwks_sources")"
check "keys unchanged after the refused set" "k3" "$(keys)"
rm -f "$STATE/mode"
if grep -q -E 'eyJ[A-Za-z0-9_-]{10,}\.' "$LOG"; then leaked=yes; else leaked=no; fi
check "no token in the server log" "no" "$leaked"

# Worker restart: terminate it; the launcher starts a new one.
old=$(worker_pid)
kill -TERM "$old"
new=""
for _ in $(seq 1 100); do
  new=$(worker_pid); [[ -n "$new" && "$new" != "$old" ]] && break; sleep 0.2
done
check_match "terminated worker comes back (old $old, new $new)" '^[0-9]+$' "$new"
[[ "$new" != "$old" ]] || { echo "FAIL worker pid unchanged"; failures=$((failures + 1)); }
# SIGHUP: dropping the database from the list stops its worker.
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM SET rowguard.refresh_databases = 'postgres'" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do [[ -z "$(worker_pid)" ]] && break; sleep 0.2; done
check "after reload without app, its worker is gone" "" "$(worker_pid)"
"$PGBIN/psql" -X -q -d postgres -c "ALTER SYSTEM RESET rowguard.refresh_databases" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 75); do [[ -n "$(worker_pid)" ]] && break; sleep 0.2; done
check_match "after reload with app again, a worker runs" '^[0-9]+$' "$(worker_pid)"

# A crash of the worker (SIGKILL): the postmaster reinitializes, the launcher and the
# worker come back.
old=$(worker_pid)
kill -KILL "$old"
new=""
for _ in $(seq 1 150); do
  new=$(worker_pid 2>/dev/null || true); [[ -n "$new" && "$new" != "$old" ]] && break; sleep 0.2
done
check_match "killed worker comes back after the crash restart (new $new)" '^[0-9]+$' "$new"
check "keys survive the crash" "k3" "$(keys)"

# A standby: nothing is fetched there (no launcher, no worker; refresh_keys refuses);
# keys arrive by replication.
SPORT=$(pick_port $((PORT + 1)))
start_standby "$PORT" "$SPORT"
sq() { "$PGBIN/psql" -X -q -At -h "$(cluster_dir "$SPORT")" -p "$SPORT" -d app "$@"; }
for _ in $(seq 1 50); do [[ "$(sq -c "SELECT string_agg(kid, ',') FROM rowguard.keys" 2>/dev/null)" == "k3" ]] && break; sleep 0.2; done
check "standby has the replicated keys" "k3" "$(sq -c "SELECT string_agg(kid, ',') FROM rowguard.keys")"
check "standby verifies with them" "carol" "$(sq -c "SELECT rowguard.verify('$T3') ->> 'sub'")"
sleep 2
spid=$(head -1 "$(cluster_data "$SPORT")/postmaster.pid")
check "no refresher processes on the standby" "0" "$(pgrep -c -P "$spid" -f 'rowguard key refresh' || true)"
check "refresh_keys on the standby: 25006" "25006" \
  "$(sq -c "DO \$\$ BEGIN PERFORM rowguard.refresh_keys(); EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/^NOTICE:  //p')"
stop_cluster "$SPORT"; SPORT=""

echo "jwks: $((checks - failures)) of $checks checks passed"
((failures == 0))
