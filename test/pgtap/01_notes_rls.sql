-- Ported from a basejump supabase_test_helpers suite (docs/testing-policies.md):
--   tests.create_supabase_user('alice') + tests.authenticate_as('alice')
--     -> rowguard.test_authenticate('{"sub": "alice", ...claims...}') + SET LOCAL ROLE pgtap_app
--   tests.clear_authentication()  -> RESET ROLE; rowguard.test_reset()
--   tests.rls_enabled('app')      -> rowguard.test_rls_enabled('app')
BEGIN;
SELECT plan(9);

SELECT ok(rowguard.test_rls_enabled('app'), 'every table in app has row level security, forced');

-- alice, of team acme
SELECT rowguard.test_authenticate('{"sub": "alice", "team_id": "11111111-1111-4111-8111-111111111111"}');
SET LOCAL ROLE pgtap_app;
SELECT ok(rowguard.test_rows_match('SELECT * FROM app.notes', 'team_id', 'team_id'),
          'alice sees only the notes of her team');
SELECT is(rowguard.test_row_count('SELECT * FROM app.notes'), 2::bigint, 'alice sees both acme notes');
SELECT throws_ok($$INSERT INTO app.notes (team_id, body) VALUES ('22222222-2222-4222-8222-222222222222', 'planted')$$,
                 '42501', NULL, 'alice cannot write into globex');
SELECT lives_ok($$INSERT INTO app.notes (team_id, body) VALUES ('11111111-1111-4111-8111-111111111111', 'mine')$$,
                'alice writes into acme');
SELECT is((SELECT author FROM app.notes WHERE body = 'mine'), 'alice', 'the author defaults to the verified sub');
SELECT is_empty($$UPDATE app.notes SET body = 'edited' WHERE author = 'anna' RETURNING id$$,
                'alice cannot edit anna''s note');

-- bob, of team globex
RESET ROLE;
SELECT rowguard.test_authenticate('{"sub": "bob", "team_id": "22222222-2222-4222-8222-222222222222"}');
SET LOCAL ROLE pgtap_app;
SELECT results_eq('SELECT body FROM app.notes', ARRAY['globex plan'], 'bob sees only globex');

-- nobody
RESET ROLE;
SELECT rowguard.test_reset();
SET LOCAL ROLE pgtap_app;
SELECT is_empty('SELECT * FROM app.notes', 'without an identity nothing is visible');

SELECT * FROM finish();
ROLLBACK;
