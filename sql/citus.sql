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
