-- Role binding hardening of 0.3.0 (issue 22, items 3 to 6 and 11; item 7, a token given
-- at connection, is in test/integration/startup_token.sh): a bound role ends with its
-- identity, whatever ends it; nothing is created while bound; roles that escape the
-- policies cannot be bound; an issuer's binding needs a key of that issuer; FETCH re-checks
-- the identity. Runs as the superuser, which presents the tokens itself (a session that
-- presents a bound token is the bound role, see lifecycle.sql) or through rowguard_app.
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.rb3_docs, public.rb3_owned;
DROP ROLE IF EXISTS rb3_reader, rb3_writer, rb3_creator, rb3_login, rb3_member_su,
    rb3_bypass, rb3_member_bypass, rb3_reads_all, rb3_owner, rb3_member_owner, rb3_late;
RESET client_min_messages;

SELECT rowguard.add_key('{"kty":"oct","kid":"rb3-any","alg":"HS256","k":"oXwCOIWwRf2AJo4GnCnRBzBJNhKb0E7KT8Qguv7X5Mk"}') AS kid_any_issuer;
SELECT rowguard.add_key('{"kty":"oct","kid":"rb3-iss","alg":"HS256","k":"wqGWq7CaE08ndMlb_rVXydGMmflUkQU6iWTU4R86uTI"}',
                        'https://rb3.example') AS kid_of_issuer;
CREATE FUNCTION public.rb3_token(claims jsonb, kid text DEFAULT 'rb3-iss') RETURNS text
LANGUAGE sql AS $$
    SELECT rowguard.sign(jsonb_build_object(
        'iss', 'https://rb3.example',
        'exp', extract(epoch FROM now())::bigint + 3600) || claims, kid)
$$;

-- The bound roles: NOLOGIN, table privileges only.
CREATE ROLE rb3_reader NOLOGIN;
CREATE ROLE rb3_writer NOLOGIN;
CREATE TABLE public.rb3_docs (tenant text NOT NULL, body text NOT NULL);
INSERT INTO public.rb3_docs VALUES ('t1', 'one'), ('t1', 'two'), ('t1', 'three'), ('t2', 'other');
ALTER TABLE public.rb3_docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY rb3_tenant ON public.rb3_docs
    USING (tenant = (SELECT rowguard.claim('tenant')));
GRANT SELECT ON public.rb3_docs TO rb3_reader, rb3_writer, rowguard_app;
GRANT INSERT ON public.rb3_docs TO rb3_writer;
SELECT rowguard.allow_role('rb3_reader');
SELECT rowguard.allow_role('rb3_writer', 'https://rb3.example');
SET rowguard.role_binding_claim = 'role';

-- ---- 5. Roles that escape every policy cannot be allowed (22023, with the reason) ----
CREATE ROLE rb3_creator NOLOGIN CREATEROLE;
CREATE ROLE rb3_login LOGIN;
CREATE ROLE rb3_member_su NOLOGIN;
GRANT postgres TO rb3_member_su;
CREATE ROLE rb3_bypass NOLOGIN BYPASSRLS;
CREATE ROLE rb3_member_bypass NOLOGIN;
GRANT rb3_bypass TO rb3_member_bypass;
CREATE ROLE rb3_reads_all NOLOGIN;
GRANT pg_read_all_data TO rb3_reads_all;
CREATE ROLE rb3_owner NOLOGIN;
CREATE TABLE public.rb3_owned (tenant text);
ALTER TABLE public.rb3_owned OWNER TO rb3_owner;
ALTER TABLE public.rb3_owned ENABLE ROW LEVEL SECURITY;
CREATE ROLE rb3_member_owner NOLOGIN;
GRANT rb3_owner TO rb3_member_owner;
SELECT r AS role, outcome(format('SELECT rowguard.allow_role(%L)', r)) AS allow_role
  FROM unnest(ARRAY['rb3_creator', 'rb3_login', 'rb3_member_su', 'rb3_bypass',
                    'rb3_member_bypass', 'rb3_reads_all', 'rb3_owner', 'rb3_member_owner']) r;
-- The one check, as a function (allow_bypassrls skips only the BYPASSRLS parts).
SELECT r AS role, rowguard._role_binding_hazard(r::regrole) AS hazard,
       rowguard._role_binding_hazard(r::regrole, true) AS hazard_if_bypassrls_allowed
  FROM unnest(ARRAY['rb3_reader', 'rb3_bypass', 'rb3_member_bypass', 'rb3_login']) r;
SELECT role, issuer FROM rowguard.role_bindings WHERE role::text LIKE 'rb3%' ORDER BY 1, 2;

-- Memberships and ownerships change after allow_role: an identity bound to the role ends
-- at its next statement, the next token naming it is refused, and lint reports the
-- binding. (The change is made by a security-definer function of the superuser, called
-- by the bound session itself.)
CREATE ROLE rb3_late NOLOGIN;
GRANT SELECT ON public.rb3_docs TO rb3_late;
SELECT rowguard.allow_role('rb3_late');
CREATE FUNCTION public.rb3_grant_write_all() RETURNS void LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ GRANT pg_write_all_data TO rb3_late $$;
SELECT rb3_token('{"sub":"late","tenant":"t1","role":"rb3_late"}') AS late \gset
SET rowguard.token = :'late';
SELECT current_user AS bound_late, public.rb3_grant_write_all();
SELECT current_user AS after_grant_in_force;
RESET rowguard.token;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'late', 'sub')) AS after_grant;
SELECT severity, object, problem, fix FROM rowguard._lint_030_bindings() WHERE object LIKE '%rb3%';
REVOKE pg_write_all_data FROM rb3_late;
BEGIN;
SELECT rowguard.authenticate(:'late') ->> 'sub' AS sub, current_user AS bound_again;
ROLLBACK;
ALTER TABLE public.rb3_owned OWNER TO rb3_late;  -- now it owns a table with policies
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'late', 'sub')) AS after_owning;
ALTER TABLE public.rb3_owned OWNER TO rb3_owner;
SELECT count(*) AS lint_findings FROM rowguard._lint_030_bindings() WHERE object LIKE '%rb3%';

-- ---- 6. A binding for an issuer needs a key registered for that issuer ----
SELECT rb3_token('{"sub":"w1","tenant":"t1","role":"rb3_writer"}', 'rb3-any') AS writer_any_key,
       rb3_token('{"sub":"w2","tenant":"t1","role":"rb3_writer"}', 'rb3-iss') AS writer_issuer_key,
       rb3_token('{"sub":"r1","tenant":"t1","role":"rb3_reader"}', 'rb3-any') AS reader_any_key
\gset
-- A key without issuer verifies a token claiming iss https://rb3.example, but does not
-- give it the role allowed for that issuer.
RESET rowguard.role_binding_claim;
SELECT rowguard.verify(:'writer_any_key') ->> 'iss' AS verified_iss;
SET rowguard.role_binding_claim = 'role';
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> %L', :'writer_any_key', 'sub')) AS writer_any_key;
BEGIN;
SELECT rowguard.authenticate(:'writer_issuer_key') ->> 'sub' AS sub, current_user;
ROLLBACK;
-- A binding for tokens of any issuer accepts either key.
BEGIN;
SELECT rowguard.authenticate(:'reader_any_key') ->> 'sub' AS sub, current_user;
ROLLBACK;

-- ---- 3. Expiry and key removal end the bound role at its next statement ----
-- Expiry (leeway 0): a token valid for two seconds of the statement clock; after three
-- seconds any statement fails, SELECT current_user included.
SET rowguard.leeway = 0;
SELECT rowguard.authenticate(rowguard.sign(jsonb_build_object(
           'iss', 'https://rb3.example', 'sub', 'short', 'tenant', 't1', 'role', 'rb3_reader',
           'exp', extract(epoch FROM statement_timestamp())::bigint + 2), 'rb3-iss'), false)
       ->> 'sub' AS sub, current_user;
SELECT pg_sleep(3);
\set VERBOSITY terse
SELECT current_user AS after_expiry;
SELECT count(*) FROM public.rb3_docs;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
RESET rowguard.token;
SELECT current_user AS after_reset;
RESET rowguard.leeway;

-- Key removal: the bound session calls a security-definer function of the superuser
-- that removes the key its token was signed with; its next statement fails.
SELECT rowguard.add_key('{"kty":"oct","kid":"rb3-gone","alg":"HS256","k":"uqvx4uumD0qLCSyXPciS9sicHgnkNF7p_Mgf_fydNqY"}',
                        'https://rb3.example') AS kid_removed_later;
CREATE FUNCTION public.rb3_remove_key(kid text) RETURNS boolean LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ SELECT rowguard.remove_key(kid) $$;
CREATE FUNCTION public.rb3_revoke(jti text) RETURNS void LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ SELECT rowguard.revoke_token(jti) $$;
SET rowguard.token = :'reader_any_key';
SELECT current_user AS bound;
RESET rowguard.token;
SELECT rb3_token('{"sub":"gone","tenant":"t1","role":"rb3_reader"}', 'rb3-gone') AS gone \gset
SET rowguard.token = :'gone';
SELECT current_user AS bound, public.rb3_remove_key('rb3-gone') AS removed;
SELECT current_user AS after_key_removal;
SELECT count(*) FROM public.rb3_docs;
RESET rowguard.token;
SELECT current_user AS after_reset;

-- ---- 4. Nothing is created while bound (42501) ----
SELECT rb3_token('{"sub":"maker","tenant":"t1","role":"rb3_writer"}') AS maker \gset
SET rowguard.token = :'maker';
SELECT current_user AS bound;
SELECT s AS statement, outcome(s) AS outcome FROM unnest(ARRAY[
    'CREATE FUNCTION pg_temp.rb3_f() RETURNS text LANGUAGE sql SECURITY DEFINER AS $f$ SELECT current_user::text $f$',
    'CREATE FUNCTION pg_temp.rb3_g() RETURNS text LANGUAGE sql AS $f$ SELECT 1::text $f$',
    'CREATE PROCEDURE pg_temp.rb3_p() LANGUAGE sql AS $f$ SELECT 1 $f$',
    'CREATE VIEW pg_temp.rb3_v AS SELECT 1 AS x',
    'CREATE TABLE public.rb3_t (x int)',
    'CREATE SCHEMA rb3_s',
    'CREATE TYPE pg_temp.rb3_ty AS (x int)',
    'GRANT SELECT ON public.rb3_docs TO PUBLIC',
    'ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC',
    'ALTER ROLE CURRENT_USER SET work_mem = ''1MB''',
    'CREATE TEMP TABLE rb3_tmp AS SELECT 1 AS x',
    'CREATE TRIGGER rb3_trg BEFORE INSERT ON rb3_tmp FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()',
    'CREATE RULE rb3_rule AS ON INSERT TO rb3_tmp DO INSTEAD NOTHING',
    'CREATE INDEX ON rb3_tmp (x)',
    'ALTER TABLE rb3_tmp ADD COLUMN y int',
    'DROP TABLE rb3_tmp',
    'CREATE TEMP TABLE rb3_tmp2 (x int)',
    'EXPLAIN (COSTS OFF) SELECT 1',
    'DO $d$ BEGIN EXECUTE ''CREATE FUNCTION pg_temp.rb3_h() RETURNS int LANGUAGE sql AS $h$ SELECT 1 $h$''; END $d$'
    ]) s;
-- Reading and writing as the role still work.
INSERT INTO public.rb3_docs VALUES ('t1', 'four');
SELECT count(*) AS t1_docs FROM public.rb3_docs;
DISCARD TEMP;
-- A security-definer function owned by another role creates as that role.
RESET rowguard.token;
CREATE FUNCTION public.rb3_definer_temp() RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS rb3_definer_tmp (x int);
    RETURN current_user;
END $$;
SET rowguard.token = :'maker';
SELECT public.rb3_definer_temp() AS definer_creates;
RESET rowguard.token;
DISCARD TEMP;
DELETE FROM public.rb3_docs WHERE body = 'four';

-- ---- 11. FETCH and MOVE re-check the identity (bound or not) ----
SELECT rb3_token('{"sub":"cursor","jti":"rb3-cursor-1","tenant":"t1"}') AS cursor_token \gset
SET ROLE rowguard_app;
BEGIN;
SET LOCAL rowguard.token = :'cursor_token';
DECLARE rb3_c CURSOR FOR SELECT body FROM public.rb3_docs ORDER BY body;
FETCH 1 FROM rb3_c;
SELECT public.rb3_revoke('rb3-cursor-1');
FETCH 1 FROM rb3_c;
ROLLBACK;
RESET ROLE;
-- PL/pgSQL's FETCH (no utility statement) from a cursor opened in an earlier statement.
CREATE FUNCTION public.rb3_fetch(c refcursor) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    FETCH c INTO r;
    RETURN r;
END $$;
SELECT rb3_token('{"sub":"cursor3","jti":"rb3-cursor-3","tenant":"t1"}') AS cursor_token3 \gset
SET ROLE rowguard_app;
BEGIN;
SET LOCAL rowguard.token = :'cursor_token3';
DECLARE rb3_c CURSOR FOR SELECT body FROM public.rb3_docs ORDER BY body;
SELECT public.rb3_fetch('rb3_c') AS fetched;
SELECT public.rb3_revoke('rb3-cursor-3');
SELECT public.rb3_fetch('rb3_c') AS fetched_after_revocation;
ROLLBACK;
RESET ROLE;
-- A cursor whose identity's key is removed: MOVE fails too.
SELECT rowguard.add_key('{"kty":"oct","kid":"rb3-gone2","alg":"HS256","k":"Eys0LIg4kwwtMsW8gMM8FSN9Z53e_DASOsTeae6-pCw"}',
                        'https://rb3.example') AS kid_cursor;
SELECT rb3_token('{"sub":"cursor2","tenant":"t1"}', 'rb3-gone2') AS cursor_token_key \gset
SET ROLE rowguard_app;
BEGIN;
SET LOCAL rowguard.token = :'cursor_token_key';
DECLARE rb3_c CURSOR FOR SELECT body FROM public.rb3_docs ORDER BY body;
FETCH 1 FROM rb3_c;
SELECT public.rb3_remove_key('rb3-gone2');
MOVE 1 IN rb3_c;
ROLLBACK;
RESET ROLE;

RESET rowguard.role_binding_claim;
DROP FUNCTION public.rb3_token(jsonb, text), public.rb3_remove_key(text), public.rb3_revoke(text),
    public.rb3_definer_temp(), public.rb3_grant_write_all(), public.rb3_fetch(refcursor);
DROP TABLE public.rb3_docs, public.rb3_owned;
DELETE FROM rowguard.role_bindings WHERE role::text LIKE 'rb3%';
DELETE FROM rowguard.revocations WHERE jti LIKE 'rb3-%';
SELECT rowguard.remove_key('rb3-any'), rowguard.remove_key('rb3-iss'), rowguard.remove_key('rb3-gone2');
DROP ROLE rb3_reader, rb3_writer, rb3_creator, rb3_login, rb3_member_su, rb3_bypass,
    rb3_member_bypass, rb3_reads_all, rb3_owner, rb3_member_owner, rb3_late;
