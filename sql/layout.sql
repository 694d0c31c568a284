-- The C entry points (docs/design.md, "SQL functions and settings"): every C function's
-- symbol is named after it, and the symbols the frozen 0.1.0 script names still answer,
-- as they must for an installation not yet updated to this library's version.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all

-- rowguard.claim -> rowguard_claim, rowguard._keys_changed -> rowguard_keys_changed: no
-- function breaks the rule.
SELECT p.proname, p.prosrc
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace
   AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND p.prosrc <> 'rowguard_' || ltrim(p.proname, '_')
 ORDER BY 1;
SELECT count(*) >= 16 AS all_c_functions_seen
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace
   AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c');

-- The 0.1.0 symbols, bound as rowguard--0.1.0.sql binds them.
CREATE SCHEMA layout_v010;
GRANT USAGE ON SCHEMA layout_v010 TO rowguard_app;
CREATE FUNCTION layout_v010.keys_changed() RETURNS trigger
    AS '$libdir/rowguard', 'rowguard_invalidate_keys' LANGUAGE C;
CREATE FUNCTION layout_v010.sign(claims jsonb, kid text) RETURNS text
    AS '$libdir/rowguard', 'rowguard_sign_claims' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION layout_v010.verify(token text) RETURNS jsonb
    AS '$libdir/rowguard', 'rowguard_verify_token' LANGUAGE C STRICT STABLE;
CREATE FUNCTION layout_v010.authenticate(token text, is_local boolean DEFAULT true)
    RETURNS jsonb AS '$libdir/rowguard', 'rowguard_authenticate_token' LANGUAGE C VOLATILE;
CREATE FUNCTION layout_v010.claims() RETURNS jsonb
    AS '$libdir/rowguard', 'rowguard_get_claims' LANGUAGE C STABLE;
CREATE FUNCTION layout_v010.claim(path text) RETURNS text
    AS '$libdir/rowguard', 'rowguard_get_claim' LANGUAGE C STRICT STABLE;
CREATE FUNCTION layout_v010.claim_uuid(path text) RETURNS uuid
    AS '$libdir/rowguard', 'rowguard_get_claim_uuid' LANGUAGE C STRICT STABLE;
CREATE FUNCTION layout_v010.claim_bigint(path text) RETURNS bigint
    AS '$libdir/rowguard', 'rowguard_get_claim_bigint' LANGUAGE C STRICT STABLE;
CREATE FUNCTION layout_v010.claim_bool(path text) RETURNS boolean
    AS '$libdir/rowguard', 'rowguard_get_claim_bool' LANGUAGE C STRICT STABLE;
CREATE FUNCTION layout_v010.claim_array(path text) RETURNS text[]
    AS '$libdir/rowguard', 'rowguard_get_claim_array' LANGUAGE C STRICT STABLE;
CREATE FUNCTION layout_v010.sub() RETURNS text
    AS '$libdir/rowguard', 'rowguard_get_sub' LANGUAGE C STABLE;

-- HMAC signatures are deterministic: the old and the new symbol sign alike.
SELECT layout_v010.sign('{"sub":"s","exp":4102444800}', 'hs256-key')
       = rowguard.sign('{"sub":"s","exp":4102444800}', 'hs256-key') AS same_signature;
SELECT outcome($$SELECT layout_v010.keys_changed()$$) AS trigger_called_directly;

SET ROLE rowguard_app;
-- Unauthenticated: both say nothing.
SELECT layout_v010.claim('sub') AS old_claim, layout_v010.sub() AS old_sub,
       layout_v010.claims() AS old_claims;
-- Authenticated through the old symbol; the new accessors see it, the old ones agree.
SELECT layout_v010.authenticate(:'valid_hs256', false) ->> 'sub' AS authenticated;
SELECT rowguard.sub() AS new_sub, layout_v010.sub() AS old_sub,
       layout_v010.claims() = rowguard.claims() AS same_claims;
SELECT layout_v010.claim('org.id') AS claim, layout_v010.claim_uuid('tenant_id') AS uuid,
       layout_v010.claim_bigint('org.id') AS bigint, layout_v010.claim_bool('flags.admin') AS bool,
       layout_v010.claim_array('roles') AS array;
SELECT layout_v010.claim('org.id') = rowguard.claim('org.id')
       AND layout_v010.claim_uuid('tenant_id') = rowguard.claim_uuid('tenant_id')
       AND layout_v010.claim_bigint('org.id') = rowguard.claim_bigint('org.id')
       AND layout_v010.claim_bool('flags.admin') = rowguard.claim_bool('flags.admin')
       AND layout_v010.claim_array('roles') = rowguard.claim_array('roles') AS all_agree;
-- Refusals through the old symbols are the same 28000.
SELECT outcome($$SELECT layout_v010.verify('not.a.token')$$) AS old_verify;
SELECT outcome($$SELECT rowguard.verify('not.a.token')$$) AS new_verify;
SELECT outcome($$SELECT layout_v010.authenticate('')$$) AS old_authenticate_empty;
SELECT layout_v010.verify(:'valid_hs256') = rowguard.verify(:'valid_hs256') AS same_verify;
RESET rowguard.token;

-- Hostile: an application role cannot bind a symbol of the library itself (C is an
-- untrusted language), old or new.
SELECT outcome($$CREATE FUNCTION public.mine() RETURNS jsonb
    AS '$libdir/rowguard', 'rowguard_get_claims' LANGUAGE C$$) AS bind_old_symbol;
SELECT outcome($$CREATE FUNCTION public.mine() RETURNS jsonb
    AS '$libdir/rowguard', 'rowguard_claims' LANGUAGE C$$) AS bind_new_symbol;
RESET ROLE;

DROP SCHEMA layout_v010 CASCADE;
