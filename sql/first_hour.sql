-- Issue 24, "the first hour": behaviour a new user tripped over. Revocation boundary
-- (revoke_subject and the second of iat), scope_policy for several commands at once and
-- what a missing scope does to UPDATE and DELETE.
-- rowguard.unknown_key_wait and the key rotation it serves are in
-- test/integration/rotation.sh (they need the background refresher and an issuer).
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.fh_docs;
RESET client_min_messages;
SELECT rowguard.add_key('{"kty":"oct","kid":"first-hour-key","alg":"HS256","k":"c2VjcmV0LW9mLXRoZS1maXJzdC1ob3VyLXN1aXRlLTMyYg"}') AS kid;
CREATE FUNCTION public.fh_token(sub text, iat numeric) RETURNS text LANGUAGE sql AS $$
    SELECT rowguard.sign(jsonb_build_object('iss', 'https://first-hour.example', 'sub', sub,
                                            'iat', iat, 'exp', 4102444800), 'first-hour-key')
$$;

-- revoke_subject: a token whose iat is the second of issued_before, or later, passes;
-- one whose iat is an earlier second is refused. issued_before 1700000000.4 (a fixed
-- time, so the result does not depend on when the suite runs).
SELECT rowguard.revoke_subject('fh-alice', to_timestamp(1700000000.4));
SELECT verdict(fh_token('fh-alice', 1699999999)) AS second_before,
       verdict(fh_token('fh-alice', 1700000000)) AS same_second,
       verdict(fh_token('fh-alice', 1700000001)) AS second_after;
-- A boundary on a whole second: that second passes, the one before does not.
SELECT rowguard.revoke_subject('fh-bob', to_timestamp(1700000000));
SELECT verdict(fh_token('fh-bob', 1699999999)) AS second_before,
       verdict(fh_token('fh-bob', 1700000000)) AS same_second;
-- "Log out everywhere, then log in again" without a pause: the default cut-off is
-- now(); a token issued right after it (its iat is now's second) passes, an older one
-- does not.
SELECT rowguard.revoke_subject('fh-carol');
SELECT verdict(fh_token('fh-carol', floor(extract(epoch FROM now())) - 1)) AS before_logout,
       verdict(fh_token('fh-carol', floor(extract(epoch FROM now())))) AS login_again;
-- The 0.2.0 rule (the whole second of the call refused) is one argument away.
SELECT rowguard.revoke_subject('fh-dave', date_trunc('second', now()) + interval '1 second');
SELECT verdict(fh_token('fh-dave', floor(extract(epoch FROM now())))) AS same_second_strict;
DELETE FROM rowguard.revocations WHERE sub LIKE 'fh-%';

-- scope_policy for several commands at once: one call per table.
CREATE TABLE public.fh_docs (id int PRIMARY KEY, body text);
INSERT INTO public.fh_docs VALUES (1, 'one'), (2, 'two');
GRANT SELECT, INSERT, UPDATE, DELETE ON public.fh_docs TO rowguard_app;
SELECT rowguard.scope_policy('public.fh_docs', 'SELECT', 'docs:read') IS NOT NULL AS read_policy;
SELECT rowguard.scope_policy('public.fh_docs', ARRAY['insert', 'UPDATE', 'DELETE', 'update'],
                             'docs:write') IS NOT NULL AS write_policies;
SELECT polname, polcmd, pg_get_expr(polqual, polrelid) AS using_expr,
       pg_get_expr(polwithcheck, polrelid) AS check_expr
  FROM pg_policy WHERE polrelid = 'public.fh_docs'::regclass ORDER BY polname;
-- The script only (apply => false), and the errors.
SELECT rowguard.scope_policy('public.fh_docs', ARRAY['DELETE'], 'docs:write', apply => false);
SELECT outcome($$SELECT rowguard.scope_policy('public.fh_docs', ARRAY[]::text[], 'x')$$) AS empty_list;
SELECT outcome($$SELECT rowguard.scope_policy('public.fh_docs', ARRAY['SELECT', 'TRUNCATE'], 'x')$$) AS bad_command;
SELECT outcome($$SELECT rowguard.scope_policy('public.fh_docs', ARRAY['SELECT'], 'a b')$$) AS bad_scope;
-- Named arguments: command => for one, commands => for several.
SELECT rowguard.scope_policy(tbl => 'public.fh_docs', command => 'SELECT', scope => 'docs:read',
                             apply => false) IS NOT NULL AS named_one,
       rowguard.scope_policy(tbl => 'public.fh_docs', commands => ARRAY['SELECT'],
                             scope => 'docs:read', apply => false) IS NOT NULL AS named_many;

-- A read-only token: SELECT sees the rows; UPDATE and DELETE affect 0 rows without an
-- error (row level security filters, it does not raise), INSERT fails its WITH CHECK.
-- An API turns the 0 into a 403 by counting (RETURNING, or the command tag) and asking
-- explain_access why.
SELECT rowguard.sign(jsonb_build_object('sub', 'fh-reader', 'scope', 'docs:read',
                                        'exp', 4102444800), 'first-hour-key') AS reader
\gset
SET ROLE rowguard_app;
BEGIN;
SELECT rowguard.authenticate(:'reader') ->> 'sub' AS sub;
SELECT count(*) AS visible FROM public.fh_docs;
WITH changed AS (UPDATE public.fh_docs SET body = 'changed' RETURNING id)
SELECT count(*) AS updated FROM changed;
WITH gone AS (DELETE FROM public.fh_docs RETURNING id)
SELECT count(*) AS deleted FROM gone;
SELECT outcome($$INSERT INTO public.fh_docs VALUES (3, 'three')$$) AS inserted;
SELECT policy, applies, note FROM rowguard.explain_access('public.fh_docs', 'UPDATE')
 WHERE policy = 'rowguard_scope_update';
ROLLBACK;
RESET ROLE;
DROP TABLE public.fh_docs;

-- authenticate(token) outside a transaction block: the identity ends with the statement,
-- a WARNING says so (which psycopg hides by default), and stats() counts it.
SELECT count AS outside_before FROM rowguard.stats() WHERE outcome = 'outside_transaction' \gset
SELECT rowguard.authenticate(fh_token('fh-eve', 1700000000)) ->> 'sub' AS sub;
SELECT rowguard.is_authenticated() AS still_authenticated;
SELECT count - :outside_before AS counted FROM rowguard.stats() WHERE outcome = 'outside_transaction';

DROP FUNCTION public.fh_token(text, numeric);
SELECT rowguard.remove_key('first-hour-key');
