-- Registering keys and issuers: an administrator granted the functions, never PUBLIC.
\set ECHO none
\i test/fixtures/keys.psql
\i test/fixtures/tokens.psql
\set ECHO all

SET ROLE rowguard_admin;
-- One key per algorithm; the kid comes from the JWK.
SELECT rowguard.add_key(:'jwk_hs256') AS hs256, rowguard.add_key(:'jwk_hs384') AS hs384,
       rowguard.add_key(:'jwk_hs512') AS hs512;
SELECT rowguard.add_key(:'jwk_rs256') AS rs256, rowguard.add_key(:'jwk_rs384') AS rs384,
       rowguard.add_key(:'jwk_rs512') AS rs512;
SELECT rowguard.add_key(:'jwk_ps256_pub') AS ps256, rowguard.add_key(:'jwk_ps384_pub') AS ps384,
       rowguard.add_key(:'jwk_ps512_pub') AS ps512;
SELECT rowguard.add_key(:'jwk_es256') AS es256, rowguard.add_key(:'jwk_es384_pub') AS es384,
       rowguard.add_key(:'jwk_es512_pub') AS es512;
SELECT rowguard.add_key(:'jwk_eddsa') AS eddsa;
RESET ROLE;
SELECT kid, alg, issuer, jwk ? 'd' OR jwk ? 'k' AS secret FROM rowguard.keys ORDER BY kid;

-- Without a kid, the RFC 7638 thumbprint names the key; the alg argument binds it.
SET ROLE rowguard_admin;
SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}',
                        alg => 'HS512') AS thumbprint_kid;
-- RFC 7638 section 3.1's example key has the thumbprint given there.
SELECT rowguard.add_key('{"kty":"RSA","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}') AS rfc7638;
SELECT rowguard.remove_key('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs') AS removed;

-- Bad key input: 22023 naming the problem, nothing stored.
SELECT outcome(format('SELECT rowguard.add_key(%L)', :'jwk_rsa1024_pub')) AS short_rsa;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"c2hvcnQ"}', alg => 'HS256')$$) AS short_secret;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}')$$) AS oct_without_alg;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"XYZ","k":"abc"}')$$) AS unknown_kty;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8="}', alg => 'HS256')$$) AS padded_base64;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ+EstJQLr8"}', alg => 'HS256')$$) AS plus_in_base64;
SELECT outcome($$SELECT rowguard.add_key('[1,2]')$$) AS not_an_object;
SELECT outcome($$SELECT rowguard.add_key(NULL)$$) AS null_jwk;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}', alg => 'none')$$) AS alg_none;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}', alg => 'RS256')$$) AS alg_for_other_kty;
SELECT outcome(format('SELECT rowguard.add_key(%L, alg => %L)', :'jwk_es256_pub', 'ES384')) AS curve_mismatch;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}')$$) AS point_off_curve;
SELECT outcome(format('SELECT rowguard.add_key(%L)', :'jwk_hs256')) AS duplicate_kid;
SELECT outcome($$SELECT rowguard.add_jwks('{"keys":{}}')$$) AS jwks_not_a_set;
SELECT outcome($$SELECT rowguard.add_jwks('{"kty":"oct"}')$$) AS jwks_is_a_key;
-- A JWK Set with one bad key stores none of them.
SELECT outcome(format('SELECT rowguard.add_jwks(%L)',
    jsonb_build_object('keys', jsonb_build_array(
        '{"kty":"oct","kid":"fine-1","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}'::jsonb,
        :'jwk_rsa1024_pub'::jsonb)))) AS jwks_with_bad_key;
SELECT outcome($$SELECT rowguard.add_key('{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}', issuer => '', alg => 'HS256')$$) AS empty_issuer;
RESET ROLE;
SELECT count(*) AS keys_stored, count(*) FILTER (WHERE kid = 'fine-1') AS partial FROM rowguard.keys;

-- A JWK Set: every key, in one call.
SET ROLE rowguard_admin;
SELECT rowguard.add_jwks(jsonb_build_object('keys', jsonb_build_array(
    '{"kty":"oct","kid":"set-1","alg":"HS256","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"}'::jsonb,
    '{"kty":"oct","kid":"set-2","alg":"HS384","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0i"}'::jsonb)),
    issuer => 'https://set.example') AS added;
SELECT rowguard.remove_key('set-1') AS removed, rowguard.remove_key('set-1') AS again,
       rowguard.remove_key('set-2') AS removed_2;

-- Issuer rules.
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests'],
                           leeway => '10 seconds', max_lifetime => '100 years');
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['rowguard-tests']);
SELECT outcome($$SELECT rowguard.set_issuer('')$$) AS empty_iss;
SELECT outcome($$SELECT rowguard.set_issuer('x', audience => '{}')$$) AS empty_audience;
SELECT outcome($$SELECT rowguard.set_issuer('x', leeway => '-1 second')$$) AS negative_leeway;
SELECT outcome($$SELECT rowguard.set_issuer('x', max_lifetime => '0')$$) AS zero_lifetime;
RESET ROLE;
SELECT * FROM rowguard.issuers ORDER BY iss;
SET ROLE rowguard_admin;
SELECT rowguard.remove_issuer('https://issuer.example') AS removed;

-- sign() mints with a stored secret or private key; a public key cannot sign.
SELECT rowguard.verify(rowguard.sign('{"sub":"svc","exp":4102444800}', 'hs256-key')) AS hs256;
SELECT rowguard.verify(rowguard.sign('{"sub":"svc","exp":4102444800}', 'es256-key')) AS es256;
SELECT rowguard.verify(rowguard.sign('{"sub":"svc","exp":4102444800}', 'rs256-key')) AS rs256;
SELECT rowguard.verify(rowguard.sign('{"sub":"svc","exp":4102444800}', 'eddsa-key')) AS eddsa;
SELECT outcome($$SELECT rowguard.sign('{"sub":"svc"}', 'ps256-key')$$) AS public_only;
SELECT outcome($$SELECT rowguard.sign('{"sub":"svc"}', 'no-such-key')$$) AS unknown_kid;
SELECT outcome($$SELECT rowguard.sign('[1]', 'hs256-key')$$) AS not_an_object;
RESET ROLE;

-- The application role can do none of it, nor read the key material.
SET ROLE rowguard_app;
SELECT outcome(format('SELECT rowguard.add_key(%L)', :'jwk_hs256')) AS add_key;
SELECT outcome($$SELECT rowguard.add_jwks('{"keys":[]}')$$) AS add_jwks;
SELECT outcome($$SELECT rowguard.remove_key('hs256-key')::text$$) AS remove_key;
SELECT outcome($$SELECT rowguard.set_issuer('x')::text$$) AS set_issuer;
SELECT outcome($$SELECT rowguard.sign('{}', 'hs256-key')$$) AS sign;
SELECT outcome($$SELECT count(*)::text FROM rowguard.keys$$) AS read_keys;
SELECT outcome($$SELECT count(*)::text FROM rowguard.issuers$$) AS read_issuers;
SELECT outcome($$DELETE FROM rowguard.keys$$) AS delete_keys;
SELECT outcome($$SELECT kid FROM rowguard._describe_jwk('{}', NULL)$$) AS describe;
RESET ROLE;
