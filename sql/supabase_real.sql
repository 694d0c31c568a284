-- Supabase for real (issue 25). A fixture written after Supabase's public sources:
-- supabase/postgres's init scripts and migrations (roles, memberships, grants),
-- supabase/auth's migrations (auth.uid()/role()/email()/jwt() text, the users table's
-- shape, owned by supabase_auth_admin), supabase/storage's scope statement and
-- supabase/realtime's set_conn_config. Then: every kind of token GoTrue issues through
-- install_compat('supabase', project_url => ...), role-bound anon/authenticated/
-- service_role, authenticator trying to reach service_role, Storage's and Realtime's
-- statement sequences, forgeries, a GoTrue migration re-run, and the lint helpers.
-- (The cluster's superuser is named postgres here, so Supabase's "postgres" role,
-- NOSUPERUSER BYPASSRLS, is sbx_postgres.)
\set ECHO none
\i test/fixtures/keys.psql
\set ECHO all
SET client_min_messages = warning;
DROP ROLE IF EXISTS anon, authenticated, service_role, authenticator, supabase_admin,
    supabase_auth_admin, supabase_storage_admin, sbx_postgres;
RESET client_min_messages;

-- supabase/postgres: 00000000000000-initial-schema, 00000000000002-storage-schema and
-- later migrations (20221103090837 revoke supabase_admin from authenticator,
-- 20230201083204 API roles to postgres, 20230327032006 API roles to
-- supabase_storage_admin, 20230529180330 API roles INHERIT).
CREATE ROLE supabase_admin SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
CREATE ROLE sbx_postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE BYPASSRLS;
CREATE ROLE anon NOLOGIN INHERIT;
CREATE ROLE authenticated NOLOGIN INHERIT;
CREATE ROLE service_role NOLOGIN INHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO sbx_postgres;
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE;
GRANT anon, authenticated, service_role TO supabase_storage_admin;

-- supabase/auth: the schema and functions belong to supabase_auth_admin; auth.users
-- (the columns policies and triggers use), RLS enabled as GoTrue's
-- 20240612123726_enable_rls_update_grants does.
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, sbx_postgres;
SET ROLE supabase_auth_admin;
CREATE TABLE auth.users (
    instance_id uuid, id uuid PRIMARY KEY, aud varchar(255), role varchar(255),
    email varchar(255), encrypted_password varchar(255), email_confirmed_at timestamptz,
    raw_app_meta_data jsonb, raw_user_meta_data jsonb, is_super_admin boolean,
    created_at timestamptz, updated_at timestamptz, phone text, is_anonymous boolean NOT NULL DEFAULT false);
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
-- 20220224000811_update_auth_functions (uid, role, email) and 20220531120530 (jwt):
-- the same semantics, written for this fixture.
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
RESET ROLE;
INSERT INTO auth.users (id, aud, role, email) VALUES
    ('aaaaaaaa-0000-4000-8000-00000000000a', 'authenticated', 'authenticated', 'alice@example.test'),
    ('bbbbbbbb-0000-4000-8000-00000000000b', 'authenticated', 'authenticated', 'bob@example.test');

-- supabase/storage: the schema belongs to supabase_storage_admin; storage.objects with
-- the columns its queries use, storage.foldername(), and policies as Storage's
-- documentation writes them.
CREATE SCHEMA storage AUTHORIZATION supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO anon, authenticated, service_role, sbx_postgres;
SET ROLE supabase_storage_admin;
CREATE TABLE storage.objects (
    id uuid PRIMARY KEY, bucket_id text, name text, owner uuid, owner_id text,
    metadata jsonb, version text, updated_at timestamptz);
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT (string_to_array(name, '/'))[1:cardinality(string_to_array(name, '/')) - 1]
$$;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
GRANT ALL ON storage.objects TO anon, authenticated, service_role;
-- Policies come from the project's administrator (the dashboard), not from Storage.
RESET ROLE;
CREATE POLICY "Owners read their folder" ON storage.objects FOR SELECT TO authenticated
    USING (bucket_id = 'avatars' AND (storage.foldername(name))[1] = auth.uid()::text);
CREATE POLICY "Owners update their objects" ON storage.objects FOR UPDATE TO authenticated
    USING (auth.uid() = owner) WITH CHECK (auth.uid() = owner);
CREATE POLICY "Public bucket is readable" ON storage.objects FOR SELECT TO anon
    USING (bucket_id = 'public' AND auth.role() = 'anon');
SET ROLE supabase_storage_admin;
INSERT INTO storage.objects VALUES
    ('0a000000-0000-4000-8000-000000000001', 'avatars', 'aaaaaaaa-0000-4000-8000-00000000000a/a.png',
     'aaaaaaaa-0000-4000-8000-00000000000a', 'aaaaaaaa-0000-4000-8000-00000000000a', '{}', 'v1', NULL),
    ('0b000000-0000-4000-8000-000000000002', 'avatars', 'bbbbbbbb-0000-4000-8000-00000000000b/b.png',
     'bbbbbbbb-0000-4000-8000-00000000000b', 'bbbbbbbb-0000-4000-8000-00000000000b', '{}', 'v1', NULL),
    ('0c000000-0000-4000-8000-000000000003', 'public', 'logo.png', NULL, NULL, '{}', 'v1', NULL);
RESET ROLE;

-- supabase/realtime: realtime.messages, realtime.topic(), a broadcast policy per user.
CREATE SCHEMA realtime;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;
CREATE TABLE realtime.messages (id bigint PRIMARY KEY, topic text NOT NULL, extension text NOT NULL);
CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('realtime.topic', true), '') $$;
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON realtime.messages TO authenticated;
CREATE POLICY "Users receive their own room" ON realtime.messages FOR SELECT TO authenticated
    USING (realtime.topic() = 'room:' || auth.uid()::text AND topic = realtime.topic());
INSERT INTO realtime.messages VALUES
    (1, 'room:aaaaaaaa-0000-4000-8000-00000000000a', 'broadcast'),
    (2, 'room:bbbbbbbb-0000-4000-8000-00000000000b', 'broadcast');

-- The application: a todo list as Supabase's example writes it.
CREATE TABLE public.sbx_todos (id int PRIMARY KEY, user_id uuid NOT NULL DEFAULT auth.uid(), task text);
ALTER TABLE public.sbx_todos ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON public.sbx_todos TO anon, authenticated, service_role;
CREATE POLICY "Individuals can view their own todos" ON public.sbx_todos FOR SELECT
    USING ((select auth.uid()) = user_id);
CREATE POLICY "Individuals can create todos" ON public.sbx_todos FOR INSERT
    WITH CHECK ((select auth.uid()) = user_id);
INSERT INTO public.sbx_todos VALUES (1, 'aaaaaaaa-0000-4000-8000-00000000000a', 'alice 1'),
    (2, 'bbbbbbbb-0000-4000-8000-00000000000b', 'bob 1');

-- Helpers: an HS256 token with any header (GoTrue's API keys have no kid), built from
-- sha256() (HMAC, RFC 2104), and the SQLSTATE of a statement (PostgreSQL's own messages
-- differ between versions).
CREATE SCHEMA sbx;
CREATE FUNCTION sbx.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT translate(encode(b, 'base64'), E'+/=\n', '-_') $$;
CREATE FUNCTION sbx.hs256(header jsonb, claims jsonb, secret text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k bytea := convert_to(secret, 'UTF8');
    ipad bytea; opad bytea; input text;
BEGIN
    IF length(k) > 64 THEN k := sha256(k); END IF;
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := k; opad := k;
    FOR i IN 0 .. 63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);
        opad := set_byte(opad, i, get_byte(k, i) # 92);
    END LOOP;
    input := sbx.b64url(convert_to(header::text, 'UTF8')) || '.' || sbx.b64url(convert_to(claims::text, 'UTF8'));
    RETURN input || '.' || sbx.b64url(sha256(opad || sha256(ipad || convert_to(input, 'UTF8'))));
END
$$;
CREATE FUNCTION sbx.sqlstate(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
GRANT USAGE ON SCHEMA sbx TO PUBLIC;

-- Before: authenticator reaches service_role without a token (lint says so), and a
-- forged request.jwt.claims reads Bob's todos.
SELECT object, problem FROM rowguard._lint_030_token_free_switch()
 WHERE object IN ('role authenticator', 'role supabase_storage_admin') ORDER BY 1, 2;
SET SESSION AUTHORIZATION authenticator;
SELECT sbx.sqlstate('SET ROLE service_role') AS set_role_service_role;
RESET ROLE;
BEGIN;
SELECT set_config('role', 'authenticated', true) IS NOT NULL AS role_set,
       set_config('request.jwt.claims', '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"authenticated"}', true) IS NOT NULL AS forged;
SELECT task FROM public.sbx_todos ORDER BY id;
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- One call. The JWK Set here holds private keys only so that this test can sign with
-- them (rowguard.sign); /auth/v1/.well-known/jwks.json publishes the public halves.
\set secret 'super-secret-jwt-token-with-at-least-32-characters-long'
\set url 'https://abcdefghijklmnopqrst.supabase.co'
\set iss 'https://abcdefghijklmnopqrst.supabase.co/auth/v1'
SELECT jsonb_build_object('keys', jsonb_build_array(
           :'jwk_es256'::jsonb || '{"kid":"sbx-es256"}', :'jwk_rs256'::jsonb || '{"kid":"sbx-rs256"}')) AS jwks \gset
SELECT rowguard.install_compat('supabase', project_url => :'url', jwt_secret => :'secret',
                               jwks => :'jwks', jwt_kid => 'gotrue-key-1',
                               oauth_client_ids => ARRAY['9a4a5b84-oauth-client'], apply => false)
       ~ 'super-secret' AS script_shows_secret;
SELECT regexp_replace(regexp_replace(rowguard.install_compat('supabase', project_url => :'url', jwt_secret => :'secret',
                               jwt_kid => 'gotrue-key-1',
                               oauth_client_ids => ARRAY['9a4a5b84-oauth-client'], apply => false),
                      'CREATE OR REPLACE FUNCTION.*?\$rowguard\$;\n', '', 'g'),
                      ' GRANTED BY [^;]*', '', 'g') AS script;
SELECT length(rowguard.install_compat('supabase', project_url => :'url', jwt_secret => :'secret',
                                      jwks => :'jwks', jwt_kid => 'gotrue-key-1',
                                      oauth_client_ids => ARRAY['9a4a5b84-oauth-client'])) > 0 AS installed;
-- Running it again (after an upgrade, say) changes nothing and fails nothing.
SELECT length(rowguard.install_compat('supabase', project_url => :'url', jwt_secret => :'secret',
                                      jwks => :'jwks', jwt_kid => 'gotrue-key-1',
                                      oauth_client_ids => ARRAY['9a4a5b84-oauth-client'])) > 0 AS installed_again;
SELECT kid, alg, issuer FROM rowguard.keys WHERE kid LIKE 'sbx-%' OR kid LIKE 'supabase-%' OR kid = 'gotrue-key-1' ORDER BY kid;
SELECT iss, audience FROM rowguard.issuers WHERE iss IN (:'iss', 'supabase') ORDER BY iss;
SELECT b.role, b.issuer, p.role IS NOT NULL AS privileged
  FROM rowguard.role_bindings b
  LEFT JOIN rowguard.privileged_role_bindings p ON p.role = b.role AND p.issuer IS NOT DISTINCT FROM b.issuer
 WHERE b.role::text IN ('anon', 'authenticated', 'service_role') ORDER BY 1, 2;
SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
 WHERE m.member = 'authenticator'::regrole ORDER BY 1;
SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = 'authenticator'::regrole;
SELECT p.proname, p.proowner::regrole AS owner, p.proparallel FROM pg_proc p
 WHERE p.pronamespace = 'auth'::regnamespace ORDER BY 1;
-- The login session gets the setting ALTER ROLE gave it; here, as a superuser, by hand.
SET rowguard.role_binding_claim = 'role';

-- Every kind of token GoTrue issues, real-shaped.
SELECT extract(epoch FROM now())::bigint AS now \gset
SELECT jsonb_build_object('aud', 'authenticated', 'exp', :now + 3600, 'iat', :now, 'iss', :'iss',
           'sub', 'aaaaaaaa-0000-4000-8000-00000000000a', 'email', 'alice@example.test', 'phone', '',
           'app_metadata', '{"provider":"email","providers":["email"]}'::jsonb, 'user_metadata', '{}'::jsonb,
           'role', 'authenticated', 'aal', 'aal1',
           'amr', jsonb_build_array(jsonb_build_object('method', 'password', 'timestamp', :now)),
           'session_id', '5e55a000-0000-4000-8000-000000000001', 'is_anonymous', false) AS alice_claims \gset
SELECT sbx.hs256('{"alg":"HS256","typ":"JWT"}', :'alice_claims', :'secret') AS alice \gset
SELECT sbx.hs256('{"alg":"HS256","kid":"gotrue-key-1","typ":"JWT"}', :'alice_claims', :'secret') AS alice_kid \gset
SELECT rowguard.sign(:'alice_claims'::jsonb || '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","email":"bob@example.test"}', 'sbx-es256') AS bob_es256 \gset
SELECT rowguard.sign(:'alice_claims'::jsonb, 'sbx-rs256') AS alice_rs256 \gset
SELECT sbx.hs256('{"alg":"HS256","kid":"gotrue-key-1","typ":"JWT"}',
                 (:'alice_claims'::jsonb - 'email') || jsonb_build_object(
                     'sub', 'cccccccc-0000-4000-8000-00000000000c', 'is_anonymous', true,
                     'app_metadata', '{}'::jsonb, 'amr', '[{"method":"anonymous","timestamp":1}]'::jsonb),
                 :'secret') AS anonymous_user \gset
SELECT sbx.hs256('{"alg":"HS256","kid":"gotrue-key-1","typ":"JWT"}',
                 :'alice_claims'::jsonb || '{"aud":"9a4a5b84-oauth-client","client_id":"9a4a5b84-oauth-client"}',
                 :'secret') AS oauth \gset
SELECT sbx.hs256('{"alg":"HS256","typ":"JWT"}',
                 '{"iss":"supabase","ref":"abcdefghijklmnopqrst","role":"anon","iat":1700000000,"exp":4102444800}',
                 :'secret') AS anon_key \gset
SELECT sbx.hs256('{"alg":"HS256","typ":"JWT"}',
                 '{"iss":"supabase","ref":"abcdefghijklmnopqrst","role":"service_role","iat":1700000000,"exp":4102444800}',
                 :'secret') AS service_key \gset
SELECT k AS kind, public.outcome(format('SELECT rowguard.verify(%L) ->> %L', t, 'role')) AS verified
  FROM (VALUES ('user token, no kid', :'alice'), ('user token, kid', :'alice_kid'),
               ('user token, ES256', :'bob_es256'), ('user token, RS256', :'alice_rs256'),
               ('anonymous sign-in', :'anonymous_user'), ('OAuth client token', :'oauth'),
               ('anon API key', :'anon_key'), ('service_role API key', :'service_key')) v (k, t);

-- Forgeries and mismatches: each refused (28000) with its reason.
SELECT k AS kind, public.outcome(format('SELECT rowguard.verify(%L) ->> %L', t, 'role')) AS verified
  FROM (VALUES
    ('service_role key, wrong secret', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
        '{"iss":"supabase","ref":"abcdefghijklmnopqrst","role":"service_role","exp":4102444800}',
        'another-secret-that-is-at-least-32-characters')),
    ('user token claiming service_role', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
        :'alice_claims'::jsonb || '{"role":"service_role"}', :'secret')),
    ('API key claiming authenticated', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
        '{"iss":"supabase","ref":"abcdefghijklmnopqrst","role":"authenticated","sub":"bbbbbbbb-0000-4000-8000-00000000000b","exp":4102444800}',
        :'secret')),
    ('user token for another audience', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
        :'alice_claims'::jsonb || '{"aud":"someone-else"}', :'secret')),
    ('user token of another project', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
        :'alice_claims'::jsonb || '{"iss":"https://other.supabase.co/auth/v1"}', :'secret')),
    ('user token claiming supabase_admin', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
        :'alice_claims'::jsonb || '{"role":"supabase_admin"}', :'secret'))) v (k, t);

-- PostgREST as migrating.md configures it: authenticator, its own role as the anon role
-- (the role claim is left to rowguard), the pre-request verifying the header.
SET SESSION AUTHORIZATION authenticator;
-- Without a token nothing switches to the API roles any more.
SELECT r AS target, sbx.sqlstate(format('SET ROLE %I', r)) AS set_role,
       sbx.sqlstate(format('SELECT set_config(%L, %L, false)', 'role', r)) AS set_config
  FROM unnest(ARRAY['anon', 'authenticated', 'service_role', 'supabase_admin']) r;
SELECT sbx.sqlstate('SELECT count(*) FROM public.sbx_todos') AS read_without_token;
RESET SESSION AUTHORIZATION;
-- PostgREST's statements for one request: its settings, then the pre-request.
CREATE FUNCTION sbx.request(bearer text, forged text DEFAULT NULL)
    RETURNS TABLE (who name, uid uuid, role text, tasks text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('search_path', 'public', true), set_config('role', 'authenticator', true),
            set_config('request.jwt.claims', coalesce(forged, '{"role":"anon"}'), true),
            set_config('request.headers', json_build_object('authorization', 'Bearer ' || bearer)::text, true);
    PERFORM rowguard.postgrest_pre_request();
    RETURN QUERY SELECT current_user, auth.uid(), auth.role(),
                        (SELECT string_agg(t.task, ', ' ORDER BY t.id) FROM public.sbx_todos t);
END
$$;
-- Storage's scope statement (src/internal/database/postgres/scope.ts), with its
-- parameters, and Realtime's (lib/realtime/tenants/authorization.ex, set_conn_config).
CREATE FUNCTION sbx.storage_scope(role text, jwt text, sub text, claims text, method text, path text, operation text)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE $s$SELECT set_config('role', $1, true), set_config('request.jwt.claim.role', $2, true),
       set_config('request.jwt', $3, true), set_config('request.jwt.claim.sub', $4, true),
       set_config('request.jwt.claims', $5, true), set_config('request.headers', $6, true),
       set_config('request.method', $7, true), set_config('request.path', $8, true),
       set_config('storage.operation', $9, true), set_config('storage.allow_delete_query', 'true', true)$s$
      USING role, role, jwt, sub, claims, '{"x-client-info":"storage-js"}', method, path, operation;
END
$$;
CREATE FUNCTION sbx.realtime_conn_config(role text, topic text, jwt text, claims text)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE $s$SELECT set_config('role', $1, true), set_config('realtime.topic', $2, true),
       set_config('request.jwt', $3, true), set_config('request.jwt.claims', $4, true),
       set_config('request.headers', $5, true)$s$
      USING role, topic, jwt, claims, '{}';
END
$$;
SET SESSION AUTHORIZATION authenticator;
BEGIN; SELECT set_config('role', 'authenticator', true) IS NOT NULL AS begun;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS sub;
SELECT current_user, auth.uid(), auth.role(), auth.email(), auth.jwt() ->> 'session_id' AS session_id;
SELECT task FROM public.sbx_todos ORDER BY id;
-- A forged setting next to the verified identity changes nothing.
SELECT set_config('request.jwt.claims', '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b"}', true) IS NOT NULL AS forged;
SELECT task FROM public.sbx_todos ORDER BY id;
SELECT sbx.sqlstate('SET ROLE service_role') AS leave_bound_role;
ROLLBACK;
SELECT current_user AS after_rollback;
BEGIN;
SELECT rowguard.authenticate(:'bob_es256') ->> 'email' AS email;
SELECT current_user, auth.uid(), task FROM public.sbx_todos ORDER BY id;
ROLLBACK;
BEGIN;
SELECT rowguard.authenticate(:'anon_key') ->> 'role' AS role;
SELECT current_user, auth.uid(), auth.role(), count(*) AS todos FROM public.sbx_todos GROUP BY 1, 2, 3;
ROLLBACK;
BEGIN;
SELECT rowguard.authenticate(:'service_key') ->> 'role' AS role;
SELECT current_user, auth.role(), count(*) AS todos FROM public.sbx_todos GROUP BY 1, 2;
ROLLBACK;
BEGIN;
SELECT rowguard.authenticate(:'anonymous_user') ->> 'is_anonymous' AS is_anonymous;
SELECT current_user, auth.uid(), count(*) AS todos FROM public.sbx_todos GROUP BY 1, 2;
ROLLBACK;
BEGIN;
SELECT rowguard.authenticate(:'oauth') ->> 'aud' AS aud;
SELECT current_user, task FROM public.sbx_todos ORDER BY id;
ROLLBACK;
-- PostgREST's own statement sequence, through the pre-request.
BEGIN; SELECT * FROM sbx.request(:'alice_kid', '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"service_role"}'); ROLLBACK;
BEGIN; SELECT * FROM sbx.request(:'anon_key'); ROLLBACK;
BEGIN; SELECT sbx.sqlstate(format('SELECT * FROM sbx.request(%L)', :'alice' || 'x')) AS tampered; ROLLBACK;
RESET SESSION AUTHORIZATION;

-- auth.role() with no identity and no request.jwt: 'anon', as under PostgREST.
SELECT auth.role() AS role, auth.uid() AS uid, auth.jwt() AS jwt;

-- Supabase Storage: it connects as supabase_storage_admin and runs its scope statement
-- (role, request.jwt.claim.role, request.jwt = the raw token, request.jwt.claim.sub,
-- request.jwt.claims, headers, method, path, operation) before each query.
SET SESSION AUTHORIZATION supabase_storage_admin;
-- Alice updates her own object (one row) and lists her folder.
BEGIN;
SELECT sbx.storage_scope('authenticated', :'alice', 'aaaaaaaa-0000-4000-8000-00000000000a', :'alice_claims',
                         'PUT', '/object/avatars/aaaaaaaa-0000-4000-8000-00000000000a/a.png', 'object.upload');
SELECT current_user, auth.uid(), auth.role();
WITH u AS (UPDATE storage.objects SET version = 'v2', updated_at = now()
            WHERE bucket_id = 'avatars' AND name = 'aaaaaaaa-0000-4000-8000-00000000000a/a.png' RETURNING 1)
SELECT count(*) AS updated FROM u;
SELECT name, version FROM storage.objects ORDER BY name;
ROLLBACK;
-- The claims say Bob, the token is Alice's: the token decides.
BEGIN;
SELECT sbx.storage_scope('authenticated', :'alice', 'bbbbbbbb-0000-4000-8000-00000000000b',
                         '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"authenticated"}',
                         'GET', '/object/list/avatars', 'object.list');
SELECT auth.uid(), name FROM storage.objects ORDER BY name;
WITH u AS (UPDATE storage.objects SET version = 'v2' WHERE name LIKE 'bbbbbbbb%' RETURNING 1)
SELECT count(*) AS bobs_updated FROM u;
ROLLBACK;
-- No token, forged claims: nobody.
BEGIN;
SELECT sbx.storage_scope('authenticated', '', 'bbbbbbbb-0000-4000-8000-00000000000b',
                         '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"authenticated"}',
                         'GET', '/object/list/avatars', 'object.list');
SELECT auth.uid(), auth.role(), count(*) AS objects FROM storage.objects GROUP BY 1, 2;
ROLLBACK;
-- A forged token in request.jwt: refused.
BEGIN;
SELECT sbx.storage_scope('authenticated', sbx.hs256('{"alg":"HS256","typ":"JWT"}',
                             :'alice_claims'::jsonb || '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b"}',
                             'a-guessed-secret-of-at-least-32-characters!'),
                         'bbbbbbbb-0000-4000-8000-00000000000b', '{}', 'GET', '/object/list/avatars', 'object.list');
SELECT public.outcome('SELECT count(*) FROM storage.objects') AS forged_token;
ROLLBACK;
-- The anon key reads the public bucket (auth.role() = 'anon' from the verified key).
BEGIN;
SELECT sbx.storage_scope('anon', :'anon_key', '', '{"role":"anon","iss":"supabase"}', 'GET', '/object/public/logo.png', 'object.get');
SELECT auth.role(), name FROM storage.objects ORDER BY name;
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- Supabase Realtime: connected as supabase_admin, one transaction per check, rolled back.
SET SESSION AUTHORIZATION supabase_admin;
BEGIN;
SELECT sbx.realtime_conn_config('authenticated', 'room:aaaaaaaa-0000-4000-8000-00000000000a', :'alice', :'alice_claims');
SELECT id, topic FROM realtime.messages ORDER BY id;
ROLLBACK;
BEGIN;
SELECT sbx.realtime_conn_config('authenticated', 'room:bbbbbbbb-0000-4000-8000-00000000000b', :'alice',
                                '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"authenticated"}');
SELECT count(*) AS bobs_room_with_alices_token FROM realtime.messages;
ROLLBACK;
BEGIN;
SELECT sbx.realtime_conn_config('authenticated', 'room:bbbbbbbb-0000-4000-8000-00000000000b', :'bob_es256', '{}');
SELECT id, topic FROM realtime.messages ORDER BY id;
ROLLBACK;
RESET SESSION AUTHORIZATION;

-- A GoTrue upgrade re-runs 20220224000811_update_auth_functions as supabase_auth_admin:
-- rowguard's bodies are put back at once (WARNING), so forged claims still give nothing.
SET SESSION AUTHORIZATION supabase_auth_admin;
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
BEGIN;
SELECT set_config('request.jwt.claims', '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"service_role"}', true) IS NOT NULL AS forged;
SELECT auth.uid() AS uid, auth.role() AS role;
ROLLBACK;
-- Another function of the schema is GoTrue's business.
CREATE OR REPLACE FUNCTION auth.sbx_other() RETURNS int LANGUAGE sql AS 'SELECT 1';
DROP FUNCTION auth.sbx_other();
RESET SESSION AUTHORIZATION;
SELECT p.proname, p.proowner::regrole AS owner, p.prosrc LIKE '%rowguard%' AS rowguards
  FROM pg_proc p WHERE p.pronamespace = 'auth'::regnamespace ORDER BY 1;

-- Privileged bindings: only BYPASSRLS roles, never a superuser or a login role.
SELECT public.outcome($$SELECT rowguard.allow_privileged_role('supabase_admin')$$) AS superuser;
SELECT public.outcome($$SELECT rowguard.allow_privileged_role('authenticated')$$) AS no_bypassrls;
SELECT public.outcome($$SELECT rowguard.allow_privileged_role('sbx_postgres')$$) AS login_role;
SELECT public.outcome($$SELECT rowguard.allow_privileged_role('service_role', '')$$) AS empty_issuer;
SELECT public.outcome($$SELECT rowguard.allow_role('service_role', 'supabase')$$) AS plain_allow_role;
SET ROLE rowguard_admin;
SELECT sbx.sqlstate($$SELECT rowguard.allow_privileged_role('service_role')$$) AS not_granted;
RESET ROLE;
SELECT object, problem FROM rowguard._lint_030_privileged_bindings() WHERE object = 'role service_role';
-- Lint after the call: authenticator reaches no BYPASSRLS role any more.
SELECT object, problem FROM rowguard._lint_030_token_free_switch()
 WHERE object IN ('role authenticator', 'role supabase_storage_admin') ORDER BY 1, 2;
-- disallow_role takes the opt-in back; a role bound without it and given BYPASSRLS later
-- is refused.
SELECT rowguard.disallow_role('service_role', 'supabase') AS disallowed;
SELECT count(*) AS opt_ins_left FROM rowguard.privileged_role_bindings WHERE role = 'service_role'::regrole;
SELECT public.outcome(format('SELECT rowguard.verify(%L) ->> %L', :'service_key', 'role')) AS service_key_after;
SELECT rowguard.allow_privileged_role('service_role', 'supabase');
SELECT public.outcome(format('SELECT rowguard.verify(%L) ->> %L', :'service_key', 'role')) AS service_key_again;
-- A privileged binding never covers a superuser: the role made one later is refused.
ALTER ROLE service_role SUPERUSER;
SELECT public.outcome(format('SELECT rowguard.verify(%L) ->> %L', :'service_key', 'role')) AS service_key_superuser;
ALTER ROLE service_role NOSUPERUSER;

-- Lint on a Supabase database: the platform's schemas and roles get a note instead of
-- advice (rowguard._lint_platform_note), the API roles keep theirs.
SELECT rowguard._supabase_platform() AS platform;
SELECT o AS object, rowguard._lint_platform_note(o, 'p', f) AS note
  FROM (VALUES ('table auth.users', 'ALTER TABLE auth.users FORCE ROW LEVEL SECURITY;'),
               ('policy "x" on storage.objects', 'ALTER POLICY ...'),
               ('schema auth', 'REVOKE CREATE ON SCHEMA auth FROM supabase_auth_admin;'),
               ('role supabase_storage_admin', 'REVOKE service_role FROM supabase_storage_admin;'),
               ('role sbx_postgres', 'ALTER ROLE sbx_postgres NOBYPASSRLS;'),
               ('role authenticator', 'REVOKE service_role FROM authenticator;'),
               ('table public.sbx_todos', 'ALTER TABLE public.sbx_todos FORCE ROW LEVEL SECURITY;'),
               ('setting rowguard.audience', 'ALTER DATABASE x SET rowguard.audience = ''authenticated'';')) v (o, f);
SELECT count(*) > 0 AS lint_reports_auth_tables,
       count(*) FILTER (WHERE rowguard._lint_platform_note(l.object, l.problem, l.fix) IS NULL) AS left_after_filter
  FROM rowguard.lint() l WHERE l.object ~ '(auth|storage)\.';

-- Clean up.
RESET rowguard.role_binding_claim;
SELECT rowguard.disallow_role(r::regrole, i) FROM (VALUES ('anon', :'iss'), ('authenticated', :'iss'),
    ('anon', 'supabase'), ('service_role', 'supabase')) v (r, i);
SELECT rowguard.remove_key(k) FROM unnest(ARRAY['gotrue-key-1', 'supabase-api-keys-hs256', 'sbx-es256', 'sbx-rs256']) k;
SELECT rowguard.remove_issuer(i) FROM unnest(ARRAY[:'iss', 'supabase']) i;
DELETE FROM rowguard.compat_installed;
SET client_min_messages = warning;
DROP SCHEMA auth, storage, realtime, sbx CASCADE;
DROP TABLE public.sbx_todos;
RESET client_min_messages;
ALTER ROLE authenticator RESET ALL;
DROP ROLE anon, authenticated, service_role, authenticator, supabase_admin,
    supabase_auth_admin, supabase_storage_admin, sbx_postgres;
