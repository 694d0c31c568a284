-- install_compat('supabase'): a Supabase-style schema (organizations, memberships,
-- profiles, documents) with Supabase's own auth.* functions and policy text. A forged
-- request.jwt.claims reads another organization's documents before install_compat and
-- nothing after; lint reports the forgeable functions before and nothing after; the
-- policies keep their text; the plans keep their InitPlan and index conditions.
SET client_min_messages = warning;
DROP ROLE IF EXISTS authenticated, anon, sb_owner;
RESET client_min_messages;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE anon NOLOGIN;
CREATE ROLE sb_owner NOLOGIN;

-- Supabase's definitions (supabase/auth migrations), verbatim.
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  select nullif(
    coalesce(
      current_setting('request.jwt.claim.sub', true),
      (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')
    ), ''
  )::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  select
    coalesce(
      current_setting('request.jwt.claim.role', true),
      (current_setting('request.jwt.claims', true)::jsonb ->> 'role')
    )::text
$$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
  select
    coalesce(
      current_setting('request.jwt.claim.email', true),
      (current_setting('request.jwt.claims', true)::jsonb ->> 'email')
    )::text
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, sb_owner;

-- The application's schema, owned by a role that cannot log in.
CREATE SCHEMA sb AUTHORIZATION sb_owner;
GRANT USAGE ON SCHEMA sb TO authenticated, anon;
SET ROLE sb_owner;
CREATE TABLE sb.organizations (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE sb.profiles (id uuid PRIMARY KEY, email text, full_name text);
CREATE TABLE sb.memberships (
    org_id  uuid NOT NULL REFERENCES sb.organizations,
    user_id uuid NOT NULL REFERENCES sb.profiles,
    role    text NOT NULL DEFAULT 'member',
    PRIMARY KEY (org_id, user_id));
CREATE INDEX ON sb.memberships (user_id);
CREATE TABLE sb.documents (
    id       uuid PRIMARY KEY,
    org_id   uuid NOT NULL REFERENCES sb.organizations,
    owner_id uuid NOT NULL DEFAULT auth.uid(),
    title    text NOT NULL);
CREATE INDEX ON sb.documents (owner_id);
CREATE INDEX ON sb.documents (org_id);
INSERT INTO sb.organizations VALUES
    ('a0000000-0000-4000-8000-000000000001', 'acme'),
    ('b0000000-0000-4000-8000-000000000002', 'globex');
INSERT INTO sb.profiles VALUES
    ('aaaaaaaa-0000-4000-8000-00000000000a', 'alice@acme.test', 'Alice'),
    ('bbbbbbbb-0000-4000-8000-00000000000b', 'bob@globex.test', 'Bob');
INSERT INTO sb.memberships VALUES
    ('a0000000-0000-4000-8000-000000000001', 'aaaaaaaa-0000-4000-8000-00000000000a', 'owner'),
    ('b0000000-0000-4000-8000-000000000002', 'bbbbbbbb-0000-4000-8000-00000000000b', 'owner');
INSERT INTO sb.documents VALUES
    ('d0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
     'aaaaaaaa-0000-4000-8000-00000000000a', 'acme plan'),
    ('d0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000002',
     'bbbbbbbb-0000-4000-8000-00000000000b', 'globex secret');
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA sb TO authenticated;

-- Policies as Supabase's documentation writes them.
ALTER TABLE sb.organizations ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE sb.profiles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE sb.memberships ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE sb.documents ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their own profile" ON sb.profiles
    FOR SELECT TO authenticated USING ((select auth.uid()) = id);
CREATE POLICY "Users can update their own profile" ON sb.profiles
    FOR UPDATE TO authenticated USING ((select auth.uid()) = id) WITH CHECK ((select auth.uid()) = id);
CREATE POLICY "Members see their memberships" ON sb.memberships
    FOR SELECT TO authenticated USING (user_id = auth.uid());
CREATE POLICY "Members see their organizations" ON sb.organizations
    FOR SELECT TO authenticated
    USING (id IN (SELECT m.org_id FROM sb.memberships m WHERE m.user_id = (select auth.uid())));
CREATE POLICY "Members read their organization's documents" ON sb.documents
    FOR SELECT TO authenticated
    USING (org_id IN (SELECT m.org_id FROM sb.memberships m WHERE m.user_id = (select auth.uid())));
CREATE POLICY "Members write documents of the organization in their token" ON sb.documents
    FOR INSERT TO authenticated
    WITH CHECK (owner_id = auth.uid() AND org_id = (auth.jwt() ->> 'org_id')::uuid
                AND auth.role() = 'authenticated');
RESET ROLE;
CREATE TEMP TABLE policies_before AS
    SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'sb';

-- Before: what PostgREST would set, any SQL on the connection can set. Alice's session
-- forges Bob's claims and reads Globex's secret.
SET ROLE authenticated;
BEGIN;
SELECT set_config('request.jwt.claims',
                  '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"authenticated"}', true) IS NOT NULL AS forged;
SELECT title FROM sb.documents ORDER BY title;
ROLLBACK;
RESET ROLE;

-- lint sees the forgeable functions behind the policies.
SELECT severity, object, problem, fix FROM rowguard.lint()
 WHERE object LIKE '%sb.%' ORDER BY object, problem;

-- The DDL, without running it; then for real, twice.
SELECT rowguard.install_compat('supabase', apply => false);
SELECT rowguard.install_compat('supabase') = rowguard.install_compat('supabase', false) AS same_script;
SELECT length(rowguard.install_compat('supabase')) > 0 AS ran_twice;
SELECT p.oid::regprocedure AS function, p.provolatile, p.proparallel, p.procost, p.prosecdef,
       p.proconfig, l.lanname
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'auth'::regnamespace ORDER BY 1;
-- Policies kept their text.
SELECT count(*) AS changed_policies FROM (
    SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'sb'
    EXCEPT SELECT * FROM policies_before) c;
SELECT count(*) AS policies FROM policies_before;
-- A transaction identity does not start on top of temporary objects (docs/security-model.md).
DROP TABLE policies_before;

-- After: the forged setting gives nothing; a verified token gives Alice her organization.
SELECT rowguard.add_key('{"kty":"oct","kid":"compat-hs256","alg":"HS256","k":"Y29tcGF0LXN1cGFiYXNlLXNlY3JldC1hdC1sZWFzdC0zMmI"}');
SELECT rowguard.sign(jsonb_build_object('sub', 'aaaaaaaa-0000-4000-8000-00000000000a',
                                        'role', 'authenticated', 'email', 'alice@acme.test',
                                        'org_id', 'a0000000-0000-4000-8000-000000000001',
                                        'aud', 'authenticated', 'exp', 4102444800),
                     'compat-hs256') AS alice \gset
SET ROLE authenticated;
BEGIN;
SELECT set_config('request.jwt.claims',
                  '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b","role":"authenticated"}', true) IS NOT NULL AS forged;
SELECT count(*) AS documents_seen FROM sb.documents;
SELECT auth.uid() IS NULL AS uid_is_null, auth.jwt() IS NULL AS jwt_is_null;
ROLLBACK;
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS sub;
SELECT auth.uid(), auth.role(), auth.email(), auth.jwt() ->> 'org_id' AS org_id;
SELECT title FROM sb.documents ORDER BY title;
SELECT name FROM sb.organizations ORDER BY name;
SELECT full_name FROM sb.profiles ORDER BY full_name;
-- The insert policy reads the verified claims too: her organization passes, another fails.
INSERT INTO sb.documents (id, org_id, title)
    VALUES ('d0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001', 'acme memo');
SELECT public.outcome($$INSERT INTO sb.documents (id, org_id, title) VALUES
    ('d0000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-000000000002', 'into globex')$$);
-- A forged setting next to a verified identity changes nothing either.
SELECT set_config('request.jwt.claims', '{"sub":"bbbbbbbb-0000-4000-8000-00000000000b"}', true) IS NOT NULL AS forged;
SELECT title FROM sb.documents ORDER BY title;
ROLLBACK;

-- Plans: (select auth.uid()) stays an InitPlan, user_id = auth.uid() an index condition.
SELECT * FROM plan($$SELECT full_name FROM sb.profiles$$);
SET enable_seqscan = off;
SELECT * FROM plan($$SELECT org_id FROM sb.memberships$$);
RESET enable_seqscan;
RESET ROLE;
SET enable_seqscan = off;
SELECT * FROM plan($$SELECT title FROM sb.documents WHERE owner_id = auth.uid()$$);
RESET enable_seqscan;

-- lint: nothing left in the schema.
SELECT severity, object, problem FROM rowguard.lint() WHERE object LIKE '%sb.%';

-- A hostile application role can neither undo nor redo it.
SET ROLE authenticated;
SELECT public.outcome($$CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
    AS 'SELECT ''bbbbbbbb-0000-4000-8000-00000000000b''::uuid'$$);
SELECT public.outcome($$SELECT rowguard.install_compat('supabase')$$);
-- (Created after the identity started: a transaction identity does not start on top of
-- temporary objects, see docs/security-model.md.)
BEGIN;
SELECT rowguard.authenticate(:'alice') IS NOT NULL AS authenticated;
SELECT public.outcome($$CREATE FUNCTION pg_temp.uid() RETURNS uuid LANGUAGE sql
    AS 'SELECT ''bbbbbbbb-0000-4000-8000-00000000000b''::uuid'$$);
-- The policies name auth.uid() with its schema: a pg_temp.uid() is never called.
SELECT title FROM sb.documents ORDER BY title;
ROLLBACK;
SELECT public.outcome($$SELECT set_config('rowguard.token', 'eyJhbGciOiJub25lIn0.e30.', true)$$);
RESET ROLE;

-- Flavour names: unknown is 22023, NULL is refused.
SELECT public.outcome($$SELECT rowguard.install_compat('firebase')$$);
SELECT public.outcome($$SELECT rowguard.install_compat(NULL)$$);

-- neon: pg_session_jwt's auth.user_id() / auth.session(), replaced in place the same way.
CREATE FUNCTION auth.user_id() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT current_setting('neon.auth.user_id', true) $$;
CREATE TABLE sb.notes (id int PRIMARY KEY, user_id text NOT NULL);
CREATE INDEX ON sb.notes (user_id);
ALTER TABLE sb.notes OWNER TO sb_owner;
ALTER TABLE sb.notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY own_notes ON sb.notes TO authenticated USING (user_id = auth.user_id());
GRANT SELECT ON sb.notes TO authenticated;
INSERT INTO sb.notes VALUES (1, 'aaaaaaaa-0000-4000-8000-00000000000a'), (2, 'bbbbbbbb-0000-4000-8000-00000000000b');
SELECT object, problem, fix FROM rowguard.lint() WHERE object LIKE '%sb.notes%';
SET ROLE authenticated;
BEGIN;
SELECT set_config('neon.auth.user_id', 'bbbbbbbb-0000-4000-8000-00000000000b', true) IS NOT NULL AS forged;
SELECT id FROM sb.notes;
ROLLBACK;
RESET ROLE;
SELECT rowguard.install_compat('neon');
SET ROLE authenticated;
BEGIN;
SELECT set_config('neon.auth.user_id', 'bbbbbbbb-0000-4000-8000-00000000000b', true) IS NOT NULL AS forged;
SELECT count(*) AS notes_seen FROM sb.notes;
SELECT rowguard.authenticate(:'alice') IS NOT NULL AS authenticated;
SELECT id, auth.session() ->> 'email' AS email FROM sb.notes;
ROLLBACK;
RESET ROLE;
SELECT count(*) AS findings FROM rowguard.lint() WHERE object LIKE '%sb.%';

SELECT rowguard.remove_key('compat-hs256');
-- install_compat recorded both flavours (the event trigger keeps their functions).
SELECT flavor FROM rowguard.compat_installed ORDER BY 1;
DELETE FROM rowguard.compat_installed;
SET client_min_messages = warning;
DROP SCHEMA sb, auth CASCADE;
RESET client_min_messages;
DROP ROLE authenticated, anon, sb_owner;
