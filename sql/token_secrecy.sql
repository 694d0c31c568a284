-- Whatever verifies is masked (issue 22, item 10). The masking of statement text and
-- log lines recognises a token by its first segment: "ey" or "ew", the base64url of a
-- JSON object's brace followed by a quote or whitespace. A header with whitespace before
-- the brace is valid JSON, but its segment starts "IHsi" (" {") or "Cnsi" ("\n{"):
-- verification refuses such a header, so no token the masker misses can verify. Three
-- tokens signed with the same key over the same claims; only their headers differ.
\set ECHO none
\i test/fixtures/keys.psql
\set ECHO all
SELECT rowguard.add_key(jsonb_set(:'jwk_hs256'::jsonb, '{kid}', '"secrecy-key"')) AS added;
\set plain 'eyJhbGciOiJIUzI1NiIsImtpZCI6InNlY3JlY3kta2V5In0.eyJzdWIiOiJzcGFjZWQiLCJleHAiOjQxMDI0NDQ4MDB9.xCgb7mKAQo2YT7jaOVKGOvw0_MEAP97JGzYBQehK7ME'
\set spaced 'IHsiYWxnIjoiSFMyNTYiLCJraWQiOiJzZWNyZWN5LWtleSJ9.eyJzdWIiOiJzcGFjZWQiLCJleHAiOjQxMDI0NDQ4MDB9.YCHKsB_iqMtqC9n0GB2TM5tf-p5VZbQWhZ0M4X6PI6Y'
\set newline 'CnsiYWxnIjoiSFMyNTYiLCJraWQiOiJzZWNyZWN5LWtleSJ9.eyJzdWIiOiJzcGFjZWQiLCJleHAiOjQxMDI0NDQ4MDB9.3C7wm3hYTYe6o4E8crvRehQmItodA8s1H_KsMsSmESw'
-- The headers as the signer wrote them.
SELECT convert_from(decode(rpad(translate(split_part(t, '.', 1), '-_', '+/'),
                               (length(split_part(t, '.', 1)) + 3) / 4 * 4, '='), 'base64'),
                    'UTF8') AS header
  FROM (VALUES (:'plain'), (:'spaced'), (:'newline')) AS v(t);
SELECT rowguard.verify(:'plain') ->> 'sub' AS plain_header_verifies;
SELECT rowguard.verify(:'spaced');
SELECT rowguard.verify(:'newline');
BEGIN;
SELECT outcome(format('SET LOCAL rowguard.token = %L', :'spaced')) AS set_local;
ROLLBACK;
SELECT rowguard.remove_key('secrecy-key') AS removed;
