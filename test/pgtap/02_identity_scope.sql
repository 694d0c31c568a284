-- What a test identity is and is not: it is verified like a real token, and ends with
-- the transaction.
BEGIN;
SELECT plan(5);
SELECT is(rowguard.test_authenticate('{"sub": "alice", "roles": ["editor"]}') ->> 'sub', 'alice',
          'test_authenticate returns the verified claims');
SELECT ok(rowguard.has_role('editor'), 'claim accessors read it');
SELECT is(rowguard.session_status() ->> 'scope', 'transaction', 'it is a transaction identity');
SELECT is(current_setting('rowguard.token'), '(verified token)', 'the token itself is never shown');
SELECT matches(rowguard.session_status() ->> 'kid', '^rowguard-test-',
               'it is signed with a test key of this transaction');
SELECT * FROM finish();
ROLLBACK;
