-- The schema the example pgTAP suite (test/pgtap/*.sql) tests: a Supabase-style
-- "notes" table per team, ported to rowguard (docs/testing-policies.md). Loaded by
-- test/integration/pgtap.sh as a superuser, in a database of its own.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS rowguard;
CREATE ROLE pgtap_app NOLOGIN;          -- what the application (Supabase's "authenticated") runs as
CREATE ROLE pgtap_owner NOLOGIN;
CREATE ROLE pgtap_tester LOGIN;         -- the role the test suite runs as
GRANT EXECUTE ON FUNCTION rowguard.test_authenticate(jsonb), rowguard.test_reset() TO pgtap_tester;
GRANT pgtap_app TO pgtap_tester;
CREATE SCHEMA app AUTHORIZATION pgtap_owner;
GRANT USAGE ON SCHEMA app TO pgtap_app;
SET ROLE pgtap_owner;
CREATE TABLE app.notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        team_id uuid NOT NULL, author text NOT NULL DEFAULT rowguard.sub(),
                        body text NOT NULL);
CREATE INDEX ON app.notes (team_id, author);
INSERT INTO app.notes (team_id, author, body) VALUES
    ('11111111-1111-4111-8111-111111111111', 'alice', 'acme plan'),
    ('11111111-1111-4111-8111-111111111111', 'anna', 'acme budget'),
    ('22222222-2222-4222-8222-222222222222', 'bob', 'globex plan');
SELECT rowguard.tenant_policy('app.notes', 'team_id', 'team_id') IS NOT NULL AS team_policy;
SELECT rowguard.owner_policy('app.notes', 'author', 'sub', 'UPDATE') IS NOT NULL AS author_policy;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.notes TO pgtap_app;
RESET ROLE;
