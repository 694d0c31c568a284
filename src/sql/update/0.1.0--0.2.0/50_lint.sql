-- rowguard.lint() as a small driver over one function per rule. Each rule is a function
-- rowguard._lint_<rule>() RETURNS TABLE (severity, object, problem, fix) that reads only
-- the catalogs (the verification-settings rule also reads rowguard's tables, and only
-- when the caller may). The 0.1.0 rules keep their findings word for word; their fixes
-- now compare with (SELECT rowguard.claim...()) like the templates. docs/policies.md
-- lists every rule.

-- The relations lint looks at: everything but the system schemas, TOAST, temporary
-- schemas and rowguard's own.
CREATE FUNCTION rowguard._lint_relations()
    RETURNS TABLE (oid oid, relname name, relkind "char", rls boolean, forced boolean,
                   relispartition boolean, reloptions text[], relowner oid, qname text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
           c.relispartition, c.reloptions, c.relowner, format('%I.%I', n.nspname, c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard')
       AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
$$;

CREATE FUNCTION rowguard._lint_policies()
    RETURNS TABLE (qname text, relid oid, polname name, polpermissive boolean, cmd text,
                   roles name[], qual text, with_check text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.qname, r.oid, p.polname, p.polpermissive,
           CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                         WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
           CASE WHEN p.polroles = '{0}' THEN ARRAY['public']::name[]
                ELSE ARRAY(SELECT a.rolname FROM pg_roles a
                            WHERE a.oid = ANY (p.polroles) ORDER BY a.rolname) END,
           pg_get_expr(p.polqual, p.polrelid),
           pg_get_expr(p.polwithcheck, p.polrelid)
      FROM rowguard._lint_relations() r JOIN pg_policy p ON p.polrelid = r.oid
$$;

-- Columns that name a tenant: tenant_id, the tenant claim's name, and every column a
-- rowguard_tenant policy compares.
CREATE FUNCTION rowguard._lint_tenant_columns()
    RETURNS name[] LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY['tenant_id'::name]
        || coalesce(current_setting('rowguard.tenant_claim', true), 'tenant_id')::name
        || ARRAY(SELECT DISTINCT rowguard._policy_column(p.polrelid, p.polname)
                   FROM pg_policy p WHERE p.polname = 'rowguard_tenant')
$$;

-- The tenant column of a protected table: the column its rowguard_tenant policy compares,
-- else its first column named like a tenant. NULL when it has none.
CREATE FUNCTION rowguard._lint_tenant_column(rel oid, tenant_columns name[])
    RETURNS name LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(rowguard._policy_column(rel, 'rowguard_tenant'),
                    (SELECT a.attname FROM pg_attribute a
                      WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                        AND a.attname = ANY (tenant_columns)
                      ORDER BY a.attnum LIMIT 1))
$$;

-- A setting a session can write: not rowguard's (those are checked by their own rule),
-- not a server setting reserved to superusers or the configuration file.
CREATE FUNCTION rowguard._lint_session_writable(setting text)
    RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT lower(setting) NOT LIKE 'rowguard.%'
       AND NOT EXISTS (SELECT FROM pg_settings g
                        WHERE g.name = lower(setting) AND g.context <> 'user')
$$;

-- A rowguard.* name rowguard does not define. The module is loaded first (lint() does),
-- so pg_settings lists exactly rowguard's own settings under the prefix.
CREATE FUNCTION rowguard._lint_unknown_name(setting text)
    RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT lower(setting) LIKE 'rowguard.%'
       AND NOT EXISTS (SELECT FROM pg_settings g WHERE g.name = lower(setting))
$$;

-- An SQL identifier as written (quoted or not) to the name it stands for.
CREATE FUNCTION rowguard._lint_ident(word text)
    RETURNS name LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN left(word, 1) = '"'
                THEN replace(substr(word, 2, length(word) - 2), '""', '"')
                ELSE lower(word) END::name
$$;

-- Reads of settings in SQL text (a policy expression as pg_get_expr prints it, or a
-- function definition as written) rewritten to verified claims, in the form the templates
-- use: request.jwt.claims / request.jwt.claim -> (SELECT rowguard.claims())::text,
-- request.jwt.claim.<name> -> (SELECT rowguard.claim('<name>')), any other
-- <prefix>.<name> -> (SELECT rowguard.claim('<name>')). rowguard.* reads stay.
CREATE FUNCTION rowguard._lint_rewrite_reads(expr text)
    RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT regexp_replace(regexp_replace(regexp_replace(expr,
        $r$(?:pg_catalog\.)?current_setting\(\s*'request\.jwt\.claims?'(?:::text)?\s*(?:,\s*(?:true|false)\s*)?\)$r$,
        '(SELECT rowguard.claims())::text', 'gi'),
        $r$(?:pg_catalog\.)?current_setting\(\s*'request\.jwt\.claim\.([^']+)'(?:::text)?\s*(?:,\s*(?:true|false)\s*)?\)$r$,
        $s$(SELECT rowguard.claim('\1'))$s$, 'gi'),
        $r$(?:pg_catalog\.)?current_setting\(\s*'(?!rowguard\.)(?:[^']*\.)?([^'.]+)'(?:::text)?\s*(?:,\s*(?:true|false)\s*)?\)$r$,
        $s$(SELECT rowguard.claim('\1'))$s$, 'gi')
$$;

-- The claim names _lint_rewrite_reads takes from setting names (app.tenant_id ->
-- tenant_id), as a comment line to put before a fix: lint never guesses silently.
CREATE FUNCTION rowguard._lint_claim_note(claim text, setting text)
    RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(E'-- the claim name "%s" is read off the setting name "%s": check that your tokens carry it\n',
                  claim, setting)
$$;

CREATE FUNCTION rowguard._lint_guess_note(expr text)
    RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT string_agg(rowguard._lint_claim_note(g.claim, g.setting), '' ORDER BY g.setting)
      FROM (SELECT DISTINCT m[1] AS setting, m[2] AS claim
              FROM regexp_matches(expr,
                   $r$current_setting\(\s*'((?!rowguard\.)(?!request\.jwt\.claim)(?:[^']*\.)?([^'.]+))'$r$,
                   'gi') m) g
$$;

-- rowguard_app -> rowguard_app_owner: the role a fix proposes to own what a login role
-- owns today. The fix creates it (NOLOGIN) when it does not exist.
CREATE FUNCTION rowguard._lint_owner_role_sql(login_role name, OUT role_name name, OUT create_sql text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT left(login_role || '_owner', 63)::name,
           format('DO $do$ BEGIN CREATE ROLE %I NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $do$;',
                  left(login_role || '_owner', 63))
$$;

-- User functions with a body lint can read (SQL and PL/pgSQL), as their definitions.
CREATE FUNCTION rowguard._lint_function_bodies()
    RETURNS TABLE (fn oid, fname text, owner oid, def text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT p.oid, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           p.proowner, pg_get_functiondef(p.oid)
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      JOIN pg_language l ON l.oid = p.prolang
     WHERE l.lanname IN ('sql', 'plpgsql') AND p.prokind IN ('f', 'p')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard')
       AND n.nspname NOT LIKE 'pg\_temp\_%'
$$;

-- Every setting a policy reads, directly (fn NULL) or through the functions it calls,
-- followed transitively through SQL and PL/pgSQL bodies (a call is any name(...) in a
-- body that names such a function; over-approximating is the safe side for a linter).
-- chain: the functions from the policy to the one that reads the setting.
CREATE FUNCTION rowguard._lint_setting_reads()
    RETURNS TABLE (policy oid, relid oid, polname name, qname text, fn oid, chain text,
                   setting text)
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
    ),
    reads AS (
        -- Read directly in the policy's expressions.
        SELECT p.oid AS policy, NULL::oid AS fn, NULL::text AS chain, s.name AS setting
          FROM pg_policy p,
               LATERAL (SELECT DISTINCT replace(m[1], '''''', '''') AS name
                          FROM regexp_matches(coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' '
                                              || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''),
                                              $r$current_setting\('((?:[^']|'')*)'$r$, 'g') m) s
        UNION ALL
        SELECT s.policy, s.fn,
               (SELECT string_agg(b2.fname, ' -> ' ORDER BY u.o)
                  FROM unnest(s.path) WITH ORDINALITY u(f, o) JOIN bodies b2 ON b2.fn = u.f),
               x.name
          FROM shortest s
          JOIN bodies b ON b.fn = s.fn,
               LATERAL (SELECT DISTINCT replace(m[1], '''''', '''') AS name
                          FROM regexp_matches(b.def, $r$current_setting\s*\(\s*'((?:[^']|'')*)'$r$, 'gi') m) x
    )
    SELECT rd.policy, pp.relid, pp.polname, pp.qname, rd.fn, rd.chain, rd.setting
      FROM reads rd
      JOIN pg_policy pol ON pol.oid = rd.policy
      JOIN rowguard._lint_policies() pp ON pp.relid = pol.polrelid AND pp.polname = pol.polname
$$;

-- 1. Enabled, not forced: the owner (often the application's migration role) reads and
--    writes every row.
CREATE FUNCTION rowguard._lint_rls_not_forced()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'warning', 'table ' || r.qname,
           'row level security is enabled but not forced, so the table owner bypasses every policy',
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', r.qname)
      FROM rowguard._lint_relations() r
     WHERE r.relkind IN ('r', 'p') AND r.rls AND NOT r.forced
$$;

-- 2. A tenant column and no row level security (partitions: _lint_partitions).
CREATE FUNCTION rowguard._lint_tenant_no_rls()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', 'table ' || r.qname,
           format('column %I holds a tenant but row level security is not enabled', a.attname),
           concat_ws(E'\n', format('SELECT rowguard.tenant_policy(%L, %L);', r.qname, a.attname),
                     CASE WHEN NOT rowguard._has_leading_index(r.oid, ARRAY[a.attname])
                          THEN rowguard._create_index_sql(r.oid, ARRAY[a.attname], false) END)
      FROM rowguard._lint_relations() r
      JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE r.relkind IN ('r', 'p') AND NOT r.rls AND NOT r.relispartition
       AND a.attname = ANY (rowguard._lint_tenant_columns())
$$;

-- 3. Identity read from a setting any session can SET (PostgREST's request.jwt.*,
--    app.tenant_id, ...): a client that can run SQL chooses its own tenant.
CREATE FUNCTION rowguard._lint_policy_setting()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', format('policy %I on %s', p.polname, p.qname),
           format('policy reads the identity from setting "%s", which any session can set', s.name),
           concat(rowguard._lint_guess_note(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, '')),
                  format('ALTER POLICY %I ON %s%s%s;', p.polname, p.qname,
                         ' USING (' || rowguard._lint_rewrite_reads(p.qual) || ')',
                         ' WITH CHECK (' || rowguard._lint_rewrite_reads(p.with_check) || ')'))
      FROM rowguard._lint_policies() p,
           LATERAL (SELECT DISTINCT replace(m[1], '''''', '''') AS name
                      FROM regexp_matches(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''),
                                          $r$current_setting\('((?:[^']|'')*)'$r$, 'g') m) s
     WHERE rowguard._lint_session_writable(s.name)
$$;

-- 4. Columns policies compare with = and no index leading with them (a tenant and an
--    owner column together: the composite index serves both).
CREATE FUNCTION rowguard._lint_policy_index()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH pols AS (SELECT * FROM rowguard._lint_policies())
    SELECT 'warning', 'table ' || r.qname,
           format('no index leads with %s, compared by its policies', k.keys),
           rowguard._create_index_sql(r.oid, c.cols, false)
      FROM rowguard._lint_relations() r,
           LATERAL (
               WITH eq AS (
                   SELECT DISTINCT a.attname
                     FROM pg_policy p
                     JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                                     AND d.refclassid = 'pg_class'::regclass
                                     AND d.refobjid = r.oid AND d.refobjsubid > 0
                     JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.refobjsubid
                     JOIN pols pp ON pp.relid = r.oid AND pp.polname = p.polname
                    WHERE p.polrelid = r.oid
                      AND (coalesce(pp.qual, '') || ' ' || coalesce(pp.with_check, ''))
                          ~ ('(^|[( ])' || regexp_replace(format('%I', a.attname),
                                               '([^A-Za-z0-9_])', '\\\1', 'g') || ' = ')
               ),
               pair AS (
                   SELECT ARRAY[t, o] AS cols
                     FROM rowguard._policy_column(r.oid, 'rowguard_tenant') t,
                          rowguard._policy_column(r.oid, 'rowguard_owner') o
                    WHERE t IS NOT NULL AND o IS NOT NULL AND t <> o
               )
               SELECT cols FROM pair
               UNION ALL
               SELECT ARRAY[eq.attname] FROM eq
                WHERE NOT EXISTS (SELECT FROM pair WHERE eq.attname = ANY (pair.cols))
           ) c(cols),
           LATERAL (SELECT string_agg(format('%I', x), ', ' ORDER BY o) AS keys
                      FROM unnest(c.cols) WITH ORDINALITY u(x, o)) k
     WHERE r.relkind IN ('r', 'p') AND NOT r.relispartition
       AND NOT rowguard._has_leading_index(r.oid, c.cols)
$$;

-- 5. Login roles that bypass row level security, directly or by SET ROLE. Superusers
--    bypass it too; they are not listed (every cluster has one). Accepted: the
--    cross-tenant maintenance setup of docs/policies.md, an operator's login role that is
--    NOINHERIT and holds no privilege on a protected table of its own (so it is not the
--    application's role, and it reaches the maintenance role's rights only by an explicit
--    SET ROLE).
CREATE FUNCTION rowguard._lint_bypass_roles()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'warning', format('role %I', a.rolname),
           'role can log in and bypasses row level security',
           format('ALTER ROLE %I NOBYPASSRLS;', a.rolname)
      FROM pg_roles a
     WHERE a.rolcanlogin AND a.rolbypassrls AND NOT a.rolsuper
    UNION ALL
    SELECT 'warning', format('role %I', a.rolname),
           format('role can log in and SET ROLE to %I, which bypasses row level security', b.rolname),
           format('REVOKE %I FROM %I;', b.rolname, a.rolname)
      FROM pg_auth_members m
      JOIN pg_roles a ON a.oid = m.member
      JOIN pg_roles b ON b.oid = m.roleid
     WHERE a.rolcanlogin AND NOT a.rolsuper AND NOT a.rolbypassrls
       AND (b.rolbypassrls OR b.rolsuper)
       AND NOT (NOT a.rolinherit AND NOT b.rolsuper AND NOT EXISTS (
                    SELECT FROM rowguard._lint_relations() t
                     WHERE t.relkind IN ('r', 'p') AND t.rls
                       AND has_table_privilege(a.oid, t.oid, 'SELECT, INSERT, UPDATE, DELETE')))
$$;

-- 6. Foreign keys into a protected table: the key check ignores row level security, so
--    inserting a referencing row tells whether a key exists in any tenant. Safe only when
--    the key includes the tenant column on both sides and the referencing table is bound
--    to the caller's tenant too.
CREATE FUNCTION rowguard._lint_foreign_keys()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH rels AS (SELECT * FROM rowguard._lint_relations())
    SELECT 'warning', format('foreign key %I on %s', con.conname, src.qname),
           format('rows of %s reveal whether a key exists in %s for every tenant', src.qname, ref.qname),
           concat_ws(E'\n',
               CASE WHEN f.src_col IS NULL
                    THEN format('SELECT rowguard.tenant_policy(%L, %L);', src.qname, f.ref_col) END,
               CASE WHEN f.src_col IS NULL AND NOT rowguard._has_leading_index(src.oid, ARRAY[f.ref_col])
                    THEN rowguard._create_index_sql(src.oid, ARRAY[f.ref_col], false) END,
               CASE WHEN NOT f.keyed AND NOT EXISTS (
                        SELECT FROM pg_index i
                         WHERE i.indrelid = ref.oid AND i.indisunique AND i.indpred IS NULL
                           AND (SELECT array_agg(x ORDER BY x) FROM unnest(i.indkey[0:i.indnkeyatts - 1]) x)
                             = (SELECT array_agg(x ORDER BY x)
                                  FROM unnest(con.confkey || f.ref_attnum) x))
                    THEN rowguard._create_index_sql(ref.oid, f.ref_col || ARRAY(
                                SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                                  JOIN pg_attribute a ON a.attrelid = ref.oid AND a.attnum = k.n
                                 ORDER BY k.o), true) END,
               CASE WHEN NOT f.keyed
                    THEN format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;',
                                src.qname, con.conname, con.conname,
                                regexp_replace(regexp_replace(pg_get_constraintdef(con.oid),
                                    '^FOREIGN KEY \(', format('FOREIGN KEY (%I, ', coalesce(f.src_col, f.ref_col))),
                                    '^(.*?\) REFERENCES [^(]*)\(', format('\1(%I, ', f.ref_col))) END)
      FROM pg_constraint con
      JOIN rels src ON src.oid = con.conrelid
      JOIN rels ref ON ref.oid = con.confrelid,
           LATERAL (
               SELECT rowguard._policy_column(ref.oid, 'rowguard_tenant') AS ref_col,
                      CASE WHEN src.rls THEN rowguard._policy_column(src.oid, 'rowguard_tenant') END AS src_col
           ) t,
           LATERAL (
               SELECT t.ref_col, t.src_col,
                      (SELECT a.attnum FROM pg_attribute a
                        WHERE a.attrelid = ref.oid AND a.attname = t.ref_col) AS ref_attnum,
                      EXISTS (SELECT FROM generate_subscripts(con.conkey, 1) i
                                JOIN pg_attribute sa ON sa.attrelid = src.oid AND sa.attnum = con.conkey[i]
                                JOIN pg_attribute ra ON ra.attrelid = ref.oid AND ra.attnum = con.confkey[i]
                               WHERE sa.attname = coalesce(t.src_col, t.ref_col)
                                 AND ra.attname = t.ref_col) AS keyed
           ) f
     WHERE con.contype = 'f' AND con.conparentid = 0 AND ref.rls
       AND f.ref_col IS NOT NULL AND (f.src_col IS NULL OR NOT f.keyed)
    UNION ALL
    -- Protected by policies of its own (not rowguard_tenant): a referencing table without
    -- row level security at all lets anyone probe it.
    SELECT 'warning', format('foreign key %I on %s', con.conname, src.qname),
           format('rows of %s reveal whether a key exists in %s, whose rows are protected',
                  src.qname, ref.qname),
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY; -- then give %s the policies of %s',
                  src.qname, src.qname, ref.qname)
      FROM pg_constraint con
      JOIN rels src ON src.oid = con.conrelid
      JOIN rels ref ON ref.oid = con.confrelid
     WHERE con.contype = 'f' AND con.conparentid = 0 AND ref.rls AND NOT src.rls
       AND rowguard._policy_column(ref.oid, 'rowguard_tenant') IS NULL
$$;

-- 7. Views run with their owner's rights unless security_invoker is set: a view owned by
--    a superuser, a BYPASSRLS role, or the table's owner without FORCE shows every
--    tenant's rows.
CREATE FUNCTION rowguard._lint_owner_views()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH rels AS (SELECT * FROM rowguard._lint_relations())
    SELECT DISTINCT
           CASE WHEN o.rolsuper OR o.rolbypassrls OR (o.oid = t.relowner AND NOT t.forced)
                THEN 'error' ELSE 'warning' END,
           'view ' || v.qname,
           format('view reads %s, which has row level security, with the rights of its owner %I',
                  t.qname, o.rolname),
           format('ALTER VIEW %s SET (security_invoker = true);', v.qname)
      FROM rels v
      JOIN pg_roles o ON o.oid = v.relowner
      JOIN pg_rewrite rw ON rw.ev_class = v.oid
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid >= 0
      JOIN rels t ON t.oid = d.refobjid AND t.relkind IN ('r', 'p') AND t.rls
     WHERE v.relkind = 'v'
       AND NOT EXISTS (SELECT FROM pg_options_to_table(v.reloptions) opt
                        WHERE opt.option_name = 'security_invoker'
                          AND lower(opt.option_value) IN ('true', 'on', 'yes', '1'))
$$;

-- 8. Partitions without their parent's protection: a query that names the partition is
--    checked against the partition's own policies only.
CREATE FUNCTION rowguard._lint_partitions()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH rels AS (SELECT * FROM rowguard._lint_relations()),
         pols AS (SELECT * FROM rowguard._lint_policies())
    SELECT 'error', 'partition ' || c.qname,
           format('partition of %s lacks %s', par.qname, array_to_string(x.missing, ', ')),
           array_to_string(x.fixes, E'\n')
      FROM rels c
      JOIN pg_inherits inh ON inh.inhrelid = c.oid
      JOIN rels par ON par.oid = inh.inhparent,
           LATERAL (
               SELECT array_agg(m.what ORDER BY m.o, m.what) AS missing,
                      array_agg(m.stmt ORDER BY m.o, m.what) AS fixes
                 FROM (
                   SELECT 1 AS o, 'row level security' AS what,
                          format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', c.qname) AS stmt
                    WHERE NOT c.rls
                   UNION ALL
                   SELECT 2, 'forced row level security',
                          format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', c.qname)
                    WHERE par.forced AND NOT c.forced
                   UNION ALL
                   SELECT 3, format('policy %I', pp.polname),
                          format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s;',
                                 pp.polname, c.qname,
                                 CASE WHEN pp.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                                 pp.cmd,
                                 (SELECT string_agg(CASE WHEN rn = 'public' THEN 'PUBLIC'
                                                         ELSE format('%I', rn) END, ', ')
                                    FROM unnest(pp.roles) rn),
                                 E'\n    USING (' || pp.qual || ')',
                                 E'\n    WITH CHECK (' || pp.with_check || ')')
                     FROM pols pp
                    WHERE pp.relid = par.oid
                      AND NOT EXISTS (SELECT FROM pg_policy q
                                       WHERE q.polrelid = c.oid AND q.polname = pp.polname)
                 ) m
           ) x
     WHERE c.relispartition AND par.rls AND x.missing IS NOT NULL
$$;

-- 9. rowguard_base (USING true) next to a permissive policy of the table's own: the OR of
--    the two is true, so that policy no longer restricts anything.
CREATE FUNCTION rowguard._lint_moot_base()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH pols AS (SELECT * FROM rowguard._lint_policies())
    SELECT 'warning', format('policy rowguard_base on %s', b.qname),
           format('rowguard_base makes permissive policy %I moot', p.polname),
           format('DROP POLICY rowguard_base ON %s;', b.qname)
      FROM pols b
      JOIN pols p ON p.relid = b.relid AND p.polpermissive AND p.polname <> 'rowguard_base'
     WHERE b.polname = 'rowguard_base'
$$;

-- 10. A login role owns a protected table: it can NO FORCE row level security and drop
--     the policies. The fix hands the table to a role that cannot log in and gives the
--     login role back the DML it had (not TRUNCATE, which ignores row level security).
CREATE FUNCTION rowguard._lint_login_owner()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'warning', format('role %I', o.rolname),
           format('role can log in and owns %s, which has row level security: it can turn it off and drop the policies',
                  r.qname),
           concat_ws(E'\n', w.create_sql,
                     format('ALTER TABLE %s OWNER TO %I;', r.qname, w.role_name),
                     format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I;', r.qname, o.rolname))
      FROM rowguard._lint_relations() r
      JOIN pg_roles o ON o.oid = r.relowner,
           LATERAL rowguard._lint_owner_role_sql(o.rolname) w
     WHERE r.relkind IN ('r', 'p') AND r.rls AND NOT r.relispartition
       AND o.rolcanlogin AND NOT o.rolsuper
$$;

-- The names under which a configuration array (proconfig, setconfig) holds a non-empty
-- rowguard.token, as written (the name may be spelled in any case).
CREATE FUNCTION rowguard._lint_token_entries(config text[])
    RETURNS SETOF text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT split_part(c, '=', 1)
      FROM unnest(config) c
     WHERE lower(split_part(c, '=', 1)) = 'rowguard.token' AND substr(c, strpos(c, '=') + 1) <> ''
$$;

-- 11. A token stored where every role can read it: a function's SET rowguard.token
--     (pg_proc.proconfig) or ALTER ROLE/DATABASE ... SET rowguard.token
--     (pg_db_role_setting). Both catalogs are readable by PUBLIC.
CREATE FUNCTION rowguard._lint_stored_token()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', format('function %s.%I(%s)', n.nspname, p.proname,
                           pg_get_function_identity_arguments(p.oid)),
           'function stores a token in SET rowguard.token, which every role can read in pg_proc',
           format('ALTER FUNCTION %I.%I(%s) RESET %s;  -- pass the token at run time: rowguard.authenticate($1)',
                  n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), s.name)
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace,
           rowguard._lint_token_entries(p.proconfig) s(name)
    UNION ALL
    SELECT 'error',
           CASE WHEN s.setrole = 0 THEN format('database %I', d.datname)
                WHEN s.setdatabase = 0 THEN format('role %I', a.rolname)
                ELSE format('role %I in database %I', a.rolname, d.datname) END,
           'a token is stored in rowguard.token as a default setting, which every role can read in pg_db_role_setting',
           CASE WHEN s.setrole = 0 THEN format('ALTER DATABASE %I RESET %s;', d.datname, x.name)
                WHEN s.setdatabase = 0 THEN format('ALTER ROLE %I RESET %s;', a.rolname, x.name)
                ELSE format('ALTER ROLE %I IN DATABASE %I RESET %s;', a.rolname, d.datname, x.name) END
      FROM pg_db_role_setting s
      LEFT JOIN pg_database d ON d.oid = s.setdatabase
      LEFT JOIN pg_roles a ON a.oid = s.setrole,
           rowguard._lint_token_entries(s.setconfig) x(name)
$$;

-- 12. A policy reaches a session-writable setting through the functions it calls
--     (tenant_id = app.current_tenant() where that reads current_setting('app.tenant_id');
--     Supabase's auth.uid() reading request.jwt.claims). The fix replaces the function
--     that reads the setting, in place, so every policy keeps its text; for Supabase's
--     auth.* functions it is rowguard.install_compat('supabase').
CREATE FUNCTION rowguard._lint_function_setting()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', format('policy %I on %s', s.polname, s.qname),
           format('policy reads the identity from %s "%s", which any session can set, through %s',
                  CASE WHEN count(*) > 1 THEN 'settings' ELSE 'setting' END,
                  string_agg(s.setting, '", "' ORDER BY s.setting), s.chain),
           CASE WHEN n.nspname = 'auth' AND p.proname IN ('uid', 'jwt', 'role', 'email')
                THEN 'SELECT rowguard.install_compat(''supabase'');'
                WHEN n.nspname = 'auth' AND p.proname IN ('user_id', 'session')
                THEN 'SELECT rowguard.install_compat(''neon'');'
                ELSE concat(rowguard._lint_guess_note(pg_get_functiondef(s.fn)),
                            rowguard._lint_rewrite_reads(pg_get_functiondef(s.fn)), ';') END
      FROM rowguard._lint_setting_reads() s
      JOIN pg_proc p ON p.oid = s.fn
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE s.fn IS NOT NULL AND rowguard._lint_session_writable(s.setting)
     GROUP BY s.polname, s.qname, s.fn, s.chain, n.nspname, p.proname
$$;

-- 13. A policy (or a function it calls) reads a rowguard.* name rowguard does not
--     define: before the module is loaded any session can SET it as a placeholder. The
--     fix reads the claim of that name instead, and says that it took the name from the
--     setting's.
CREATE FUNCTION rowguard._lint_unknown_setting()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', format('policy %I on %s', s.polname, s.qname),
           format('policy reads setting "%s"%s, which rowguard does not define, so any session can set it',
                  s.setting, ' through ' || s.chain),
           concat(rowguard._lint_claim_note(c.claim, s.setting),
                  CASE WHEN s.fn IS NULL
                       THEN format('ALTER POLICY %I ON %s%s%s;', s.polname, s.qname,
                                   ' USING (' || regexp_replace(p.qual, c.pattern, c.replacement, 'gi') || ')',
                                   ' WITH CHECK (' || regexp_replace(p.with_check, c.pattern, c.replacement, 'gi') || ')')
                       ELSE regexp_replace(pg_get_functiondef(s.fn), c.pattern, c.replacement, 'gi') || ';' END)
      FROM rowguard._lint_setting_reads() s
      JOIN rowguard._lint_policies() p ON p.relid = s.relid AND p.polname = s.polname,
           LATERAL (SELECT regexp_replace(s.setting, '^[^.]*\.', '') AS claim,
                           $r$(?:pg_catalog\.)?current_setting\(\s*'$r$
                           || regexp_replace(s.setting, '([^A-Za-z0-9_])', '\\\1', 'g')
                           || $r$'(?:::text)?\s*(?:,\s*(?:true|false)\s*)?\)$r$ AS pattern,
                           format('(SELECT rowguard.claim(%L))',
                                  regexp_replace(s.setting, '^[^.]*\.', '')) AS replacement) c
     WHERE rowguard._lint_unknown_name(s.setting)
$$;

-- 14. A unique constraint or unique index on a tenant table that does not include the
--     tenant column: a duplicate key error (23505) tells whether a value exists in another
--     tenant. Primary keys are left out: they are surrogate keys (best unguessable, see
--     docs/policies.md), and foreign keys into them are checked by _lint_foreign_keys.
CREATE FUNCTION rowguard._lint_unique_keys()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'warning',
           format('%s %I on %s', CASE WHEN con.oid IS NULL THEN 'unique index' ELSE 'constraint' END,
                  coalesce(con.conname, ic.relname), r.qname),
           format('unique keys of %s do not include the tenant column %I, so a duplicate key error tells whether a value exists in another tenant',
                  r.qname, t.col),
           CASE WHEN con.oid IS NOT NULL
                THEN format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s;',
                            r.qname, con.conname, con.conname,
                            regexp_replace(pg_get_constraintdef(con.oid), '\(', format('(%I, ', t.col)))
                ELSE format(E'DROP INDEX %I.%I;\n%s;', n.nspname, ic.relname,
                            regexp_replace(pg_get_indexdef(i.indexrelid), ' USING (\w+) \(',
                                           format(' USING \1 (%I, ', t.col)))
           END
      FROM rowguard._lint_relations() r
     CROSS JOIN LATERAL (SELECT rowguard._lint_tenant_column(r.oid, rowguard._lint_tenant_columns()) AS col) t
      JOIN pg_attribute ta ON ta.attrelid = r.oid AND ta.attname = t.col
      JOIN pg_index i ON i.indrelid = r.oid AND i.indisunique AND NOT i.indisprimary
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = ic.relnamespace
      LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('u', 'x')
                                 AND con.conrelid = r.oid
     WHERE r.relkind IN ('r', 'p') AND r.rls AND NOT r.relispartition
       AND NOT (ta.attnum = ANY (i.indkey[0:i.indnkeyatts - 1]))
$$;

-- 15. A materialized view over a protected table that other roles can read: it holds
--     the rows its last refresh saw, and materialized views have no row level security.
CREATE FUNCTION rowguard._lint_matview()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH rels AS (SELECT * FROM rowguard._lint_relations())
    SELECT 'error', 'materialized view ' || mv.qname,
           format('materialized view holds rows of %s, which has row level security, and %s can read them',
                  string_agg(DISTINCT t.qname, ', '), g.grantees),
           format('REVOKE SELECT ON %s FROM %s;  -- serve it through a function or view that filters by the verified claims',
                  mv.qname, g.grantees)
      FROM rels mv
      JOIN pg_rewrite rw ON rw.ev_class = mv.oid
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid >= 0
      JOIN rels t ON t.oid = d.refobjid AND t.relkind IN ('r', 'p') AND t.rls,
           LATERAL (SELECT string_agg(DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                                    ELSE format('%I', x.grantee::regrole::text) END, ', ') AS grantees
                      FROM pg_class c, aclexplode(c.relacl) x
                     WHERE c.oid = mv.oid AND x.grantee <> mv.relowner
                       AND x.privilege_type = 'SELECT') g
     WHERE mv.relkind = 'm' AND g.grantees IS NOT NULL
     GROUP BY mv.qname, g.grantees
$$;

-- 16. A SECURITY DEFINER function owned by a superuser or a BYPASSRLS role that reads a
--     protected table and that other roles may execute: it reads every tenant's rows
--     whatever the caller's token. (A table counts as read when its name occurs in the
--     body; trigger functions are left out, no one calls them directly.)
CREATE FUNCTION rowguard._lint_definer_bypass()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'error', 'function ' || b.fname,
           format('SECURITY DEFINER function owned by %I, which bypasses row level security, reads %s and can be executed by %s',
                  o.rolname, t.tables, g.grantees),
           format('REVOKE EXECUTE ON FUNCTION %s FROM %s;  -- or ALTER FUNCTION %s SECURITY INVOKER, or give it an owner subject to row level security',
                  b.fname, g.grantees, b.fname)
      FROM rowguard._lint_function_bodies() b
      JOIN pg_proc p ON p.oid = b.fn
      JOIN pg_roles o ON o.oid = p.proowner,
           LATERAL (SELECT string_agg(r.qname, ', ' ORDER BY r.qname) AS tables
                      FROM rowguard._lint_relations() r
                     WHERE r.relkind IN ('r', 'p') AND r.rls
                       AND b.def ~* ('\m' || regexp_replace(r.relname, '([^A-Za-z0-9_])', '\\\1', 'g') || '\M')) t,
           LATERAL (SELECT string_agg(DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                                                    ELSE format('%I', x.grantee::regrole::text) END, ', ') AS grantees
                      FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x
                     WHERE x.grantee <> p.proowner AND x.privilege_type = 'EXECUTE') g
     WHERE p.prosecdef AND (o.rolsuper OR o.rolbypassrls)
       AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
       AND t.tables IS NOT NULL AND g.grantees IS NOT NULL
$$;

-- 17. A login role that reads protected rows and can leave session state behind for the
--     next transaction on its connection (docs/security-model.md, pooling): it can create
--     temporary objects, which are searched first, or it can create objects in a schema
--     on its own search_path.
CREATE FUNCTION rowguard._lint_session_state()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH readers AS (
        SELECT a.oid, a.rolname
          FROM pg_roles a
         WHERE a.rolcanlogin AND NOT a.rolsuper AND NOT a.rolbypassrls
           AND EXISTS (SELECT FROM rowguard._lint_relations() t
                        WHERE t.relkind IN ('r', 'p') AND t.rls
                          AND has_table_privilege(a.oid, t.oid, 'SELECT'))
    ),
    paths AS (
        -- The role's search_path: its own default in this database, its own default, the
        -- database's default, else the server's built-in one.
        SELECT r.oid, r.rolname,
               coalesce((SELECT substr(c, 13) FROM pg_db_role_setting s, unnest(s.setconfig) c
                          WHERE s.setrole = r.oid AND s.setdatabase = d.oid AND c LIKE 'search\_path=%'),
                        (SELECT substr(c, 13) FROM pg_db_role_setting s, unnest(s.setconfig) c
                          WHERE s.setrole = r.oid AND s.setdatabase = 0 AND c LIKE 'search\_path=%'),
                        (SELECT substr(c, 13) FROM pg_db_role_setting s, unnest(s.setconfig) c
                          WHERE s.setrole = 0 AND s.setdatabase = d.oid AND c LIKE 'search\_path=%'),
                        (SELECT g.boot_val FROM pg_settings g WHERE g.name = 'search_path')) AS path
          FROM readers r, pg_database d
         WHERE d.datname = current_database()
    )
    SELECT 'warning', format('role %I', r.rolname),
           'role reads protected rows and can create temporary objects, which a later transaction on the same connection finds first',
           format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, %I;', current_database(), r.rolname)
      FROM readers r
     WHERE has_database_privilege(r.oid, current_database(), 'TEMPORARY')
    UNION ALL
    SELECT 'warning', format('role %I', p.rolname),
           format('role reads protected rows and can create objects in schema %I on its own search_path',
                  n.nspname),
           CASE WHEN pg_has_role(p.oid, n.nspowner, 'USAGE')
                THEN concat_ws(E'\n', w.create_sql, format('ALTER SCHEMA %I OWNER TO %I;', n.nspname, w.role_name),
                               format('GRANT USAGE ON SCHEMA %I TO %I;', n.nspname, p.rolname))
                ELSE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, %I;', n.nspname, p.rolname) END
      FROM paths p,
           LATERAL (SELECT DISTINCT CASE WHEN btrim(e) = '"$user"' OR btrim(e) = '$user' THEN p.rolname
                                         ELSE rowguard._lint_ident(btrim(e)) END AS nsp
                      FROM regexp_split_to_table(p.path, ',') e) sp
      JOIN pg_namespace n ON n.nspname = sp.nsp,
           LATERAL rowguard._lint_owner_role_sql(p.rolname) w
     WHERE has_schema_privilege(p.oid, n.oid, 'CREATE')
$$;

-- 18. Verification settings that leave a hole (severity info). Reads rowguard's tables, so
--     only for callers who may read them; others get nothing from this rule.
CREATE FUNCTION rowguard._lint_verification()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (has_table_privilege('rowguard.keys', 'SELECT')
            AND has_table_privilege('rowguard.issuers', 'SELECT')) THEN
        RETURN;
    END IF;
    -- A key bound to no issuer while several issuers are registered: a token of any of
    -- them (or of none) verifies with it. Which issuer owns the key is the administrator's
    -- call; the fix names the candidates.
    RETURN QUERY
    WITH issuers AS (
        SELECT DISTINCT x.iss FROM (SELECT i.iss FROM rowguard.issuers i
                                    UNION ALL
                                    SELECT k.issuer FROM rowguard.keys k WHERE k.issuer IS NOT NULL) x
    )
    SELECT 'info'::text, format('key %s', quote_literal(k.kid)),
           format('key accepts tokens of any issuer while %s issuers are registered',
                  (SELECT count(*) FROM issuers)),
           format(E'-- bind the key to the issuer that signs with it, one of: %s\nUPDATE rowguard.keys SET issuer = %L WHERE kid = %L;',
                  (SELECT string_agg(i.iss, ', ' ORDER BY i.iss) FROM issuers i),
                  (SELECT min(i.iss) FROM issuers i), k.kid)
      FROM rowguard.keys k
     WHERE k.issuer IS NULL AND (SELECT count(*) FROM issuers) > 1;

    -- Audience rules on some issuers (so tokens are expected to carry aud) and no
    -- rowguard.audience: keys outside those issuers accept a token for any audience.
    RETURN QUERY
    SELECT 'info'::text, 'setting rowguard.audience',
           format('rowguard.audience is empty while issuers require an audience, so %s accept tokens for any audience or none',
                  string_agg(format('key %s', quote_literal(k.kid)), ', ' ORDER BY k.kid)),
           format('ALTER DATABASE %I SET rowguard.audience = %L;', current_database(),
                  (SELECT string_agg(DISTINCT a, ',') FROM rowguard.issuers i, unnest(i.audience) a))
      FROM rowguard.keys k
      LEFT JOIN rowguard.issuers i ON i.iss = k.issuer
     WHERE coalesce(current_setting('rowguard.audience', true), '') = ''
       AND EXISTS (SELECT FROM rowguard.issuers i2 WHERE i2.audience IS NOT NULL)
       AND i.audience IS NULL
    HAVING count(*) > 0;
END
$$;

-- The driver: every rule, errors first, then warnings, then info.
CREATE OR REPLACE FUNCTION rowguard.lint()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Load the module, so pg_settings lists rowguard's settings (and only those).
    PERFORM rowguard.is_authenticated();
    RETURN QUERY
    SELECT f.severity, f.object, f.problem, f.fix
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
            UNION ALL SELECT * FROM rowguard._lint_verification()) f
     ORDER BY CASE f.severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,
              f.object, f.problem;
END
$$;

-- The rule functions stay executable by PUBLIC: lint() runs with the caller's rights and
-- calls them, and they read nothing the caller could not read itself.
