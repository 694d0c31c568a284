-- PostgREST: rowguard.postgrest_pre_request() as db-pre-request. A PostgREST-style schema
-- whose policies read request.jwt.claims (directly, through the legacy per-claim settings,
-- and through a helper function). A forged setting reads another tenant's rows before;
-- lint reports every read and its fix; after the fixes and with the pre-request, the
-- database trusts only the Authorization header it verified itself.
SET client_min_messages = warning;
DROP ROLE IF EXISTS pgrst_authenticator, pgrst_user, pgrst_anon, pgrst_owner;
RESET client_min_messages;
CREATE ROLE pgrst_owner NOLOGIN;
CREATE ROLE pgrst_user NOLOGIN;
CREATE ROLE pgrst_anon NOLOGIN;
CREATE ROLE pgrst_authenticator LOGIN NOINHERIT;
GRANT pgrst_user, pgrst_anon TO pgrst_authenticator;

CREATE SCHEMA api AUTHORIZATION pgrst_owner;
GRANT USAGE ON SCHEMA api TO pgrst_user, pgrst_anon;
SET ROLE pgrst_owner;
CREATE TABLE api.todos (
    id        int PRIMARY KEY,
    tenant_id uuid NOT NULL,
    owner     text NOT NULL,
    task      text NOT NULL);
CREATE INDEX ON api.todos (tenant_id, owner);
INSERT INTO api.todos VALUES
    (1, '11111111-1111-4111-8111-111111111111', 'alice', 'alice: tenant 1'),
    (2, '22222222-2222-4222-8222-222222222222', 'bob', 'bob: tenant 2');
-- PostgREST's documentation style: claims read from the settings PostgREST fills in.
CREATE FUNCTION api.current_tenant() RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (current_setting('request.jwt.claims', true)::json ->> 'tenant_id')::uuid;
END
$$;
ALTER TABLE api.todos ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON api.todos TO pgrst_user USING (tenant_id = api.current_tenant());
CREATE POLICY own_rows ON api.todos AS RESTRICTIVE TO pgrst_user
    USING (owner = current_setting('request.jwt.claim.sub', true))
    WITH CHECK (owner = (current_setting('request.jwt.claims', true)::json ->> 'sub'));
GRANT SELECT, INSERT ON api.todos TO pgrst_user;
RESET ROLE;

-- Tokens as PostgREST's clients send them, and the key that verifies them.
SELECT rowguard.add_key('{"kty":"oct","kid":"compat-pgrst","alg":"HS256","k":"Y29tcGF0LXBvc3RncmVzdC1zZWNyZXQtYXQtbGVhc3QtMzI"}');
SELECT rowguard.sign('{"sub":"alice","tenant_id":"11111111-1111-4111-8111-111111111111","role":"pgrst_user","exp":4102444800}',
                     'compat-pgrst') AS alice \gset
SELECT json_build_object('authorization', 'Bearer ' || :'alice')::text AS alice_headers \gset

-- Before: a request whose SQL sets request.jwt.claims itself (what any statement on the
-- connection can do) reads bob's row.
SET ROLE pgrst_authenticator;
BEGIN;
SET LOCAL ROLE pgrst_user;
SELECT set_config('request.jwt.claims',
                  '{"sub":"bob","tenant_id":"22222222-2222-4222-8222-222222222222"}', true) IS NOT NULL AS forged,
       set_config('request.jwt.claim.sub', 'bob', true) IS NOT NULL AS forged_legacy;
SELECT task FROM api.todos ORDER BY id;
ROLLBACK;
RESET ROLE;

-- lint finds each read, direct and through api.current_tenant(), with its fix.
\x on
SELECT * FROM rowguard.lint() WHERE object LIKE '%api.%' ORDER BY object, problem;
\x off

-- install_compat('postgrest') only says how to wire PostgREST (nothing to create).
SELECT rowguard.install_compat('postgrest', apply => false);

-- Apply lint's fixes (the policies and the function keep their names).
SET client_min_messages = error;
\t \a
SELECT fix FROM rowguard.lint() WHERE object LIKE '%api.%' ORDER BY object, problem \gexec
\t \a
RESET client_min_messages;
SELECT count(*) AS findings FROM rowguard.lint() WHERE object LIKE '%api.%';
SELECT policyname, qual, with_check FROM pg_policies WHERE schemaname = 'api' ORDER BY policyname;
SELECT prosrc FROM pg_proc WHERE oid = 'api.current_tenant'::regproc;

-- After: each request goes through the pre-request, as PostgREST runs it.
SET ROLE pgrst_authenticator;
-- A valid header: alice's row only, whatever the request sets afterwards.
BEGIN;
SET LOCAL ROLE pgrst_user;
SELECT set_config('request.headers', :'alice_headers', true) IS NOT NULL AS headers;
SELECT rowguard.postgrest_pre_request();
SELECT rowguard.sub() AS sub;
SELECT task FROM api.todos ORDER BY id;
SELECT set_config('request.jwt.claims',
                  '{"sub":"bob","tenant_id":"22222222-2222-4222-8222-222222222222"}', true) IS NOT NULL AS forged;
SELECT task FROM api.todos ORDER BY id;
COMMIT;
-- The identity ended with the request's transaction.
SELECT rowguard.is_authenticated() AS still_authenticated;
-- No header: no identity, even with forged claims.
BEGIN;
SET LOCAL ROLE pgrst_user;
SELECT set_config('request.headers', '{"accept":"application/json"}', true) IS NOT NULL AS headers;
SELECT rowguard.postgrest_pre_request();
SELECT set_config('request.jwt.claims',
                  '{"sub":"bob","tenant_id":"22222222-2222-4222-8222-222222222222"}', true) IS NOT NULL AS forged;
SELECT count(*) AS rows_seen FROM api.todos;
ROLLBACK;
-- A bad token fails the request with 28000; a lower-case scheme is accepted.
BEGIN;
SET LOCAL ROLE pgrst_user;
SELECT set_config('request.headers',
                  json_build_object('authorization', 'Bearer ' || :'alice' || 'x')::text, true) IS NOT NULL AS headers;
SELECT public.outcome('SELECT rowguard.postgrest_pre_request()');
SELECT set_config('request.headers',
                  json_build_object('authorization', 'Basic YWxpY2U6c2VjcmV0')::text, true) IS NOT NULL AS headers;
SELECT public.outcome('SELECT rowguard.postgrest_pre_request()');
SELECT set_config('request.headers',
                  json_build_object('authorization', 'bearer ' || :'alice')::text, true) IS NOT NULL AS headers;
SELECT public.outcome('SELECT rowguard.postgrest_pre_request()');
SELECT rowguard.sub() AS sub;
ROLLBACK;
RESET ROLE;
-- A session identity left on the connection does not leak into a request without a
-- header: the pre-request clears it for the transaction.
SET ROLE pgrst_authenticator;
SELECT rowguard.authenticate(:'alice', false) IS NOT NULL AS session_identity;
BEGIN;
SET LOCAL ROLE pgrst_user;
SELECT set_config('request.headers', '{}', true) IS NOT NULL AS headers;
SELECT rowguard.postgrest_pre_request();
SELECT count(*) AS rows_seen FROM api.todos;
ROLLBACK;
RESET rowguard.token;
RESET ROLE;

SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.prosecdef, p.proconfig,
       has_function_privilege('pgrst_anon', p.oid, 'EXECUTE') AS anon_can_execute
  FROM pg_proc p WHERE p.oid = 'rowguard.postgrest_pre_request'::regproc;

SELECT rowguard.remove_key('compat-pgrst');
SET client_min_messages = warning;
DROP SCHEMA api CASCADE;
RESET client_min_messages;
DROP ROLE pgrst_authenticator, pgrst_user, pgrst_anon, pgrst_owner;
