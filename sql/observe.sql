-- Seeing what happens without shared_preload_libraries: session_status, per-backend
-- stats, failure_delay, explain_access as the application role, audit_columns, and the
-- sessions view refusing with 55000. (Preloaded: test/integration/observe.sh.)
SELECT rowguard.sign('{"sub":"alice","iss":"https://observe.example","jti":"jti-alice-1","tenant_id":"11111111-1111-4111-8111-111111111111","scope":"orders:read","exp":4102444800}',
                     'hs256-key') AS alice \gset
SELECT rowguard.sign('{"sub":"bob","iss":"https://observe.example","jti":"jti-bob-1","tenant_id":"22222222-2222-4222-8222-222222222222","scope":"orders:read orders:write","exp":4102444800}',
                     'hs256-key') AS bob \gset
SELECT rowguard.sign('{"sub":"nobody","exp":4102444800}', 'hs256-key') AS bare \gset
SELECT rowguard.sign('{"sub":"late","exp":946684800}', 'hs256-key') AS expired \gset
SELECT rowguard.sign('{"sub":"odd","tenant_id":"not-a-uuid","scope":"orders:read","exp":4102444800}',
                     'hs256-key') AS odd \gset
-- A token with a bad signature and one naming a key nobody stored.
SELECT left(:'alice', length(:'alice') - 4) || 'AAAA' AS forged \gset
SELECT 'eyJhbGciOiJIUzI1NiIsImtpZCI6Im5vYm9keSJ9.' || split_part(:'alice', '.', 2) || '.c2ln' AS stranger \gset
-- The segments of a token no output below may contain.
-- (Regular objects, not temporary ones: a transaction identity does not start on top
-- of temporary objects, see docs/security-model.md.)
CREATE TABLE public.obs_segments AS
    SELECT s FROM unnest(string_to_array(:'alice', '.') || string_to_array(:'bob', '.')) AS s;
GRANT SELECT ON public.obs_segments TO PUBLIC;
CREATE FUNCTION public.obs_leaks(output text) RETURNS boolean LANGUAGE sql AS $$
    SELECT EXISTS (SELECT FROM public.obs_segments WHERE position(s IN output) > 0)
$$;

-- Administrators only: stats_reset and the two settings.
SELECT p.oid::regprocedure AS function,
       has_function_privilege('rowguard_app', p.oid, 'EXECUTE') AS app_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace
   AND p.proname IN ('session_status', 'stats', 'stats_reset', 'explain_access',
                     'audit_columns', 'audit_columns_trigger', '_sessions')
 ORDER BY 1::text;
SELECT has_table_privilege('rowguard_app', 'rowguard.sessions', 'SELECT') AS app_sessions,
       has_table_privilege('pg_read_all_stats', 'rowguard.sessions', 'SELECT') AS stats_role_sessions;
SELECT name, setting, unit, context FROM pg_settings
 WHERE name IN ('rowguard.failure_delay', 'rowguard.log_identity') ORDER BY name;

SET ROLE rowguard_app;
SELECT public.outcome('SELECT rowguard.stats_reset()');
SELECT public.outcome('SET rowguard.failure_delay = 0');
SELECT public.outcome('SET rowguard.log_identity = off');
RESET ROLE;

-- session_status: nobody, then a transaction identity, then a session identity.
SELECT rowguard.stats_reset();
SET ROLE rowguard_app;
SELECT rowguard.session_status();
BEGIN;
SET LOCAL rowguard.token = :'alice';
SELECT rowguard.session_status();
SELECT public.obs_leaks(rowguard.session_status()::text) AS leaks;
COMMIT;
SELECT rowguard.session_status() ->> 'authenticated' AS after_commit;
SET rowguard.token = :'bob';
SELECT rowguard.session_status() ->> 'scope' AS scope, rowguard.session_status() ->> 'sub' AS sub;
-- SET LOCAL on top of a session identity, then back to the session one at COMMIT.
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS sub;
SELECT rowguard.session_status() ->> 'scope' AS scope, rowguard.session_status() ->> 'sub' AS sub;
COMMIT;
SELECT rowguard.session_status() ->> 'scope' AS scope, rowguard.session_status() ->> 'sub' AS sub;
RESET rowguard.token;

-- last_failure: the reason the last token of this transaction was rejected, and only
-- in that transaction; the identity in force stays.
BEGIN;
SET LOCAL rowguard.token = :'alice';
SELECT public.outcome(format('SET LOCAL rowguard.token = %L', :'forged'));
SELECT s ->> 'sub' AS sub, s ->> 'last_failure' AS last_failure,
       s ->> 'last_failure_class' AS class, public.obs_leaks(s::text) AS leaks
  FROM rowguard.session_status() AS s;
SELECT public.outcome(format('SELECT rowguard.verify(%L)', :'expired'));
SELECT s ->> 'last_failure' AS last_failure, s ->> 'last_failure_class' AS class
  FROM rowguard.session_status() AS s;
COMMIT;
SELECT rowguard.session_status() -> 'last_failure' AS next_transaction;

-- stats (this backend's, not preloaded): every verification counts once, in its class.
SELECT public.verdict(:'alice') AS alice_again, public.verdict(:'bare') AS bare;
SELECT public.verdict(:'stranger') AS stranger, public.verdict('abc') AS malformed,
       public.verdict(:'expired') AS expired;
SELECT outcome, count FROM rowguard.stats() WHERE count > 0 ORDER BY outcome;
SELECT string_agg(outcome, ',' ORDER BY outcome) AS every_outcome FROM rowguard.stats();
RESET ROLE;
SELECT rowguard.stats_reset();
SELECT sum(count) AS after_reset FROM rowguard.stats();

-- failure_delay: a rejected token costs its session the delay, a good one nothing.
CREATE FUNCTION public.obs_elapsed_ms(statement text) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM public.outcome(statement);
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
SET rowguard.failure_delay = '300ms';
SELECT public.obs_elapsed_ms(format('SELECT rowguard.verify(%L)', :'forged')) >= 300 AS rejected_waits,
       public.obs_elapsed_ms(format('SET rowguard.token = %L', :'expired')) >= 300 AS set_waits;
-- A good token does not wait: with the longest delay (60 s) it answers long before a
-- 30 s statement timeout (a deadline against a hang, not a measured speed).
SET rowguard.failure_delay = '60s';
SET statement_timeout = '30s';
SELECT rowguard.verify(:'alice') ->> 'sub' AS accepted_does_not_wait;
RESET statement_timeout;
-- The wait is interruptible: a statement timeout ends it long before the delay.
SET rowguard.failure_delay = '20s';
SET statement_timeout = '300ms';
SELECT clock_timestamp() AS t0 \gset
SELECT rowguard.verify(:'forged') IS NULL;
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '10 s' AS cancelled_early;
RESET rowguard.failure_delay;

-- explain_access, asked by the application role about its own identity.
CREATE SCHEMA obs AUTHORIZATION rowguard_app;
SET ROLE rowguard_app;
CREATE TABLE obs.orders (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, note text);
CREATE INDEX ON obs.orders (tenant_id);
INSERT INTO obs.orders VALUES (1, '11111111-1111-4111-8111-111111111111', 'a'),
                              (2, '22222222-2222-4222-8222-222222222222', 'b');
-- Before any policy: the owner is not subject to row level security.
SELECT * FROM rowguard.explain_access('obs.orders');
SELECT rowguard.tenant_policy('obs.orders') IS NOT NULL AS tenant_policy;
SELECT rowguard.scope_policy('obs.orders', 'SELECT', 'orders:read') IS NOT NULL AS scope_policy;
SELECT rowguard.scope_policy('obs.orders', 'INSERT', 'orders:write') IS NOT NULL AS scope_policy;
-- No identity: every row hidden, and the notes say why.
SELECT count(*) AS visible FROM obs.orders;
SELECT * FROM rowguard.explain_access('obs.orders');
-- A token without the tenant claim or the scope.
SET rowguard.token = :'bare';
SELECT count(*) AS visible FROM obs.orders;
SELECT policy, applies, note FROM rowguard.explain_access('obs.orders', 'select');
-- A claim of the wrong type.
SET rowguard.token = :'odd';
SELECT policy, note FROM rowguard.explain_access('obs.orders') WHERE policy = 'rowguard_tenant';
-- alice sees her row; for INSERT she lacks orders:write.
SET rowguard.token = :'alice';
SELECT count(*) AS visible FROM obs.orders;
SELECT policy, permissive, applies, note FROM rowguard.explain_access('obs.orders');
SELECT policy, expression, note FROM rowguard.explain_access('obs.orders', 'INSERT');
-- Nothing about bob's rows (or any row) appears, and never the token.
SELECT bool_or(note LIKE '%2222%') AS other_tenant, bool_or(public.obs_leaks(note)) AS leaks
  FROM rowguard.explain_access('obs.orders');
SELECT public.outcome('SELECT rowguard.explain_access(''obs.orders'', ''ALL'')');
SELECT public.outcome('SELECT rowguard.explain_access(''obs.orders'', ''TRUNCATE'')');
RESET rowguard.token;
RESET ROLE;
-- Policies for another role do not apply, and a superuser bypasses them.
CREATE POLICY admins_only ON obs.orders FOR SELECT TO rowguard_admin USING (true);
SET ROLE rowguard_app;
SELECT policy, applies, note FROM rowguard.explain_access('obs.orders') WHERE policy = 'admins_only';
RESET ROLE;
SELECT policy, note FROM rowguard.explain_access('obs.orders') WHERE policy IS NULL;

-- audit_columns: the template returns its DDL; the trigger fills the columns from the
-- verified claim and overwrites whatever the client sent.
SET ROLE rowguard_app;
CREATE TABLE obs.docs (id bigint PRIMARY KEY, body text,
                       created_by text, updated_by text, owner_tenant uuid, short varchar(3));
SELECT rowguard.audit_columns('obs.docs', apply => false);
SELECT count(*) AS triggers_after_dry_run FROM pg_trigger WHERE tgrelid = 'obs.docs'::regclass;
SELECT rowguard.audit_columns('obs.docs');
SET rowguard.token = :'alice';
INSERT INTO obs.docs (id, body, created_by, updated_by) VALUES (1, 'one', 'mallory', 'mallory');
SELECT id, created_by, updated_by FROM obs.docs;
SET rowguard.token = :'bob';
UPDATE obs.docs SET body = 'one, edited', created_by = 'mallory', updated_by = 'mallory';
SELECT id, body, created_by, updated_by FROM obs.docs;
-- Without an identity the columns are NULL, not the client's values.
RESET rowguard.token;
INSERT INTO obs.docs (id, created_by, updated_by) VALUES (2, 'mallory', 'mallory');
SELECT id, created_by, updated_by FROM obs.docs WHERE id = 2;
-- Other claims and column types: a uuid column from tenant_id; varchar(3) is checked.
SELECT rowguard.audit_columns('obs.docs', 'owner_tenant', NULL, 'tenant_id') AS ddl;
SET rowguard.token = :'alice';
INSERT INTO obs.docs (id, owner_tenant) VALUES (3, '22222222-2222-4222-8222-222222222222');
SELECT id, owner_tenant, created_by FROM obs.docs WHERE id = 3;
SELECT rowguard.audit_columns('obs.docs', NULL, 'short', 'sub') IS NOT NULL AS replaced;
SELECT public.outcome('INSERT INTO obs.docs (id) VALUES (4)');
RESET rowguard.token;
-- Bad arguments.
SELECT public.outcome('SELECT rowguard.audit_columns(''obs.docs'', ''nope'')');
SELECT public.outcome('SELECT rowguard.audit_columns(''obs.docs'', NULL, NULL)');
SELECT public.outcome('SELECT rowguard.audit_columns(''obs.docs'', ''body'', ''body'')');
SELECT public.outcome('SELECT rowguard.audit_columns(''obs.docs'', claim => '''')');
-- The trigger function is no use outside a trigger.
SELECT public.outcome('SELECT rowguard.audit_columns_trigger()');
RESET ROLE;
-- A role that does not own the table cannot install the trigger.
GRANT USAGE ON SCHEMA obs TO rowguard_admin;
SET ROLE rowguard_admin;
SELECT public.outcome('SELECT rowguard.audit_columns(''obs.docs'')');
RESET ROLE;

-- rowguard.sessions needs shared_preload_libraries, and only privileged roles see it.
SELECT public.outcome('SELECT count(*) FROM rowguard.sessions');
SET ROLE rowguard_app;
SELECT public.outcome('SELECT count(*) FROM rowguard.sessions');
SELECT public.outcome('SELECT count(*) FROM rowguard._sessions()');
RESET ROLE;

DROP SCHEMA obs CASCADE;
DROP FUNCTION public.obs_leaks(text), public.obs_elapsed_ms(text);
DROP TABLE public.obs_segments;
