-- The lint rules added in 0.3.0 (issue 22 item 12), one fixture each in schema lr30: lint
-- finds each hazard, its fix clears it (or, where the fix is a comment, the corrected
-- object does), and the safe variant next to it is not reported. Only objects of this
-- suite are shown.
SET client_min_messages = warning;
DROP ROLE IF EXISTS lr30_owner, lr30_app, lr30_admin;
RESET client_min_messages;
CREATE ROLE lr30_owner NOLOGIN;
CREATE ROLE lr30_app NOLOGIN;
CREATE ROLE lr30_admin NOLOGIN;
CREATE SCHEMA lr30 AUTHORIZATION lr30_owner;
GRANT USAGE ON SCHEMA lr30 TO lr30_app, lr30_admin;
SET ROLE lr30_owner;
CREATE TABLE lr30.docs (id int PRIMARY KEY, tenant_id uuid NOT NULL, body text);
CREATE INDEX ON lr30.docs (tenant_id);
ALTER TABLE lr30.docs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
GRANT SELECT ON lr30.docs TO lr30_app, lr30_admin;
-- 19. OR true, OR current_user = '...', and a policy that is fine.
CREATE POLICY or_true ON lr30.docs
    USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')) OR true);
CREATE POLICY or_user ON lr30.docs
    USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')) OR current_user = 'lr30_admin');
CREATE POLICY or_user_left ON lr30.docs
    USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')) OR 'lr30_admin' = session_user);
CREATE POLICY true_first ON lr30.docs
    USING (true OR tenant_id = (SELECT rowguard.claim_uuid('tenant_id')));
CREATE POLICY user_first ON lr30.docs FOR UPDATE
    USING (current_user = 'lr30_admin' OR tenant_id = (SELECT rowguard.claim_uuid('tenant_id')));
CREATE POLICY restrictive_or ON lr30.docs AS RESTRICTIVE
    USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')) OR current_user = 'lr30_admin');
CREATE POLICY fine ON lr30.docs
    USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')));
-- 20. A definer function owned by the table's (non-superuser) owner, executable by PUBLIC,
-- on a table whose row level security is not forced; and one on the forced table.
CREATE TABLE lr30.notes (id int PRIMARY KEY, tenant_id uuid NOT NULL);
CREATE INDEX ON lr30.notes (tenant_id);
SELECT length(rowguard.tenant_policy('lr30.notes')) > 0 AS notes;
ALTER TABLE lr30.notes NO FORCE ROW LEVEL SECURITY;
CREATE FUNCTION lr30.count_notes() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ SELECT count(*) FROM lr30.notes $$;
CREATE FUNCTION lr30.count_docs() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ SELECT count(*) FROM lr30.docs $$;
-- 21. Dynamic SQL in definer functions: concatenation, format %s; and the safe forms.
CREATE FUNCTION lr30.purge(t text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE 'DELETE FROM lr30.' || t;
END
$$;
CREATE FUNCTION lr30.purge_fmt(t text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DELETE FROM lr30.%s', t);
END
$$;
CREATE FUNCTION lr30.purge_safe(t text, keep int) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DELETE FROM lr30.%I WHERE id <> $1', t) USING keep;
    EXECUTE 'DELETE FROM lr30.' || quote_ident(t) || ' WHERE id = 0';
END
$$;
REVOKE EXECUTE ON FUNCTION lr30.count_docs(), lr30.purge(text), lr30.purge_fmt(text),
    lr30.purge_safe(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lr30.purge(text), lr30.purge_fmt(text), lr30.purge_safe(text, int)
    TO lr30_app;
-- 22. Settings read through pg_settings, pg_show_all_settings() and E'...'.
CREATE TABLE lr30.tickets (id int PRIMARY KEY, tenant_id uuid NOT NULL, owner text);
CREATE INDEX ON lr30.tickets (tenant_id, owner);
ALTER TABLE lr30.tickets ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE FUNCTION lr30.claims_escaped() RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN current_setting(E'request.jwt.claims', true)::jsonb;
END
$$;
CREATE FUNCTION lr30.tenant_from_view() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT s.setting::uuid FROM pg_settings s WHERE s.name = 'app.tenant_id' $$;
CREATE POLICY by_escaped ON lr30.tickets
    USING (tenant_id = (lr30.claims_escaped() ->> 'tenant_id')::uuid);
CREATE POLICY by_view ON lr30.tickets AS RESTRICTIVE
    USING (tenant_id = lr30.tenant_from_view());
CREATE POLICY by_view_inline ON lr30.tickets AS RESTRICTIVE
    USING (owner = (SELECT s.setting FROM pg_show_all_settings() s WHERE s.name = 'app.owner'));
RESET ROLE;

CREATE VIEW lr30_findings AS
SELECT severity, object, problem, fix FROM rowguard.lint()
 WHERE object LIKE '%lr30.%' AND object NOT LIKE 'table %';
SELECT severity, object, problem FROM lr30_findings ORDER BY 1, 2, 3;
SELECT object, fix FROM lr30_findings ORDER BY 1, 2;
-- The new rules run in lint() as they do alone.
SELECT proname AS rule_function FROM pg_proc
 WHERE pronamespace = 'rowguard'::regnamespace AND proname LIKE '\_lint\_030\_%'
   AND proargnames = ARRAY['severity', 'object', 'problem', 'fix']
 ORDER BY proname;

-- Fixes: a policy per role instead of the OR branches, FORCE on the table the definer
-- function reads, quoted names and bound values, the identity from rowguard's accessors.
SET ROLE lr30_owner;
ALTER POLICY or_true ON lr30.docs USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')));
ALTER POLICY or_user ON lr30.docs USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')));
ALTER POLICY or_user_left ON lr30.docs USING (tenant_id = (SELECT rowguard.claim_uuid('tenant_id')));
DROP POLICY true_first ON lr30.docs;
DROP POLICY user_first ON lr30.docs;
CREATE POLICY or_user_role ON lr30.docs TO lr30_admin USING (true);
ALTER TABLE lr30.notes FORCE ROW LEVEL SECURITY;
CREATE OR REPLACE FUNCTION lr30.purge(t text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DELETE FROM lr30.%I', t);
END
$$;
CREATE OR REPLACE FUNCTION lr30.purge_fmt(t text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DELETE FROM lr30.%I', t);
END
$$;
CREATE OR REPLACE FUNCTION lr30.claims_escaped() RETURNS jsonb LANGUAGE sql STABLE
    AS $$ SELECT rowguard.claims() $$;
CREATE OR REPLACE FUNCTION lr30.tenant_from_view() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT rowguard.claim_uuid('tenant_id') $$;
ALTER POLICY by_view_inline ON lr30.tickets USING (owner = (SELECT rowguard.sub()));
RESET ROLE;
SELECT severity, object, problem FROM lr30_findings ORDER BY 1, 2, 3;

DROP VIEW lr30_findings;
SET client_min_messages = warning;
DROP SCHEMA lr30 CASCADE;
RESET client_min_messages;
DROP ROLE lr30_owner, lr30_app, lr30_admin;
