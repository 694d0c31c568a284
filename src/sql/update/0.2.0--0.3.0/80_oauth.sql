
-- OAuth sign-in (docs/oauth.md): which login roles the tokens of an issuer may log in
-- as when a pg_hba line delegates the mapping to rowguard (delegate_ident_mapping=1).
-- The validator (rowguard_oauth, PostgreSQL 18 and later) reads this table once the
-- database is open, before the session's first statement; rowguard.role_bindings is
-- not used for this, because its roles can never log in.
CREATE TABLE rowguard.oauth_logins (
    issuer   text NOT NULL CHECK (issuer <> ''),
    role     regrole NOT NULL,
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (issuer, role)
);
COMMENT ON TABLE rowguard.oauth_logins
    IS 'login roles that OAuth tokens of an issuer may sign in as (delegate_ident_mapping=1)';
REVOKE ALL ON rowguard.oauth_logins FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowguard.oauth_logins', '');

-- Why `role` can never sign in with a token (a phrase such as 'is a superuser'), or NULL:
-- the checks of _role_binding_hazard except LOGIN, which a sign-in role needs.
CREATE FUNCTION rowguard._oauth_login_hazard(role regrole)
    RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_oauth_login_hazard'
    LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION rowguard._oauth_login_hazard(regrole)
    IS 'why a role can never sign in with an OAuth token, or NULL';

CREATE FUNCTION rowguard.allow_oauth_login(issuer text, role regrole)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r pg_catalog.pg_roles%ROWTYPE;
    hazard text;
BEGIN
    IF allow_oauth_login.issuer IS NULL OR allow_oauth_login.issuer OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) allow_oauth_login.role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    hazard := rowguard._oauth_login_hazard(allow_oauth_login.role);
    IF hazard IS NOT NULL THEN
        RAISE EXCEPTION 'role "%" cannot sign in with OAuth tokens', r.rolname
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The role %s, so it would escape the policies.', hazard),
                  HINT = 'Let tokens sign in as a role that holds only table privileges (docs/oauth.md).';
    END IF;
    INSERT INTO rowguard.oauth_logins (issuer, role)
        VALUES (allow_oauth_login.issuer, allow_oauth_login.role)
        ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION rowguard.allow_oauth_login(text, regrole)
    IS 'let OAuth tokens of an issuer sign in as a login role (delegate_ident_mapping=1)';

CREATE FUNCTION rowguard.disallow_oauth_login(issuer text, role regrole)
    RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH d AS (
        DELETE FROM rowguard.oauth_logins o
         WHERE o.issuer OPERATOR(pg_catalog.=) disallow_oauth_login.issuer
           AND o.role OPERATOR(pg_catalog.=) disallow_oauth_login.role
        RETURNING 1)
    SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 FROM d
$$;
COMMENT ON FUNCTION rowguard.disallow_oauth_login(text, regrole)
    IS 'take back allow_oauth_login; sessions signed in already keep running';

REVOKE ALL ON FUNCTION
    rowguard.allow_oauth_login(text, regrole),
    rowguard.disallow_oauth_login(text, regrole)
    FROM PUBLIC;

-- Lint rule (severity error): OAuth sign-in roles that could no longer be allowed (the
-- role gained an attribute, a membership or a table with row level security since
-- allow_oauth_login). Sign-ins as it are already refused; the row should go, or the role
-- be fixed. Reads rowguard.oauth_logins, so only for callers who may.
CREATE FUNCTION rowguard._lint_030_oauth_logins()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_catalog.has_table_privilege('rowguard.oauth_logins', 'SELECT') THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT 'error'::text,
           pg_catalog.format('OAuth sign-in role %s', o.role::text),
           pg_catalog.format('role %s may sign in with OAuth tokens of %s but %s; such sign-ins are refused',
                             o.role::text, o.issuer, h.hazard),
           pg_catalog.format('SELECT rowguard.disallow_oauth_login(%L, %L);  -- or take the attribute, membership or ownership away from the role',
                             o.issuer, o.role::text)
      FROM rowguard.oauth_logins o,
           LATERAL (SELECT rowguard._oauth_login_hazard(o.role) AS hazard) h
     WHERE h.hazard IS NOT NULL;
END
$$;
