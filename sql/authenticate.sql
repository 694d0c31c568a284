-- authenticate() and rowguard.token: one mechanism, set_config's scope rules.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
SET ROLE rowguard_app;

-- Unauthenticated: accessors return NULL, has_* and is_authenticated false.
SELECT rowguard.is_authenticated(), rowguard.sub(), rowguard.claims(),
       rowguard.claim('tenant_id'), rowguard.has_role('reader'), rowguard.has_scope('orders:read');

-- Transaction-local (the default): ends at COMMIT and at ROLLBACK.
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS authenticated;
SELECT rowguard.sub(), rowguard.is_authenticated();
COMMIT;
SELECT rowguard.sub() AS after_commit;
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS authenticated;
ROLLBACK;
SELECT rowguard.sub() AS after_rollback;

-- Session identity: survives transactions, ends at RESET, RESET ALL, DISCARD ALL.
SELECT rowguard.authenticate(:'bob_es256', false) ->> 'sub' AS authenticated;
BEGIN; SELECT rowguard.sub() AS in_next_transaction; COMMIT;
RESET rowguard.token;
SELECT rowguard.sub() AS after_reset;
SELECT rowguard.authenticate(:'bob_es256', is_local => false) ->> 'sub' AS authenticated;
RESET ALL;
SELECT rowguard.sub() AS after_reset_all;
SELECT rowguard.authenticate(:'bob_es256', false) ->> 'sub' AS authenticated;
DISCARD ALL;
SELECT rowguard.sub() AS after_discard_all;

-- A transaction-local identity over a session one, then back.
SELECT rowguard.authenticate(:'bob_es256', false) ->> 'sub' AS session;
BEGIN;
SELECT rowguard.authenticate(:'alice_es256') ->> 'sub' AS local;
SELECT rowguard.sub() AS inside;
COMMIT;
SELECT rowguard.sub() AS outside;

-- ROLLBACK TO SAVEPOINT restores the identity from before the savepoint.
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS first;
SAVEPOINT s1;
SELECT rowguard.authenticate(:'bob_hs256') ->> 'sub' AS second;
ROLLBACK TO SAVEPOINT s1;
SELECT rowguard.sub() AS after_rollback_to;
SAVEPOINT s2;
SELECT rowguard.authenticate(:'bob_hs256') ->> 'sub' AS second;
RELEASE SAVEPOINT s2;
SELECT rowguard.sub() AS after_release;
COMMIT;
SELECT rowguard.sub() AS after_commit;

-- A failed authenticate leaves the previous identity as it was.
BEGIN;
SELECT rowguard.authenticate(:'alice_hs256') ->> 'sub' AS first;
SAVEPOINT s;
SELECT rowguard.authenticate(:'forged');
ROLLBACK TO SAVEPOINT s;
SELECT rowguard.sub() AS still;
COMMIT;
SELECT outcome(format('SELECT rowguard.authenticate(%L)::text', :'expired_hs256')) AS expired;
SELECT outcome('SELECT rowguard.authenticate(NULL)::text') AS null_token;
SELECT outcome($$SELECT rowguard.authenticate('')::text$$) AS empty_token;
SELECT rowguard.authenticate(:'bob_hs256', false) ->> 'sub' AS session;
SELECT outcome(format('SELECT rowguard.authenticate(%L, false)::text', :'tampered')) AS tampered;
SELECT rowguard.sub() AS unchanged;
RESET rowguard.token;

-- SET, SET LOCAL and set_config behave exactly like authenticate.
SET rowguard.token = :'alice_hs256';
SELECT rowguard.sub() AS after_set;
SET rowguard.token = :'forged';
SELECT rowguard.sub() AS after_failed_set;
BEGIN;
SET LOCAL rowguard.token = :'bob_hs256';
SELECT rowguard.sub() AS set_local;
COMMIT;
SELECT rowguard.sub() AS after_local_commit;
SELECT set_config('rowguard.token', :'bob_es256', true) IS NOT NULL AS set_config_local;
SELECT rowguard.sub() AS after_statement;
BEGIN;
SELECT set_config('rowguard.token', :'bob_es256', true) IS NOT NULL AS set_config_local;
SELECT rowguard.sub() AS in_transaction;
COMMIT;
SELECT outcome(format('SELECT set_config(%L, %L, false)', 'rowguard.token', :'alg_none')) AS set_config_none;
SET rowguard.token = :'bearer_valid';
SELECT rowguard.sub() AS bearer_prefix;
RESET rowguard.token;
SELECT rowguard.sub() AS after_reset;

-- The token is never shown.
SET rowguard.token = :'alice_hs256';
SHOW rowguard.token;
SELECT current_setting('rowguard.token') AS current_setting;
SELECT setting FROM pg_settings WHERE name = 'rowguard.token';
RESET rowguard.token;
SHOW rowguard.token;
RESET ROLE;
