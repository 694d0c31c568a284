
-- Seeing what happens: session_status, stats, sessions, explain_access, audit_columns
-- (docs/functions.md, docs/operations.md).

CREATE FUNCTION rowguard.session_status() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_session_status' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION rowguard.session_status()
    IS 'this session''s identity and why the last token of this transaction was rejected; never the token';

CREATE FUNCTION rowguard.stats(OUT outcome text, OUT count bigint) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rowguard_stats' LANGUAGE C VOLATILE PARALLEL RESTRICTED ROWS 12;
COMMENT ON FUNCTION rowguard.stats()
    IS 'token verification outcomes since the last reset: cluster-wide when preloaded, this backend''s otherwise';

CREATE FUNCTION rowguard.stats_reset() RETURNS void
    AS 'MODULE_PATHNAME', 'rowguard_stats_reset' LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION rowguard.stats_reset() FROM PUBLIC;
COMMENT ON FUNCTION rowguard.stats_reset() IS 'set every rowguard.stats() count to zero';

CREATE FUNCTION rowguard._sessions(OUT pid integer, OUT sub text, OUT iss text, OUT kid text,
                                   OUT jti text, OUT exp timestamptz, OUT scope text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rowguard_sessions' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
CREATE VIEW rowguard.sessions AS
    SELECT s.pid, s.sub, s.iss, s.kid, s.jti, s.exp, s.scope FROM rowguard._sessions() s;
REVOKE ALL ON FUNCTION rowguard._sessions() FROM PUBLIC;
REVOKE ALL ON rowguard.sessions FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowguard._sessions() TO pg_read_all_stats;
GRANT SELECT ON rowguard.sessions TO pg_read_all_stats;
COMMENT ON VIEW rowguard.sessions
    IS 'every backend with an identity in force (needs shared_preload_libraries); never a token';

-- explain_access: one row per policy of the table for the command, with the reasons in
-- words, and rows with a NULL policy for what holds for the whole table. It reads the
-- catalogs and the caller's own claims only, never a row of the table.
CREATE FUNCTION rowguard._explain_expression(expression text, authenticated boolean)
    RETURNS text LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m text[];
    fn text;
    arg text;
    value text;
    notes text[] := '{}';
BEGIN
    IF expression IS NULL THEN
        RETURN 'has no expression for this command';
    END IF;
    IF expression ~* 'current_setting\s*\(' THEN
        notes := notes || 'reads a setting, which any session may be able to write (see rowguard.lint())'::text;
    END IF;
    FOR m IN SELECT regexp_matches(expression,
            'rowguard\.(claim_uuid|claim_bigint|claim_bool|claim_array|claims|claim|has_role|has_scope|sub|is_authenticated)\((?:''((?:[^'']|'''')*)''(?:::text)?)?\)',
            'g')
    LOOP
        fn := m[1];
        arg := replace(m[2], '''''', '''');
        IF NOT authenticated THEN
            notes := notes || format('rowguard.%s() is %s: no identity is in force', fn,
                                     CASE WHEN fn IN ('has_role', 'has_scope', 'is_authenticated')
                                          THEN 'false' ELSE 'NULL' END);
            CONTINUE;
        END IF;
        CASE
        WHEN fn IN ('claim', 'claim_uuid', 'claim_bigint', 'claim_bool', 'claim_array') THEN
            value := rowguard.claim(arg);
            IF value IS NULL THEN
                notes := notes || format('claim %s is missing from the token', arg);
            ELSE
                BEGIN
                    CASE fn
                    WHEN 'claim_uuid' THEN PERFORM rowguard.claim_uuid(arg);
                    WHEN 'claim_bigint' THEN PERFORM rowguard.claim_bigint(arg);
                    WHEN 'claim_bool' THEN PERFORM rowguard.claim_bool(arg);
                    ELSE NULL;
                    END CASE;
                    notes := notes || format('claim %s of the token is %s', arg, value);
                EXCEPTION WHEN invalid_text_representation OR datatype_mismatch THEN
                    notes := notes || format('claim %s of the token (%s) is not of the type rowguard.%s() reads',
                                             arg, value, fn);
                END;
            END IF;
        WHEN fn = 'has_scope' THEN
            IF rowguard.has_scope(arg) THEN
                notes := notes || format('the token has scope %s', arg);
            ELSE
                notes := notes || format('the token has no scope %s', arg);
            END IF;
        WHEN fn = 'has_role' THEN
            IF rowguard.has_role(arg) THEN
                notes := notes || format('the token has role %s', arg);
            ELSE
                notes := notes || format('the token has no role %s in claim %s', arg,
                                         current_setting('rowguard.roles_claim'));
            END IF;
        WHEN fn = 'sub' THEN
            value := rowguard.sub();
            notes := notes || CASE WHEN value IS NULL THEN 'claim sub is missing from the token'
                                   ELSE format('claim sub of the token is %s', value) END;
        ELSE
            NULL;  -- claims(), is_authenticated(): true here
        END CASE;
    END LOOP;
    IF cardinality(notes) = 0 THEN
        RETURN CASE expression WHEN 'true' THEN 'lets every row through'
                               WHEN 'false' THEN 'hides every row'
                               ELSE 'does not read the token' END;
    END IF;
    RETURN array_to_string(notes, '; ');
END
$$;

CREATE FUNCTION rowguard.explain_access(tbl regclass, command text DEFAULT 'SELECT')
    RETURNS TABLE(policy name, permissive boolean, applies boolean, expression text, note text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cmd text := rowguard._check_command(command);
    who name := current_user;
    authenticated boolean;
    expired boolean := false;
    rel record;
    rls_applies boolean;
    any_permissive boolean := false;
    p record;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF cmd = 'ALL' THEN
        RAISE EXCEPTION 'invalid command "ALL"'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Ask about one command: SELECT, INSERT, UPDATE or DELETE.';
    END IF;
    SELECT c.relrowsecurity, c.relforcerowsecurity, c.relowner, r.rolsuper, r.rolbypassrls
      INTO rel
      FROM pg_class c, pg_roles r
     WHERE c.oid = tbl AND r.rolname = who;

    -- What holds for the whole table (policy NULL).
    BEGIN
        authenticated := rowguard.is_authenticated();
    EXCEPTION WHEN invalid_authorization_specification THEN
        authenticated := false;
        expired := true;
        policy := NULL; permissive := NULL; applies := NULL; expression := NULL;
        note := 'the identity in force has expired or lost its key: every claim read fails until the client authenticates again';
        RETURN NEXT;
    END;
    rls_applies := rel.relrowsecurity AND NOT rel.rolsuper AND NOT rel.rolbypassrls
                   AND (rel.relforcerowsecurity OR NOT pg_has_role(who, rel.relowner, 'USAGE'));
    policy := NULL; permissive := NULL; applies := NULL; expression := NULL;
    IF NOT rel.relrowsecurity THEN
        note := format('row level security is not enabled on %s: no policy applies, every row is visible to roles with the privilege', tbl);
        RETURN NEXT;
    ELSIF rel.rolsuper OR rel.rolbypassrls THEN
        note := format('role %s bypasses row level security: no policy applies to it', who);
        RETURN NEXT;
    ELSIF NOT rls_applies THEN
        note := format('role %s owns %s and row level security is not forced: no policy applies to it', who, tbl);
        RETURN NEXT;
    END IF;
    IF NOT authenticated AND NOT expired AND rls_applies THEN
        note := 'no identity is in force: rowguard''s claim accessors return NULL and has_role, has_scope and is_authenticated return false';
        RETURN NEXT;
    END IF;

    FOR p IN
        SELECT pol.polname, pol.polpermissive,
               (pol.polroles = '{0}' OR EXISTS (SELECT FROM unnest(pol.polroles) AS r(oid)
                                                 WHERE pg_has_role(who, r.oid, 'USAGE'))) AS for_role,
               CASE WHEN cmd = 'INSERT'
                    THEN coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid),
                                  pg_get_expr(pol.polqual, pol.polrelid))
                    ELSE pg_get_expr(pol.polqual, pol.polrelid) END AS expr,
               (SELECT string_agg(CASE WHEN r.oid = 0 THEN 'public' ELSE r.oid::regrole::text END, ', ')
                  FROM unnest(pol.polroles) AS r(oid)) AS role_list
          FROM pg_policy pol
         WHERE pol.polrelid = tbl
           AND pol.polcmd IN ('*', CASE cmd WHEN 'SELECT' THEN 'r' WHEN 'INSERT' THEN 'a'
                                            WHEN 'UPDATE' THEN 'w' ELSE 'd' END)
         ORDER BY pol.polpermissive DESC, pol.polname
    LOOP
        policy := p.polname;
        permissive := p.polpermissive;
        applies := rls_applies AND p.for_role;
        expression := p.expr;
        IF NOT rls_applies THEN
            note := 'does not apply: row level security does not apply to this role here';
        ELSIF NOT p.for_role THEN
            note := format('does not apply: it is for %s, not for role %s', p.role_list, who);
        ELSE
            note := rowguard._explain_expression(p.expr, authenticated);
            IF p.polpermissive THEN
                any_permissive := true;
            END IF;
        END IF;
        RETURN NEXT;
    END LOOP;

    IF rls_applies AND NOT any_permissive THEN
        policy := NULL; permissive := NULL; applies := NULL; expression := NULL;
        note := format('no permissive policy applies to role %s for %s: every row is hidden', who, cmd);
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION rowguard.explain_access(regclass, text)
    IS 'the policies that apply to the current role and identity for a command, and in words why they would hide rows';

-- audit_columns: a template like tenant_policy (returns its DDL, runs it unless apply
-- is false) for a trigger that fills who-columns from a verified claim.
CREATE FUNCTION rowguard.audit_columns_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'rowguard_audit_columns_trigger' LANGUAGE C;
COMMENT ON FUNCTION rowguard.audit_columns_trigger()
    IS 'the trigger installed by rowguard.audit_columns()';

CREATE FUNCTION rowguard.audit_columns(tbl regclass, created_by name DEFAULT 'created_by',
                                       updated_by name DEFAULT 'updated_by',
                                       claim text DEFAULT 'sub', apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    script text;
BEGIN
    IF apply IS NULL THEN
        RAISE EXCEPTION 'apply must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM rowguard._check_claim(claim);
    IF created_by IS NULL AND updated_by IS NULL THEN
        RAISE EXCEPTION 'audit_columns needs a created_by or an updated_by column'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF created_by = updated_by THEN
        RAISE EXCEPTION 'created_by and updated_by must be different columns'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'created_by keeps its value on UPDATE; updated_by changes.';
    END IF;
    -- _column_type also refuses a NULL table.
    PERFORM rowguard._column_type(tbl, c) FROM unnest(ARRAY[created_by, updated_by]) AS c
     WHERE c IS NOT NULL;
    script := format(E'CREATE OR REPLACE TRIGGER rowguard_audit_columns\n'
                     '    BEFORE INSERT OR UPDATE ON %s FOR EACH ROW\n'
                     '    EXECUTE FUNCTION rowguard.audit_columns_trigger(%L, %L, %L);',
                     tbl, coalesce(created_by, ''), coalesce(updated_by, ''), claim);
    IF apply THEN
        EXECUTE script;
    END IF;
    RETURN script;
END
$$;
COMMENT ON FUNCTION rowguard.audit_columns(regclass, name, name, text, boolean)
    IS 'a trigger that fills who-columns from the verified claim on INSERT and UPDATE';
