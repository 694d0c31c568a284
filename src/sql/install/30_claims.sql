-- Claim accessors. STABLE (never IMMUTABLE: a plan must not fold an identity into a
-- constant), PARALLEL SAFE (workers receive the identity), COST 1.

CREATE FUNCTION rowguard.claims() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_get_claims' LANGUAGE C STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim(path text) RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_get_claim' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_uuid(path text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_uuid' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_bigint(path text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_bigint' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_bool(path text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_bool' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_array(path text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_array' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.sub() RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_get_sub' LANGUAGE C STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.has_role(role text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_has_role' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.has_scope(scope text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_has_scope' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.is_authenticated() RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_is_authenticated' LANGUAGE C STABLE PARALLEL SAFE COST 1;

COMMENT ON FUNCTION rowguard.claims() IS 'the verified claims; NULL when unauthenticated';
COMMENT ON FUNCTION rowguard.claim(text) IS 'a claim by name, dotted path or JSON Pointer, as text';
COMMENT ON FUNCTION rowguard.claim_uuid(text) IS 'a claim as uuid';
COMMENT ON FUNCTION rowguard.claim_bigint(text) IS 'a claim as bigint';
COMMENT ON FUNCTION rowguard.claim_bool(text) IS 'a claim as boolean';
COMMENT ON FUNCTION rowguard.claim_array(text) IS 'a JSON array of scalars as text[]';
COMMENT ON FUNCTION rowguard.sub() IS 'the sub claim';
COMMENT ON FUNCTION rowguard.has_role(text) IS 'the roles claim (rowguard.roles_claim) contains role';
COMMENT ON FUNCTION rowguard.has_scope(text) IS 'scope (space-delimited) or scp contains scope';
COMMENT ON FUNCTION rowguard.is_authenticated() IS 'a verified identity is in force';
