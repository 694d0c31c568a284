-- rowguard demo: run by scripts/demo.sh against a throwaway cluster (or yours).
\set QUIET on
\pset footer off
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS rowguard CASCADE;
DROP TABLE IF EXISTS public.demo_orders;
DROP ROLE IF EXISTS demo_app, demo_owner;
RESET client_min_messages;

\echo
\echo '== 1. An administrator installs rowguard and registers a signing key (a JWK)'
CREATE EXTENSION rowguard;
SELECT rowguard.add_key('{"kty":"oct","kid":"demo-hs256","alg":"HS256",
                          "k":"Zm9yLWRlbW9zLW9ubHktbm90LWEtcmVhbC1zZWNyZXQtMzI"}') AS kid;
SELECT rowguard.set_issuer('https://auth.demo.example', audience => ARRAY['orders-api']);

\echo
\echo '== 2. The identity provider mints tokens (here rowguard.sign stands in for it)'
SELECT rowguard.sign(jsonb_build_object(
         'iss', 'https://auth.demo.example', 'aud', 'orders-api', 'sub', 'alice',
         'tenant_id', '11111111-1111-4111-8111-111111111111', 'roles', jsonb_build_array('admin'),
         'scope', 'orders:read orders:write',
         'iat', extract(epoch FROM now())::bigint, 'exp', extract(epoch FROM now())::bigint + 3600),
       'demo-hs256') AS alice_token \gset
SELECT rowguard.sign(jsonb_build_object(
         'iss', 'https://auth.demo.example', 'aud', 'orders-api', 'sub', 'bob',
         'tenant_id', '22222222-2222-4222-8222-222222222222', 'roles', jsonb_build_array('clerk'),
         'scope', 'orders:read',
         'iat', extract(epoch FROM now())::bigint, 'exp', extract(epoch FROM now())::bigint + 3600),
       'demo-hs256') AS bob_token \gset
SELECT left(:'alice_token', 40) || '...' AS alice_token, length(:'alice_token') AS bytes;

\echo
\echo '== 3. The application connects as a plain role and presents each token'
CREATE ROLE demo_app NOLOGIN;
SET ROLE demo_app;
BEGIN;
SELECT rowguard.authenticate(:'alice_token') ->> 'sub' AS authenticated_as;
SELECT rowguard.sub() AS sub, rowguard.claim_uuid('tenant_id') AS tenant,
       rowguard.has_role('admin') AS is_admin, rowguard.has_scope('orders:write') AS can_write;
COMMIT;
SELECT rowguard.is_authenticated() AS still_authenticated_after_commit;
BEGIN;
SET LOCAL rowguard.token = :'bob_token';
SELECT rowguard.sub() AS sub, rowguard.claim_uuid('tenant_id') AS tenant,
       rowguard.has_role('admin') AS is_admin, rowguard.has_scope('orders:write') AS can_write;
SHOW rowguard.token;
COMMIT;

\echo
\echo '== 4. Nothing unverified becomes an identity'
\set ON_ERROR_STOP off
\set VERBOSITY default
\echo '-- a forged token: alice''s claims with a tenant changed, original signature kept'
SELECT split_part(:'alice_token', '.', 1) || '.' ||
       translate(encode(convert_to(replace(
           convert_from(decode(translate(split_part(:'alice_token', '.', 2), '-_', '+/') ||
               repeat('=', (4 - length(split_part(:'alice_token', '.', 2)) % 4) % 4), 'base64'), 'UTF8'),
           '11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'),
           'UTF8'), 'base64'), E'+/=\n', '-_') || '.' ||
       split_part(:'alice_token', '.', 3) AS forged \gset
SELECT rowguard.authenticate(:'forged');
\echo '-- an expired token'
RESET ROLE;
SELECT rowguard.sign('{"iss":"https://auth.demo.example","aud":"orders-api","sub":"alice",
                       "exp":946684800}', 'demo-hs256') AS expired \gset
SET ROLE demo_app;
SELECT rowguard.authenticate(:'expired');
\echo '-- the classic: alg "none"'
SELECT rowguard.authenticate('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.');
\echo '-- the application cannot loosen verification or read keys'
SET rowguard.require_exp = off;
SELECT count(*) FROM rowguard.keys;
\set ON_ERROR_STOP on
SELECT rowguard.is_authenticated() AS authenticated_after_all_that;
RESET ROLE;

\echo
\echo '== 5. One call protects a table: two tenants'' orders, each token sees its own'
CREATE TABLE public.demo_orders (id bigint PRIMARY KEY, tenant_id uuid NOT NULL,
                                 item text NOT NULL, amount numeric NOT NULL);
CREATE INDEX ON public.demo_orders (tenant_id);
-- The table belongs to a role the application never uses: an owner could switch row
-- security off (NO FORCE) or drop the policies.
CREATE ROLE demo_owner NOLOGIN;
ALTER TABLE public.demo_orders OWNER TO demo_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.demo_orders TO demo_app;
SET ROLE demo_owner;
INSERT INTO public.demo_orders
SELECT g, CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
               ELSE '22222222-2222-4222-8222-222222222222'::uuid END,
       (ARRAY['widget', 'gadget', 'gizmo'])[1 + g % 3], g
  FROM generate_series(1, 10000) g;
ANALYZE public.demo_orders;
\echo '-- the owner (not a superuser) applies the template; it returns the DDL it ran'
\pset format unaligned
\pset tuples_only on
SELECT rowguard.tenant_policy('public.demo_orders');
\pset tuples_only off
\pset format aligned
RESET ROLE;
\echo '-- the application: one identity per transaction, as through a transaction pooler'
SET ROLE demo_app;
BEGIN;
SET LOCAL rowguard.token = :'alice_token';
SELECT rowguard.sub() AS who, count(*) AS orders, sum(amount) AS total FROM public.demo_orders;
COMMIT;
BEGIN;
SELECT rowguard.authenticate(:'bob_token') IS NOT NULL AS bob_authenticated;
SELECT rowguard.sub() AS who, count(*) AS orders, sum(amount) AS total FROM public.demo_orders;
COMMIT;
\echo '-- bob inserts into alice''s tenant: refused'
\set ON_ERROR_STOP off
BEGIN;
SET LOCAL rowguard.token = :'bob_token';
INSERT INTO public.demo_orders VALUES (10001, '11111111-1111-4111-8111-111111111111', 'forged', 1);
ROLLBACK;
\set ON_ERROR_STOP on
\echo '-- the tenant predicate is the index condition: it costs what WHERE tenant_id = ... costs'
BEGIN;
SET LOCAL rowguard.token = :'alice_token';
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM public.demo_orders WHERE item = 'widget';
COMMIT;
SELECT count(*) AS rows_without_a_token FROM public.demo_orders;
\echo '-- and the application cannot take the protection off'
\set ON_ERROR_STOP off
ALTER TABLE public.demo_orders NO FORCE ROW LEVEL SECURITY;
\set ON_ERROR_STOP on
RESET ROLE;
\echo '-- rowguard.lint() has nothing to report about the table'
SELECT severity, object, problem FROM rowguard.lint() WHERE object LIKE '%demo%';
