-- Settings: only superusers loosen or tighten verification; the token is USERSET.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
-- Before rowguard is loaded in a session, anyone can create rowguard.* placeholders;
-- loading the module discards those of superuser-only settings that a role without
-- the privilege placed.
SET ROLE rowguard_app;
SET rowguard.require_exp = off;
SET rowguard.leeway = 99999;
SELECT set_config('rowguard.audience', 'anything', false) AS placeholder;
SELECT rowguard.is_authenticated();  -- loads rowguard
SHOW rowguard.require_exp;
SHOW rowguard.leeway;
SHOW rowguard.audience;
RESET ROLE;

SELECT name, setting, unit, context, vartype FROM pg_settings
 WHERE name LIKE 'rowguard.%' ORDER BY name;

-- The application role may set none of the verification settings.
SET ROLE rowguard_app;
SELECT name, outcome(format('SET %s = %L', name, value)) AS attempt FROM (VALUES
    ('rowguard.audience', 'x'), ('rowguard.cache_size', '0'), ('rowguard.leeway', '99999'),
    ('rowguard.log_authentications', 'off'), ('rowguard.max_token_bytes', '1000000'),
    ('rowguard.require_exp', 'off'), ('rowguard.roles_claim', 'x'),
    ('rowguard.tenant_claim', 'x')) AS s(name, value) ORDER BY name;
SELECT outcome($$SELECT set_config('rowguard.require_exp', 'off', false)$$) AS set_config;
-- The prefix is reserved: no made-up rowguard.* placeholder.
SELECT outcome($$SET rowguard.no_such_setting = 'x'$$) AS unknown_setting;
RESET ROLE;
SELECT outcome($$SET rowguard.no_such_setting = 'x'$$) AS unknown_as_superuser;

-- require_exp
SET ROLE rowguard_app;
SELECT verdict(:'no_exp') AS no_exp_required;
RESET ROLE;
SET rowguard.require_exp = off;
SET ROLE rowguard_app;
SELECT verdict(:'no_exp') AS no_exp_optional, verdict(:'expired_hs256') AS expired_still;
RESET ROLE;
RESET rowguard.require_exp;

-- audience (when no issuer rule applies)
SET rowguard.audience = 'rowguard-tests, other';
SET ROLE rowguard_app;
SELECT verdict(:'valid_hs256') AS matching, verdict(:'aud_array') AS array_matching,
       verdict(:'wrong_aud') AS wrong, verdict(:'aud_array_wrong') AS array_wrong,
       verdict(:'no_aud') AS missing;
RESET ROLE;
RESET rowguard.audience;
SELECT verdict(:'wrong_aud') AS no_audience_rule;

-- Issuer rules override rowguard.audience and add leeway and max_lifetime.
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['someone-else']);
SET rowguard.audience = 'rowguard-tests';
SET ROLE rowguard_app;
SELECT verdict(:'wrong_aud') AS issuer_audience, verdict(:'valid_hs256') AS other_audience,
       verdict(:'minimal') AS no_iss_uses_setting;
RESET ROLE;
RESET rowguard.audience;
SELECT rowguard.set_issuer('https://issuer.example', max_lifetime => '100 years');
SELECT verdict(:'long_lifetime') AS too_long_lived, verdict(:'valid_hs256') AS within;
SELECT rowguard.remove_issuer('https://issuer.example');
SELECT verdict(:'long_lifetime') AS without_rule;

-- A key stored with an issuer accepts only tokens of that issuer.
SELECT rowguard.remove_key('hs512-key');
\set ECHO none
\i test/fixtures/keys.psql
\set ECHO all
SELECT rowguard.add_key(:'jwk_hs512', issuer => 'https://issuer.example');
SELECT verdict(:'valid_hs512') AS same_issuer;
SELECT verdict(rowguard.sign('{"sub":"x","exp":4102444800,"iss":"https://evil.example"}',
                             'hs512-key')) AS other_issuer;
SELECT verdict(rowguard.sign('{"sub":"x","exp":4102444800}', 'hs512-key')) AS no_issuer;

-- max_token_bytes: longer tokens are rejected before parsing.
SET rowguard.max_token_bytes = 100;
SELECT verdict(:'valid_hs256') AS over_limit;
RESET rowguard.max_token_bytes;
SELECT verdict(:'too_long') AS default_limit;
SET rowguard.max_token_bytes = 65536;
SELECT verdict(:'too_long') AS raised_limit;
RESET rowguard.max_token_bytes;

-- leeway: an identity expired by less than the leeway still verifies.
SET rowguard.leeway = 0;
SELECT verdict(rowguard.sign(jsonb_build_object('sub', 'late',
    'exp', extract(epoch FROM statement_timestamp())::bigint - 5), 'hs256-key')) ~ '^28000'
    AS five_seconds_late_no_leeway;
SET rowguard.leeway = 60;
SELECT verdict(rowguard.sign(jsonb_build_object('sub', 'late',
    'exp', extract(epoch FROM statement_timestamp())::bigint - 5), 'hs256-key'))
    AS five_seconds_late_with_leeway;
RESET rowguard.leeway;
-- (The range in the message carries units since PostgreSQL 16: cut it off.)
SELECT regexp_replace(outcome('SET rowguard.leeway = -1'), ' \(0( s)? \.\. 86400( s)?\)$', '')
    AS negative_leeway;

-- cache_size = 0 still verifies (every time).
SET rowguard.cache_size = 0;
SET ROLE rowguard_app;
SELECT verdict(:'valid_es256') AS uncached, verdict(:'valid_es256') AS again;
RESET ROLE;
RESET rowguard.cache_size;

-- log_authentications: LOG lines for failed (and, with all, successful) SET and
-- authenticate; the client sees the message, the server log also gets kid, iss, sub
-- and jti (errdetail_log). verify() does not log.
SET client_min_messages = log;
SET rowguard.log_authentications = failures;
SET rowguard.token = :'forged';
SET rowguard.token = :'valid_hs256';
SELECT verdict(:'forged') AS verify_does_not_log;
SET rowguard.log_authentications = 'all';
SET rowguard.token = :'valid_es256';
RESET rowguard.token;
RESET rowguard.log_authentications;
SET rowguard.token = :'forged';
RESET client_min_messages;

-- log_authentications takes off, failures and all only.
SELECT outcome($$SET rowguard.log_authentications = 'loud'$$) AS bad_value;
SET rowguard.log_authentications = failures;
SHOW rowguard.log_authentications;
RESET rowguard.log_authentications;
SELECT outcome($$SET rowguard.roles_claim = ''$$) AS empty_roles_claim;

-- A value for a superuser-only setting sent at connection (PGOPTIONS, here the
-- options of the connection string) by a role without the privilege would displace the
-- server's own value before rowguard loads: rowguard then verifies nothing in that
-- session, instead of running with the built-in default.
\c "dbname=contrib_regression user=rowguard_app options='-c rowguard.audience=anything'"
SELECT verdict(:'valid_hs256') AS overridden_at_connection;
SHOW rowguard.audience;
SELECT rowguard.is_authenticated();
\c "dbname=contrib_regression user=rowguard_app options=''"
SELECT verdict(:'valid_hs256') AS plain_connection;
-- Setting names compare case-insensitively: the same through another spelling.
\c "dbname=contrib_regression user=rowguard_app options='-c ROWGUARD.Leeway=99999'"
SELECT verdict(:'valid_hs256') AS overridden_in_capitals;
SHOW rowguard.leeway;
-- A rowguard.* name that is no setting displaces nothing: PostgreSQL removes its
-- placeholder when rowguard reserves the prefix, and tokens are verified.
\c "dbname=contrib_regression user=rowguard_app options='-c rowguard.no_such_setting=1'"
SELECT verdict(:'valid_hs256') AS unknown_name_at_connection;
\c "dbname=contrib_regression user=postgres options='-c rowguard.audience=rowguard-tests'"
SELECT verdict(:'valid_hs256') AS superuser_option, current_setting('rowguard.audience');
