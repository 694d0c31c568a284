-- Key changes reach every backend before its next statement. A second session
-- (dblink) holds identities and caches while this one changes the keys.
\set ECHO none
\i test/fixtures/keys.psql
\i test/fixtures/tokens.psql
\set ECHO all
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=rowguard_app',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database()));

-- The other backend verifies (and caches) a token, and holds a session identity.
SELECT * FROM dblink('other', format('SELECT rowguard.verify(%L) ->> %L', :'valid_rs256', 'sub'))
    AS t(sub text);
SELECT dblink_exec('other', format('SET rowguard.token = %L', :'valid_rs256'));
SELECT * FROM dblink('other', 'SELECT rowguard.sub()') AS t(sub text);

-- Removing the key stops verification there, cache included, and ends the identity.
SELECT rowguard.remove_key('rs256-key');
SELECT * FROM dblink('other', format('SELECT public.verdict(%L)', :'valid_rs256'))
    AS t(verdict text);
SELECT * FROM dblink('other', 'SELECT public.outcome(''SELECT rowguard.sub()'')') AS t(sub text);
SELECT dblink_exec('other', 'RESET rowguard.token');

-- Adding it back is seen as well.
SELECT rowguard.add_key(:'jwk_rs256');
SELECT * FROM dblink('other', format('SELECT public.verdict(%L)', :'valid_rs256'))
    AS t(verdict text);

-- Issuer rules too.
SELECT rowguard.set_issuer('https://issuer.example', audience => ARRAY['someone-else']);
SELECT * FROM dblink('other', format('SELECT public.verdict(%L)', :'valid_rs256'))
    AS t(verdict text);
SELECT rowguard.remove_issuer('https://issuer.example');
SELECT * FROM dblink('other', format('SELECT public.verdict(%L)', :'valid_rs256'))
    AS t(verdict text);

-- A change that rolls back changes nothing anywhere.
BEGIN;
SELECT rowguard.remove_key('rs256-key');
SELECT verdict(:'valid_rs256') AS inside_own_transaction;
ROLLBACK;
SELECT verdict(:'valid_rs256') AS after_rollback;
SELECT * FROM dblink('other', format('SELECT public.verdict(%L)', :'valid_rs256'))
    AS t(verdict text);

SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
