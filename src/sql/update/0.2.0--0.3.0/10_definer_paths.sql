-- Definer paths (issue 22, items 1 and 12; docs/security-model.md, "0.3.0 hardening: the
-- database owner").
--
-- Item 1, reviewed: every SQL and PL/pgSQL function of rowguard pins
-- search_path = pg_catalog, pg_temp (sql/definer_paths.sql checks it for every function
-- of the schema), so the caller's and the database's search_path choose none of the
-- operators and functions their bodies use; the C functions are not SECURITY DEFINER.
-- What ran under the database's search_path was the key refresher's own SPI queries (as
-- the bootstrap superuser): src/pg/key_refresh_worker.cpp now pins search_path at
-- PGC_S_OVERRIDE and qualifies every operator, function and type.
-- test/integration/harden_owner.sh plants operators in public as the database owner and
-- runs the refresher and every SECURITY DEFINER function under them.
--
-- Item 12: lint rules added in 0.3.0. They are functions named rowguard._lint_030_<rule>()
-- with lint's row type; lint() (redefined below) runs the 0.2.0 rules as before and then
-- every rowguard._lint_030_* function of the schema, so a later part adds a rule by
-- adding such a function, without redefining lint() again.

-- Every function a policy reaches through SQL and PL/pgSQL bodies, with the chain of
-- calls (the same walk as _lint_setting_reads, which returns only settings read by name).
CREATE FUNCTION rowguard._lint_030_policy_functions()
    RETURNS TABLE (policy oid, fn oid, chain text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE
    bodies AS (SELECT * FROM rowguard._lint_function_bodies()),
    edges AS (
        SELECT DISTINCT b.fn AS caller, p.oid AS callee
          FROM bodies b
         CROSS JOIN LATERAL regexp_matches(b.def,
               $r$(?:(\w+|"(?:[^"]|"")+")\s*\.\s*)?(\w+|"(?:[^"]|"")+")\s*\($r$, 'g') m
          JOIN pg_proc p ON p.proname = rowguard._lint_ident(m[2])
          JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE (m[1] IS NULL OR n.nspname = rowguard._lint_ident(m[1]))
           AND p.oid <> b.fn AND p.oid IN (SELECT bodies.fn FROM bodies)
    ),
    roots AS (
        SELECT DISTINCT d.objid AS policy, d.refobjid AS fn
          FROM pg_depend d
         WHERE d.classid = 'pg_policy'::regclass AND d.refclassid = 'pg_proc'::regclass
           AND d.refobjid IN (SELECT bodies.fn FROM bodies)
    ),
    reach (policy, fn, path) AS (
        SELECT r.policy, r.fn, ARRAY[r.fn] FROM roots r
        UNION ALL
        SELECT r.policy, e.callee, r.path || e.callee
          FROM reach r JOIN edges e ON e.caller = r.fn
         WHERE e.callee <> ALL (r.path) AND cardinality(r.path) < 12
    ),
    shortest AS (
        SELECT DISTINCT ON (r.policy, r.fn) r.policy, r.fn, r.path
          FROM reach r ORDER BY r.policy, r.fn, cardinality(r.path)
    )
    SELECT s.policy, s.fn,
           (SELECT string_agg(b2.fname, ' -> ' ORDER BY u.o)
              FROM unnest(s.path) WITH ORDINALITY u(f, o) JOIN bodies b2 ON b2.fn = u.f)
      FROM shortest s
$$;

-- How a text (a policy expression, a function body) reads settings in a way the 0.2.0
-- rules do not recognise: through the pg_settings view or pg_show_all_settings(), or by
-- an escape-string name (current_setting(E'request.jwt.claims')) of a setting any
-- session can write. One row per way, as words for lint's problem column.
CREATE FUNCTION rowguard._lint_030_hidden_setting_reads(body text)
    RETURNS SETOF text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT DISTINCT format('setting "%s"', m[1])
      FROM regexp_matches(body, $r$current_setting\s*\(\s*E'((?:[^'\\]|\\.|'')*)'$r$, 'gi') m
     WHERE rowguard._lint_session_writable(replace(m[1], '''''', ''''))
    UNION ALL
    SELECT 'settings through the pg_settings view' WHERE body ~* '\mpg_settings\M'
    UNION ALL
    SELECT 'settings through pg_show_all_settings()' WHERE body ~* '\mpg_show_all_settings\s*\('
$$;

-- 19. A permissive policy whose expression has an OR branch that lets rows through
--     whatever the token: OR true (either side), or an OR in an expression that reads the
--     role (current_user, session_user, current_role). Permissive policies are ORed, so that branch admits
--     every row of the table to anyone (true) or to that role. The fix gives the role a
--     policy of its own (or, for OR true, states what to remove).
CREATE FUNCTION rowguard._lint_030_permissive_escape()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN x.kind = 'true' THEN 'error' ELSE 'warning' END,
           format('policy %I on %s', p.polname, p.qname),
           CASE WHEN x.kind = 'true'
                THEN 'permissive policy has an OR true branch, so it admits every row whatever the token'
                ELSE 'permissive policy has an OR branch on the current role, so that role reads rows whatever the token' END,
           CASE WHEN x.kind = 'true'
                THEN format('-- remove the OR true branch:%sALTER POLICY %I ON %s USING (...);', E'\n', p.polname, p.qname)
                ELSE format('-- remove the OR branch on the role from policy %I and give that role a policy of its own:%sCREATE POLICY %I ON %s%s TO %s %s (true);',
                            p.polname, E'\n', left(p.polname || '_role', 63), p.qname,
                            CASE WHEN p.cmd <> 'ALL' THEN ' FOR ' || p.cmd ELSE '' END,
                            coalesce(quote_ident(replace((regexp_match(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''),
                                                                       $r$'((?:[^']|'')*)'::name$r$))[1], '''''', '''')),
                                     '<role>'),
                            CASE WHEN p.cmd = 'INSERT' THEN 'WITH CHECK' ELSE 'USING' END) END
      FROM rowguard._lint_policies() p,
           LATERAL (SELECT coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '') AS expr) e,
           LATERAL (SELECT 'true' AS kind
                     WHERE e.expr ~* '\mOR\s+\(*\s*true\M' OR e.expr ~* '\mtrue\s*\)*\s+OR\M'
                    UNION ALL
                    SELECT 'role'
                     WHERE e.expr ~* '\mOR\M'
                       AND e.expr ~* '\m(CURRENT_USER|SESSION_USER|CURRENT_ROLE)\M|"(current_user|session_user)"\(\)') x
     WHERE p.polpermissive
$$;

-- 20. A SECURITY DEFINER function owned by a role that is not a superuser but owns
--     (itself or through a role it inherits) a table with row level security enabled and
--     not forced, reads that table, and can be executed by other roles: the owner bypasses
--     the table's policies, so the function reads every tenant's rows whatever the
--     caller's token (rule 16 covers superusers and BYPASSRLS owners).
CREATE FUNCTION rowguard._lint_030_definer_table_owner()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', 'function ' || b.fname,
           format('SECURITY DEFINER function owned by %I, which owns %s (row level security not forced), reads it and can be executed by %s',
                  o.rolname, t.tables, g.grantees),
           concat_ws(E'\n', t.force_sql,
                     format('-- or: REVOKE EXECUTE ON FUNCTION %s FROM %s; or ALTER FUNCTION %s SECURITY INVOKER;',
                            b.fname, g.grantees, b.fname))
      FROM rowguard._lint_function_bodies() b
      JOIN pg_proc p ON p.oid = b.fn
      JOIN pg_roles o ON o.oid = p.proowner,
           LATERAL (SELECT string_agg(r.qname, ', ' ORDER BY r.qname) AS tables,
                           string_agg(format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', r.qname), E'\n' ORDER BY r.qname) AS force_sql
                      FROM rowguard._lint_relations() r
                     WHERE r.relkind IN ('r', 'p') AND r.rls AND NOT r.forced
                       AND pg_has_role(p.proowner, r.relowner, 'USAGE')
                       AND b.def ~* ('\m' || regexp_replace(r.relname, '([^A-Za-z0-9_])', '\\\1', 'g') || '\M')) t,
           LATERAL (SELECT string_agg(DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                                    ELSE format('%I', x.grantee::regrole::text) END, ', ') AS grantees
                      FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
                     WHERE x.grantee <> p.proowner AND x.privilege_type = 'EXECUTE') g
     WHERE p.prosecdef AND NOT o.rolsuper AND NOT o.rolbypassrls
       AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
       AND t.tables IS NOT NULL AND g.grantees IS NOT NULL
$$;

-- 21. Dynamic SQL built by concatenation in a SECURITY DEFINER function: EXECUTE with ||
--     and no quote_ident/quote_literal/quote_nullable in the statement, or EXECUTE
--     format() with %s. A caller's argument becomes SQL run with the owner's rights.
CREATE FUNCTION rowguard._lint_030_definer_dynamic_sql()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'warning', 'function ' || b.fname,
           'SECURITY DEFINER function runs dynamic SQL built from text (EXECUTE with || or format %s), so an argument can inject SQL run with its owner''s rights',
           format('-- quote every name with format(''%%I'') and pass every value with EXECUTE ... USING in %s', b.fname)
      FROM rowguard._lint_function_bodies() b
      JOIN pg_proc p ON p.oid = b.fn
      JOIN pg_language l ON l.oid = p.prolang
     WHERE p.prosecdef AND l.lanname = 'plpgsql'
       AND EXISTS (SELECT FROM regexp_matches(b.def, $r$\mEXECUTE\s+([^;]*)$r$, 'gi') m
                    WHERE (m[1] ~ '\|\|' AND m[1] !~* '\mquote_(ident|literal|nullable)\s*\(')
                       OR m[1] ~* $r$^\s*(pg_catalog\s*\.\s*)?format\s*\([^;]*%s$r$)
$$;

-- 22. A policy reads settings in a way rules 3 and 12 do not recognise: through the
--     pg_settings view or pg_show_all_settings(), or a current_setting(E'...') of a
--     setting any session can write, in its expression or in a function it reaches.
CREATE FUNCTION rowguard._lint_030_hidden_setting()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH reads AS (
        SELECT p.polname, p.qname, NULL::text AS chain, x AS how
          FROM rowguard._lint_policies() p,
               LATERAL rowguard._lint_030_hidden_setting_reads(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')) x
        UNION ALL
        SELECT pp.polname, pp.qname, r.chain, x
          FROM rowguard._lint_030_policy_functions() r
          JOIN pg_policy pol ON pol.oid = r.policy
          JOIN rowguard._lint_policies() pp ON pp.relid = pol.polrelid AND pp.polname = pol.polname
          JOIN rowguard._lint_function_bodies() b ON b.fn = r.fn,
               LATERAL rowguard._lint_030_hidden_setting_reads(b.def) x
    )
    SELECT DISTINCT 'error', format('policy %I on %s', r.polname, r.qname),
           format('policy reads the identity from %s, which any session can set%s',
                  r.how, ' (in ' || r.chain || ')'),
           '-- read the identity with rowguard''s accessors (rowguard.claim(''...''), rowguard.sub()); for Supabase''s auth.* functions: SELECT rowguard.install_compat(''supabase'');'
      FROM reads r
$$;

-- The driver: the 0.2.0 rules, then every rule function rowguard._lint_030_*() that
-- returns lint's columns and is a member of the extension (only rowguard's own functions
-- are in its schema: the install guard and the schema's owner see to that; membership is
-- checked all the same), errors first, then warnings, then info.
CREATE OR REPLACE FUNCTION rowguard.lint()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rules text;
BEGIN
    -- Load the module, so pg_settings lists rowguard's settings (and only those).
    PERFORM rowguard.is_authenticated();
    SELECT string_agg(format(' UNION ALL SELECT * FROM %s()', p.oid::regproc), '' ORDER BY p.proname)
      INTO rules
      FROM pg_proc p
     WHERE p.pronamespace = 'rowguard'::regnamespace
       AND p.proname LIKE '\_lint\_030\_%'
       AND p.pronargs = 0 AND p.proretset
       AND p.proargnames = ARRAY['severity', 'object', 'problem', 'fix']
       AND EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e');
    -- On a Supabase database (rowguard._lint_platform_note, 60_supabase.sql) a finding
    -- about the platform's own schemas and roles, which its users cannot change, is
    -- kept as info with the reason instead of advice that would break the platform.
    RETURN QUERY EXECUTE
    'SELECT CASE WHEN n.note IS NULL THEN f.severity ELSE ''info'' END, f.object,
            CASE WHEN n.note IS NULL THEN f.problem ELSE f.problem || '' (platform: '' || n.note || '')'' END,
            CASE WHEN n.note IS NULL THEN f.fix ELSE ''-- '' || n.note END
       FROM (SELECT * FROM rowguard._lint_rls_not_forced()
             UNION ALL SELECT * FROM rowguard._lint_tenant_no_rls()
             UNION ALL SELECT * FROM rowguard._lint_policy_setting()
             UNION ALL SELECT * FROM rowguard._lint_policy_index()
             UNION ALL SELECT * FROM rowguard._lint_bypass_roles()
             UNION ALL SELECT * FROM rowguard._lint_foreign_keys()
             UNION ALL SELECT * FROM rowguard._lint_owner_views()
             UNION ALL SELECT * FROM rowguard._lint_partitions()
             UNION ALL SELECT * FROM rowguard._lint_moot_base()
             UNION ALL SELECT * FROM rowguard._lint_login_owner()
             UNION ALL SELECT * FROM rowguard._lint_stored_token()
             UNION ALL SELECT * FROM rowguard._lint_function_setting()
             UNION ALL SELECT * FROM rowguard._lint_unknown_setting()
             UNION ALL SELECT * FROM rowguard._lint_unique_keys()
             UNION ALL SELECT * FROM rowguard._lint_matview()
             UNION ALL SELECT * FROM rowguard._lint_definer_bypass()
             UNION ALL SELECT * FROM rowguard._lint_session_state()
             UNION ALL SELECT * FROM rowguard._lint_verification()'
    || coalesce(rules, '') ||
    ') f, LATERAL (SELECT rowguard._lint_platform_note(f.object, f.problem, f.fix) AS note) n
      ORDER BY CASE WHEN n.note IS NOT NULL THEN 2
                    WHEN f.severity = ''error'' THEN 0 WHEN f.severity = ''warning'' THEN 1 ELSE 2 END,
               f.object, f.problem';
END
$$;
