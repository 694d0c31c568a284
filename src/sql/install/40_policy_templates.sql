-- Policy templates. Table owners call them (EXECUTE stays granted to PUBLIC); they run
-- as the caller, so they can only change tables the caller owns, and they check that
-- up front so the error names the table rather than a half-applied script.
--
-- The model: every rowguard policy is RESTRICTIVE (ANDed with everything else), and a
-- PERMISSIVE rowguard_base USING (true) is added only to a table that has no permissive
-- policy of its own, so rowguard never widens a policy set and a later permissive policy
-- cannot cross tenants. Row level security is enabled and forced, so the owner is bound too.
-- Partitioned tables: the same policies go on every existing partition, so a query that
-- names a partition directly is filtered the same way.

-- The claim accessor of a column type, with the column on the left of the comparison so
-- the predicate is an index condition: uuid -> claim_uuid, integer types -> claim_bigint
-- (int2/int4 = int8 are cross-type members of the btree integer family), text and varchar
-- -> claim, anything else -> claim(...) cast to the column's (base) type.
CREATE FUNCTION rowguard._claim_expression(column_type regtype, claim text)
    RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    base oid := column_type;
BEGIN
    -- A domain compares with its base type's operators (and index opclasses).
    WHILE (SELECT t.typtype = 'd' FROM pg_type t WHERE t.oid = base) LOOP
        SELECT t.typbasetype INTO base FROM pg_type t WHERE t.oid = base;
    END LOOP;
    -- Wrapped in a scalar subquery: the planner runs it once per query as an InitPlan
    -- (in the leader; workers receive the value), so a filter over many rows compares
    -- with a parameter instead of calling the accessor per row, and an index scan still
    -- takes it as its Index Cond.
    RETURN '(SELECT ' || CASE
        WHEN base = 'uuid'::regtype THEN format('rowguard.claim_uuid(%L)', claim)
        WHEN base IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype)
            THEN format('rowguard.claim_bigint(%L)', claim)
        WHEN base IN ('text'::regtype, 'character varying'::regtype)
            THEN format('rowguard.claim(%L)', claim)
        -- The type's own name, qualified and without a typmod: format_type would write
        -- bpchar as "character", which is character(1), and bit as bit(1).
        ELSE format('rowguard.claim(%L)::%s', claim,
                    (SELECT format('%I.%I', n.nspname, t.typname)
                       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                      WHERE t.oid = base))
    END || ')';
END
$$;

-- The relation and, for a partitioned table, every partition below it (parents first).
-- Only ordinary and partitioned tables carry row level security.
CREATE FUNCTION rowguard._policy_targets(tbl regclass)
    RETURNS TABLE (rel regclass, qualified text, relkind "char", owner oid)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = tbl AND c.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION '"%" is not a table', tbl::text
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Row level security applies to ordinary and partitioned tables only.';
    END IF;
    RETURN QUERY
        SELECT c.oid::regclass, format('%I.%I', n.nspname, c.relname), c.relkind, c.relowner
          FROM (SELECT tbl AS relid, 0 AS level
                UNION ALL
                -- (pg_partition_tree returns nothing for a table outside a partition tree)
                SELECT pt.relid, pt.level FROM pg_partition_tree(tbl) pt WHERE pt.relid <> tbl) t
          JOIN pg_class c ON c.oid = t.relid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p')
         ORDER BY t.level, n.nspname, c.relname;
END
$$;

-- The type of a column, or 42703 naming it.
CREATE FUNCTION rowguard._column_type(tbl regclass, column_name name)
    RETURNS regtype LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t regtype;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF column_name IS NULL THEN
        RAISE EXCEPTION 'column_name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.atttypid INTO t FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', column_name, tbl::text
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN t;
END
$$;

-- The column a rowguard policy compares (its dependency on a column of the table), or NULL.
CREATE FUNCTION rowguard._policy_column(tbl regclass, policy_name name)
    RETURNS name LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT a.attname
      FROM pg_policy p
      JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.refobjid = p.polrelid
                      AND d.refobjsubid > 0
      JOIN pg_attribute a ON a.attrelid = p.polrelid AND a.attnum = d.refobjsubid
     WHERE p.polrelid = tbl AND p.polname = policy_name
     ORDER BY a.attnum
     LIMIT 1
$$;

-- A valid, non-partial index on rel whose leading keys are exactly `columns`, in any order.
CREATE FUNCTION rowguard._has_leading_index(rel regclass, columns name[])
    RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT FROM pg_index i
         WHERE i.indrelid = rel AND i.indisvalid AND i.indpred IS NULL
           AND i.indnkeyatts >= cardinality(columns)
           AND (SELECT array_agg(a.attname::text ORDER BY a.attname)
                  FROM generate_series(0, cardinality(columns) - 1) k
                  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k])
               = (SELECT array_agg(c::text ORDER BY c) FROM unnest(columns) c))
$$;

-- Warn when a table that will be scanned (a leaf of tbl) has no index leading with
-- `columns`; the HINT is the CREATE INDEX statement (on tbl, so it reaches every partition).
CREATE FUNCTION rowguard._index_check(tbl regclass, columns name[])
    RETURNS boolean LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    missing text;
    keys text := (SELECT string_agg(format('%I', c), ', ') FROM unnest(columns) c);
BEGIN
    SELECT string_agg(t.qualified, ', ') INTO missing
      FROM rowguard._policy_targets(tbl) t
     WHERE t.relkind = 'r' AND NOT rowguard._has_leading_index(t.rel, columns);
    IF missing IS NOT NULL THEN
        RAISE WARNING 'no index on % leads with %', missing, keys
            USING DETAIL = 'Without one every protected query reads the whole table.',
                  HINT = format('CREATE INDEX ON %s (%s);',
                                (SELECT t.qualified FROM rowguard._policy_targets(tbl) t LIMIT 1),
                                keys);
        RETURN false;
    END IF;
    RETURN true;
END
$$;

-- Shared by the templates: the script that enables and forces row level security on tbl
-- and its partitions, (re)creates one RESTRICTIVE policy, and adds rowguard_base where a
-- relation has no permissive policy. Runs it unless apply is false; returns it.
CREATE FUNCTION rowguard._install_policy(tbl regclass, policy_name name, command text,
                                         predicate text, apply boolean)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    script text[] := '{}';
    run text[] := '{}';
    stmt text;
    clauses text;
BEGIN
    IF apply IS NULL THEN
        RAISE EXCEPTION 'apply must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    clauses := CASE command
        WHEN 'INSERT' THEN format(E'\n    WITH CHECK (%s)', predicate)
        WHEN 'SELECT' THEN format(E'\n    USING (%s)', predicate)
        WHEN 'DELETE' THEN format(E'\n    USING (%s)', predicate)
        ELSE format(E'\n    USING (%s)\n    WITH CHECK (%s)', predicate, predicate) END;

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

CREATE FUNCTION rowguard._check_command(command text)
    RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF upper(command) IN ('ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE') THEN
        RETURN upper(command);
    END IF;
    RAISE EXCEPTION 'invalid command "%"', command
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'The command is one of ALL, SELECT, INSERT, UPDATE and DELETE.';
END
$$;

CREATE FUNCTION rowguard._check_claim(claim text)
    RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF claim IS NULL OR claim = '' THEN
        RAISE EXCEPTION 'claim must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN claim;
END
$$;

CREATE FUNCTION rowguard.tenant_policy(tbl regclass, column_name name DEFAULT 'tenant_id',
                                       claim text DEFAULT NULL, apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    col_type regtype;
    resolved text;
    predicate text;
    script text;
    owner_col name;
BEGIN
    col_type := rowguard._column_type(tbl, column_name);
    IF claim IS NULL THEN
        -- Load the module, which defines the setting, then read it: the claim is written
        -- into the policy, so changing the setting later does not move existing policies.
        PERFORM rowguard.is_authenticated();
        resolved := current_setting('rowguard.tenant_claim');
    ELSE
        resolved := claim;
    END IF;
    resolved := rowguard._check_claim(resolved);
    predicate := format('%I = %s', column_name, rowguard._claim_expression(col_type, resolved));
    script := rowguard._install_policy(tbl, 'rowguard_tenant', 'ALL', predicate, apply);

    owner_col := rowguard._policy_column(tbl, 'rowguard_owner');
    IF owner_col IS NOT NULL AND owner_col <> column_name THEN
        PERFORM rowguard._index_check(tbl, ARRAY[column_name, owner_col]);
    ELSE
        PERFORM rowguard._index_check(tbl, ARRAY[column_name]);
    END IF;
    RETURN script;
END
$$;
COMMENT ON FUNCTION rowguard.tenant_policy(regclass, name, text, boolean)
    IS 'restrict every command on a table (and its partitions) to the rows of the caller''s tenant';

CREATE FUNCTION rowguard.owner_policy(tbl regclass, column_name name DEFAULT 'owner_id',
                                      claim text DEFAULT 'sub', command text DEFAULT 'ALL',
                                      apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    col_type regtype;
    cmd text := rowguard._check_command(command);
    predicate text;
    script text;
    tenant_col name;
BEGIN
    col_type := rowguard._column_type(tbl, column_name);
    predicate := format('%I = %s', column_name,
                        rowguard._claim_expression(col_type, rowguard._check_claim(claim)));
    script := rowguard._install_policy(tbl, 'rowguard_owner', cmd, predicate, apply);

    tenant_col := rowguard._policy_column(tbl, 'rowguard_tenant');
    IF tenant_col IS NOT NULL AND tenant_col <> column_name THEN
        PERFORM rowguard._index_check(tbl, ARRAY[tenant_col, column_name]);
    ELSE
        PERFORM rowguard._index_check(tbl, ARRAY[column_name]);
    END IF;
    RETURN script;
END
$$;
COMMENT ON FUNCTION rowguard.owner_policy(regclass, name, text, text, boolean)
    IS 'restrict a command on a table (and its partitions) to the rows the caller owns';

CREATE FUNCTION rowguard.scope_policy(tbl regclass, command text, scope text,
                                      apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cmd text := rowguard._check_command(command);
BEGIN
    IF scope IS NULL OR scope = '' OR scope ~ '\s' THEN
        RAISE EXCEPTION 'invalid scope "%"', scope
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A scope is one non-empty token without spaces.';
    END IF;
    RETURN rowguard._install_policy(tbl, ('rowguard_scope_' || lower(cmd))::name, cmd,
                                    format('rowguard.has_scope(%L)', scope), apply);
END
$$;
COMMENT ON FUNCTION rowguard.scope_policy(regclass, text, text, boolean)
    IS 'allow a command on a table (and its partitions) only to tokens that carry a scope';

CREATE FUNCTION rowguard.drop_policies(tbl regclass)
    RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT t.rel, t.qualified, t.owner, p.polname
               FROM rowguard._policy_targets(tbl) WITH ORDINALITY t
               JOIN pg_policy p ON p.polrelid = t.rel
              WHERE p.polname LIKE 'rowguard\_%'
              ORDER BY t.ordinality, p.polname LOOP
        IF NOT pg_has_role(r.owner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of table %', r.qualified
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP POLICY %I ON %s', r.polname, r.qualified);
        n := n + 1;
    END LOOP;
    -- Row level security stays on: with no policy left the table fails closed.
    IF n > 0 AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = tbl)
       AND (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = tbl) THEN
        RAISE NOTICE 'row level security stays enabled on %', tbl::text
            USING DETAIL = 'With no policy left, the table shows no rows to roles subject to row level security.',
                  HINT = format('To turn it off: ALTER TABLE %s DISABLE ROW LEVEL SECURITY;', tbl::text);
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION rowguard.drop_policies(regclass)
    IS 'drop every rowguard_* policy of a table and its partitions; row level security stays enabled';
