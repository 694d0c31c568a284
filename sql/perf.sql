-- The lazy key store (docs/design.md): a backend loads only the keys its tokens name,
-- one index lookup per kid, keeps at most 1,000 of them, and drops them whenever
-- rowguard.keys or rowguard.issuers change. Every path is checked against the answer
-- the whole store gives.
\set ECHO none
\i test/fixtures/keys.psql
\i test/fixtures/tokens.psql
\set ECHO all

-- 1,500 more keys than a backend keeps: the same ES256 private key under other kids.
SELECT count(rowguard.add_key(jsonb_set(:'jwk_es256'::jsonb, '{kid}', to_jsonb('lazy-' || g))))
  FROM generate_series(1, 1500) g;
CREATE TEMP TABLE lazy_tokens AS
SELECT g, rowguard.sign(jsonb_build_object('sub', 'lazy-user-' || g, 'exp', 4102444800),
                        'lazy-' || g) AS token
  FROM generate_series(1, 1500) g;
GRANT SELECT ON lazy_tokens TO rowguard_app;

SET ROLE rowguard_app;
-- Every token verifies, in one backend, although it meets more kids than it keeps.
SELECT count(*) FILTER (WHERE verdict(token) = 'ok: lazy-user-' || g) AS verified,
       count(*) AS tokens
  FROM lazy_tokens;
-- And again in the other order (keys dropped by the bound are looked up again).
SELECT count(*) FILTER (WHERE verdict(token) = 'ok: lazy-user-' || g) AS verified
  FROM (SELECT * FROM lazy_tokens ORDER BY g DESC) t;
-- The fixtures' keys answer as before next to the lazy ones.
SELECT verdict(:'valid_es256') AS es256, verdict(:'valid_rs256') AS rs256,
       verdict(:'unknown_kid') AS unknown_kid;
-- A token without "kid" loads every key (any key of its algorithm may have signed it).
SELECT verdict(:'no_kid') AS no_kid;
-- The application cannot read the keys it is verified with.
SELECT outcome('SELECT count(*) FROM rowguard.keys') AS read_keys;
RESET ROLE;

-- A kid is looked up by equality, never as a pattern; a kid too long for the lookup
-- buffer falls back to the whole store. Same signature, header rewritten: unknown key.
CREATE FUNCTION pg_temp.with_header(token text, header text) RETURNS text
LANGUAGE sql AS $$
    SELECT translate(rtrim(replace(encode(convert_to(header, 'UTF8'), 'base64'), E'\n', ''), '='),
                     '+/', '-_')
           || substr(token, strpos(token, '.'))
$$;
SELECT t.token AS lazy_1 FROM lazy_tokens t WHERE g = 1 \gset
SET ROLE rowguard_app;
SELECT verdict(pg_temp.with_header(:'lazy_1', '{"alg":"ES256","kid":"lazy-%"}')) AS pattern_kid;
SELECT verdict(pg_temp.with_header(:'lazy_1', '{"alg":"ES256","kid":"lazy-_"}')) AS underscore_kid;
SELECT verdict(pg_temp.with_header(:'lazy_1', format('{"alg":"ES256","kid":"%s"}', repeat('k', 600))))
    AS long_kid;
-- Kid-less, with lazy-1's signature over another header: every ES256 key is tried, none
-- matches.
SELECT verdict(pg_temp.with_header(:'lazy_1', '{"alg":"ES256"}')) AS no_kid_forged;
RESET ROLE;

-- Invalidation: a key loaded lazily is dropped when its row changes.
SELECT t.token AS lazy_5 FROM lazy_tokens t WHERE g = 5 \gset
SET ROLE rowguard_app;
SELECT verdict(:'lazy_5') AS before_removal;
RESET ROLE;
SELECT rowguard.remove_key('lazy-5');
SET ROLE rowguard_app;
SELECT verdict(:'lazy_5') AS after_removal;
RESET ROLE;
-- The kid comes back with other key material: the old token's signature no longer
-- matches (nothing of the first key survived), and the new key's tokens verify.
SELECT rowguard.add_key(jsonb_set(:'jwk_es256'::jsonb - 'd' - 'x' - 'y',
                                  '{kid}', '"lazy-5"') || jsonb_build_object(
    'x', 'Ii0p2L6FS_2mrVMVxqw5c3buWwFh3gPMpP21n4hmoiE',
    'y', 'SAy3WgM_pZq_bY3jLXMONWHbPY-2inzLWVcuBkWJEaA',
    'd', 'utBmhyEj_2RVryZkbDtY4lVbi0wv53R85oCkKhXh0h4')) AS replaced;
SELECT rowguard.sign('{"sub":"new-material","exp":4102444800}', 'lazy-5') AS lazy_5_new \gset
SET ROLE rowguard_app;
SELECT verdict(:'lazy_5') AS old_material, verdict(:'lazy_5_new') AS new_material;
RESET ROLE;

-- An identity in force ends when its lazily loaded key is removed (same backend).
SELECT t.token AS lazy_7 FROM lazy_tokens t WHERE g = 7 \gset
SET ROLE rowguard_app;
SET rowguard.token = :'lazy_7';
SELECT rowguard.sub() AS identity;
RESET ROLE;
SELECT rowguard.remove_key('lazy-7');
SET ROLE rowguard_app;
SELECT outcome('SELECT rowguard.sub()') AS after_key_removed;
RESET rowguard.token;
RESET ROLE;

-- A stored row that no longer parses is refused with a warning when its kid is looked
-- up, and the other keys stay usable.
ALTER TABLE rowguard.keys DISABLE TRIGGER USER;
UPDATE rowguard.keys SET jwk = jsonb_set(jwk, '{x}', '"AAAA"') WHERE kid = 'lazy-9';
ALTER TABLE rowguard.keys ENABLE TRIGGER USER;
SELECT rowguard.remove_key('lazy-8');  -- any change: every backend drops its store
SELECT t.token AS lazy_9 FROM lazy_tokens t WHERE g = 9 \gset
SELECT t.token AS lazy_10 FROM lazy_tokens t WHERE g = 10 \gset
SET ROLE rowguard_app;
SELECT verdict(:'lazy_9') AS broken_row;
SELECT verdict(:'lazy_10') AS other_key;
RESET ROLE;

SELECT count(rowguard.remove_key(kid)) AS removed FROM rowguard.keys WHERE kid LIKE 'lazy-%';
SELECT count(*) AS lazy_keys_left FROM rowguard.keys WHERE kid LIKE 'lazy-%';
SET ROLE rowguard_app;
SELECT verdict(:'lazy_10') AS after_cleanup, verdict(:'valid_es256') AS es256;
RESET ROLE;
DROP TABLE lazy_tokens;
