-- rowguard.lint(): every hazard in a fixture schema (lint_bad), nothing in a correctly
-- protected one (lint_good), and the fixes it proposes clear lint_bad.
CREATE SCHEMA lint_bad AUTHORIZATION rowguard_app;
CREATE SCHEMA lint_good AUTHORIZATION rowguard_app;
SET client_min_messages = warning;
DROP ROLE IF EXISTS lint_bypass, lint_member, lint_group;  -- left by an earlier run
RESET client_min_messages;
CREATE ROLE lint_bypass LOGIN BYPASSRLS;
CREATE ROLE lint_group NOLOGIN BYPASSRLS;
CREATE ROLE lint_member LOGIN IN ROLE lint_group;

SET ROLE rowguard_app;
SET client_min_messages = error;  -- the templates' index warnings are not the subject here
-- The good schema: tenant tables with their indexes, a child whose foreign key carries
-- the tenant, a security_invoker view, a protected partitioned table.
CREATE TABLE lint_good.orders (id bigint, tenant_id uuid NOT NULL, owner_id text NOT NULL,
                               PRIMARY KEY (tenant_id, id));
CREATE INDEX ON lint_good.orders (tenant_id, owner_id);
CREATE TABLE lint_good.items (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, order_id bigint,
                              FOREIGN KEY (tenant_id, order_id) REFERENCES lint_good.orders (tenant_id, id));
CREATE INDEX ON lint_good.items (tenant_id);
CREATE TABLE lint_good.events (tenant_id uuid NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE lint_good.events_2025 PARTITION OF lint_good.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX ON lint_good.events (tenant_id);
SELECT length(rowguard.tenant_policy('lint_good.orders')) > 0 AS orders,
       length(rowguard.owner_policy('lint_good.orders')) > 0 AS orders_owner,
       length(rowguard.tenant_policy('lint_good.items')) > 0 AS items,
       length(rowguard.tenant_policy('lint_good.events')) > 0 AS events;
CREATE VIEW lint_good.order_items WITH (security_invoker = true) AS
    SELECT o.id, i.id AS item FROM lint_good.orders o JOIN lint_good.items i ON i.order_id = o.id;

-- The bad schema, one hazard per object.
CREATE TABLE lint_bad.not_forced (id int, tenant_id uuid);
CREATE INDEX ON lint_bad.not_forced (tenant_id);
SELECT length(rowguard.tenant_policy('lint_bad.not_forced')) > 0 AS not_forced;
ALTER TABLE lint_bad.not_forced NO FORCE ROW LEVEL SECURITY;
CREATE TABLE lint_bad.no_rls (id int, tenant_id uuid);
CREATE TABLE lint_bad.jwt (id int, tenant_id uuid, owner text, org text);
CREATE INDEX ON lint_bad.jwt (tenant_id);
CREATE INDEX ON lint_bad.jwt (owner);
CREATE INDEX ON lint_bad.jwt (org);
ALTER TABLE lint_bad.jwt ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY by_claim ON lint_bad.jwt
    USING (tenant_id = current_setting('request.jwt.claim.tenant_id', true)::uuid);
CREATE POLICY by_claims ON lint_bad.jwt AS RESTRICTIVE
    USING (owner = current_setting('request.jwt.claims', true)::json ->> 'sub');
CREATE POLICY by_app ON lint_bad.jwt AS RESTRICTIVE FOR INSERT
    WITH CHECK (org = current_setting('app.org'));
CREATE TABLE lint_bad.no_index (id int, tenant_id bigint, owner_id text);
SELECT length(rowguard.tenant_policy('lint_bad.no_index')) > 0 AS no_index,
       length(rowguard.owner_policy('lint_bad.no_index')) > 0 AS no_index_owner;
CREATE TABLE lint_bad.parent (id bigint PRIMARY KEY, tenant_id uuid NOT NULL);
CREATE INDEX ON lint_bad.parent (tenant_id);
SELECT length(rowguard.tenant_policy('lint_bad.parent')) > 0 AS parent;
CREATE TABLE lint_bad.probe (id int, tenant_id uuid, parent_id bigint REFERENCES lint_bad.parent);
CREATE TABLE lint_bad.half (id int, tenant_id uuid, parent_id bigint REFERENCES lint_bad.parent);
CREATE INDEX ON lint_bad.half (tenant_id);
SELECT length(rowguard.tenant_policy('lint_bad.half')) > 0 AS half;
CREATE VIEW lint_bad.parent_view AS SELECT * FROM lint_bad.parent;
CREATE TABLE lint_bad.events (tenant_id uuid NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE INDEX ON lint_bad.events (tenant_id);
SELECT length(rowguard.tenant_policy('lint_bad.events')) > 0 AS events;
CREATE TABLE lint_bad.events_2025 PARTITION OF lint_bad.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE lint_bad.moot (id int, tenant_id uuid);
CREATE INDEX ON lint_bad.moot (tenant_id);
SELECT length(rowguard.tenant_policy('lint_bad.moot')) > 0 AS moot;
CREATE POLICY own_rows ON lint_bad.moot USING (id > 0);
RESET client_min_messages;
RESET ROLE;
-- A view owned by a superuser reads every tenant's rows.
CREATE VIEW lint_bad.super_view AS SELECT * FROM lint_bad.parent;

-- What lint finds, as a non-superuser (it reads only the catalogs).
SET ROLE rowguard_app;
\x on
SELECT * FROM rowguard.lint()
 WHERE object LIKE '%lint\_bad.%' OR object LIKE 'role lint\_%';
\x off
-- Nothing in the good schema.
SELECT count(*) AS good_findings FROM rowguard.lint() WHERE object LIKE '%lint\_good.%';
RESET ROLE;

-- Every fix is SQL; run as a superuser (roles and the superuser's view need one), they
-- leave nothing to report.
SET client_min_messages = error;
\t \a
SELECT fix FROM rowguard.lint()
 WHERE object LIKE '%lint\_bad.%' OR object LIKE 'role lint\_%'
 ORDER BY object, problem \gexec
\t \a
RESET client_min_messages;
SELECT severity, object, problem FROM rowguard.lint()
 WHERE object LIKE '%lint\_bad.%' OR object LIKE 'role lint\_%';
-- The rewritten policies read verified claims now.
SELECT policyname, qual, with_check FROM pg_policies
 WHERE schemaname = 'lint_bad' AND tablename = 'jwt' ORDER BY policyname;

SET client_min_messages = warning;
DROP SCHEMA lint_bad, lint_good CASCADE;
RESET client_min_messages;
DROP ROLE lint_bypass, lint_member, lint_group;
