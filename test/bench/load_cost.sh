#!/usr/bin/env bash
# What loading rowguard.so costs a backend that did not preload it (issue 26), counted in
# instructions, not timed: the machine's speed drifts, an instruction count does not.
#
#   test/bench/load_cost.sh                  the installed rowguard.so
#   test/bench/load_cost.sh A.so B.so ...    each build in turn (installed into
#                                            `pg_config --pkglibdir`, the one installed
#                                            before is put back at the end)
#   LOAD_COST_SETTINGS_IN_CONF=1 test/bench/load_cost.sh ...
#       the same with every rowguard.* setting but rowguard.token written into
#       postgresql.conf at its default value: the server then holds a placeholder for
#       each before the library loads, and PostgreSQL 15 defines a setting that has a
#       placeholder without re-sorting its whole settings array (docs/performance.md,
#       "Loading rowguard.so")
#
# Manual (not in scripts/test.sh): needs valgrind, and a private PostgreSQL first in PATH
# (PG_CONFIG / pg_config), with rowguard installed. Runs as root (the server runs as the
# `postgres` system user) or as the user who owns the PostgreSQL copy.
#
# For each library:
#  - the file: size, its loaded segments (`size`), libraries it needs, dynamic symbols it
#    exports (and how many of them are C++) and imports, relocations by type;
#  - the dynamic loader's own count (LD_DEBUG=statistics): symbol relocations done by the
#    dlopen (rowguard.so and what it pulls in), i.e. the final count minus the count at
#    process start;
#  - instructions (valgrind --tool=callgrind) of a single-user backend
#    (`postgres --single`, the same InitPostgres, dlopen and _PG_init as a forked
#    backend, with no postmaster to trace) running `SELECT 1` and running
#    `SELECT rowguard.is_authenticated()` (loads the library, calls one function, no
#    token): the whole difference, and inclusively PostgreSQL's load_external_function
#    (dlopen + magic block + _PG_init), dlopen, the relocations it does, _PG_init and the
#    settings it defines (DefineCustom*Variable); and running
#    `SELECT rowguard.verify('<ES256 token>')` with the fixture key stored: everything a
#    new backend that was not preloaded pays for its first token.
# With LOAD_COST_SETTINGS_IN_CONF=1 the single-user backend itself reads postgresql.conf
# and creates the placeholders (both runs pay that, so `SELECT 1` costs more); in a
# server the postmaster creates them once and every backend inherits them.
# A single-user backend ends with a shutdown checkpoint whose buffer count varies between
# runs by a few thousand instructions per buffer; the load figures below do not include it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
PG_CONFIG=${PG_CONFIG:-pg_config}
BIN=$("$PG_CONFIG" --bindir)
LIB=$("$PG_CONFIG" --pkglibdir)
for tool in valgrind callgrind_annotate readelf nm size; do
  command -v "$tool" >/dev/null || { echo "load_cost.sh: $tool is missing" >&2; exit 2; }
done
[[ -f "$LIB/rowguard.so" ]] || { echo "load_cost.sh: rowguard is not installed in $LIB" >&2; exit 2; }

WORK=$(mktemp -d /tmp/rowguard-load-cost-XXXXXX)
chmod 755 "$WORK"
SAVED="$WORK/installed.so"
cp "$LIB/rowguard.so" "$SAVED"
cleanup() {
  install -m 755 "$SAVED" "$LIB/rowguard.so.load-cost" && mv -f "$LIB/rowguard.so.load-cost" "$LIB/rowguard.so"
  if [[ ${LOAD_COST_KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

as_server() { # the server's user: postgres when run as root
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[[ $(id -u) == 0 ]] && chown postgres "$WORK"
as_server "$BIN/initdb" --no-sync -A trust -U postgres -D "$WORK/data" >/dev/null
single() { # single-user backend reading SQL from stdin, one statement a line; extra args before it
  as_server "$@" "$BIN/postgres" --single -D "$WORK/data" -c fsync=off postgres
}
# The ES256 fixture key, stored; its token is verified as the first statement of the
# third run (the whole cold path of a new backend that was not preloaded).
JWK=$(sed -n "s/^\\\\set jwk_es256_pub '\(.*\)'\$/\1/p" test/fixtures/keys.psql)
TOKEN=$(sed -n "s/^\\\\set valid_es256 '\(.*\)'\$/\1/p" test/fixtures/tokens.psql)
[[ -n "$JWK" && -n "$TOKEN" ]] || { echo "load_cost.sh: no ES256 fixture" >&2; exit 2; }
printf '%s\n' 'CREATE EXTENSION rowguard;' "SELECT rowguard.add_key('$JWK');" | single env >/dev/null 2>&1
if [[ ${LOAD_COST_SETTINGS_IN_CONF:-0} == 1 ]]; then
  printf '%s\n' 'SELECT rowguard.is_authenticated();' \
    "SELECT name || ' = ' || quote_literal(reset_val) AS line FROM pg_settings WHERE name LIKE 'rowguard.%' AND name <> 'rowguard.token' ORDER BY name;" |
    single env 2>/dev/null | sed -n 's/^[[:space:]]*1: line = "\(.*\)"[[:space:]]*(typeid.*/\1/p' \
    >"$WORK/settings.conf"
  [[ -s "$WORK/settings.conf" ]] || { echo "load_cost.sh: could not list the settings" >&2; exit 1; }
  echo "postgresql.conf: $(wc -l <"$WORK/settings.conf") rowguard settings at their defaults"
  as_server tee -a "$WORK/data/postgresql.conf" <"$WORK/settings.conf" >/dev/null
fi

BASE_SQL='SELECT 1;'
LOAD_SQL='SELECT rowguard.is_authenticated();'
TOKEN_SQL="SELECT rowguard.verify('$TOKEN') ->> 'sub';"

# Inclusive instructions of a function (first match) in callgrind_annotate's listing of
# functions (not its annotated source, whose call lines start with "=>").
inclusive() { # FILE REGEX
  awk -v re="$2" '$0 !~ /=>/ && $0 ~ re { gsub(",", "", $1); print $1; found = 1; exit }
    END { if (!found) print 0 }' "$1"
}
# The sum over every function matching REGEX (several functions of one family).
inclusive_sum() { # FILE REGEX
  awk -v re="$2" '$0 !~ /=>/ && $0 ~ re { gsub(",", "", $1); s += $1 } END { print s + 0 }' "$1"
}
# A callee's cost under one caller in the --tree=calling listing.
callee() { # FILE CALLER_REGEX CALLEE_REGEX
  awk -v caller="$2" -v re="$3" '
    /^ *[0-9,]+ .* \*  / { in_caller = ($0 ~ caller) }
    in_caller && /^ *[0-9,]+ .* >   / && $0 ~ re { gsub(",", "", $1); s += $1 }
    END { print s + 0 }' "$1"
}
fmt() { sed -e :a -e 's/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

measure() { # LABEL
  local so="$LIB/rowguard.so" label=$1
  echo "== $label"
  echo "file: $(stat -c %s "$so") bytes; loaded segments (size): $(size "$so" | awk 'NR == 2 { printf "text %s, data %s, bss %s", $1, $2, $3 }')"
  echo "needs: $(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  local exported cxx imported
  exported=$(nm -D --defined-only "$so" | wc -l)
  cxx=$(nm -D --defined-only "$so" | awk '$3 ~ /^_Z/' | wc -l)
  imported=$(nm -D --undefined-only "$so" | wc -l)
  echo "dynamic symbols: $exported exported ($cxx of them C++), $imported imported"
  echo "relocations: $(readelf -r "$so" | awk '/R_X86_64_/ { n[$3]++; t++ } END { for (k in n) printf "%s %d, ", k, n[k]; printf "total %d", t }')"

  local stats start final start_cache final_cache
  stats=$(echo "$LOAD_SQL" | single env LD_DEBUG=statistics 2>&1)
  start=$(sed -n 's/.* number of relocations: \([0-9]*\)$/\1/p' <<<"$stats" | grep -v '^$' | head -n1)
  start_cache=$(sed -n 's/.* number of relocations from cache: \([0-9]*\)$/\1/p' <<<"$stats" | head -n1)
  final=$(sed -n 's/.*final number of relocations: \([0-9]*\)$/\1/p' <<<"$stats")
  final_cache=$(sed -n 's/.*final number of relocations from cache: \([0-9]*\)$/\1/p' <<<"$stats")
  echo "dynamic loader (LD_DEBUG=statistics): the dlopen did $((final - start)) symbol relocations ($((final_cache - start_cache)) from cache)"

  local q out
  for q in base load token; do
    out="$WORK/callgrind.$q"
    local sql=$BASE_SQL
    [[ $q == load ]] && sql=$LOAD_SQL
    [[ $q == token ]] && sql=$TOKEN_SQL
    echo "$sql" | single valgrind --tool=callgrind --callgrind-out-file="$out" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes --threshold=100 "$out" >"$out.flat" 2>/dev/null
    callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$out" >"$out.tree" 2>/dev/null
  done
  local base load lef dlopen reloc pginit settings
  base=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }' "$WORK/callgrind.base.flat")
  load=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }' "$WORK/callgrind.load.flat")
  # The shutdown checkpoint of each run (varies with the buffers it writes).
  local ckpt_base ckpt_load
  ckpt_base=$(inclusive "$WORK/callgrind.base.flat" ':CreateCheckPoint ')
  ckpt_load=$(inclusive "$WORK/callgrind.load.flat" ':CreateCheckPoint ')
  lef=$(inclusive "$WORK/callgrind.load.flat" ':load_external_function ')
  dlopen=$(inclusive "$WORK/callgrind.load.flat" ':dlopen(@@GLIBC[_0-9.]*)? ')
  reloc=$(callee "$WORK/callgrind.load.tree" 'dl_open_worker_begin ' '_dl_relocate_object')
  pginit=$(inclusive "$WORK/callgrind.load.flat" ':_PG_init ')
  settings=$(inclusive_sum "$WORK/callgrind.load.flat" ':(DefineCustom[A-Za-z]*Variable|MarkGUCPrefixReserved) ')
  echo "instructions (callgrind, postgres --single):"
  echo "  SELECT 1:                               $(fmt "$base") (shutdown checkpoint $(fmt "$ckpt_base"))"
  echo "  SELECT rowguard.is_authenticated():     $(fmt "$load") (shutdown checkpoint $(fmt "$ckpt_load"))"
  echo "  difference, checkpoints excluded:       $(fmt $(((load - ckpt_load) - (base - ckpt_base))))"
  echo "  load_external_function (load + _PG_init): $(fmt "$lef")"
  echo "    dlopen:                               $(fmt "$dlopen") (of which relocation $(fmt "$reloc"))"
  echo "    _PG_init:                             $(fmt "$pginit") (of which the settings $(fmt "$settings"))"
  echo "    rest (magic block, dlsym):            $(fmt $((lef - dlopen - pginit)))"
  local token ckpt_token verify
  token=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }' "$WORK/callgrind.token.flat")
  ckpt_token=$(inclusive "$WORK/callgrind.token.flat" ':CreateCheckPoint ')
  verify=$(inclusive "$WORK/callgrind.token.flat" ':rowguard_verify ')
  echo "  first statement verifying an ES256 token (a literal), over SELECT 1:"
  echo "                                          $(fmt $(((token - ckpt_token) - (base - ckpt_base)))) (rowguard_verify $(fmt "$verify"))"
}

if (($# == 0)); then
  measure "installed: $LIB/rowguard.so"
else
  for so in "$@"; do
    install -m 755 "$so" "$LIB/rowguard.so.load-cost" && mv -f "$LIB/rowguard.so.load-cost" "$LIB/rowguard.so"
    measure "$so"
  done
fi
