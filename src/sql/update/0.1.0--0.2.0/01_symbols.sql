
-- Every C function is re-pointed at the symbol named after it (rowguard.claim ->
-- rowguard_claim; internal functions drop their leading underscore); those already so named are left
-- alone. The 0.1.0 symbols
-- stay exported as aliases (src/pg/entry_points_0_1_0.cpp), so a server running the
-- new library serves a database still at 0.1.0. Signatures and attributes are exactly
-- those of 0.1.0: CREATE OR REPLACE keeps the owner, grants and comments.

CREATE OR REPLACE FUNCTION rowguard._keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'rowguard_keys_changed' LANGUAGE C;
CREATE OR REPLACE FUNCTION rowguard.sign(claims jsonb, kid text) RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_sign' LANGUAGE C STRICT VOLATILE;
CREATE OR REPLACE FUNCTION rowguard.verify(token text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_verify'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
CREATE OR REPLACE FUNCTION rowguard.authenticate(token text, is_local boolean DEFAULT true)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_authenticate'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
CREATE OR REPLACE FUNCTION rowguard.claims() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_claims' LANGUAGE C STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION rowguard.claim(path text) RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_claim' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION rowguard.claim_uuid(path text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'rowguard_claim_uuid' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION rowguard.claim_bigint(path text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'rowguard_claim_bigint' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION rowguard.claim_bool(path text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_claim_bool' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION rowguard.claim_array(path text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'rowguard_claim_array' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE OR REPLACE FUNCTION rowguard.sub() RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_sub' LANGUAGE C STABLE PARALLEL SAFE COST 1;
