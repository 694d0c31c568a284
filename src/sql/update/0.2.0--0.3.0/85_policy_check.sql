-- The templates' policy for ALL (and UPDATE) commands is written with USING only
-- (docs/performance.md, "Instructions per new connection"): PostgreSQL checks new rows
-- of such a policy against its USING expression when it has no WITH CHECK, so the
-- second, identical copy changed nothing but doubled the node tree stored in pg_policy
-- (the InitPlan form (SELECT rowguard.claim...(...)) is about 1.5 kB as a node tree),
-- which pushed the row past the size at which PostgreSQL compresses it: every new
-- backend reading a protected table decompressed it and parsed both copies. Policies
-- made by earlier versions keep their WITH CHECK (same meaning); running the template
-- again writes the new form. _install_policy is the 0.2.0 function (80_citus.sql) with
-- this one clause changed.
CREATE OR REPLACE FUNCTION rowguard._install_policy(tbl regclass, policy_name name, command text,
                                         predicate text, apply boolean)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    script text[] := '{}';
    run text[] := '{}';
    stmt text;
    clauses text;
    citus_table boolean := false;
BEGIN
    IF apply IS NULL THEN
        RAISE EXCEPTION 'apply must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- A table in Citus' metadata (distributed, reference or Citus local table).
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
            INTO citus_table USING tbl;
    END IF;
    IF citus_table THEN
        -- (SELECT rowguard.claim...('claim')[::type]) -> rowguard.claim...('claim')[::type]
        predicate := regexp_replace(predicate,
            $re$\(SELECT (rowguard\.claim(_uuid|_bigint)?\('([^']|'')*'\)(::[a-zA-Z0-9_."]+)?)\)$re$,
            '\1', 'g');
    END IF;
    clauses := CASE command
        WHEN 'INSERT' THEN format(E'\n    WITH CHECK (%s)', predicate)
        WHEN 'SELECT' THEN format(E'\n    USING (%s)', predicate)
        WHEN 'DELETE' THEN format(E'\n    USING (%s)', predicate)
        ELSE format(E'\n    USING (%s)', predicate) END;

    FOR r IN SELECT * FROM rowguard._policy_targets(tbl) LOOP
        IF apply AND NOT pg_has_role(r.owner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table %', r.qualified
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Run the template as the owner of the table and of its partitions, or with apply => false for the script only.';
        END IF;

        stmt := format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', r.qualified);
        script := script || stmt;  run := run || stmt;
        stmt := format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', r.qualified);
        script := script || stmt;  run := run || stmt;

        script := script || format('DROP POLICY IF EXISTS %I ON %s;', policy_name, r.qualified);
        IF EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.rel AND p.polname = policy_name) THEN
            run := run || format('DROP POLICY %I ON %s;', policy_name, r.qualified);
        END IF;
        IF citus_table THEN
            IF EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.rel
                          AND p.polname NOT IN (policy_name, 'rowguard_base')) THEN
                RAISE EXCEPTION 'cannot install policy % on Citus table %', policy_name, r.qualified
                    USING ERRCODE = 'feature_not_supported',
                          DETAIL = 'Citus creates the policies of a distributed or reference table on its shards as PERMISSIVE, so they would be combined with OR.',
                          HINT = 'Keep one policy on a Citus table, or write one policy that combines the conditions; see docs/scaling.md.';
            END IF;
            stmt := format('CREATE POLICY %I ON %s AS PERMISSIVE FOR %s%s;',
                           policy_name, r.qualified, command, clauses);
            script := script || stmt;  run := run || stmt;
            script := script || format('DROP POLICY IF EXISTS rowguard_base ON %s;', r.qualified);
            IF EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.rel
                                                 AND p.polname = 'rowguard_base') THEN
                run := run || format('DROP POLICY rowguard_base ON %s;', r.qualified);
            END IF;
            CONTINUE;
        END IF;
        stmt := format('CREATE POLICY %I ON %s AS RESTRICTIVE FOR %s%s;',
                       policy_name, r.qualified, command, clauses);
        script := script || stmt;  run := run || stmt;

        -- rowguard_base only where the relation has no permissive policy of its own:
        -- next to one it would make that policy moot.
        IF NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.rel AND p.polpermissive
                                                 AND p.polname <> 'rowguard_base') THEN
            script := script || format('DROP POLICY IF EXISTS rowguard_base ON %s;', r.qualified);
            IF EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.rel
                                                 AND p.polname = 'rowguard_base') THEN
                run := run || format('DROP POLICY rowguard_base ON %s;', r.qualified);
            END IF;
            stmt := format(E'CREATE POLICY rowguard_base ON %s AS PERMISSIVE FOR ALL\n'
                           '    USING (true)\n    WITH CHECK (true);', r.qualified);
            script := script || stmt;  run := run || stmt;
        END IF;
    END LOOP;

    IF apply THEN
        FOREACH stmt IN ARRAY run LOOP
            EXECUTE stmt;
        END LOOP;
    END IF;
    RETURN array_to_string(script, E'\n');
END
$$;
