#!/usr/bin/env bash
# Layout: the rules docs/design.md states about the code, checked against the code.
#  - the plain C++ glue files (the bridge, the identity cache) cannot include a
#    PostgreSQL header: cpp_only.hpp fails the build either way round;
#  - "invalid token" is spelled once (token_error.hpp) and messages starting with the
#    "rowguard: " log prefix use ROWGUARD_LOG_PREFIX from there;
#  - docs/design.md names every file of src/pg, src/core and their headers, every C entry
#    point and every setting;
#  - no file outside docs/ refers to the design material outside the repository;
#  - rowguard.so exports the entry points of the current and the 0.1.0 SQL script and no
#    C++ symbol;
#  - rowguard.so does not link libcurl; rowguard_fetch.so does, and exports only the entry
#    point rowguard.so looks up and its magic block;
#  - authentication log lines quote hostile claims (one quoting rule, the core's).
# Runs in a few seconds against the cluster of scripts/test.sh (PGHOST, PGPORT, PGBIN).
#
# Environment: ROWGUARD_ROOT, PGBIN, PGHOST, PGPORT (scripts/test.sh exports them).
set -uo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh
PG_CONFIG=${PG_CONFIG:-$PGBIN/pg_config}
[[ -x "$PG_CONFIG" ]] || PG_CONFIG=pg_config

passed=0
failed=0
check() { # check DESCRIPTION STATUS [DETAIL]
  if [[ $2 == 0 ]]; then
    passed=$((passed + 1)); echo "ok    $1"
  else
    failed=$((failed + 1)); echo "FAIL  $1${3:+: $3}"
  fi
}

# --- the compile-time guard of plain C++ glue files ----------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
server_include=$("$PG_CONFIG" --includedir-server)
compile() { g++ -std=c++17 -fsyntax-only -Iinclude -Isrc/core -I"$server_include" "$1" 2>&1; }

printf '#include "postgres.h"\n#include "rowguard/pg/cpp_only.hpp"\n' >"$tmp/before.cpp"
out=$(compile "$tmp/before.cpp")
grep -q 'plain C++ glue file includes a PostgreSQL header' <<<"$out"
check "a PostgreSQL header before cpp_only.hpp fails the build" $?

printf '#include "rowguard/pg/cpp_only.hpp"\n#include "postgres.h"\n#include "fmgr.h"\nDatum f(PG_FUNCTION_ARGS) { return 0; }\n' >"$tmp/after.cpp"
compile "$tmp/after.cpp" >/dev/null
[[ $? != 0 ]]
check "a PostgreSQL header after cpp_only.hpp fails the build" $?

printf '#include <string>\n#include "rowguard/pg/core_bridge.hpp"\n#include "rowguard/pg/cpp_only.hpp"\n' >"$tmp/plain.cpp"
out=$(compile "$tmp/plain.cpp")
check "plain C++ with the bridge's header compiles under the guard" $? "$out"

for f in src/pg/core_bridge.cpp src/pg/identity_cache.cpp src/fetch/fetch_entry.cpp; do
  last=$(grep '^#include' "$f" | tail -n 1)
  [[ "$last" == '#include "rowguard/pg/cpp_only.hpp"' ]]
  check "$f includes cpp_only.hpp last" $? "$last"
done
# Glue files that hold C++ objects with destructors must be guarded: any src/pg file
# using std::string/list/unordered_map/unique_ptr includes cpp_only.hpp.
unguarded=$(grep -l 'std::\(string\|list\|unordered_map\|unique_ptr\|vector\)\b' src/pg/*.cpp |
  xargs grep -L 'rowguard/pg/cpp_only.hpp' || true)
[[ -z "$unguarded" ]]
check "every src/pg file holding C++ containers is guarded" $? "$unguarded"

# --- one spelling of the token error and the log prefix ------------------------------
code_lines() { grep -rn "$1" src/pg include/rowguard/pg | grep -v -E '^[^:]+:[0-9]+: *//' || true; }
hits=$(code_lines '"invalid token"' | grep -v 'token_error.hpp' || true)
[[ -z "$hits" ]]
check "\"invalid token\" is spelled only in token_error.hpp" $? "$hits"
hits=$(code_lines 'errmsg[a-z_]*("rowguard: ' || true)
[[ -z "$hits" ]]
check "messages use ROWGUARD_LOG_PREFIX, never a spelled-out \"rowguard: \"" $? "$hits"

# --- docs/design.md is complete -------------------------------------------------------
missing=""
for f in src/pg/*.cpp src/core/*.cpp src/core/*.hpp src/fetch/*.cpp src/fetch/*.c include/rowguard/pg/*.hpp \
         include/rowguard/core/*.hpp; do
  grep -q "\`$(basename "$f")\`" docs/design.md || missing+=" $f"
done
[[ -z "$missing" ]]
check "docs/design.md names every source file" $? "$missing"

missing=""
for symbol in $(grep -ho 'ROWGUARD_SQL_FUNCTION(rowguard_[a-z_0-9]*)' src/pg/*.cpp |
                sed 's/.*(\(.*\))/\1/' | sort -u); do
  grep -q "\`$symbol\`" docs/design.md || missing+=" $symbol"
done
[[ -z "$missing" ]]
check "docs/design.md names every C entry point" $? "$missing"

missing=""
for setting in $(grep -ho '"rowguard\.[a-z_]*"' src/pg/settings.cpp | tr -d '"' | sort -u); do
  grep -q "\`$setting\`" docs/design.md || missing+=" $setting"
done
[[ -z "$missing" ]]
check "docs/design.md names every setting" $? "$missing"

# The settings whose placeholders DefineSettings examines before defining them
# (kPrivilegedSettings in settings.cpp) are every setting it defines but the two any role
# may set (rowguard.token, rowguard.citus_router: a client's connection value for those
# is one it could SET anyway): a setting left out would let a client's connection value
# displace the server's unnoticed.
defined=$(grep -A1 'DefineCustom[A-Za-z]*Variable(' src/pg/settings.cpp | grep -o '"rowguard\.[a-z_]*"' |
  tr -d '"' | grep -vx -e 'rowguard.token' -e 'rowguard.citus_router' | sort -u)
user_settable=$(grep -A6 'DefineCustom[A-Za-z]*Variable(' src/pg/settings.cpp |
  grep -c 'PGC_USERSET')
[[ $user_settable == 2 ]] ||
  echo "note  $user_settable settings are PGC_USERSET; this check expects rowguard.token and rowguard.citus_router only"
[[ $user_settable == 2 ]] || defined="$defined (a PGC_USERSET setting was added: decide whether it belongs in kPrivilegedSettings)"
listed=$(sed -n '/kPrivilegedSettings\[\] = {/,/^};/p' src/pg/settings.cpp | grep -o '"rowguard\.[a-z_]*"' |
  tr -d '"' | sort -u)
[[ -n "$defined" && "$defined" == "$listed" ]]
check "kPrivilegedSettings lists every setting but rowguard.token and rowguard.citus_router" $? \
  "$(diff <(echo "$defined") <(echo "$listed") | grep '^[<>]' | tr '\n' ' ')"

# --- nothing outside docs/ points at material outside the repository -----------------
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  hits=$(git -C "$ROOT" grep -n -e 'DESIGN\.md' -e 'CONTRACT\.md' -e '\.\./shared' -- \
    ':!docs' ':!.ci' || true)
  [[ -z "$hits" ]]
  check "no file outside docs/ refers to design material outside the repository" $? "$hits"
else
  echo "skip  outside-references check: not a git checkout"
fi

# --- exported symbols -----------------------------------------------------------------
so="$("$PG_CONFIG" --pkglibdir)/rowguard.so"
if [[ -f "$so" ]]; then
  # Every defined dynamic symbol, whatever its type: the standard library's template
  # instantiations are weak (W) or unique (u) symbols, exported unless the version
  # script (src/pg/exported_symbols.map) makes them local.
  exported=$(nm -D --defined-only "$so" | awk '{print $NF}' | sort)
  unexpected=$(grep -v -E '^(_PG_init|Pg_magic_func|pg_finfo_rowguard_[a-z_0-9]+|rowguard_[a-z_0-9]+)$' \
    <<<"$exported" || true)
  [[ -z "$unexpected" ]]
  check "rowguard.so exports only entry points (no C++ symbol, weak ones included)" $? \
    "$(head -c 300 <<<"$unexpected")"
  missing=""
  for sql in src/sql/rowguard--*.sql src/sql/update/*/*.sql; do
    for symbol in $(grep -o "'MODULE_PATHNAME', *'[a-z_0-9]*'" "$sql" | sed "s/.*, *'\(.*\)'/\1/"); do
      grep -qx "$symbol" <<<"$exported" && grep -qx "pg_finfo_$symbol" <<<"$exported" ||
        missing+=" $symbol"
    done
  done
  [[ -z "$missing" ]]
  check "every symbol a SQL script names (0.1.0 and now) is exported" $? "$missing"
else
  check "rowguard.so is installed" 1 "$so"
fi

# --- libcurl only in rowguard_fetch.so (docs/design.md, "The fetch module") -----------
fetch_so="$("$PG_CONFIG" --pkglibdir)/rowguard_fetch.so"
if [[ -f "$so" && -f "$fetch_so" ]]; then
  linked=$(ldd "$so" | grep -i curl || true)
  [[ -z "$linked" ]]
  check "rowguard.so does not link libcurl" $? "$linked"
  # Not `ldd | grep -q`: under pipefail, grep -q exits at the first match and ldd's
  # SIGPIPE would fail the pipeline now and then.
  fetch_libs=$(ldd "$fetch_so")
  grep -q 'libcurl' <<<"$fetch_libs"
  check "rowguard_fetch.so links libcurl" $?
  exported=$(nm -D --defined-only "$fetch_so" | awk '{print $NF}' | sort | tr '\n' ' ')
  [[ "$exported" == "Pg_magic_func rowguard_fetch_https_get_v1 " ]]
  check "rowguard_fetch.so exports its entry point and magic block only" $? "$exported"
  entry=$(grep -o 'kFetchEntryName\[\] = "[a-z_0-9]*"' include/rowguard/pg/fetch_module.hpp |
    sed 's/.*"\(.*\)"/\1/')
  grep -q " $entry " <<<" $exported"
  check "the entry point rowguard.so looks up is the one exported" $? "$entry"
else
  check "rowguard_fetch.so is installed" 1 "$fetch_so"
fi

# --- authentication log lines quote hostile claims ------------------------------------
log=$(cluster_log "$PGPORT")
if [[ -f "$log" ]]; then
  db=rowguard_layout_$$
  "$PGBIN/psql" -X -q -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
  before=$(wc -c <"$log")
  out=$("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$db" 2>&1 <<'SQL'
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"layout\"key","k":"bGF5b3V0LWxheW91dC1sYXlvdXQtbGF5b3V0LWxheW91dC0xMjM0NQ"}',
                        NULL, 'HS256') IS NOT NULL;
SET rowguard.log_authentications = 'all';
SELECT rowguard.sign(jsonb_build_object('sub', E'mallory\nLOG:  forged "line"', 'exp', 4102444800,
                                        'iss', repeat('i', 100)), 'layout"key') AS token \gset
SELECT rowguard.authenticate(:'token') ->> 'exp';
SQL
  )
  status=$?
  check "a token with a hostile sub authenticates" $status "$out"
  sleep 0.3
  written=$(tail -c +"$((before + 1))" "$log")
  grep -qF 'kid="layout\x22key"' <<<"$written" &&
    grep -qF 'sub="mallory\x0aLOG:  forged \x22line\x22"' <<<"$written" &&
    grep -qF "iss=\"$(printf 'i%.0s' {1..64})\"..." <<<"$written"
  check "log line quotes kid, sub and iss by the core's rule" $? \
    "$(grep -F 'rowguard: token' -A1 <<<"$written" | head -4)"
  ! grep -q '^LOG:  forged' <<<"$written"
  check "a claim cannot forge a log line" $?
  "$PGBIN/psql" -X -q -U postgres -d postgres -c "DROP DATABASE $db" >/dev/null
else
  echo "skip  log-line check: no server log at $log"
fi

echo "layout: $passed passed, $failed failed"
if ((failed == 0)); then
  echo "layout: PASS"
else
  echo "layout: FAIL"
fi
((failed == 0))
