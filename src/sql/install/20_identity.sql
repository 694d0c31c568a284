-- Presenting a token. authenticate() is set_config on rowguard.token, whose check
-- hook verifies; verify() verifies without changing anything.

CREATE FUNCTION rowguard.verify(token text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_verify_token'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION rowguard.verify(text) IS 'verify a token and return its claims';

CREATE FUNCTION rowguard.authenticate(token text, is_local boolean DEFAULT true) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_authenticate_token'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rowguard.authenticate(text, boolean)
    IS 'verify a token and make it the identity of this transaction (or session)';
