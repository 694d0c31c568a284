#!/usr/bin/env bash
# The quickstart for an existing installation (docs/quickstart.md) works as written: its
# ```sql blocks, in order, against a fresh database of a server that has rowguard
# installed, show tenant 1's note only, and nothing without a token. And
# ROWGUARD_USE_EXISTING=1 scripts/demo.sh runs the demo against that server without
# running apt, cmake or make (stubs on PATH record any call), in a database of its own.
# Own cluster (pick_port), the installed rowguard. Environment: ROWGUARD_ROOT, PGBIN.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

PORT="" STATE=""
failures=0 checks=0
cleanup() {
  [[ -n "$PORT" ]] && stop_cluster "$PORT"
  [[ -n "$STATE" ]] && rm -rf "$STATE"
}
trap cleanup EXIT
check() {  # check NAME EXPECTED ACTUAL
  checks=$((checks + 1))
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}

STATE=$(mktemp -d /tmp/rowguard-quickstart-XXXXXX)
chmod 0755 "$STATE"
PORT=$(pick_port "${ROWGUARD_PORT_MIN:-54329}")
start_cluster "$PORT" >/dev/null
"$PGBIN/psql" -X -q -d postgres -c "CREATE DATABASE quickstart"

# --- the page's SQL, block by block ------------------------------------------------------
awk '/^```sql$/ { on = 1; next } /^```/ { on = 0 } on' docs/quickstart.md > "$STATE/quickstart.sql"
checks=$((checks + 1))
if [[ $(grep -c . "$STATE/quickstart.sql") -gt 10 ]]; then echo "ok   the page has its SQL blocks"; else echo "FAIL no SQL found in docs/quickstart.md"; failures=$((failures + 1)); fi
out=$("$PGBIN/psql" -X -At -v ON_ERROR_STOP=1 -d quickstart -f "$STATE/quickstart.sql" 2>&1) || {
  echo "$out"; echo "FAIL the quickstart's SQL failed"; failures=$((failures + 1)); }
check "authenticated as alice" "1" "$(grep -cx 'alice' <<< "$out")"
check "alice sees tenant 1's note" "1" "$(grep -cx 'a note of tenant 1' <<< "$out")"
check "alice does not see tenant 2's note" "0" "$(grep -cx 'a note of tenant 2' <<< "$out" || true)"
check "cleaned up" "f" "$("$PGBIN/psql" -X -At -d quickstart -c "SELECT to_regclass('public.qs_notes') IS NOT NULL")"

# --- demo.sh against the existing server -------------------------------------------------
mkdir "$STATE/stubs"
for tool in apt apt-get dpkg cmake make debootstrap; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/called"\nexit 1\n' "$tool" "$STATE" > "$STATE/stubs/$tool"
  chmod +x "$STATE/stubs/$tool"
done
demo=$(PATH="$STATE/stubs:$PATH" PGHOST="$(cluster_dir "$PORT")" PGPORT="$PORT" PGUSER=postgres \
       PGDATABASE=postgres PGBIN="$PGBIN" ROWGUARD_USE_EXISTING=1 bash scripts/demo.sh 2>&1) || {
  echo "$demo" | tail -20; echo "FAIL demo.sh failed"; failures=$((failures + 1)); }
check "ROWGUARD_USE_EXISTING=1 demo.sh ran the demo" "demo: done" "$(grep -x 'demo: done' <<< "$demo" || true)"
check "... and ran no apt, dpkg, cmake or make" "" "$(cat "$STATE/called" 2>/dev/null || true)"
check "... in a database of its own, dropped afterwards" "0" \
  "$("$PGBIN/psql" -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'rowguard_demo'")"
check "... leaving the user's database alone" "f" \
  "$("$PGBIN/psql" -X -At -d postgres -c "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'rowguard')")"

echo "quickstart: $((checks - failures)) of $checks checks passed"
((failures == 0))
