-- authenticate() under citus.propagate_set_commands = 'local' (docs/scaling.md): it then
-- also runs SET LOCAL rowguard.token through SPI so Citus forwards it to its workers.
-- Without Citus the setting is a placeholder; the identity must behave exactly as
-- without it. scripts/citus-check.sh tests the forwarding itself on a Citus cluster.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
SET ROLE rowguard_app;
SET citus.propagate_set_commands = 'local';

-- Transaction-local: ends at COMMIT and ROLLBACK.
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS authenticated;
SELECT rowguard.sub() AS in_block;
COMMIT;
SELECT rowguard.sub() AS after_commit;
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS authenticated;
ROLLBACK;
SELECT rowguard.sub() AS after_rollback;

-- Session identity: survives its block (the extra SET LOCAL only covers the block) and
-- the next transactions; a rollback of the block that set it restores the previous one.
BEGIN;
SELECT rowguard.authenticate(:'bob_es256', false) ->> 'sub' AS authenticated;
COMMIT;
SELECT rowguard.sub() AS after_commit;
BEGIN; SELECT rowguard.sub() AS next_transaction; COMMIT;
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256', false) ->> 'sub' AS authenticated;
ROLLBACK;
SELECT rowguard.sub() AS after_rollback;
SELECT rowguard.authenticate(:'alice_hs256', false) ->> 'sub' AS outside_a_block;
SELECT rowguard.sub() AS next_statement;
RESET rowguard.token;

-- Switching inside a block, and a savepoint rolled back.
BEGIN;
SET LOCAL rowguard.token = :'alice_hs256';
SELECT rowguard.authenticate(:'bob_es256') ->> 'sub' AS switched;
SAVEPOINT s;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS switched_again;
ROLLBACK TO SAVEPOINT s;
SELECT rowguard.sub() AS after_rollback_to_savepoint;
COMMIT;
SELECT rowguard.sub() AS after_commit;

-- A refused token changes nothing and names no token.
BEGIN;
SELECT rowguard.authenticate(:'bob_es256') ->> 'sub' AS authenticated;
SELECT public.outcome($$SELECT rowguard.authenticate('x.y.z')$$);
SELECT rowguard.sub() AS unchanged;
ROLLBACK;

-- Propagation off or any other value: unchanged too.
SET citus.propagate_set_commands = 'none';
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS authenticated;
COMMIT;
SELECT rowguard.sub() AS after_commit;
RESET citus.propagate_set_commands;
RESET ROLE;

-- 0.3.0 without Citus (a placeholder citus.* setting switches nothing on): the
-- configuration triggers return at once, citus_sync_nodes and _citus_send refuse, and
-- combined_policy writes the single-server form.
SET citus.propagate_set_commands = 'local';
SELECT rowguard._citus_coordinator() AS coordinator;
SELECT c.relname, count(*) AS propagate_triggers
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname LIKE 'rowguard_citus_propagate%' GROUP BY c.relname ORDER BY 1;
BEGIN;
SELECT rowguard.set_issuer('https://citus-sql.example');
SELECT count(*) AS issuer_stored FROM rowguard.issuers WHERE iss = 'https://citus-sql.example';
TRUNCATE rowguard.revocations;
ROLLBACK;
SELECT public.outcome($$SELECT rowguard.citus_sync_nodes()$$);
SELECT public.outcome($$SELECT rowguard._citus_send('SELECT 1')$$);
SELECT public.outcome($$SELECT rowguard._citus_apply('pg_authid', 'TRUNCATE', NULL, NULL)$$);
RESET citus.propagate_set_commands;
SHOW rowguard.citus_router;

CREATE TABLE public.citus_sql_notes (tenant_id uuid NOT NULL, owner_id text NOT NULL, id int);
SELECT rowguard.combined_policy('public.citus_sql_notes', owner_column => 'owner_id',
                                scope => 'notes:read', apply => false);
SELECT rowguard.combined_policy('public.citus_sql_notes', owner_column => 'owner_id') IS NOT NULL AS applied;
SELECT polname, polpermissive, pg_get_expr(polqual, polrelid) AS qual
  FROM pg_policy WHERE polrelid = 'public.citus_sql_notes'::regclass ORDER BY 1;
SELECT public.outcome($$SELECT rowguard.combined_policy('public.citus_sql_notes', scope => 'two words')$$);
DROP TABLE public.citus_sql_notes;
