-- Nothing rowguard runs with elevated rights resolves a name through the caller's or the
-- database's search_path (issue 22 item 1; docs/security-model.md, "0.3.0 hardening: the
-- database owner"). test/integration/harden_owner.sh plants operators as a database owner
-- and runs the key refresher and every SECURITY DEFINER function under them; here the
-- catalog facts that make that hold for every function of the schema, present and future.

-- Every SQL and PL/pgSQL function of rowguard pins search_path = pg_catalog, pg_temp (the
-- SECURITY DEFINER ones, the trigger functions, what the key refresher calls, and the
-- rest, which superusers run too: lint, the templates). The only ones listed are the two
-- pgTAP helpers that run the caller's own query text (test_rows_match, test_row_count):
-- SECURITY INVOKER, so the query resolves on the caller's search_path with the caller's
-- rights, and what they add around it is qualified.
SELECT p.oid::regprocedure AS unpinned, p.prosecdef AS definer
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'rowguard'::regnamespace AND l.lanname <> 'c'
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
 ORDER BY 1;
-- No C function is SECURITY DEFINER, and no function of rowguard runs with a search_path
-- other than pg_catalog, pg_temp.
SELECT p.oid::regprocedure AS c_definer
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'rowguard'::regnamespace AND l.lanname = 'c' AND p.prosecdef;
SELECT DISTINCT c AS other_setting
  FROM pg_proc p, unnest(p.proconfig) c
 WHERE p.pronamespace = 'rowguard'::regnamespace AND c <> 'search_path=pg_catalog, pg_temp';

-- A hostile search_path with a planted =(text,text) that records its callers: a superuser
-- session that calls rowguard's key and lint functions under it never reaches it.
CREATE SCHEMA dp_planted;
CREATE TABLE dp_planted.calls (caller name);
CREATE FUNCTION dp_planted.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dp_planted.calls VALUES (current_user);
    RETURN $1 OPERATOR(pg_catalog.=) $2;
END
$$;
CREATE OPERATOR dp_planted.= (LEFTARG = text, RIGHTARG = text, FUNCTION = dp_planted.eq);
SET search_path = dp_planted, pg_catalog;
SELECT 'a'::text = 'a'::text AS planted_operator_answers;
TRUNCATE dp_planted.calls;
SELECT rowguard.set_issuer('https://dp.test', ARRAY['dp-api']) AS set_issuer;
SELECT rowguard.add_key('{"kty":"oct","kid":"dp-key","alg":"HS256","k":"ZGVmaW5lci1wYXRocy1zZWNyZXQtb2YtMzItYnl0ZXMh"}', 'https://dp.test') AS add_key;
SELECT rowguard.remove_key('dp-key') AS remove_key;
SELECT rowguard.remove_issuer('https://dp.test') AS remove_issuer;
SELECT count(*) >= 0 AS lint FROM rowguard.lint();
SELECT count(*) AS planted_calls FROM dp_planted.calls;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA dp_planted CASCADE;
RESET client_min_messages;
