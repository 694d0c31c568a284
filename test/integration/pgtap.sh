#!/usr/bin/env bash
# pgTAP and the isolation prover, where users run their tests (docs/testing-policies.md):
# - pg_prove runs the example suite test/pgtap/*.sql, written the basejump
#   supabase_test_helpers way and ported as the docs say, against rowguard: the RLS
#   tests as a role that was only granted test_authenticate/test_reset, the prover file
#   as a superuser;
# - a suite that must fail does fail (a policy removed: pg_prove exits non-zero);
# - rowguard.prove_isolation reports nothing on the demo schema (test/demo/demo.sql)
#   and on the docs/migrating.md schemas (test/prover/migrating.sql), finds each leak
#   seeded in test/prover/leaks.sql (one of them visible only under a parallel plan)
#   with a statement that reproduces it, and reports
#   nothing once those leaks are fixed.
# Needs pgTAP (postgresql-15-pgtap) and pg_prove (libtap-parser-sourcehandler-pgtap-perl).
# Runs against the cluster in PGHOST/PGPORT, in databases of its own, dropped at the end.
# Prints one line per check and "pgtap: N passed, M failed".
set -uo pipefail

ROOT=${ROWGUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$ROOT"
[[ -n "${PGBIN:-}" ]] && export PATH="$PGBIN:$PATH"
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres)
DB=rg_pgtap
passed=0
failed=0

cleanup() {
  "${PSQL[@]}" -d postgres >/dev/null 2>&1 <<SQL
DROP DATABASE IF EXISTS $DB;
DROP DATABASE IF EXISTS ${DB}_demo;
DROP DATABASE IF EXISTS ${DB}_migrating;
DROP DATABASE IF EXISTS ${DB}_leaks;
DROP ROLE IF EXISTS pgtap_app, pgtap_owner, pgtap_tester, mig_app, mig_owner, leak_app, leak_owner;
SQL
}
trap cleanup EXIT

check() { # check NAME EXPECTED ACTUAL
  if [[ "$3" == "$2" ]]; then
    passed=$((passed + 1)); echo "PASS  $1"
  else
    failed=$((failed + 1)); echo "FAIL  $1"; echo "      expected: $2"; echo "      actual:   $3"
  fi
}
finish() { echo "pgtap: $passed passed, $failed failed"; [[ $failed -eq 0 ]]; exit $?; }

if ! command -v pg_prove >/dev/null; then
  check "pg_prove is installed (libtap-parser-sourcehandler-pgtap-perl)" yes no; finish
fi
check "pgTAP is available to this server (postgresql-N-pgtap)" t \
  "$("${PSQL[@]}" -d postgres -c "SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'pgtap'")"
[[ $failed -eq 0 ]] || finish

cleanup
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB" -c "CREATE DATABASE ${DB}_demo" \
  -c "CREATE DATABASE ${DB}_migrating" -c "CREATE DATABASE ${DB}_leaks" >/dev/null || finish

# --- the example suite under pg_prove -----------------------------------------------------
"${PSQL[@]}" -d $DB -f test/pgtap/setup/schema.sql >/dev/null || { check "example schema loads" ok failed; finish; }
out=$(pg_prove -U pgtap_tester -d $DB test/pgtap/01_notes_rls.sql test/pgtap/02_identity_scope.sql 2>&1)
check "pg_prove: the ported basejump-style suite passes as a granted tester" 0 "$?"
grep -q "^Result: PASS" <<<"$out" || echo "$out" | sed 's/^/      /'
out=$(pg_prove -U postgres -d $DB test/pgtap/03_isolation.sql 2>&1)
check "pg_prove: the prover finds nothing in the example schema" 0 "$?"
grep -q "^Result: PASS" <<<"$out" || echo "$out" | sed 's/^/      /'
# The same suite fails when the protection is gone: it tests something.
"${PSQL[@]}" -d $DB -c "ALTER TABLE app.notes NO FORCE ROW LEVEL SECURITY" \
  -c "DROP POLICY rowguard_tenant ON app.notes" >/dev/null
pg_prove -U pgtap_tester -d $DB test/pgtap/01_notes_rls.sql >/dev/null 2>&1
check "pg_prove: the suite fails once the tenant policy is dropped" 1 "$?"
pg_prove -U postgres -d $DB test/pgtap/03_isolation.sql >/dev/null 2>&1
check "pg_prove: the prover test fails once the tenant policy is dropped" 1 "$?"

# --- what the application role can never do ----------------------------------------------
state=$("${PSQL[@]}" -d $DB -v VERBOSITY=sqlstate -c "SET ROLE pgtap_app" \
  -c "SELECT rowguard.test_authenticate('{\"sub\":\"mallory\"}')" 2>&1 | sed -n 's/^.*ERROR:  \([0-9A-Z]\{5\}\).*$/\1/p')
check "the application role cannot make a test identity" 42501 "$state"

# --- the prover on correct schemas --------------------------------------------------------
psql -X -q -U postgres -d ${DB}_demo -f test/demo/demo.sql >/dev/null 2>&1
check "the demo schema loads" 1 "$("${PSQL[@]}" -d ${DB}_demo -c "SELECT count(*) FROM pg_policy WHERE polname = 'rowguard_tenant'")"
check "prove_isolation: nothing on the demo schema" 0 \
  "$("${PSQL[@]}" -d ${DB}_demo -c "SELECT count(*) FROM rowguard.prove_isolation(ARRAY['public'], 'demo_app')")"
"${PSQL[@]}" -d ${DB}_demo -c "DROP EXTENSION rowguard CASCADE" -c "DROP TABLE public.demo_orders" \
  -c "DROP ROLE demo_app" -c "DROP ROLE demo_owner" >/dev/null 2>&1

"${PSQL[@]}" -d ${DB}_migrating -c "CREATE EXTENSION rowguard" -f test/prover/migrating.sql >/dev/null
check "prove_isolation: nothing on the migrating.md schemas" 0 \
  "$("${PSQL[@]}" -d ${DB}_migrating -c "SELECT count(*) FROM rowguard.prove_isolation(ARRAY['app', 'api', 'supa'], 'mig_app', boundaries => '{\"supa.profiles\": {\"id\": \"sub\"}}')")"
check "prove_isolation: it tested every migrated table" "api.todos,app.orders,supa.profiles" \
  "$("${PSQL[@]}" -d ${DB}_migrating -c "SELECT string_agg(DISTINCT rel::text, ',' ORDER BY rel::text) FROM rowguard._prove_boundaries(ARRAY['app', 'api', 'supa'], '{\"supa.profiles\": {\"id\": \"sub\"}}')")"

# --- the prover on seeded leaks -----------------------------------------------------------
"${PSQL[@]}" -d ${DB}_leaks -c "CREATE EXTENSION rowguard" -f test/prover/leaks.sql >/dev/null
"${PSQL[@]}" -d ${DB}_leaks -c "CREATE TABLE public.found AS SELECT * FROM rowguard.prove_isolation(ARRAY['leaks'], 'leak_app')" >/dev/null
found() { "${PSQL[@]}" -d ${DB}_leaks -c "SELECT count(*) > 0 FROM public.found WHERE $1 AND statement IS NOT NULL"; }
check "leak found: a permissive policy OR true (reads)" t "$(found "object = 'leaks.or_true' AND command = 'SELECT'")"
check "leak found: a permissive policy OR true (writes)" t "$(found "object = 'leaks.or_true' AND command IN ('INSERT', 'UPDATE', 'DELETE')")"
check "leak found: a view without security_invoker" t "$(found "object = 'view leaks.order_totals'")"
check "leak found: a SECURITY DEFINER function" t "$(found "object = 'function leaks.all_orders()'")"
check "leak found: a trigger that copies across tenants" t "$(found "object = 'leaks.posts' AND detail LIKE '%leaks.feed%'")"
check "leak found: a rule that copies across tenants" t "$(found "object = 'leaks.messages' AND detail LIKE '%leaks.feed%'")"
check "leak found: a policy function that lets rows through in parallel workers" "parallel plan" \
  "$("${PSQL[@]}" -d ${DB}_leaks -c "SELECT string_agg(DISTINCT substring(detail from '\((.*)\)'), ',') FROM public.found WHERE object = 'leaks.reports' AND statement IS NOT NULL")"
check "no leak reported on the correctly protected tables themselves" 0 \
  "$("${PSQL[@]}" -d ${DB}_leaks -c "SELECT count(*) FROM public.found WHERE object IN ('leaks.orders', 'leaks.feed')")"
# Each reported statement reproduces its leak: a read returns rows of the other tenant, a
# write across the boundary returns the rows it touched (RETURNING), a write through a
# trigger or a rule changes the feed (counted as a superuser before and after).
while IFS='|' read -r object command statement; do
  out=$(psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d ${DB}_leaks -c "$statement" 2>&1)
  rc=$?
  rows=$(grep -cv '^{' <<<"$out")
  check "reproduces: $object $command" "0 yes" "$rc $([[ $rows -gt 0 ]] && echo yes || echo no)"
done < <("${PSQL[@]}" -d ${DB}_leaks -c "
  SELECT DISTINCT ON (object, command) object, command,
         CASE WHEN command = 'SELECT' THEN statement
              WHEN detail LIKE '%a trigger or a rule%' THEN
                  replace(replace(statement, 'BEGIN; ',
                                  'BEGIN; CREATE TEMP TABLE rg_before AS SELECT count(*) AS n FROM leaks.feed; '),
                          '; ROLLBACK;',
                          '; RESET ROLE; SELECT ''changed'' FROM rg_before WHERE n <> (SELECT count(*) FROM leaks.feed); ROLLBACK;')
              ELSE replace(statement, '; ROLLBACK;', ' RETURNING 1; ROLLBACK;') END
    FROM public.found ORDER BY object, command, statement")
# Fixed, the same schema is silent.
"${PSQL[@]}" -d ${DB}_leaks >/dev/null <<'SQL'
DROP POLICY wide ON leaks.or_true;
SELECT rowguard.tenant_policy('leaks.or_true');
ALTER VIEW leaks.order_totals SET (security_invoker = true);
REVOKE EXECUTE ON FUNCTION leaks.all_orders() FROM PUBLIC;
DROP TRIGGER copy_to_feed ON leaks.posts;
DROP RULE archive ON leaks.messages;
DROP POLICY by_tenant ON leaks.reports;
SELECT rowguard.tenant_policy('leaks.reports');
SQL
check "prove_isolation: nothing once the seeded leaks are fixed" 0 \
  "$("${PSQL[@]}" -d ${DB}_leaks -c "SELECT count(*) FROM rowguard.prove_isolation(ARRAY['leaks'], 'leak_app')")"

finish
