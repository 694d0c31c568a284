-- The lint rules added in 0.2.0, one fixture each in schema lr: lint finds each hazard,
-- its fix (run as a superuser) clears it, and a correct setup (the cross-tenant
-- maintenance role of docs/policies.md) is accepted. Only objects of this suite are shown
-- (lr.*, roles lr_*, keys lr-*): the cluster holds other suites' roles and keys.
SET client_min_messages = warning;
DROP ROLE IF EXISTS lr_login, lr_login_owner, lr_reader, lr_reader_owner, lr_tables,
    lr_maint, lr_ops, lr_ops_inherit;
RESET client_min_messages;
CREATE ROLE lr_tables NOLOGIN;
CREATE ROLE lr_login LOGIN;
CREATE ROLE lr_reader LOGIN;
CREATE SCHEMA lr AUTHORIZATION lr_tables;
GRANT USAGE ON SCHEMA lr TO lr_login, lr_reader;
GRANT CREATE ON SCHEMA lr TO lr_login;
SELECT rowguard.add_key('{"kty":"oct","kid":"lr-key","alg":"HS256","k":"bGludC1ydWxlcy1zZWNyZXQtb2YtYXQtbGVhc3QtMzItYnl0ZXM"}');
SELECT rowguard.sign('{"sub":"lr","owner":"lr","aud":"lr-api","tenant_id":"11111111-1111-4111-8111-111111111111","exp":4102444800}',
                     'lr-key') AS lr_token \gset

SET client_min_messages = error;  -- the templates' index warnings are not the subject here
-- A table a login role owns.
SET ROLE lr_login;
CREATE TABLE lr.owned (id int, tenant_id uuid NOT NULL);
CREATE INDEX ON lr.owned (tenant_id);
SELECT length(rowguard.tenant_policy('lr.owned')) > 0 AS owned;
RESET ROLE;
SET ROLE lr_tables;
-- Unique keys without the tenant column (a constraint and an expression index); a
-- primary key is not reported.
CREATE TABLE lr.accounts (id int PRIMARY KEY, tenant_id uuid NOT NULL, email text NOT NULL,
                          CONSTRAINT accounts_email_key UNIQUE (email));
CREATE UNIQUE INDEX accounts_lower_email ON lr.accounts (lower(email));
CREATE INDEX ON lr.accounts (tenant_id);
INSERT INTO lr.accounts VALUES (1, '11111111-1111-4111-8111-111111111111', 'a@one.test'),
                               (2, '22222222-2222-4222-8222-222222222222', 'b@two.test');
SELECT length(rowguard.tenant_policy('lr.accounts')) > 0 AS accounts;
GRANT SELECT ON lr.accounts TO lr_reader;
-- A materialized view over it, readable by a login role.
CREATE MATERIALIZED VIEW lr.totals AS SELECT tenant_id, count(*) AS n FROM lr.accounts GROUP BY 1;
GRANT SELECT ON lr.totals TO lr_reader;
-- Tenant read through two functions, SQL then PL/pgSQL, the last from a session setting;
-- another through a rowguard.* name rowguard does not define.
CREATE TABLE lr.notes (id int, tenant_id uuid NOT NULL, owner text NOT NULL);
CREATE INDEX ON lr.notes (tenant_id, owner);
INSERT INTO lr.notes VALUES (1, '11111111-1111-4111-8111-111111111111', 'lr'),
                            (2, '11111111-1111-4111-8111-111111111111', 'someone else'),
                            (3, '22222222-2222-4222-8222-222222222222', 'lr');
CREATE FUNCTION lr.tenant_setting() RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN current_setting('app.tenant_id', true)::uuid;
END
$$;
CREATE FUNCTION lr.current_tenant() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT lr.tenant_setting() $$;
ALTER TABLE lr.notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY by_function ON lr.notes USING (tenant_id = lr.current_tenant());
CREATE POLICY by_placeholder ON lr.notes AS RESTRICTIVE
    USING (owner = current_setting('ROWGUARD.owner', true));
GRANT SELECT ON lr.notes TO lr_reader;
-- A SQL-standard body (BEGIN ATOMIC) reading the setting, behind two functions that call
-- each other (the walk stops at the cycle).
CREATE TABLE lr.events (id int, tenant_id uuid NOT NULL);
CREATE INDEX ON lr.events (tenant_id);
CREATE FUNCTION lr.atomic_tenant() RETURNS uuid LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT current_setting('app.tenant_id', true)::uuid;
END;
CREATE FUNCTION lr.ping(n int) RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF n > 0 THEN RETURN lr.pong(n - 1); END IF;
    RETURN lr.atomic_tenant();
END
$$;
CREATE FUNCTION lr.pong(n int) RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN lr.ping(n);
END
$$;
ALTER TABLE lr.events ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY by_cycle ON lr.events USING (tenant_id = lr.ping(1));
RESET ROLE;
RESET client_min_messages;
-- A SECURITY DEFINER function a superuser owns, reading a protected table, callable by all.
CREATE FUNCTION lr.count_accounts() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT count(*) FROM lr.accounts $$;
-- Tokens where every role can read them.
CREATE FUNCTION lr.as_service() RETURNS text LANGUAGE sql
    SET rowguard.token = :'lr_token' AS $$ SELECT rowguard.sub() $$;
ALTER ROLE lr_reader SET rowguard.token = :'lr_token';
-- A login role with a schema of its own on its search_path ("$user").
CREATE SCHEMA lr_reader AUTHORIZATION lr_reader;
-- Verification settings: two issuers, one with an audience, and a key bound to neither.
SELECT rowguard.set_issuer('https://one.lr.test', audience => ARRAY['lr-api']);
SELECT rowguard.set_issuer('https://two.lr.test');
SELECT rowguard.add_key('{"kty":"oct","kid":"lr-unbound","alg":"HS256","k":"bGludC1ydWxlcy11bmJvdW5kLXNlY3JldC1vZi0zMi1ieXRlcw"}');
-- Cross-tenant maintenance as docs/policies.md sets it up: a NOLOGIN BYPASSRLS role with
-- the grants, reached by SET ROLE from an operator's NOINHERIT login role that holds no
-- privilege of its own. The same membership for an INHERIT login role is reported.
CREATE ROLE lr_maint NOLOGIN BYPASSRLS;
GRANT USAGE ON SCHEMA lr TO lr_maint;
GRANT SELECT, UPDATE ON lr.accounts TO lr_maint;
CREATE ROLE lr_ops LOGIN NOINHERIT IN ROLE lr_maint;
CREATE ROLE lr_ops_inherit LOGIN IN ROLE lr_maint;

-- Each finding (the info rules need a caller that may read rowguard's tables).
\x on
SELECT severity, object, problem, fix FROM rowguard.lint()
 WHERE (object LIKE '%lr.%' OR object LIKE 'role lr\_%' OR object LIKE 'function lr.%')
    OR object LIKE '%lr\_reader%'
 ORDER BY object, problem;
\x off
-- The verification rules name the cluster's keys and issuers; this suite's rows only.
SELECT severity, object, fix ~ '\nUPDATE rowguard\.keys SET issuer = ' AS fix_binds_issuer
  FROM rowguard.lint() WHERE object = 'key ''lr-unbound''';
SELECT severity, problem LIKE '%key ''lr-unbound''%' AS names_key, fix
  FROM rowguard.lint() WHERE object = 'setting rowguard.audience';
-- The operator's role is accepted, and it works: no rows of its own, every row after SET ROLE.
SELECT count(*) AS lr_ops_findings FROM rowguard.lint() WHERE object = 'role lr_ops';
SET ROLE lr_ops;
SELECT public.outcome('SELECT count(*) FROM lr.accounts');
SET ROLE lr_maint;
SELECT count(*) AS maintenance_sees FROM lr.accounts;
RESET ROLE;

-- A hostile login role runs lint too: it sees the catalog findings, nothing of the key
-- configuration, and cannot read the key table itself.
SET ROLE lr_reader;
SELECT count(*) > 0 AS sees_findings, count(*) FILTER (WHERE severity = 'info') AS info_rows
  FROM rowguard.lint();
SELECT public.outcome('SELECT count(*) FROM rowguard.keys');
RESET ROLE;

-- Every fix, as a superuser; then nothing is left. (rowguard.audience is set for the
-- database, so lint looks again from a new session.)
SET client_min_messages = error;
\t \a
SELECT fix FROM rowguard.lint()
 WHERE (object LIKE '%lr.%' OR object LIKE 'role lr\_%' OR object LIKE 'function lr.%'
        OR object LIKE '%lr\_reader%' OR object = 'setting rowguard.audience')
 ORDER BY object, problem \gexec
-- (this fix names every issuer of the cluster, which depends on the suites before)
\set ECHO none
SELECT fix FROM rowguard.lint() WHERE object = 'key ''lr-unbound''' \gexec
\set ECHO all
\t \a
\c
SELECT severity, object, problem FROM rowguard.lint()
 WHERE (object LIKE '%lr.%' OR object LIKE 'role lr\_%' OR object LIKE 'function lr.%')
    OR object LIKE '%lr\_reader%' OR object = 'key ''lr-unbound''' OR object = 'setting rowguard.audience';

-- What the fixes did: the tenant now comes from the verified token, the functions keep
-- their names, the owner is a NOLOGIN role, the login role keeps its DML.
SELECT pg_get_functiondef('lr.tenant_setting'::regproc) ~ 'rowguard\.claim\(''tenant_id''\)' AS reads_claim;
SELECT policyname, qual FROM pg_policies WHERE schemaname = 'lr' AND tablename = 'notes' ORDER BY 1;
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner, a.rolcanlogin AS owner_can_login,
       has_table_privilege('lr_login', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS login_dml,
       has_table_privilege('lr_login', c.oid, 'TRUNCATE') AS login_truncate
  FROM pg_class c JOIN pg_roles a ON a.oid = c.relowner WHERE c.oid = 'lr.owned'::regclass;
SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
 WHERE i.indrelid = 'lr.accounts'::regclass AND i.indisunique ORDER BY 1;
SET ROLE lr_reader;
BEGIN;
SELECT rowguard.authenticate(:'lr_token') IS NOT NULL AS authenticated;
SELECT id FROM lr.notes;
SELECT public.outcome('SELECT count(*) FROM lr.totals');
SELECT public.outcome('SELECT lr.count_accounts()');
SELECT public.outcome('CREATE TEMP TABLE t (x int)');
ROLLBACK;
RESET ROLE;

-- Put the database back for the suites after this one.
ALTER DATABASE :"DBNAME" RESET rowguard.audience;
GRANT TEMPORARY ON DATABASE :"DBNAME" TO PUBLIC;
SELECT rowguard.remove_key('lr-key'), rowguard.remove_key('lr-unbound'),
       rowguard.remove_issuer('https://one.lr.test'), rowguard.remove_issuer('https://two.lr.test');
SET client_min_messages = warning;
DROP SCHEMA lr, lr_reader CASCADE;
RESET client_min_messages;
DROP ROLE lr_login, lr_login_owner, lr_reader, lr_reader_owner, lr_tables, lr_maint, lr_ops,
    lr_ops_inherit;
