-- The schemas of docs/migrating.md after their migration, with two tenants' (users')
-- rows each, on which rowguard.prove_isolation must report nothing
-- (test/integration/pgtap.sh). Run as a superuser in a database with rowguard.
SET client_min_messages = warning;
CREATE ROLE mig_app NOLOGIN;
CREATE ROLE mig_owner NOLOGIN;

-- From a hand-rolled SET app.tenant_id: the template replaces the policy.
CREATE SCHEMA app AUTHORIZATION mig_owner;
GRANT USAGE ON SCHEMA app TO mig_app;
CREATE TABLE app.orders (id int PRIMARY KEY, tenant_id uuid NOT NULL, total numeric);
CREATE INDEX ON app.orders (tenant_id);
INSERT INTO app.orders SELECT g, CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
                                      ELSE '22222222-2222-4222-8222-222222222222'::uuid END, g
  FROM generate_series(1, 20) g;
ALTER TABLE app.orders OWNER TO mig_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.orders TO mig_app;
SET ROLE mig_owner;
SELECT rowguard.tenant_policy('app.orders') IS NOT NULL AS protected;
RESET ROLE;

-- From PostgREST: the helper reads the verified claims, own_rows compares with the
-- accessor, and the template adds the tenant comparison.
CREATE SCHEMA api AUTHORIZATION mig_owner;
GRANT USAGE ON SCHEMA api TO mig_app;
CREATE TABLE api.todos (id int PRIMARY KEY, tenant_id uuid NOT NULL, owner text NOT NULL, task text);
CREATE INDEX ON api.todos (tenant_id, owner);
INSERT INTO api.todos SELECT g, CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
                                     ELSE '22222222-2222-4222-8222-222222222222'::uuid END,
                             CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, 'task ' || g
  FROM generate_series(1, 20) g;
ALTER TABLE api.todos OWNER TO mig_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON api.todos TO mig_app;
SET ROLE mig_owner;
CREATE FUNCTION api.current_tenant() RETURNS uuid LANGUAGE plpgsql STABLE AS $function$
BEGIN
    RETURN ((SELECT rowguard.claims())::text::json ->> 'tenant_id')::uuid;
END $function$;
ALTER TABLE api.todos ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON api.todos TO mig_app USING (tenant_id = api.current_tenant());
CREATE POLICY own_rows ON api.todos AS RESTRICTIVE TO mig_app
    USING ((owner = (SELECT rowguard.claim('sub'))))
    WITH CHECK ((owner = (((SELECT rowguard.claims())::text)::json ->> 'sub'::text)));
SELECT rowguard.tenant_policy('api.todos') IS NOT NULL AS protected;
RESET ROLE;

-- From Supabase, after install_compat('supabase'): the policies keep their text over
-- auth.uid(); the prover is told which column holds the user (boundaries).
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT rowguard.claim_uuid('sub') $$;
GRANT USAGE ON SCHEMA auth TO mig_app, mig_owner;
CREATE SCHEMA supa AUTHORIZATION mig_owner;
GRANT USAGE ON SCHEMA supa TO mig_app;
CREATE TABLE supa.profiles (id uuid PRIMARY KEY, email text, full_name text);
INSERT INTO supa.profiles VALUES ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'alice@acme.example', 'Alice'),
                                 ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'bob@globex.example', 'Bob');
ALTER TABLE supa.profiles OWNER TO mig_owner;
GRANT SELECT ON supa.profiles TO mig_app;
SET ROLE mig_owner;
ALTER TABLE supa.profiles ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their own profile" ON supa.profiles
    FOR SELECT TO mig_app USING ((select auth.uid()) = id);
RESET ROLE;
RESET client_min_messages;
