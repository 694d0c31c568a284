#!/usr/bin/env bash
# The documentation describes the extension as it is:
#   1. no page holds a statement that an earlier version made true and a later one made
#      false (the list below: each entry is a phrase and the version that ended it);
#   2. every function in a table row of docs/functions.md (| `name(args)` | ...) exists
#      in the extension with that signature, and every function of the extension whose
#      name does not begin with an underscore (trigger functions aside) has such a row;
#   3. every rowguard.* setting is in the summary table of docs/settings.md, and every
#      setting there exists;
#   and only the three functions that took one in 0.2.0 have an argument named iss
#   (the concept is "issuer": docs/functions.md, "Names").
# Own cluster (pick_port), the installed rowguard. Environment: ROWGUARD_ROOT, PGBIN.
set -euo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
# shellcheck source=scripts/pg-cluster.sh
source scripts/pg-cluster.sh

PORT=""
failures=0 checks=0
cleanup() { [[ -n "$PORT" ]] && stop_cluster "$PORT"; }
trap cleanup EXIT
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# --- 1. stale statements ---------------------------------------------------------------
# phrase (extended regex, case-insensitive) @@ what made it false
STALE=(
  "only way to end every identity @@ 0.2.0 added revoke_token and revoke_subject"
  "jti. is not tracked @@ 0.2.0 looks jti up for revocation"
  "only[[:space:]]+expiry and the removal @@ 0.2.0: revocation and role withdrawal end identities too"
  "revocation is (not possible|impossible) @@ 0.2.0 added revocation"
  "tokens cannot be revoked @@ 0.2.0 added revocation"
  "the token that woke the worker is still refused @@ 0.3.0: the call waits for the refresher (rowguard.unknown_key_wait)"
  "counts as issued[[:space:]]+before it @@ 0.3.0: a token of the cut-off's second passes (revoke_subject)"
)
for entry in "${STALE[@]}"; do
  phrase=${entry%% @@ *} why=${entry#* @@ }
  phrase=${phrase// /[[:space:]]+}  # a space in a phrase matches any run of white space
  checks=$((checks + 1))
  # Paragraphs are wrapped: join each file's lines before matching.
  hits=""
  for f in README.md docs/*.md; do
    if grep -qiE "$phrase" <<<"$(tr '\n' ' ' < "$f")"; then hits+=" $f"; fi
  done
  if [[ -n "$hits" ]]; then fail "stale statement /$phrase/ ($why) in:$hits"; else echo "ok   no page says /$phrase/"; fi
done

# --- a cluster with the extension --------------------------------------------------------
PORT=$(pick_port "${ROWGUARD_PORT_MIN:-54329}")
start_cluster "$PORT" >/dev/null
q() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d postgres "$@"; }
q -c "CREATE EXTENSION rowguard"

# --- 2. functions ------------------------------------------------------------------------
# The table rows: | `name(arg type [DEFAULT ...], ...)` | ... -> name(type,type,...)
doc_signatures=$(/usr/bin/python3 - docs/functions.md <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for line in text.splitlines():
    m = re.match(r"\| `([a-z_]+)\((.*?)\)`", line)
    if not m:
        continue
    name, args = m.group(1), m.group(2)
    types = []
    depth, cur = 0, ""
    parts = []
    for ch in args:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur); cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    for p in parts:
        p = re.split(r"\s+DEFAULT\s+", p.strip(), flags=re.I)[0]
        words = p.split()
        types.append(" ".join(words[1:]) if len(words) > 1 else words[0])
    print("rowguard.%s(%s)" % (name, ",".join(types)))
PY
)
checks=$((checks + 1))
[[ -n "$doc_signatures" ]] || fail "no function found in the tables of docs/functions.md"
missing=""
while read -r sig; do
  [[ -z "$sig" ]] && continue
  checks=$((checks + 1))
  if [[ "$(q -c "SELECT to_regprocedure('$sig') IS NOT NULL")" == t ]]; then
    echo "ok   documented and present: $sig"
  else
    fail "docs/functions.md lists $sig, which the extension does not have"
  fi
done <<< "$doc_signatures"
# Every public function of the extension is documented (by its canonical signature).
documented=$(while read -r sig; do [[ -n "$sig" ]] && q -c "SELECT to_regprocedure('$sig')::oid" 2>/dev/null; done <<< "$doc_signatures" | sort -u | paste -sd, -)
undocumented=$(q -c "
  SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid::regprocedure::text)
    FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
         AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
         JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'rowguard'
   WHERE p.proname NOT LIKE '\_%'
     AND p.prorettype <> 'trigger'::regtype
     AND p.oid <> ALL ('{${documented}}'::oid[])")
checks=$((checks + 1))
if [[ -n "$undocumented" ]]; then fail "no row in the tables of docs/functions.md: $undocumented"; else echo "ok   every public function is in docs/functions.md"; fi

# --- names: no new argument named iss (docs/functions.md, "Names") -----------------------
iss_args=$(q -c "
  SELECT string_agg(p.proname, ',' ORDER BY p.proname)
    FROM pg_proc p
   WHERE p.pronamespace = 'rowguard'::regnamespace AND 'iss' = ANY (p.proargnames)
     AND p.proname NOT LIKE '\_%'")
check_names="refresh_keys,remove_issuer,set_issuer"
checks=$((checks + 1))
if [[ "$iss_args" == "$check_names" ]]; then echo "ok   only the three deprecated functions take an argument named iss"; else fail "functions with an argument named iss: $iss_args (only $check_names may: say issuer)"; fi

# --- 3. settings -------------------------------------------------------------------------
q -c "SELECT rowguard.sub()" >/dev/null  # loads the module: its settings exist
# A setting marked "(preloaded only)" exists only where rowguard is in
# shared_preload_libraries (PostgreSQL refuses to define a postmaster setting later): it is
# compared only when this server preloads rowguard.
preloaded=$(q -c "SELECT current_setting('shared_preload_libraries') ~ '(^|[, ])rowguard($|[, ])'" | tail -n 1)
doc_rows=$(sed -n '/^## Summary/,/^## /p' docs/settings.md | grep -E '^\| `rowguard\.[a-z_]+`')
[[ "$preloaded" == t ]] || doc_rows=$(grep -v '(preloaded only)' <<<"$doc_rows" || true)
doc_settings=$(grep -oE '^\| `rowguard\.[a-z_]+`' <<<"$doc_rows" | grep -oE 'rowguard\.[a-z_]+' | sort -u)
real_settings=$(q -c "SELECT rowguard.sub()" -c "SELECT name FROM pg_settings WHERE name LIKE 'rowguard.%' ORDER BY name" | grep -E '^rowguard\.' | sort -u)
checks=$((checks + 1))
if [[ "$doc_settings" == "$real_settings" ]]; then
  echo "ok   docs/settings.md lists exactly the rowguard settings"
else
  fail "settings: documented vs real differ: $(diff <(echo "$doc_settings") <(echo "$real_settings") | grep -E '^[<>]' | paste -sd' ' -)"
fi

echo "docs: $((checks - failures)) of $checks checks passed"
((failures == 0))
