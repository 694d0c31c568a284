-- rowguard demo: run by scripts/demo.sh against a throwaway cluster (or yours).
\set QUIET on
\pset footer off
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS rowguard CASCADE;
DROP TABLE IF EXISTS public.demo_orders;
DROP ROLE IF EXISTS demo_app;
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
