-- The isolation prover as a pgTAP test (it needs a superuser or BYPASSRLS; pgtap.sh runs
-- this file as postgres): no identity drawn from the data reads or writes another's rows.
BEGIN;
SELECT plan(1);
SELECT is_empty($$SELECT * FROM rowguard.prove_isolation(ARRAY['app'], 'pgtap_app')$$,
                'no team can see or touch another team''s notes');
SELECT * FROM finish();
ROLLBACK;
