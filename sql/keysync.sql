-- Keys that follow the issuer, without network: add_secret, sync_jwks, set_jwks_uri,
-- and the fetch functions' refusals (test/integration/jwks.sh fetches for real).
\set ECHO none
\i test/fixtures/keys.psql
\set ECHO all

-- Administrative: PUBLIC may run none of the new functions nor read the sources.
SELECT p.proname, has_function_privilege('rowguard_app', p.oid, 'EXECUTE') AS app_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace
   AND p.proname IN ('sync_jwks', '_sync_jwks', '_plan_jwks_sync', 'add_secret', 'set_jwks_uri',
                     'discover_issuer', 'refresh_keys', '_https_get_json', '_is_https_url')
 ORDER BY p.proname;
SELECT has_table_privilege('rowguard_app', 'rowguard.jwks_sources', 'SELECT') AS app_select,
       has_table_privilege('rowguard_app', 'rowguard.jwks_sources', 'INSERT') AS app_insert;

-- A hostile application role tries each door: every one is 42501.
SET ROLE rowguard_app;
SELECT outcome($$SELECT rowguard.sync_jwks('{"keys":[]}', 'https://evil.example')$$) AS app_sync;
SELECT outcome($$SELECT rowguard._sync_jwks('{"keys":[]}', 'https://evil.example', false)$$) AS app_sync_internal;
SELECT outcome($$SELECT rowguard.add_secret(repeat('x', 64))$$) AS app_add_secret;
SELECT outcome($$SELECT rowguard.set_jwks_uri('https://evil.example', 'https://evil.example/jwks')$$) AS app_set_uri;
SELECT outcome($$SELECT rowguard.refresh_keys()$$) AS app_refresh;
SELECT outcome($$SELECT rowguard.discover_issuer('https://evil.example')$$) AS app_discover;
-- An application must not make the server fetch URLs of its choosing.
SELECT outcome($$SELECT rowguard._https_get_json('https://127.0.0.1:1/')$$) AS app_fetch;
SELECT outcome($$INSERT INTO rowguard.jwks_sources (iss, jwks_uri) VALUES ('x', 'https://evil.example/')$$) AS app_insert_source;
RESET ROLE;

-- add_secret: the secret as plain text, its UTF-8 bytes are the HMAC key.
-- Supabase's local development secret, and a token PyJWT signed with it.
SELECT rowguard.add_secret('super-secret-jwt-token-with-at-least-32-characters-long',
                           kid => 'supabase-local', issuer => 'supabase-demo') AS kid;
SELECT kid, alg, issuer, jwk ->> 'kty' AS kty FROM rowguard.keys WHERE kid = 'supabase-local';
-- PyJWT: jwt.encode({...}, secret, 'HS256'); no kid in the header, so the key is found
-- by its algorithm.
SELECT verdict('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdXBhYmFzZS11c2VyIiwicm9sZSI6ImF1dGhlbnRpY2F0ZWQiLCJpc3MiOiJzdXBhYmFzZS1kZW1vIiwiZXhwIjo0MTAyNDQ0ODAwfQ.-jnm2IM87eVouwpVArGGoEnib5MnGF7jZhccr43x5g4') AS supabase_token;
-- The same token with one signature character changed does not verify.
SELECT verdict('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdXBhYmFzZS11c2VyIiwicm9sZSI6ImF1dGhlbnRpY2F0ZWQiLCJpc3MiOiJzdXBhYmFzZS1kZW1vIiwiZXhwIjo0MTAyNDQ0ODAwfQ.-jnm2IN87eVouwpVArGGoEnib5MnGF7jZhccr43x5g4') AS tampered;
SELECT rowguard.remove_key('supabase-local') AS removed;
-- Bytes, not characters: 31 characters, 44 bytes of UTF-8 (PyJWT signed with the same).
SELECT rowguard.add_secret('clé-secrète-de-test-ééééééééééé', kid => 'utf8-secret') AS kid;
SELECT verdict('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1dGY4LXVzZXIiLCJleHAiOjQxMDI0NDQ4MDB9.qTngKZs2gh8TL30-7iYf5E65kSdmpgw8113tD2oMRdQ') AS utf8_token;
SELECT rowguard.remove_key('utf8-secret') AS removed;
-- Without a kid the RFC 7638 thumbprint names it; HS512 needs 64 bytes.
SELECT rowguard.add_secret(repeat('k', 64), 'HS512') AS thumb \gset
SELECT length(:'thumb') AS thumbprint_length, alg FROM rowguard.keys WHERE kid = :'thumb';
SELECT rowguard.remove_key(:'thumb') AS removed;
SELECT count(*) AS keys_before FROM rowguard.keys \gset
-- Too short (fewer bytes than the hash), unknown algorithm, NULL: 22023 / 22004, the
-- secret never in the message.
SELECT outcome($$SELECT rowguard.add_secret('only-31-bytes-long-secret-12345')$$) AS short_hs256;
SELECT outcome($$SELECT rowguard.add_secret(repeat('s', 47), 'HS384')$$) AS short_hs384;
SELECT outcome($$SELECT rowguard.add_secret(repeat('s', 64), 'RS256')$$) AS not_hmac;
SELECT outcome($$SELECT rowguard.add_secret(NULL)$$) AS null_secret;
SELECT outcome($$SELECT rowguard.add_secret(repeat('s', 32), issuer => '')$$) AS empty_issuer;
SELECT count(*) = :keys_before AS nothing_stored FROM rowguard.keys;

-- sync_jwks: two keys of an issuer, by hand.
SELECT jsonb_build_object('keys', jsonb_build_array(
           :'jwk_es256'::jsonb || '{"kid":"sync-a"}', :'jwk_eddsa'::jsonb || '{"kid":"sync-b"}'))
       AS set1 \gset
SELECT * FROM rowguard.sync_jwks(:'set1', 'https://sync.example');
SELECT kid, alg, issuer FROM rowguard.keys WHERE issuer = 'https://sync.example' ORDER BY kid;
SELECT rowguard.sign('{"sub":"alice","iss":"https://sync.example","exp":4102444800}', 'sync-a') AS token_a \gset
SELECT rowguard.sign('{"sub":"bob","iss":"https://sync.example","exp":4102444800}', 'sync-b') AS token_b \gset
SELECT verdict(:'token_a') AS a, verdict(:'token_b') AS b;
-- The same set again changes nothing: every key kept, no row written.
SELECT max(added_at) AS before FROM rowguard.keys WHERE issuer = 'https://sync.example' \gset
SELECT * FROM rowguard.sync_jwks(:'set1', 'https://sync.example');
SELECT max(added_at) = :'before' AS untouched FROM rowguard.keys WHERE issuer = 'https://sync.example';
-- The same material with other members (use, x5t, key order) is kept too.
SELECT * FROM rowguard.sync_jwks(jsonb_build_object('keys', jsonb_build_array(
           :'jwk_es256'::jsonb - 'use' || '{"kid":"sync-a","x5t":"ignored"}',
           :'jwk_eddsa'::jsonb || '{"kid":"sync-b"}')), 'https://sync.example');

-- Rotation: sync-a gets other material under the same kid, sync-b goes, sync-c comes;
-- an encryption key ("use":"enc") in the set is left out.
SELECT jsonb_build_object('keys', jsonb_build_array(
           :'jwk_es384'::jsonb || '{"kid":"sync-a"}', :'jwk_rs256'::jsonb || '{"kid":"sync-c"}',
           :'jwk_ps256'::jsonb || '{"kid":"sync-enc","use":"enc"}'))
       AS set2 \gset
SELECT * FROM rowguard.sync_jwks(:'set2', 'https://sync.example');
SELECT kid, alg FROM rowguard.keys WHERE issuer = 'https://sync.example' ORDER BY kid;
-- Old tokens: sync-a's old signature fails, sync-b is unknown; the new keys sign.
SELECT verdict(:'token_a') AS old_a, verdict(:'token_b') AS old_b;
SELECT verdict(rowguard.sign('{"sub":"carol","iss":"https://sync.example","exp":4102444800}', 'sync-a')) AS new_a,
       verdict(rowguard.sign('{"sub":"dave","iss":"https://sync.example","exp":4102444800}', 'sync-c')) AS new_c;
-- A key stored for an issuer accepts only that issuer's tokens.
SELECT verdict(rowguard.sign('{"sub":"mallory","iss":"https://other.example","exp":4102444800}', 'sync-c')) AS other_iss;

-- What a sync refuses, changing nothing (22023).
SELECT outcome($$SELECT * FROM rowguard.sync_jwks('{"keys":[]}', 'https://sync.example')$$) AS empty_set;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, %L)', jsonb_build_object('keys',
       jsonb_build_array(:'jwk_ps256'::jsonb || '{"kid":"only-enc","use":"enc"}')), 'https://sync.example')) AS only_encryption_keys;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, %L)', jsonb_build_object('keys',
       jsonb_build_array(:'jwk_es256'::jsonb || '{"kid":"sync-new"}', :'jwk_rsa1024_pub'::jsonb)), 'https://sync.example')) AS one_bad_key;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, %L)', jsonb_build_object('keys',
       jsonb_build_array(:'jwk_es256'::jsonb || '{"kid":"dup"}', :'jwk_es384'::jsonb || '{"kid":"dup"}')), 'https://sync.example')) AS repeated_kid;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, %L)', jsonb_build_object('keys',
       jsonb_build_array(:'jwk_es256'::jsonb, :'jwk_eddsa_pub'::jsonb)), 'https://sync.example')) AS mixed_private_public;
SELECT outcome($$SELECT * FROM rowguard.sync_jwks('{"kty":"oct"}', 'https://sync.example')$$) AS not_a_set;
SELECT outcome($$SELECT * FROM rowguard.sync_jwks('[]', 'https://sync.example')$$) AS an_array;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, NULL)', :'set1')) AS null_issuer;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, %L)', :'set1', '')) AS empty_issuer;
SELECT outcome($$SELECT * FROM rowguard.sync_jwks(NULL, 'https://sync.example')$$) AS null_set;
-- A kid that belongs to another issuer (or to none) is never taken over.
SELECT rowguard.add_key(:'jwk_eddsa'::jsonb || '{"kid":"someone-elses"}') AS other_key;
SELECT outcome(format('SELECT * FROM rowguard.sync_jwks(%L, %L)', jsonb_build_object('keys',
       jsonb_build_array(:'jwk_es256'::jsonb || '{"kid":"someone-elses"}')), 'https://sync.example')) AS foreign_kid;
SELECT kid, alg, issuer FROM rowguard.keys
 WHERE issuer = 'https://sync.example' OR kid = 'someone-elses' ORDER BY kid;

-- An identity made with material that a sync replaces under the same kid ends at its
-- next statement (the identity remembers the key material it was made with).
SELECT rowguard.sign('{"sub":"erin","iss":"https://sync.example","exp":4102444800}', 'sync-a') AS token_e \gset
SET ROLE rowguard_app;
SELECT rowguard.authenticate(:'token_e', false) ->> 'sub' AS session_identity;
SELECT rowguard.sub() AS before_rotation;
RESET ROLE;
SELECT * FROM rowguard.sync_jwks(:'set1', 'https://sync.example');
SET ROLE rowguard_app;
SELECT outcome('SELECT rowguard.sub()') AS after_same_kid_replaced;
RESET ROLE;
RESET rowguard.token;

-- set_jwks_uri: https only, with a host and no user information; NULL forgets.
SELECT outcome($$SELECT rowguard.set_jwks_uri('https://sync.example', 'http://sync.example/jwks')$$) AS plain_http;
SELECT outcome($$SELECT rowguard.set_jwks_uri('https://sync.example', 'file:///etc/passwd')$$) AS file_url;
SELECT outcome($$SELECT rowguard.set_jwks_uri('https://sync.example', 'https://user:pw@sync.example/jwks')$$) AS user_info;
SELECT outcome($$SELECT rowguard.set_jwks_uri('https://sync.example', 'https:///jwks')$$) AS no_host;
SELECT outcome($$SELECT rowguard.set_jwks_uri('', 'https://sync.example/jwks')$$) AS empty_issuer;
SELECT rowguard.set_jwks_uri('https://sync.example', 'https://127.0.0.1:1/jwks.json');
SELECT iss, jwks_uri, failures, last_error FROM rowguard.jwks_sources;

-- Fetch failures change nothing and name the problem; the keys keep working.
-- (libcurl's message says how long the refused connect took, and its wording differs
-- between libcurl versions: written here in Debian 12's 7.88 words, time masked)
SELECT regexp_replace(outcome($$SELECT * FROM rowguard.refresh_keys('https://sync.example')$$),
         'Failed to connect to 127\.0\.0\.1(:| port )1 after \d+ ms: Could(n''t| not) connect',
         'Failed to connect to 127.0.0.1 port 1 after N ms: Couldn''t connect')
    AS refused_connection;
SELECT outcome($$SELECT * FROM rowguard.refresh_keys('https://nobody.example')$$) AS no_source;
-- Every source: a failure is a row and a WARNING. The WARNING carries libcurl's words
-- (since 0.3.0 the cause, as the single-issuer form's error does), shown masked through
-- last_error, which holds the same text.
SET client_min_messages = error;
SELECT * FROM rowguard.refresh_keys();
RESET client_min_messages;
SELECT iss, failures, last_error IS NOT NULL AS has_error FROM rowguard.jwks_sources;
SELECT regexp_replace(last_error,
         'failed to connect to 127\.0\.0\.1(:| port )1 after \d+ ms: Could(n''t| not) connect',
         'failed to connect to 127.0.0.1 port 1 after N ms: couldn''t connect', 'i') AS last_error
  FROM rowguard.jwks_sources;
SELECT verdict(rowguard.sign('{"sub":"frank","iss":"https://sync.example","exp":4102444800}', 'sync-b')) AS still_works;
SELECT outcome($$SELECT rowguard.discover_issuer('http://sync.example')$$) AS discover_plain_http;
SELECT regexp_replace(outcome($$SELECT rowguard.discover_issuer('https://127.0.0.1:1')$$),
         'Failed to connect to 127\.0\.0\.1(:| port )1 after \d+ ms: Could(n''t| not) connect',
         'Failed to connect to 127.0.0.1 port 1 after N ms: Couldn''t connect')
    AS discover_refused;
SELECT outcome($$SELECT rowguard._https_get_json('ftp://127.0.0.1/')$$) AS fetch_ftp;
SELECT rowguard.set_jwks_uri('https://sync.example', NULL);
SELECT count(*) AS sources_left FROM rowguard.jwks_sources;

-- Clean up for the suites that follow.
DELETE FROM rowguard.keys WHERE issuer = 'https://sync.example' OR kid = 'someone-elses';
