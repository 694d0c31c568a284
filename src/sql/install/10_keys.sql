-- Keys and issuer rules. PUBLIC can neither read nor write them; the extension reads
-- them with a catalog-snapshot scan that checks no privileges, so verification works
-- for every role without exposing key material to any.

CREATE TABLE rowguard.keys (
    kid      text PRIMARY KEY,
    alg      text NOT NULL,
    issuer   text CHECK (issuer <> ''),
    jwk      jsonb NOT NULL,
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE rowguard.keys IS 'JWKs rowguard verifies with; one algorithm per key';

CREATE TABLE rowguard.issuers (
    iss          text PRIMARY KEY,
    audience     text[],
    leeway       interval CHECK (leeway >= '0'::interval),
    max_lifetime interval CHECK (max_lifetime > '0'::interval)
);
COMMENT ON TABLE rowguard.issuers IS 'per-issuer audience, leeway and maximum lifetime';

REVOKE ALL ON rowguard.keys, rowguard.issuers FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('rowguard.keys', '');
SELECT pg_catalog.pg_extension_config_dump('rowguard.issuers', '');

-- Every change reaches every backend before its next statement.
CREATE FUNCTION rowguard._keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'rowguard_invalidate_keys' LANGUAGE C;
CREATE TRIGGER rowguard_keys_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rowguard.keys
    FOR EACH STATEMENT EXECUTE FUNCTION rowguard._keys_changed();
CREATE TRIGGER rowguard_issuers_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rowguard.issuers
    FOR EACH STATEMENT EXECUTE FUNCTION rowguard._keys_changed();

-- The C side parses a JWK exactly as verification will; what it refuses is never stored.
CREATE FUNCTION rowguard._describe_jwk(jwk jsonb, alg text,
    OUT ordinal integer, OUT kid text, OUT key_alg text, OUT private boolean)
    RETURNS record
    AS 'MODULE_PATHNAME', 'rowguard_describe_jwk' LANGUAGE C STABLE;
CREATE FUNCTION rowguard._describe_jwks(jwks jsonb,
    OUT ordinal integer, OUT kid text, OUT key_alg text, OUT private boolean)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rowguard_describe_jwks' LANGUAGE C STABLE STRICT;

CREATE FUNCTION rowguard._store_key(p_kid text, p_alg text, p_issuer text, p_jwk jsonb)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL to accept the key for tokens of any issuer.';
    END IF;
    INSERT INTO rowguard.keys (kid, alg, issuer, jwk)
        VALUES (p_kid, p_alg, p_issuer, p_jwk)
        ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'key "%" already exists', p_kid
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Remove it with rowguard.remove_key first to replace it.';
    END IF;
END
$$;

CREATE FUNCTION rowguard.add_key(jwk jsonb, issuer text DEFAULT NULL, alg text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
BEGIN
    IF add_key.jwk IS NULL THEN
        RAISE EXCEPTION 'jwk must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    d := rowguard._describe_jwk(add_key.jwk, add_key.alg);
    PERFORM rowguard._store_key(d.kid, d.key_alg, add_key.issuer, add_key.jwk);
    RETURN d.kid;
END
$$;
COMMENT ON FUNCTION rowguard.add_key(jsonb, text, text) IS 'store one JWK; returns its kid';

CREATE FUNCTION rowguard.add_jwks(jwks jsonb, issuer text DEFAULT NULL)
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
    n integer := 0;
BEGIN
    IF add_jwks.jwks IS NULL THEN
        RAISE EXCEPTION 'jwks must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- All keys are parsed before any is stored, and one failure undoes the call.
    FOR d IN SELECT * FROM rowguard._describe_jwks(add_jwks.jwks) ORDER BY ordinal LOOP
        PERFORM rowguard._store_key(d.kid, d.key_alg, add_jwks.issuer,
                                    add_jwks.jwks -> 'keys' -> d.ordinal);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION rowguard.add_jwks(jsonb, text) IS 'store every key of a JWK Set';

CREATE FUNCTION rowguard.remove_key(kid text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rowguard.keys k WHERE k.kid = remove_key.kid;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION rowguard.remove_key(text) IS 'delete a key; every backend stops accepting it';

CREATE FUNCTION rowguard.set_issuer(iss text, audience text[] DEFAULT NULL,
                                    leeway interval DEFAULT NULL,
                                    max_lifetime interval DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF set_issuer.iss IS NULL OR set_issuer.iss = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_issuer.audience IS NOT NULL AND (cardinality(set_issuer.audience) = 0
            OR array_position(set_issuer.audience, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'audience list must hold at least one audience and no NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL for no audience rule.';
    END IF;
    IF set_issuer.leeway < '0'::interval THEN
        RAISE EXCEPTION 'leeway must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_issuer.max_lifetime <= '0'::interval THEN
        RAISE EXCEPTION 'max_lifetime must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO rowguard.issuers AS i (iss, audience, leeway, max_lifetime)
        VALUES (set_issuer.iss, set_issuer.audience, set_issuer.leeway, set_issuer.max_lifetime)
        ON CONFLICT ON CONSTRAINT issuers_pkey DO UPDATE
        SET audience = EXCLUDED.audience, leeway = EXCLUDED.leeway,
            max_lifetime = EXCLUDED.max_lifetime;
END
$$;
COMMENT ON FUNCTION rowguard.set_issuer(text, text[], interval, interval)
    IS 'per-issuer audiences, clock leeway and longest allowed exp - iat';

CREATE FUNCTION rowguard.remove_issuer(iss text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rowguard.issuers i WHERE i.iss = remove_issuer.iss;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION rowguard.remove_issuer(text) IS 'drop the rules of an issuer';

CREATE FUNCTION rowguard.sign(claims jsonb, kid text) RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_sign_claims' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION rowguard.sign(jsonb, text) IS 'mint a compact JWS with a stored key';

REVOKE ALL ON FUNCTION
    rowguard._keys_changed(),
    rowguard._describe_jwk(jsonb, text),
    rowguard._describe_jwks(jsonb),
    rowguard._store_key(text, text, text, jsonb),
    rowguard.add_key(jsonb, text, text),
    rowguard.add_jwks(jsonb, text),
    rowguard.remove_key(text),
    rowguard.set_issuer(text, text[], interval, interval),
    rowguard.remove_issuer(text),
    rowguard.sign(jsonb, text)
    FROM PUBLIC;
