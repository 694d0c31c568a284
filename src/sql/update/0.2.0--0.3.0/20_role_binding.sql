
-- Role binding, hardened (docs/roles.md, "Roles that cannot be bound"). One check,
-- rowguard._role_binding_hazard, written in C (role_hazard.cpp) because every admission
-- of a bound token runs it too: allow_role refuses such roles, and lint reports
-- bindings whose role became one later.

-- Why `role` can never be bound to tokens (a phrase such as 'has CREATEROLE'), or NULL.
-- allow_bypassrls: skip the BYPASSRLS parts (the role's own attribute, membership in a
-- BYPASSRLS role), for a binding that explicitly opted into them. Reads only pg_authid,
-- pg_auth_members and pg_class, which every role may read.
CREATE FUNCTION rowguard._role_binding_hazard(role regrole, allow_bypassrls boolean DEFAULT false)
    RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_role_binding_hazard'
    LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION rowguard._role_binding_hazard(regrole, boolean)
    IS 'why a role can never be bound to tokens, or NULL';

CREATE OR REPLACE FUNCTION rowguard.allow_role(role regrole, issuer text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r pg_catalog.pg_roles%ROWTYPE;
    hazard text;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) allow_role.role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    hazard := rowguard._role_binding_hazard(allow_role.role, false);
    IF hazard IS NOT NULL THEN
        RAISE EXCEPTION 'role "%" cannot be bound to tokens', r.rolname
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The role %s, so it would escape the policies.', hazard),
                  HINT = 'Bind a NOLOGIN role that holds only table privileges (docs/roles.md).';
    END IF;
    IF allow_role.issuer OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass NULL to allow the role for tokens of any issuer.';
    END IF;
    INSERT INTO rowguard.role_bindings (role, issuer)
        VALUES (allow_role.role, allow_role.issuer)
        ON CONFLICT DO NOTHING;
END
$$;

-- Lint rule (severity error): role bindings whose role can no longer be bound (it
-- gained an attribute, a membership or a table since allow_role). Tokens naming it are
-- already refused; the binding should go, or the role be fixed. Reads
-- rowguard.role_bindings, so only for callers who may.
CREATE FUNCTION rowguard._lint_030_bindings()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT pg_catalog.has_table_privilege('rowguard.role_bindings', 'SELECT') THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT 'error'::text,
           pg_catalog.format('role binding %s', b.role::text),
           pg_catalog.format('role %s is allowed for tokens%s but %s; tokens naming it are refused',
                             b.role::text,
                             CASE WHEN b.issuer IS NULL THEN ''
                                  ELSE pg_catalog.format(' of %s', b.issuer) END,
                             h.hazard),
           pg_catalog.format('SELECT rowguard.disallow_role(%L, %L);  -- or take the attribute, membership or ownership away from the role',
                             b.role::text, b.issuer)
      FROM rowguard.role_bindings b,
           LATERAL (SELECT rowguard._role_binding_hazard(b.role, false) AS hazard) h
     WHERE h.hazard IS NOT NULL;
END
$$;
