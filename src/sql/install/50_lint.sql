-- rowguard.lint(): row level security hazards in the current database, each with the SQL
-- that fixes it. It reads only the catalogs (anyone may run it) and skips pg_catalog,
-- information_schema, TOAST and temporary schemas, and rowguard's own schema.

-- A policy expression with identity reads from settings rewritten to rowguard accessors:
-- request.jwt.claims (PostgREST) -> rowguard.claims()::text, request.jwt.claim.<name>
-- -> rowguard.claim('<name>'), any other <prefix>.<name> -> rowguard.claim('<name>').
CREATE FUNCTION rowguard._rewrite_setting_reads(expr text)
    RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT regexp_replace(regexp_replace(regexp_replace(expr,
        $r$current_setting\('request\.jwt\.claims'::text(, (true|false))?\)$r$,
        'rowguard.claims()::text', 'g'),
        $r$current_setting\('request\.jwt\.claim\.([^']+)'::text(, (true|false))?\)$r$,
        $s$rowguard.claim('\1')$s$, 'g'),
        $r$current_setting\('(?!rowguard\.)(?:[^']*\.)?([^'.]+)'::text(, (true|false))?\)$r$,
        $s$rowguard.claim('\1')$s$, 'g')
$$;

-- CREATE [UNIQUE] INDEX IF NOT EXISTS with a name made from the table and columns, so a
-- fix that two findings share runs once. (Names over 63 bytes are cut as PostgreSQL cuts them.)
CREATE FUNCTION rowguard._create_index_sql(rel regclass, columns name[], is_unique boolean)
    RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('CREATE %sINDEX IF NOT EXISTS %I ON %I.%I (%s);',
                  CASE WHEN is_unique THEN 'UNIQUE ' ELSE '' END,
                  left(c.relname || '_' || array_to_string(columns, '_')
                       || CASE WHEN is_unique THEN '_key' ELSE '_idx' END, 63),
                  n.nspname, c.relname,
                  (SELECT string_agg(format('%I', x), ', ' ORDER BY o)
                     FROM unnest(columns) WITH ORDINALITY u(x, o)))
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = rel
$$;

CREATE FUNCTION rowguard.lint()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tenant_columns name[] := ARRAY['tenant_id'::name];
BEGIN
    -- Columns that name a tenant: tenant_id, the tenant claim's name, and every column a
    -- rowguard_tenant policy compares.
    tenant_columns := tenant_columns
        || coalesce(current_setting('rowguard.tenant_claim', true), 'tenant_id')::name
        || ARRAY(SELECT DISTINCT rowguard._policy_column(p.polrelid, p.polname)
                   FROM pg_policy p WHERE p.polname = 'rowguard_tenant');

    RETURN QUERY
    WITH rels AS (
        SELECT c.oid, c.relname, c.relkind, c.relrowsecurity AS rls,
               c.relforcerowsecurity AS forced, c.relispartition, c.reloptions, c.relowner,
               format('%I.%I', n.nspname, c.relname) AS qname
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v')
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rowguard')
           AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
    ),
    pols AS (
        SELECT r.qname, r.oid AS relid, p.polname, p.polpermissive,
               CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                             WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
               CASE WHEN p.polroles = '{0}' THEN ARRAY['public']::name[]
                    ELSE ARRAY(SELECT a.rolname FROM pg_roles a
                                WHERE a.oid = ANY (p.polroles) ORDER BY a.rolname) END AS roles,
               pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
          FROM rels r JOIN pg_policy p ON p.polrelid = r.oid
    ),
    findings AS (
        -- 1. Enabled, not forced: the owner (often the application's migration role) reads
        --    and writes every row.
        SELECT 'warning' AS sev, 'table ' || r.qname AS obj,
               'row level security is enabled but not forced, so the table owner bypasses every policy' AS prob,
               format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', r.qname) AS fx
          FROM rels r
         WHERE r.relkind IN ('r', 'p') AND r.rls AND NOT r.forced

        -- 2. A tenant column and no row level security (partitions: rule 8).
        UNION ALL
        SELECT 'error', 'table ' || r.qname,
               format('column %I holds a tenant but row level security is not enabled', a.attname),
               concat_ws(E'\n', format('SELECT rowguard.tenant_policy(%L, %L);', r.qname, a.attname),
                         CASE WHEN NOT rowguard._has_leading_index(r.oid, ARRAY[a.attname])
                              THEN rowguard._create_index_sql(r.oid, ARRAY[a.attname], false) END)
          FROM rels r
          JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE r.relkind IN ('r', 'p') AND NOT r.rls AND NOT r.relispartition
           AND a.attname = ANY (tenant_columns)

        -- 3. Identity read from a setting any session can SET (PostgREST's request.jwt.*,
        --    app.tenant_id, ...): a client that can run SQL chooses its own tenant.
        UNION ALL
        SELECT 'error', format('policy %I on %s', p.polname, p.qname),
               format('policy reads the identity from setting "%s", which any session can set', s.name),
               format('ALTER POLICY %I ON %s%s%s;', p.polname, p.qname,
                      ' USING (' || rowguard._rewrite_setting_reads(p.qual) || ')',
                      ' WITH CHECK (' || rowguard._rewrite_setting_reads(p.with_check) || ')')
          FROM pols p,
               LATERAL (SELECT DISTINCT replace(m[1], '''''', '''') AS name
                          FROM regexp_matches(coalesce(p.qual, '') || ' ' || coalesce(p.with_check, ''),
                                              $r$current_setting\('((?:[^']|'')*)'$r$, 'g') m) s
         WHERE s.name NOT LIKE 'rowguard.%'
           AND NOT EXISTS (SELECT FROM pg_settings g WHERE g.name = s.name AND g.context <> 'user')

        -- 4. Columns policies compare with = and no index leading with them (a tenant and an
        --    owner column together: the composite index serves both).
        UNION ALL
        SELECT 'warning', 'table ' || r.qname,
               format('no index leads with %s, compared by its policies', k.keys),
               rowguard._create_index_sql(r.oid, c.cols, false)
          FROM rels r,
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

        -- 5. Login roles that bypass row level security, directly or by SET ROLE.
        --    Superusers bypass it too; they are not listed (every cluster has one).
        UNION ALL
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

        -- 6. Foreign keys into a protected table: the key check ignores row level security,
        --    so inserting a referencing row tells whether a key exists in any tenant. Safe
        --    only when the key includes the tenant column on both sides and the referencing
        --    table is bound to the caller's tenant too.
        UNION ALL
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
        -- Protected by policies of its own (not rowguard_tenant): a referencing table
        -- without row level security at all lets anyone probe it.
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

        -- 7. Views run with their owner's rights unless security_invoker is set: a view
        --    owned by a superuser, a BYPASSRLS role, or the table's owner without FORCE
        --    shows every tenant's rows.
        UNION ALL
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

        -- 8. Partitions without their parent's protection: a query that names the
        --    partition is checked against the partition's own policies only.
        UNION ALL
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

        -- 9. rowguard_base (USING true) next to a permissive policy of the table's own:
        --    the OR of the two is true, so that policy no longer restricts anything.
        UNION ALL
        SELECT 'warning', format('policy rowguard_base on %s', b.qname),
               format('rowguard_base makes permissive policy %I moot', p.polname),
               format('DROP POLICY rowguard_base ON %s;', b.qname)
          FROM pols b
          JOIN pols p ON p.relid = b.relid AND p.polpermissive AND p.polname <> 'rowguard_base'
         WHERE b.polname = 'rowguard_base'
    )
    SELECT f.sev, f.obj, f.prob, f.fx
      FROM findings f
     ORDER BY CASE f.sev WHEN 'error' THEN 0 ELSE 1 END, f.obj, f.prob;
END
$$;
COMMENT ON FUNCTION rowguard.lint()
    IS 'row level security hazards in this database, each with the SQL that fixes it';
