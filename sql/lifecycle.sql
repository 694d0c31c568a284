-- Token lifecycle: revocation (revoke_token, revoke_subject) and role-bound tokens
-- (allow_role, disallow_role, rowguard.role_binding_claim). Administrators act as
-- rowguard_admin; the application is rowguard_app, which later logs in as an
-- authenticator-style role with no privileges on the data. Cross-session behaviour
-- (another backend revokes or disallows mid-transaction) is in specs/revocation.spec
-- and specs/role_binding.spec.
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.lc_docs;
DROP ROLE IF EXISTS lc_reader, lc_writer, lc_other, lc_bypass;
RESET client_min_messages;
GRANT EXECUTE ON FUNCTION rowguard.revoke_token(text, text),
    rowguard.revoke_subject(text, timestamptz, text),
    rowguard.allow_role(regrole, text), rowguard.disallow_role(regrole, text)
    TO rowguard_admin;
GRANT SELECT ON rowguard.revocations, rowguard.role_bindings TO rowguard_admin;  -- to show rows

-- Keys and tokens of this suite: one issuer, iat an hour ago (old) or ten seconds ago.
SET ROLE rowguard_admin;
-- The key is registered for the suite's issuer: role bindings for an issuer need that.
SELECT rowguard.add_key('{"kty":"oct","kid":"lifecycle-key","alg":"HS256","k":"q8Hg1cPcHbpRVJ7JkXl9Xy0Zj3oXbIrAv2V-Wc0dOQI"}',
                        'https://lifecycle.example') AS kid;
CREATE FUNCTION public.lc_token(claims jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT rowguard.sign(jsonb_build_object(
        'iss', 'https://lifecycle.example',
        'exp', extract(epoch FROM now())::bigint + 3600) || claims, 'lifecycle-key')
$$;
SELECT lc_token(jsonb_build_object('sub', 'lc-alice', 'jti', 'lc-a1',
                                   'iat', extract(epoch FROM now())::bigint - 3600)) AS alice_old,
       lc_token(jsonb_build_object('sub', 'lc-alice', 'jti', 'lc-a2',
                                   'iat', extract(epoch FROM now())::bigint - 10)) AS alice_new,
       lc_token(jsonb_build_object('sub', 'lc-bob', 'jti', 'lc-b1')) AS bob,
       lc_token(jsonb_build_object('sub', 'lc-carol', 'jti', 'lc-c1')) AS carol_no_iat,
       lc_token(jsonb_build_object('sub', 'lc-dave', 'jti', 'lc-d1',
                                   'iat', extract(epoch FROM now())::bigint)) AS dave
\gset
RESET ROLE;

-- Revoking one token by jti: verification refuses it, cached or not.
SELECT verdict(:'bob') AS bob_before;
SET ROLE rowguard_admin;
SELECT rowguard.revoke_token('lc-b1');
RESET ROLE;
SELECT verdict(:'bob') AS bob_revoked;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'bob', 'sub')) AS bob_authenticate;

-- A revocation for another issuer does not touch this one's tokens; one for this
-- issuer does.
SELECT verdict(:'dave') AS dave_before;
SET ROLE rowguard_admin;
SELECT rowguard.revoke_token('lc-d1', 'https://other.example');
RESET ROLE;
SELECT verdict(:'dave') AS dave_other_issuer_revoked;
SET ROLE rowguard_admin;
SELECT rowguard.revoke_token('lc-d1', 'https://lifecycle.example');
RESET ROLE;
SELECT verdict(:'dave') AS dave_revoked;

-- "Log out everywhere": alice's tokens issued before the cut-off (30 minutes ago) are
-- refused, later ones are not; a token without iat is refused by any subject revocation.
SET ROLE rowguard_admin;
SELECT rowguard.revoke_subject('lc-alice', now() - interval '30 minutes');
SELECT rowguard.revoke_subject('lc-carol');
RESET ROLE;
SELECT verdict(:'alice_old') AS alice_old, verdict(:'alice_new') AS alice_new;
SELECT verdict(:'carol_no_iat') AS carol_no_iat;

-- An identity in force whose token is revoked fails at its next statement.
SET ROLE rowguard_app;
SET rowguard.token = :'alice_new';
SELECT rowguard.sub() AS in_force;
RESET ROLE;
SET ROLE rowguard_admin;
SELECT rowguard.revoke_subject('lc-alice');
RESET ROLE;
SET ROLE rowguard_app;
SELECT outcome('SELECT rowguard.sub()') AS after_revoke_subject;
RESET rowguard.token;
RESET ROLE;

-- Refusals are counted as "revoked" by rowguard.stats() (this backend: five so far; the
-- identity that ended at its next statement was not a verification).
SELECT count FROM rowguard.stats() WHERE outcome = 'revoked';

-- Bad input (22023) and what the application may not do (42501).
SET ROLE rowguard_admin;
SELECT outcome('SELECT rowguard.revoke_token(NULL)') AS null_jti;
SELECT outcome('SELECT rowguard.revoke_token(''x'', '''')') AS empty_issuer;
SELECT outcome('SELECT rowguard.revoke_subject(''x'', ''infinity'')') AS infinite_cutoff;
SELECT outcome('SELECT rowguard.revoke_subject(NULL)') AS null_sub;
RESET ROLE;
SET ROLE rowguard_app;
SELECT outcome('SELECT rowguard.revoke_token(''lc-a2'')') AS app_revoke;
SELECT outcome('SELECT rowguard.revoke_subject(''lc-alice'')') AS app_revoke_subject;
SELECT outcome('SELECT count(*) FROM rowguard.revocations') AS app_read;
SELECT outcome('DELETE FROM rowguard.revocations') AS app_delete;
SELECT outcome('INSERT INTO rowguard.revocations (jti) VALUES (''x'')') AS app_insert;
SELECT outcome('SELECT rowguard._prune_revocations()') AS app_prune;
SELECT outcome('SET rowguard.role_binding_claim = ''role''') AS app_set_claim;
RESET ROLE;

-- Pruning: with a max_lifetime for the issuer, a revocation is kept for max_lifetime
-- plus leeway (30 s by default) and deleted by the next revoke_* after that; without
-- one, it is kept (prune_after NULL).
SET ROLE rowguard_admin;
SELECT rowguard.set_issuer('https://lifecycle.example', max_lifetime => '1 hour');
SELECT rowguard.revoke_token('lc-p1', 'https://lifecycle.example');
SELECT rowguard.revoke_token('lc-p2');
SELECT jti, issuer, prune_after - revoked_at AS kept_for
  FROM rowguard.revocations WHERE jti IN ('lc-p1', 'lc-p2') ORDER BY jti;
RESET ROLE;
UPDATE rowguard.revocations SET prune_after = now() - interval '1 second' WHERE jti = 'lc-p1';
SET ROLE rowguard_admin;
SELECT rowguard.revoke_token('lc-p3', 'https://lifecycle.example');
SELECT string_agg(jti, ',' ORDER BY jti) AS left_after_pruning
  FROM rowguard.revocations WHERE jti LIKE 'lc-p%';
SELECT rowguard.remove_issuer('https://lifecycle.example');
RESET ROLE;

-- ---- role binding ----
-- NOLOGIN roles hold the privileges; the application's login role is granted none of
-- them and has no privilege on the table.
CREATE ROLE lc_reader NOLOGIN;
CREATE ROLE lc_writer NOLOGIN;
CREATE ROLE lc_other NOLOGIN;
CREATE ROLE lc_bypass NOLOGIN BYPASSRLS;
CREATE TABLE public.lc_docs (id integer, body text);
INSERT INTO public.lc_docs VALUES (1, 'one'), (2, 'two');
GRANT SELECT ON public.lc_docs TO lc_reader;
GRANT SELECT, INSERT ON public.lc_docs TO lc_writer;
-- A SECURITY DEFINER function owned by a superuser, and one that tries to
-- authenticate inside such a function.
CREATE FUNCTION public.lc_definer() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT current_user || '/' || session_user $$;
CREATE FUNCTION public.lc_definer_auth(tok text) RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT rowguard.authenticate(tok) ->> 'sub' $$;
-- A function whose SET clause moves to the session user's own role.
CREATE FUNCTION public.lc_set_role() RETURNS text LANGUAGE sql SET role = 'rowguard_app'
    AS $$ SELECT current_user::text $$;

SET ROLE rowguard_admin;
SELECT outcome('SELECT rowguard.allow_role(''postgres'')') AS superuser_refused;
SELECT outcome('SELECT rowguard.allow_role(''lc_bypass'')') AS bypassrls_refused;
SELECT outcome('SELECT rowguard.allow_role(''lc_reader'', '''')') AS empty_issuer;
SELECT rowguard.allow_role('lc_reader');
SELECT rowguard.allow_role('lc_reader');  -- again: no duplicate
SELECT rowguard.allow_role('lc_writer', 'https://lifecycle.example');
SELECT rowguard.allow_role('lc_other', 'https://other.example');
SELECT role, issuer FROM rowguard.role_bindings ORDER BY role::text, issuer;
SELECT lc_token('{"sub":"r","role":"lc_reader"}') AS reader,
       lc_token('{"sub":"w","role":"lc_writer"}') AS writer,
       lc_token('{"sub":"o","role":"lc_other"}') AS other,
       lc_token('{"sub":"s","role":"postgres"}') AS superuser,
       lc_token('{"sub":"n","role":"lc_nobody"}') AS nobody,
       lc_token('{"sub":"x","role":["lc_reader"]}') AS not_a_string,
       lc_token('{"sub":"plain"}') AS plain
\gset
SELECT outcome('SELECT rowguard.disallow_role(''lc_other'')') AS wrong_issuer_kept;
RESET ROLE;
SET ROLE rowguard_app;
SELECT outcome('SELECT rowguard.allow_role(''lc_writer'')') AS app_allow;
SELECT outcome('SELECT count(*) FROM rowguard.role_bindings') AS app_read_bindings;
RESET ROLE;

-- The application logs in as rowguard_app with the claim setting in force; a stored
-- role setting naming a role it is not a member of is not applied at login.
ALTER ROLE rowguard_app SET rowguard.role_binding_claim = 'role';
ALTER ROLE rowguard_app SET role = 'lc_reader';
\c - rowguard_app
SELECT current_user, session_user;
\c - postgres
ALTER ROLE rowguard_app RESET role;
\c - rowguard_app
-- Without a token the session cannot become the roles.
SELECT outcome('SET ROLE lc_reader') AS set_role;
SELECT outcome('SELECT set_config(''role'', ''lc_reader'', false)') AS set_config_role;
SELECT outcome('SET SESSION AUTHORIZATION lc_reader') AS set_session_authorization;
SELECT outcome('SELECT count(*) FROM public.lc_docs') AS read_without_token;

-- A transaction-scoped bound identity: the role for exactly the transaction.
BEGIN;
SELECT rowguard.authenticate(:'reader') ->> 'sub' AS sub, current_user;
SELECT count(*) AS docs FROM public.lc_docs;
SELECT outcome('INSERT INTO public.lc_docs VALUES (3, ''three'')') AS reader_insert;
SELECT lc_definer() AS definer, current_user AS after_definer;
COMMIT;
SELECT current_user AS after_commit;

BEGIN;
SELECT rowguard.authenticate(:'writer') ->> 'sub' AS sub, current_user;
INSERT INTO public.lc_docs VALUES (3, 'three');
ROLLBACK;
SELECT current_user AS after_rollback;

BEGIN;
SAVEPOINT s;
SELECT rowguard.authenticate(:'reader') ->> 'sub' AS sub, current_user;
ROLLBACK TO SAVEPOINT s;
SELECT current_user AS after_rollback_to_savepoint;
COMMIT;

-- A session-scoped one, with a transaction-scoped one on top.
SET rowguard.token = :'reader';
SELECT current_user AS session_bound;
BEGIN;
SET LOCAL rowguard.token = :'writer';
SELECT current_user AS local_bound;
COMMIT;
SELECT current_user AS back_to_session_bound;
RESET rowguard.token;
SELECT current_user AS after_reset;
SET rowguard.token = :'reader';
DISCARD ALL;
SELECT current_user AS after_discard_all;
SET rowguard.token = :'reader';
RESET ALL;
SELECT current_user AS after_reset_all;

-- A token without the claim changes no role; one that names a role it may not have is
-- refused (28000) and the identity and role in force stay.
SELECT rowguard.authenticate(:'plain', false) ->> 'sub' AS plain, current_user;
SET rowguard.token = :'reader';
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'other', 'sub')) AS other_issuer;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'superuser', 'sub')) AS superuser;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'nobody', 'sub')) AS nobody;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'not_a_string', 'sub')) AS not_a_string;
SELECT outcome(format('SELECT rowguard.verify(%L) ->> %L', :'other', 'sub')) AS verify_other;
SELECT count AS role_refusals FROM rowguard.stats() WHERE outcome = 'role';
SELECT rowguard.sub(), current_user AS still;

-- While bound, the session's own ways to change role are refused, and nothing ends in a
-- role the token did not grant.
SELECT outcome('SET ROLE rowguard_app') AS set_role;
SELECT outcome('RESET ROLE') AS reset_role;
SELECT outcome('SET ROLE NONE') AS set_role_none;
SELECT outcome('SET SESSION AUTHORIZATION DEFAULT') AS session_authorization;
SELECT outcome('SELECT set_config(''role'', ''rowguard_app'', false)') AS set_config_role;
SELECT current_user AS after_set_config;
SELECT outcome('SELECT lc_set_role()') AS function_set_role;
SELECT current_user AS after_function_set_role;
BEGIN;
SELECT set_config('role', 'rowguard_app', true);
COMMIT;
SELECT current_user AS after_failed_commit;
SELECT outcome('SELECT lc_definer_auth(' || quote_literal(:'writer') || ')') AS auth_in_definer;
SELECT lc_definer() AS definer, current_user AS after_definer;

-- Generic plans and forced parallel plans run as the bound role.
SET plan_cache_mode = force_generic_plan;
PREPARE lc_count AS SELECT count(*) FROM public.lc_docs;
EXECUTE lc_count;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- force_parallel_mode is called debug_parallel_query since PostgreSQL 16.
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
    THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_parallel \gset
SET :force_parallel = on;
SELECT count(*) AS parallel_docs, current_user FROM public.lc_docs;
RESET :force_parallel;
RESET rowguard.token;
SELECT outcome('EXECUTE lc_count') AS generic_plan_after_reset;
DEALLOCATE lc_count;
RESET plan_cache_mode;

-- A superuser session that presents a bound token is the bound role (no superuser
-- left) until the identity ends.
\c - postgres
ALTER ROLE rowguard_app RESET rowguard.role_binding_claim;
SET rowguard.role_binding_claim = 'role';
SELECT rowguard.is_authenticated();  -- loads rowguard, so the SET below verifies at once
BEGIN;
SET LOCAL rowguard.token = :'reader';
SELECT current_user AS bound, current_setting('is_superuser') AS is_superuser;
SELECT outcome('SELECT rowguard.disallow_role(''lc_reader'')') AS disallow_as_bound;
COMMIT;
SELECT current_user AS after_commit, current_setting('is_superuser') AS is_superuser;
RESET rowguard.role_binding_claim;

-- A cache hit reuses the admission stamped on the cached token (revocations, role
-- bindings, the bound role) while nothing it was checked against has changed; each
-- change below must be seen by the very next hit of the same token.
SELECT lc_token('{"sub":"memo","jti":"lc-memo-1","role":"lc_reader"}') AS memo \gset
SET rowguard.role_binding_claim = 'role';
BEGIN;
SELECT rowguard.authenticate(:'memo') ->> 'sub' AS first, current_user AS bound;
COMMIT;
BEGIN;
SELECT rowguard.authenticate(:'memo') ->> 'sub' AS hit, current_user AS bound;
COMMIT;
-- The claim setting changes: the same cached token now binds no role.
SET rowguard.role_binding_claim = 'no_such_claim';
BEGIN;
SELECT rowguard.authenticate(:'memo') ->> 'sub' AS hit, current_user AS not_bound;
COMMIT;
SET rowguard.role_binding_claim = 'role';
BEGIN;
SELECT rowguard.authenticate(:'memo') ->> 'sub' AS hit, current_user AS bound_again;
COMMIT;
-- The binding is removed, the role gains BYPASSRLS, the token is revoked.
SELECT rowguard.disallow_role('lc_reader');
BEGIN;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'memo', 'sub')) AS after_disallow;
ROLLBACK;
SELECT rowguard.allow_role('lc_reader');
BEGIN;
SELECT rowguard.authenticate(:'memo') ->> 'sub' AS allowed_again, current_user AS bound;
COMMIT;
ALTER ROLE lc_reader BYPASSRLS;
BEGIN;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'memo', 'sub')) AS after_bypassrls;
ROLLBACK;
ALTER ROLE lc_reader NOBYPASSRLS;
BEGIN;
SELECT rowguard.authenticate(:'memo') ->> 'sub' AS admitted_again, current_user AS bound;
COMMIT;
SELECT rowguard.revoke_token('lc-memo-1');
BEGIN;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'memo', 'sub')) AS after_revoke;
ROLLBACK;
RESET rowguard.role_binding_claim;

DROP FUNCTION public.lc_definer(), public.lc_definer_auth(text), public.lc_set_role(),
    public.lc_token(jsonb);
DROP TABLE public.lc_docs;
TRUNCATE rowguard.role_bindings;
DROP ROLE lc_reader, lc_writer, lc_other, lc_bypass;
SELECT rowguard.remove_key('lifecycle-key');
REVOKE SELECT ON rowguard.revocations, rowguard.role_bindings FROM rowguard_admin;
-- Later suites use the fixtures' tokens: no revocation of this suite stays.
DELETE FROM rowguard.revocations;
