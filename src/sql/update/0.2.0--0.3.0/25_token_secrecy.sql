-- Tokens before rowguard is loaded (issue 22, item 8; docs/security-model.md, "Before
-- rowguard is loaded"). Without shared_preload_libraries or session_preload_libraries, a
-- token a statement sets before the module loads stays unmasked in pg_stat_activity,
-- pg_stat_statements and the server log; such an identity is refused when the module
-- loads. lint() reports the configuration, and CREATE EXTENSION warns about it.

-- Is rowguard named in shared_preload_libraries or in this session's
-- session_preload_libraries? (Both are superuser-only settings; this says only that.)
CREATE FUNCTION rowguard._preloaded() RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_preloaded' LANGUAGE C STABLE PARALLEL SAFE;

-- The lint rule, in lint()'s row shape: an error when rowguard is loaded neither by
-- shared_preload_libraries nor by session_preload_libraries for every session of this
-- database; a warning when only some roles preload it.
CREATE FUNCTION rowguard._lint_030_preload()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH settings AS (
        -- session_preload_libraries set with ALTER ROLE / ALTER DATABASE, as a list.
        SELECT s.setrole, s.setdatabase,
               substr(c.item, length('session_preload_libraries=') + 1) AS value
          FROM pg_catalog.pg_db_role_setting s,
               unnest(s.setconfig) AS c(item)
         WHERE lower(c.item) LIKE 'session_preload_libraries=%'
           AND s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database d
                                      WHERE d.datname = pg_catalog.current_database()))),
    naming AS (
        SELECT st.setrole, st.setdatabase, st.value
          FROM settings st
         WHERE EXISTS (SELECT FROM unnest(string_to_array(st.value, ',')) AS e(entry)
                        WHERE regexp_replace(btrim(e.entry, ' "'), '^.*/|\.so$', '', 'g')
                              OPERATOR(pg_catalog.=) 'rowguard')),
    state AS (
        SELECT rowguard._preloaded()
               OR EXISTS (SELECT FROM naming n WHERE n.setrole OPERATOR(pg_catalog.=) 0)
                   AS everywhere,
               (SELECT string_agg(DISTINCT quote_ident(r.rolname), ', ')
                  FROM naming n JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.setrole)
                   AS some_roles,
               (SELECT st.value FROM settings st
                 WHERE st.setrole OPERATOR(pg_catalog.=) 0
                 ORDER BY st.setdatabase DESC LIMIT 1) AS database_value)
    SELECT CASE WHEN s.some_roles IS NULL THEN 'error' ELSE 'warning' END,
           'setting session_preload_libraries',
           CASE WHEN s.some_roles IS NULL
                THEN 'rowguard is not loaded before the first statement of a session: a '
                     'token set by a statement before it loads (SET rowguard.token) stays '
                     'unmasked in pg_stat_activity, pg_stat_statements and the server log, '
                     'readable by every session of the same role, and that identity is refused'
                ELSE format('rowguard is loaded before the first statement only for the roles %s: '
                            'a token set by another role''s statement before rowguard loads '
                            'stays unmasked in pg_stat_activity, pg_stat_statements and the '
                            'server log, and that identity is refused', s.some_roles)
           END,
           format('ALTER DATABASE %I SET session_preload_libraries = %L;  -- or add rowguard '
                  'to shared_preload_libraries and restart',
                  pg_catalog.current_database(),
                  CASE WHEN coalesce(s.database_value, '') OPERATOR(pg_catalog.=) ''
                       THEN 'rowguard' ELSE s.database_value || ',rowguard' END)
      FROM state s
     WHERE NOT s.everywhere
$$;

-- CREATE EXTENSION (and ALTER EXTENSION UPDATE) says so at once.
DO $$
DECLARE
    finding record;
BEGIN
    FOR finding IN SELECT * FROM rowguard._lint_030_preload() LOOP
        RAISE WARNING 'rowguard is not preloaded'
            USING DETAIL = pg_catalog.format('%s.', finding.problem),
                  HINT = pg_catalog.format('Send tokens as bind parameters, and load rowguard '
                                           'before the first statement of every session: %s',
                                           finding.fix);
    END LOOP;
END
$$;
