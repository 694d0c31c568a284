-- verify(): every acceptance and every rejection reason, as the application role.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
SET ROLE rowguard_app;

-- Every algorithm verifies with its own key.
SELECT verdict(:'valid_hs256') AS hs256, verdict(:'valid_hs384') AS hs384,
       verdict(:'valid_hs512') AS hs512;
SELECT verdict(:'valid_rs256') AS rs256, verdict(:'valid_rs384') AS rs384,
       verdict(:'valid_rs512') AS rs512;
SELECT verdict(:'valid_ps256') AS ps256, verdict(:'valid_ps384') AS ps384,
       verdict(:'valid_ps512') AS ps512;
SELECT verdict(:'valid_es256') AS es256, verdict(:'valid_es384') AS es384,
       verdict(:'valid_es512') AS es512;
SELECT verdict(:'valid_eddsa') AS eddsa;
SELECT rowguard.verify(:'valid_es256') AS claims;

-- Accepted shapes.
SELECT verdict(:'bearer_valid') AS bearer_prefix, verdict(:'typ_at_jwt') AS typ_at_jwt,
       verdict(:'no_typ') AS no_typ, verdict(:'no_kid') AS no_kid;
SELECT verdict(:'aud_array') AS aud_array, verdict(:'minimal') AS minimal,
       verdict(:'unicode_sub') AS unicode_sub, verdict(:'near_limit') AS near_limit;

-- Rejections: 28000 "invalid token" with the reason in the detail, never the token.
SELECT name, verdict(token) AS outcome FROM (VALUES
    ('expired_hs256', :'expired_hs256'), ('nbf_future', :'nbf_future'),
    ('iat_future', :'iat_future'), ('no_exp', :'no_exp'),
    ('typ_foo', :'typ_foo'), ('cty_jwt', :'cty_jwt'), ('crit_header', :'crit_header'),
    ('b64_false', :'b64_false'), ('b64_false_crit', :'b64_false_crit'),
    ('unknown_kid', :'unknown_kid'), ('wrong_kid', :'wrong_kid'),
    ('alg_mismatch', :'alg_mismatch'), ('kid_not_string', :'kid_not_string'),
    ('header_not_object', :'header_not_object'), ('payload_not_object', :'payload_not_object'),
    ('payload_not_json', :'payload_not_json'), ('dup_header', :'dup_header'),
    ('alg_none', :'alg_none'), ('alg_NoNe', :'alg_NoNe'), ('alg_none_signed', :'alg_none_signed'),
    ('confused', :'confused'), ('confused_jwk', :'confused_jwk'), ('forged', :'forged'),
    ('tampered', :'tampered'), ('bad_signature', :'bad_signature'),
    ('truncated_signature', :'truncated_signature'), ('psychic', :'psychic'),
    ('ecdsa_r_s_order', :'ecdsa_r_s_order'), ('ecdsa_der', :'ecdsa_der'),
    ('es512_short_sig', :'es512_short_sig'), ('embedded_jwk', :'embedded_jwk'),
    ('embedded_jwk_nokid', :'embedded_jwk_nokid'),
    ('embedded_jwk_known_kid', :'embedded_jwk_known_kid'), ('jku_header', :'jku_header'),
    ('x5u_header', :'x5u_header'), ('dup_payload', :'dup_payload'),
    ('dup_tenant', :'dup_tenant'), ('exp_string', :'exp_string'), ('exp_huge', :'exp_huge'),
    ('exp_overflow', :'exp_overflow'), ('exp_negative', :'exp_negative'),
    ('exp_float', :'exp_float'), ('nbf_string', :'nbf_string'), ('iat_null', :'iat_null'),
    ('deep_nesting', :'deep_nesting'), ('payload_trailing_garbage', :'payload_trailing_garbage'),
    ('payload_bom', :'payload_bom'), ('padding', :'padding'),
    ('padding_payload', :'padding_payload'), ('whitespace', :'whitespace'),
    ('trailing_newline', :'trailing_newline'), ('plus_in_signature', :'plus_in_signature'),
    ('slash_in_payload', :'slash_in_payload'), ('bearer_twice', :'bearer_twice'),
    ('two_segments', :'two_segments'), ('four_segments', :'four_segments'),
    ('empty_segments', :'empty_segments'), ('empty', :'empty'), ('garbage', :'garbage'),
    ('too_long', :'too_long')
) AS t(name, token) ORDER BY name;

-- No rejection ever echoes the token.
SELECT count(*) AS details_holding_a_token FROM (VALUES
    (:'forged'), (:'expired_hs256'), (:'alg_none'), (:'tampered'), (:'unknown_kid')
) AS t(token)
WHERE position(split_part(token, '.', 2) IN verdict(token)) > 0
   OR position(split_part(token, '.', 1) IN verdict(token)) > 0;

-- verify() changes nothing.
SELECT rowguard.verify(:'alice_hs256') ->> 'sub' AS verified, rowguard.is_authenticated();
SELECT rowguard.verify(NULL) IS NULL AS null_token_gives_null;
RESET ROLE;
