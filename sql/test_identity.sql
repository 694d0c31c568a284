-- Test identities (rowguard.test_authenticate, test_reset), the pgTAP-friendly
-- assertions and the isolation prover (docs/testing-policies.md). Cross-session: the
-- key of one session is unknown to every other (specs/test_identity_key.spec).
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.ti_notes;
DROP ROLE IF EXISTS ti_tester, ti_owner, ti_bound, ti_reader;
RESET client_min_messages;
CREATE ROLE ti_tester;
CREATE ROLE ti_owner;
CREATE ROLE ti_bound NOLOGIN;
CREATE ROLE ti_reader NOLOGIN;

-- Nobody but a superuser may call them until granted: not PUBLIC, not the application.
SELECT p.oid::regprocedure AS function, has_function_privilege('rowguard_app', p.oid, 'EXECUTE') AS app,
       has_function_privilege('ti_tester', p.oid, 'EXECUTE') AS tester
  FROM pg_proc p WHERE p.pronamespace = 'rowguard'::regnamespace
   AND p.proname IN ('test_authenticate', 'test_reset', 'prove_isolation') ORDER BY 1;
SET ROLE rowguard_app;
SELECT outcome($$SELECT rowguard.test_authenticate('{"sub":"mallory"}')$$) AS app_authenticate;
SELECT outcome($$SELECT rowguard.test_reset()$$) AS app_reset;
SELECT outcome($$SELECT count(*) FROM rowguard.prove_isolation()$$) AS app_prove;
SELECT rowguard.is_authenticated() AS app_authenticated;
RESET ROLE;
GRANT EXECUTE ON FUNCTION rowguard.test_authenticate(jsonb), rowguard.test_reset() TO ti_tester;

-- An identity for the transaction, through the normal path: accessors, session_status.
SET ROLE ti_tester;
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"alice","tenant_id":"acme","roles":["admin"],"scope":"notes:read"}') ->> 'sub' AS sub;
SELECT rowguard.sub(), rowguard.claim('tenant_id') AS tenant, rowguard.has_role('admin') AS admin,
       rowguard.has_scope('notes:read') AS can_read, current_setting('rowguard.token') AS shown;
SELECT rowguard.claims() ? 'exp' AS has_exp, rowguard.claims() ? 'iat' AS has_iat,
       (rowguard.claims() ->> 'exp')::bigint - (rowguard.claims() ->> 'iat')::bigint AS lifetime;
SELECT s ->> 'kid' LIKE 'rowguard-test-%' AS test_kid, s ->> 'scope' AS scope
  FROM rowguard.session_status() s;
-- The key is in no table, and this session cannot sign with it either.
RESET ROLE;
SELECT count(*) AS stored_test_keys FROM rowguard.keys WHERE kid LIKE 'rowguard-test-%';
SELECT regexp_replace(outcome(format('SELECT rowguard.sign(%L, %L)', '{"sub":"eve"}',
                                     rowguard.session_status() ->> 'kid')),
                      'rowguard-test-[A-Za-z0-9_-]{22}', 'rowguard-test-<random>') AS sign_with_test_key;
SELECT rowguard.session_status() ->> 'kid' AS kid \gset
SET ROLE ti_tester;
-- test_reset ends it; the next call makes another identity with the same key.
SELECT rowguard.test_reset();
SELECT rowguard.is_authenticated() AS after_reset;
SELECT rowguard.test_authenticate('{"sub":"bob"}') ->> 'sub' AS sub,
       rowguard.session_status() ->> 'kid' = :'kid' AS same_key;
-- A savepoint rolled back restores the previous identity.
SAVEPOINT s;
SELECT rowguard.test_authenticate('{"sub":"carol"}') ->> 'sub' AS sub;
ROLLBACK TO SAVEPOINT s;
SELECT rowguard.sub() AS after_rollback_to_savepoint;
COMMIT;
-- Nothing survives COMMIT: no identity, and the key is gone from this backend.
SELECT rowguard.is_authenticated() AS after_commit;
RESET ROLE;
SELECT regexp_replace(outcome(format('SELECT rowguard.sign(%L, %L)', '{"sub":"eve"}', :'kid')),
                      'rowguard-test-[A-Za-z0-9_-]{22}', 'rowguard-test-<random>') AS sign_after_commit;
SET ROLE ti_tester;
-- Nor ROLLBACK; and every transaction gets a new key.
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"dave"}') ->> 'sub' AS sub,
       rowguard.session_status() ->> 'kid' <> :'kid' AS new_key;
ROLLBACK;
SELECT rowguard.is_authenticated() AS after_rollback;
-- Claims must be an object; a time claim that is not a NumericDate is the core's refusal.
SELECT outcome($$SELECT rowguard.test_authenticate('[1]')$$) AS array_claims;
SELECT outcome($$SELECT rowguard.test_authenticate('{"sub":"x","exp":"soon"}')$$) AS bad_exp;
SELECT outcome($$SELECT rowguard.test_authenticate('{"sub":"x","exp":946684800}')$$) AS expired;
RESET ROLE;

-- A key change in the middle of the transaction rebuilds this backend's key store: the
-- test key is put into the new store, so the identity stands.
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"gina"}') ->> 'sub' AS sub;
SELECT rowguard.add_key('{"kty":"oct","kid":"ti-real","alg":"HS256","k":"q8Hg1cPcHbpRVJ7JkXl9Xy0Zj3oXbIrAv2V-Wc0dOQI"}') AS added;
SELECT rowguard.sub() AS after_key_change;
SELECT rowguard.test_authenticate('{"sub":"hank"}') ->> 'sub' AS again;
COMMIT;
-- pgTAP keeps its state in temporary tables: a test identity starts on top of them, a
-- transaction identity from a token does not (docs/security-model.md).
SELECT rowguard.sign(jsonb_build_object('sub', 'ivan', 'exp', extract(epoch FROM now())::bigint + 600),
                     'ti-real') AS real_token \gset
CREATE TEMP TABLE ti_pgtap_state (n int);
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"ivan"}') ->> 'sub' AS test_identity_on_temp_table;
ROLLBACK;
BEGIN;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'real_token', 'sub')) AS token_on_temp_table;
ROLLBACK;
DROP TABLE ti_pgtap_state;
SELECT rowguard.remove_key('ti-real') AS removed;

-- Revocation by jti and by sub applies to test identities as to any token.
GRANT EXECUTE ON FUNCTION rowguard.revoke_token(text, text),
    rowguard.revoke_subject(text, timestamptz, text) TO ti_owner;
SET ROLE ti_owner;
SELECT rowguard.revoke_token('ti-revoked-jti') AS revoked;
SELECT rowguard.revoke_subject('ti-revoked-sub') AS revoked;
RESET ROLE;
SET ROLE ti_tester;
SELECT outcome($$SELECT rowguard.test_authenticate('{"sub":"erin","jti":"ti-revoked-jti"}')$$) AS by_jti;
SELECT outcome(format('SELECT rowguard.test_authenticate(%L)',
    jsonb_build_object('sub', 'ti-revoked-sub', 'iat', extract(epoch FROM now())::bigint - 60)))
    AS by_sub;
RESET ROLE;
DELETE FROM rowguard.revocations WHERE jti = 'ti-revoked-jti' OR sub = 'ti-revoked-sub';

-- Role binding: a test identity takes a role only if its caller could SET ROLE to it.
SELECT rowguard.allow_role('ti_bound') AS allowed;
SET rowguard.role_binding_claim = 'role';
SET ROLE ti_tester;
SELECT outcome($$SELECT rowguard.test_authenticate('{"sub":"frank","role":"ti_bound"}')$$) AS not_member;
SELECT current_user AS still;
RESET ROLE;
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"frank","role":"ti_bound"}') ->> 'sub' AS superuser_binds;
SELECT current_user AS bound;
COMMIT;
SELECT current_user AS after_commit;
GRANT ti_bound TO ti_tester;
SET ROLE ti_tester;
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"frank","role":"ti_bound"}') ->> 'sub' AS member_binds;
SELECT current_user AS bound;
ROLLBACK;
RESET ROLE;
RESET rowguard.role_binding_claim;
SELECT rowguard.disallow_role('ti_bound') AS disallowed;

-- Templates and the assertions: a tenant table read by an application role.
CREATE TABLE public.ti_notes (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
CREATE INDEX ON public.ti_notes (tenant_id);
INSERT INTO public.ti_notes VALUES (1, 'acme', 'a1'), (2, 'acme', 'a2'), (3, 'globex', 'g1');
ALTER TABLE public.ti_notes OWNER TO ti_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.ti_notes TO ti_reader;
GRANT ti_reader TO ti_tester;
SET ROLE ti_owner;
SELECT rowguard.tenant_policy('public.ti_notes') IS NOT NULL AS protected;
RESET ROLE;
SET ROLE ti_tester;
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"alice","tenant_id":"acme"}') IS NOT NULL AS authenticated;
SET LOCAL ROLE ti_reader;
SELECT rowguard.test_rows_match('SELECT * FROM public.ti_notes', 'tenant_id', 'tenant_id') AS own_rows_only,
       rowguard.test_row_count('SELECT * FROM public.ti_notes') AS visible,
       rowguard.test_row_count($$SELECT * FROM public.ti_notes WHERE tenant_id = 'globex'$$) AS globex_visible;
SELECT outcome($$INSERT INTO public.ti_notes VALUES (4, 'globex', 'forged')$$) AS insert_other_tenant;
ROLLBACK;
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"zed","tenant_id":"initech"}') IS NOT NULL AS authenticated;
SET LOCAL ROLE ti_reader;
SELECT rowguard.test_rows_match('SELECT * FROM public.ti_notes', 'tenant_id', 'tenant_id') AS match_needs_a_row,
       rowguard.test_rows_match('SELECT * FROM public.ti_notes', 'tenant_id', 'tenant_id', allow_empty => true) AS empty_allowed;
ROLLBACK;
-- Without the policy the assertion fails: it is not a constant.
BEGIN;
SELECT rowguard.test_authenticate('{"sub":"alice","tenant_id":"acme"}') IS NOT NULL AS authenticated;
SELECT rowguard.test_rows_match('SELECT * FROM public.ti_notes', 'tenant_id', 'tenant_id') AS superuser_sees_all;
ROLLBACK;
RESET ROLE;
SELECT rowguard.test_rls_enabled('public') AS public_all_forced;

-- The prover: silent on the protected table, and it finds a permissive OR true.
SELECT count(*) AS leaks FROM rowguard.prove_isolation(ARRAY['public'], 'ti_reader');
CREATE POLICY ti_wide ON public.ti_notes USING (tenant_id = (SELECT rowguard.claim('tenant_id')) OR true);
DROP POLICY rowguard_tenant ON public.ti_notes;
SELECT object, command, identity ->> 'tenant_id' AS tenant, detail
  FROM rowguard.prove_isolation(ARRAY['public'], 'ti_reader') ORDER BY 1, 3, 2, 4;
-- Its statements reproduce what it reports; it left no data behind.
DO $$
DECLARE
    s text;
    n bigint;
BEGIN
    SELECT p.statement INTO s FROM rowguard.prove_isolation(ARRAY['public'], 'ti_reader') p
     WHERE p.command = 'DELETE' AND p.identity ->> 'tenant_id' = 'globex';
    RAISE NOTICE 'statement: %', regexp_replace(s, '"exp": [0-9]+, "iat": [0-9]+, ', '', 'g');
    BEGIN
        EXECUTE regexp_replace(regexp_replace(s, '^BEGIN; ', ''), ' ROLLBACK;$', '');
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE NOTICE 'reproduced: % rows deleted', n;
        RAISE EXCEPTION USING ERRCODE = 'RGT01';
    EXCEPTION WHEN SQLSTATE 'RGT01' THEN NULL;
    END;
END
$$;
-- A policy that checks reads but not writes (WITH CHECK (true)): only the writes leak.
DROP POLICY ti_wide ON public.ti_notes;
CREATE POLICY ti_reads_only ON public.ti_notes AS RESTRICTIVE
    USING (tenant_id = (SELECT rowguard.claim('tenant_id'))) WITH CHECK (true);
SELECT object, command, identity ->> 'tenant_id' AS tenant, detail
  FROM rowguard.prove_isolation(ARRAY['public'], 'ti_reader') ORDER BY 1, 3, 2, 4;
SELECT count(*) AS notes, count(*) FILTER (WHERE tenant_id = 'acme') AS acme FROM public.ti_notes;
SELECT count(*) AS prepared_left FROM pg_prepared_statements;

DROP TABLE public.ti_notes;
REVOKE ALL ON FUNCTION rowguard.revoke_token(text, text),
    rowguard.revoke_subject(text, timestamptz, text) FROM ti_owner;
REVOKE ALL ON FUNCTION rowguard.test_authenticate(jsonb), rowguard.test_reset() FROM ti_tester;
DROP ROLE ti_tester, ti_owner, ti_bound, ti_reader;
