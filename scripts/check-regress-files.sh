#!/usr/bin/env bash
# Every sql/*.sql is listed in REGRESS of Makefile.pgxs and has expected/<name>.out; every
# REGRESS entry has both files. Likewise for ISOLATION (specs/<name>.spec + expected/<name>.out).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# Ask make itself, so computed lists (wildcards, +=) are read as PGXS sees them.
make_var() {
  local tmp
  tmp=$(mktemp)
  printf 'rowguard-print-var:\n\t@echo $(%s)\n' "$1" > "$tmp"
  make --no-print-directory -s -f Makefile.pgxs -f "$tmp" rowguard-print-var
  rm -f "$tmp"
}

regress=$(make_var REGRESS)
isolation=$(make_var ISOLATION)
status=0
problem() { echo "check-regress-files: $*" >&2; status=1; }

declare -A listed=()
for t in $regress; do
  [[ -n "${listed[$t]:-}" ]] && problem "REGRESS lists '$t' twice"
  listed[$t]=1
  [[ -f "sql/$t.sql" ]] || problem "REGRESS lists '$t' but sql/$t.sql is missing"
  [[ -f "expected/$t.out" ]] || problem "REGRESS lists '$t' but expected/$t.out is missing"
done
shopt -s nullglob
for f in sql/*.sql; do
  t=$(basename "$f" .sql)
  [[ -n "${listed[$t]:-}" ]] || problem "$f is not listed in REGRESS of Makefile.pgxs"
  [[ -f "expected/$t.out" ]] || problem "$f has no expected/$t.out"
done

declare -A iso=()
for t in $isolation; do
  iso[$t]=1
  [[ -f "specs/$t.spec" ]] || problem "ISOLATION lists '$t' but specs/$t.spec is missing"
  [[ -f "expected/$t.out" ]] || problem "ISOLATION lists '$t' but expected/$t.out is missing"
done
for f in specs/*.spec; do
  t=$(basename "$f" .spec)
  [[ -n "${iso[$t]:-}" ]] || problem "$f is not listed in ISOLATION of Makefile.pgxs"
done

# An expected file that belongs to no suite is a leftover (alternatives name_N.out allowed).
for f in expected/*.out; do
  t=$(basename "$f" .out)
  base=${t%_[0-9]}
  [[ -n "${listed[$t]:-}${listed[$base]:-}${iso[$t]:-}${iso[$base]:-}" ]] ||
    problem "$f belongs to no REGRESS or ISOLATION entry"
done

n_regress=$(wc -w <<<"$regress")
n_iso=$(wc -w <<<"$isolation")
if ((status == 0)); then
  echo "check-regress-files: ok ($n_regress regress, $n_iso isolation)"
fi
exit $status
