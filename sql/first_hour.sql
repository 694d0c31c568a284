-- Issue 24, "the first hour": behaviour a new user tripped over. Revocation boundary
-- (revoke_subject and the second of iat), scope_policy for several commands at once.
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

DROP FUNCTION public.fh_token(text, numeric);
SELECT rowguard.remove_key('first-hour-key');
