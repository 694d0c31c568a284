-- Testing row level security (docs/testing-policies.md): test identities made from
-- claims inside one transaction, pgTAP-friendly assertions, and the isolation prover.

-- 1. Test identities. The claims are signed with a key this backend generates for the
--    transaction and keeps in memory only (src/pg/test_identity.cpp); the token then takes
--    the path of any token, in transaction scope. Not PUBLIC: the extension's owner (below)
--    grants EXECUTE to the roles that run tests (never to the application's roles).
CREATE FUNCTION rowguard.test_authenticate(claims jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_test_authenticate' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rowguard.test_authenticate(jsonb)
    IS 'for tests: a verified identity made from claims, for the rest of the transaction only';
CREATE FUNCTION rowguard.test_reset() RETURNS void
    AS 'MODULE_PATHNAME', 'rowguard_test_reset' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rowguard.test_reset()
    IS 'for tests: no identity for the rest of the transaction';
REVOKE ALL ON FUNCTION rowguard.test_authenticate(jsonb), rowguard.test_reset() FROM PUBLIC;
-- The extension's owner administers keys and can already mint any token (rowguard.sign is
-- granted to it, 60_compat.sql of 0.2.0): it may make test identities and hand them on to
-- the roles that run tests, which is what a database owner who installed rowguard as a
-- trusted extension needs to do.
GRANT EXECUTE ON FUNCTION rowguard.test_authenticate(jsonb), rowguard.test_reset()
    TO @extowner@ WITH GRANT OPTION;

-- 2. Assertions for pgTAP's ok() / is(): they run the caller's query as the caller.
--    Whether every row `query` returns has `column_name` equal to the current identity's
--    claim `claim` (compared as text), and at least one row unless allow_empty.
CREATE FUNCTION rowguard.test_rows_match(query text, column_name name, claim text,
                                         allow_empty boolean DEFAULT false)
    RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    total bigint;
    foreign_rows bigint;
BEGIN
    IF query IS NULL OR column_name IS NULL OR claim IS NULL THEN
        RAISE EXCEPTION 'query, column_name and claim must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- No SET search_path on purpose: the query is the caller's, resolved on the caller's
    -- search_path with the caller's rights (SECURITY INVOKER). What this function adds
    -- around it is qualified, so a search_path planted by someone else changes nothing.
    EXECUTE format('SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE (q.%I::pg_catalog.text OPERATOR(pg_catalog.=) rowguard.claim(%L)) IS NOT TRUE) FROM (%s) q',
                   column_name, claim, query)
       INTO total, foreign_rows;
    RETURN foreign_rows = 0 AND (total > 0 OR coalesce(allow_empty, false));
END
$$;
COMMENT ON FUNCTION rowguard.test_rows_match(text, name, text, boolean)
    IS 'for tests: every row of the query has column = the current identity''s claim (and there is one)';

-- The number of rows `query` returns: pgTAP's is(rowguard.test_row_count(...), 0::bigint).
CREATE FUNCTION rowguard.test_row_count(query text)
    RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n bigint;
BEGIN
    -- Unpinned search_path on purpose, as test_rows_match.
    EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM (%s) q', query) INTO n;
    RETURN n;
END
$$;
COMMENT ON FUNCTION rowguard.test_row_count(text) IS 'for tests: how many rows a query returns';

-- Whether every ordinary and partitioned table of `schema_name` has row level security
-- enabled (and forced, unless forced => false): basejump's tests.rls_enabled.
CREATE FUNCTION rowguard.test_rls_enabled(schema_name name, forced boolean DEFAULT true)
    RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(bool_and(c.relrowsecurity AND (c.relforcerowsecurity OR NOT forced)), true)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = schema_name AND c.relkind IN ('r', 'p')
$$;
COMMENT ON FUNCTION rowguard.test_rls_enabled(name, boolean)
    IS 'for tests: every table of the schema has row level security enabled (and forced)';

-- 3. The isolation prover.

-- claims with `value` at `path` (a name, a dotted path or a JSON Pointer, as the
-- accessors read them), creating the objects on the way.
CREATE FUNCTION rowguard._prove_put_claim(claims jsonb, path text, value jsonb)
    RETURNS jsonb LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keys text[];
    k integer;
BEGIN
    IF path LIKE '/%' THEN
        keys := (SELECT array_agg(replace(replace(p, '~1', '/'), '~0', '~') ORDER BY o)
                   FROM unnest(string_to_array(substr(path, 2), '/')) WITH ORDINALITY u(p, o));
    ELSIF EXISTS (SELECT FROM jsonb_each(claims) e WHERE e.key = path) OR path NOT LIKE '%.%' THEN
        keys := ARRAY[path];
    ELSE
        keys := string_to_array(path, '.');
    END IF;
    FOR k IN 1 .. cardinality(keys) - 1 LOOP
        IF jsonb_typeof(claims #> keys[1:k]) IS DISTINCT FROM 'object' THEN
            claims := jsonb_set(claims, keys[1:k], '{}'::jsonb, true);
        END IF;
    END LOOP;
    RETURN jsonb_set(claims, keys, value, true);
END
$$;

-- Where each protected table's boundary is: (table, column, claim) for every comparison
-- `column = <claim accessor>('claim')` in a policy FOR ALL or FOR SELECT (what the
-- templates write, and what hand-written policies over the accessors look like; a
-- policy for one write command only, like owner_policy(..., 'UPDATE'), does not decide
-- who reads a row and is left out), plus the pairs given in
-- `boundaries` ({"schema.table": {"column": "claim", ...}, ...}).
CREATE FUNCTION rowguard._prove_boundaries(schemas name[], boundaries jsonb)
    RETURNS TABLE (rel regclass, column_name name, column_type regtype, claim text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH found AS (
        SELECT p.polrelid AS rel, m[1] AS col, replace(m[2], '''''', '''') AS claim
          FROM pg_policy p
          JOIN pg_class c ON c.oid = p.polrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace,
               LATERAL regexp_matches(
                   coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' ||
                   coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''),
                   '([A-Za-z_][A-Za-z0-9_$]*)\s*=\s*\(*\s*(?:SELECT\s+)?rowguard\.claim(?:_uuid|_bigint)?\(''((?:[^'']|'''')+)''::text\)',
                   'g') m
         WHERE n.nspname = ANY (schemas) AND c.relkind IN ('r', 'p') AND c.relrowsecurity
           AND NOT c.relispartition
           AND p.polcmd IN ('*', 'r')  -- what decides who reads a row (not an UPDATE-only owner rule)
        UNION
        SELECT to_regclass(b.key), e.key, e.value
          FROM jsonb_each(coalesce(boundaries, '{}'::jsonb)) b,
               jsonb_each_text(b.value) e
         WHERE to_regclass(b.key) IS NOT NULL)
    SELECT f.rel::regclass, a.attname, a.atttypid::regtype, f.claim
      FROM found f
      JOIN pg_attribute a ON a.attrelid = f.rel AND a.attname = f.col AND a.attnum > 0
                         AND NOT a.attisdropped
     ORDER BY f.rel::regclass::text, a.attnum
$$;

-- A fingerprint of the rows of every protected table that do not belong to `claims`
-- (a row belongs to it when each boundary column of its table equals the claim),
-- read with row level security off: a write through one identity that changes it
-- changed another identity's rows.
CREATE FUNCTION rowguard._prove_others(b jsonb, claims jsonb)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    result jsonb := '{}';
    fp text;
BEGIN
    FOR t IN SELECT x.rel, string_agg(format('(%I::text = %L) IS TRUE', x.col,
                                             claims #>> string_to_array(x.claim, '.')), ' AND ') AS own
               FROM jsonb_to_recordset(b) x(rel text, col name, claim text)
              GROUP BY x.rel LOOP
        EXECUTE format('SELECT md5(coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''')) FROM %s r WHERE NOT (%s)',
                       t.rel, t.own) INTO fp;
        result := result || jsonb_build_object(t.rel, fp);
    END LOOP;
    RETURN result;
END
$$;

CREATE FUNCTION rowguard.prove_isolation(schemas name[] DEFAULT ARRAY['public']::name[],
                                         app_role regrole DEFAULT NULL,
                                         identities integer DEFAULT 2,
                                         base_claims jsonb DEFAULT '{}'::jsonb,
                                         boundaries jsonb DEFAULT NULL)
    RETURNS TABLE (object text, command text, identity jsonb, detail text, statement text)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    caller name := current_user;
    parallel_setting text := CASE WHEN current_setting('server_version_num')::integer >= 160000
                                  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END;
    bset jsonb;          -- every boundary: [{rel, col, claim}]
    tables jsonb;        -- every protected table and its boundary columns
    ti integer;
    t_rel regclass;
    t_cols name[];
    t_claims text[];
    t_types regtype[];
    reach jsonb;         -- the views and functions over a table
    ri integer;
    ids jsonb[];         -- the identities' claims for t
    rows_own bigint[];   -- how many rows each identity owns in t
    samples jsonb[];     -- one row of each identity, as jsonb
    i integer;
    j integer;
    n bigint;
    foreign_rows bigint;
    own_pred text;
    other_pred text;
    stmt text;
    before_fp jsonb;
    after_fp jsonb;
    role_to_use text;
    mode text;
    v record;
    nobody jsonb;
    prepared text := 'rowguard_prove_' || pg_backend_pid();
    recipe text;
    generic_stmt text;  -- the read of the generic-plan check, with the identity's values as $1
    own_values text[];
    insert_cols text;  -- the columns a copied row is inserted with (no generated ones)
    prelude text;  -- what a reproducing INSERT needs first: the copied row's original out of the way
BEGIN
    IF identities IS NULL OR identities < 2 THEN
        RAISE EXCEPTION 'identities must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'rowguard.prove_isolation must be run by a superuser or a role with BYPASSRLS'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'It reads every row to know which identity owns which.';
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('rel', b.rel::text, 'col', b.column_name,
                                                 'claim', b.claim)), '[]')
      INTO bset FROM rowguard._prove_boundaries(schemas, boundaries) b;

    -- Loops run over arrays, never over open queries: a transaction identity cannot
    -- start while a cursor is open (session_state_guard.cpp).
    SELECT coalesce(jsonb_agg(x ORDER BY x.rel), '[]') INTO tables
      FROM (SELECT b.rel::oid AS relid, b.rel::text AS rel,
                   array_agg(b.column_name ORDER BY b.column_name) AS cols,
                   array_agg(b.claim ORDER BY b.column_name) AS claims,
                   array_agg(b.column_type::oid ORDER BY b.column_name) AS types
              FROM rowguard._prove_boundaries(schemas, boundaries) b
             GROUP BY b.rel) x;
    -- A table under row level security whose policies name no boundary the prover can
    -- read is reported, not skipped: a dropped policy must not make the prover silent.
    RETURN QUERY
        SELECT format('%I.%I', n.nspname, c.relname), 'SETUP', NULL::jsonb,
               'row level security is enabled but no policy FOR ALL or FOR SELECT compares a column with a claim: pass boundaries to test the table',
               NULL::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ANY (schemas) AND c.relkind IN ('r', 'p') AND c.relrowsecurity
           AND NOT c.relispartition
           AND NOT EXISTS (SELECT FROM jsonb_array_elements(tables) x
                            WHERE (x ->> 'relid')::oid = c.oid)
         ORDER BY 1;
    FOR ti IN 0 .. jsonb_array_length(tables) - 1 LOOP
        t_rel := (tables -> ti ->> 'relid')::oid::regclass;
        t_cols := ARRAY(SELECT jsonb_array_elements_text(tables -> ti -> 'cols'))::name[];
        t_claims := ARRAY(SELECT jsonb_array_elements_text(tables -> ti -> 'claims'));
        t_types := ARRAY(SELECT e::oid::regtype FROM jsonb_array_elements_text(tables -> ti -> 'types') e);
        -- The application's role: given, or each role granted SELECT on the table that
        -- is neither its owner nor exempt from row level security.
        role_to_use := coalesce(app_role::text,
            (SELECT format('%I', r.rolname) FROM pg_class c,
                    aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) x
               JOIN pg_roles r ON r.oid = x.grantee
              WHERE c.oid = t_rel AND x.privilege_type = 'SELECT' AND x.grantee <> c.relowner
                AND NOT r.rolsuper AND NOT r.rolbypassrls
              ORDER BY r.rolname LIMIT 1));
        IF role_to_use IS NULL THEN
            object := t_rel::text; command := 'SETUP'; identity := NULL; statement := NULL;
            detail := 'no role subject to row level security can read the table: pass app_role';
            RETURN NEXT;
            CONTINUE;
        END IF;

        insert_cols := (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
                          FROM pg_attribute a
                         WHERE a.attrelid = t_rel AND a.attnum > 0 AND NOT a.attisdropped
                           AND a.attgenerated = '');
        -- Identities from the data: the most common distinct boundary values.
        ids := '{}'; rows_own := '{}'; samples := '{}';
        FOR v IN EXECUTE format(
                'SELECT (array_agg(to_jsonb(r) ORDER BY to_jsonb(r)::text))[1] AS sample, %s AS vals
                   FROM %s r WHERE %s GROUP BY %s ORDER BY count(*) DESC, 2 LIMIT %s',
                (SELECT format('jsonb_build_array(%s)', string_agg(format('to_jsonb(r.%I)', c), ', '))
                   FROM unnest(t_cols) c),
                t_rel,
                (SELECT string_agg(format('r.%I IS NOT NULL', c), ' AND ') FROM unnest(t_cols) c),
                (SELECT string_agg(format('r.%I', c), ', ') FROM unnest(t_cols) c),
                identities) LOOP
            nobody := base_claims;
            FOR i IN 1 .. cardinality(t_cols) LOOP
                nobody := rowguard._prove_put_claim(nobody, t_claims[i], v.vals -> (i - 1));
            END LOOP;
            IF NOT nobody ? 'sub' THEN
                nobody := nobody || jsonb_build_object('sub', 'rowguard-prove-' || (cardinality(ids) + 1));
            END IF;
            ids := ids || nobody;
            samples := samples || v.sample;
        END LOOP;
        -- How many rows each owns (row level security is off for the caller).
        FOR i IN 1 .. cardinality(ids) LOOP
            own_pred := (SELECT string_agg(format('(%I::text = %L) IS TRUE', t_cols[k],
                                                  ids[i] #>> string_to_array(t_claims[k], '.')), ' AND ')
                           FROM generate_subscripts(t_cols, 1) k);
            EXECUTE format('SELECT count(*) FROM %s WHERE %s', t_rel, own_pred) INTO n;
            rows_own := rows_own || n;
        END LOOP;
        IF cardinality(ids) < 2 THEN
            object := t_rel::text; command := 'SETUP'; identity := NULL; statement := NULL;
            detail := format('fewer than 2 distinct values of (%s) in the table: isolation cannot be shown',
                             array_to_string(t_cols, ', '));
            RETURN NEXT;
            CONTINUE;
        END IF;

        IF EXISTS (SELECT FROM pg_prepared_statements p WHERE p.name = prepared) THEN
            EXECUTE format('DEALLOCATE %I', prepared);
        END IF;
        generic_stmt := format('SELECT count(*) FILTER (WHERE NOT (%s)), count(*) FROM %s',
                               (SELECT string_agg(format('(%I::text = $1[%s]) IS TRUE', t_cols[k], k), ' AND ')
                                  FROM generate_subscripts(t_cols, 1) k),
                               t_rel);
        FOR i IN 1 .. cardinality(ids) LOOP
            own_pred := (SELECT string_agg(format('(%I::text = %L) IS TRUE', t_cols[k],
                                                  ids[i] #>> string_to_array(t_claims[k], '.')), ' AND ')
                           FROM generate_subscripts(t_cols, 1) k);
            j := CASE WHEN i = cardinality(ids) THEN 1 ELSE i + 1 END;  -- another identity
            other_pred := (SELECT string_agg(format('%I = %L::%s', t_cols[k],
                                                    ids[j] #>> string_to_array(t_claims[k], '.'), t_types[k]), ' AND ')
                             FROM generate_subscripts(t_cols, 1) k);
            recipe := format('BEGIN; SELECT rowguard.test_authenticate(%L); SET LOCAL ROLE %s; ',
                             ids[i], role_to_use);
            own_values := ARRAY(SELECT ids[i] #>> string_to_array(t_claims[k], '.')
                                  FROM generate_subscripts(t_claims, 1) k ORDER BY k);

            -- Reads: plain, under a forced generic plan, under a parallel plan.
            FOREACH mode IN ARRAY ARRAY['plain', 'generic', 'parallel'] LOOP
                BEGIN
                    PERFORM rowguard.test_authenticate(ids[i]);
                    EXECUTE format('SET LOCAL ROLE %s', role_to_use);
                    stmt := format('SELECT count(*) FILTER (WHERE NOT (%s)), count(*) FROM %s', own_pred, t_rel);
                    IF mode = 'generic' THEN
                        -- One statement per table, prepared under the first identity and
                        -- executed with its generic plan under each: a plan made for one
                        -- identity must not answer for another.
                        SET LOCAL plan_cache_mode = force_generic_plan;
                        IF NOT EXISTS (SELECT FROM pg_prepared_statements p WHERE p.name = prepared) THEN
                            EXECUTE format('PREPARE %I(text[]) AS %s', prepared, generic_stmt);
                        END IF;
                        EXECUTE format('EXECUTE %I(%L)', prepared, own_values) INTO foreign_rows, n;
                    ELSIF mode = 'parallel' THEN
                        PERFORM set_config(parallel_setting, 'on', true);
                        SET LOCAL parallel_setup_cost = 0;
                        SET LOCAL parallel_tuple_cost = 0;
                        SET LOCAL min_parallel_table_scan_size = 0;
                        SET LOCAL max_parallel_workers_per_gather = 2;
                        SET LOCAL parallel_leader_participation = off;
                        -- a Parallel Seq Scan, with workers (an index scan would win on small tables)
                        SET LOCAL enable_indexscan = off;
                        SET LOCAL enable_bitmapscan = off;
                        EXECUTE stmt INTO foreign_rows, n;
                    ELSE
                        EXECUTE stmt INTO foreign_rows, n;
                    END IF;
                    IF foreign_rows > 0 THEN
                        object := t_rel::text; command := 'SELECT'; identity := ids[i];
                        detail := format('reads %s rows of other identities (%s plan)', foreign_rows, mode);
                        statement := recipe || CASE mode WHEN 'generic' THEN format('SET LOCAL plan_cache_mode = force_generic_plan; PREPARE rowguard_prove_q(text[]) AS %s; EXECUTE rowguard_prove_q(%L); DEALLOCATE rowguard_prove_q; ', generic_stmt, own_values)
                                                         WHEN 'parallel' THEN format('SET LOCAL %s = on; SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL parallel_leader_participation = off; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off; ', parallel_setting)
                                                         ELSE '' END
                                     || format('SELECT * FROM %s WHERE NOT (%s); ROLLBACK;', t_rel, own_pred);
                        RETURN NEXT;
                    ELSIF n = 0 AND rows_own[i] > 0 AND mode = 'plain' THEN
                        object := t_rel::text; command := 'SELECT'; identity := ids[i];
                        detail := format('reads none of its %s rows', rows_own[i]);
                        statement := recipe || format('SELECT count(*) FROM %s; ROLLBACK;', t_rel);
                        RETURN NEXT;
                    END IF;
                    RAISE EXCEPTION USING ERRCODE = 'RGP01';
                EXCEPTION
                    WHEN SQLSTATE 'RGP01' THEN NULL;
                    WHEN OTHERS THEN
                        object := t_rel::text; command := 'SELECT'; identity := ids[i];
                        detail := format('the read failed (%s plan): %s: %s', mode, SQLSTATE, SQLERRM);
                        statement := recipe || format('SELECT count(*) FROM %s; ROLLBACK;', t_rel);
                        RETURN NEXT;
                END;
            END LOOP;

            -- Writes across the boundary: each must be refused or touch nothing.
            FOREACH mode IN ARRAY ARRAY['UPDATE', 'DELETE', 'INSERT', 'MOVE'] LOOP
                BEGIN
                    IF mode = 'INSERT' THEN
                        -- a copy of another identity's row, its original out of the way
                        prelude := format('SET LOCAL session_replication_role = replica; DELETE FROM %s r WHERE to_jsonb(r) = %L; SET LOCAL session_replication_role = origin; ',
                                          t_rel, samples[j]);
                        EXECUTE replace(prelude, 'SET LOCAL session_replication_role = origin; ', '');
                        SET LOCAL session_replication_role = origin;
                        stmt := format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM jsonb_populate_record(NULL::%s, %L)',
                                       t_rel, insert_cols, insert_cols, t_rel, samples[j]);
                    ELSIF mode = 'UPDATE' THEN
                        stmt := format('UPDATE %s SET %I = %I WHERE %s', t_rel, t_cols[1], t_cols[1], other_pred);
                    ELSIF mode = 'DELETE' THEN
                        stmt := format('DELETE FROM %s WHERE %s', t_rel, other_pred);
                    ELSE
                        stmt := format('UPDATE %s SET %s WHERE %s', t_rel,
                                       (SELECT string_agg(format('%I = %L::%s', t_cols[k],
                                                                 ids[j] #>> string_to_array(t_claims[k], '.'), t_types[k]), ', ')
                                          FROM generate_subscripts(t_cols, 1) k),
                                       own_pred);
                    END IF;
                    PERFORM rowguard.test_authenticate(ids[i]);
                    EXECUTE format('SET LOCAL ROLE %s', role_to_use);
                    EXECUTE stmt;
                    GET DIAGNOSTICS n = ROW_COUNT;
                    IF n > 0 THEN
                        object := t_rel::text;
                        command := CASE mode WHEN 'MOVE' THEN 'UPDATE' ELSE mode END;
                        identity := ids[i];
                        detail := CASE mode
                            WHEN 'INSERT' THEN 'inserts a row into another identity''s rows'
                            WHEN 'MOVE' THEN format('moves %s of its rows to another identity', n)
                            ELSE format('%s %s rows of another identity', lower(mode) || 's', n) END;
                        statement := CASE WHEN mode = 'INSERT' THEN replace(recipe, 'BEGIN; ', 'BEGIN; ' || prelude) ELSE recipe END
                                     || stmt || '; ROLLBACK;';
                        RETURN NEXT;
                    END IF;
                    RAISE EXCEPTION USING ERRCODE = 'RGP01';
                EXCEPTION
                    WHEN SQLSTATE 'RGP01' THEN NULL;
                    WHEN OTHERS THEN NULL;  -- refused (row level security, or a constraint)
                END;
            END LOOP;

            -- Writes of its own rows must not change another identity's rows (a trigger or
            -- a rule that copies across the boundary, which no policy shows).
            FOREACH mode IN ARRAY ARRAY['INSERT', 'UPDATE', 'DELETE'] LOOP
                BEGIN
                    IF mode = 'INSERT' THEN
                        prelude := format('SET LOCAL session_replication_role = replica; DELETE FROM %s r WHERE to_jsonb(r) = %L; SET LOCAL session_replication_role = origin; ',
                                          t_rel, samples[i]);
                        EXECUTE replace(prelude, 'SET LOCAL session_replication_role = origin; ', '');
                        SET LOCAL session_replication_role = origin;
                        stmt := format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM jsonb_populate_record(NULL::%s, %L)',
                                       t_rel, insert_cols, insert_cols, t_rel, samples[i]);
                    ELSIF mode = 'UPDATE' THEN
                        stmt := format('UPDATE %s SET %I = %I WHERE %s', t_rel, t_cols[1], t_cols[1], own_pred);
                    ELSE
                        stmt := format('DELETE FROM %s WHERE %s', t_rel, own_pred);
                    END IF;
                    before_fp := rowguard._prove_others(bset, ids[i]);
                    PERFORM rowguard.test_authenticate(ids[i]);
                    EXECUTE format('SET LOCAL ROLE %s', role_to_use);
                    EXECUTE stmt;
                    EXECUTE format('SET LOCAL ROLE %I', caller);
                    PERFORM rowguard.test_reset();
                    after_fp := rowguard._prove_others(bset, ids[i]);
                    IF after_fp IS DISTINCT FROM before_fp THEN
                        object := t_rel::text; command := mode; identity := ids[i];
                        detail := format('writing its own rows changed rows of other identities in %s (a trigger or a rule)',
                                         (SELECT string_agg(a.key, ', ' ORDER BY a.key)
                                            FROM jsonb_each_text(after_fp) a
                                           WHERE a.value IS DISTINCT FROM before_fp ->> a.key));
                        statement := CASE WHEN mode = 'INSERT' THEN replace(recipe, 'BEGIN; ', 'BEGIN; ' || prelude) ELSE recipe END
                                     || stmt || '; ROLLBACK;';
                        RETURN NEXT;
                    END IF;
                    RAISE EXCEPTION USING ERRCODE = 'RGP01';
                EXCEPTION
                    WHEN SQLSTATE 'RGP01' THEN NULL;
                    WHEN OTHERS THEN NULL;  -- refused: nothing was written
                END;
            END LOOP;
        END LOOP;

        IF EXISTS (SELECT FROM pg_prepared_statements p WHERE p.name = prepared) THEN
            EXECUTE format('DEALLOCATE %I', prepared);
        END IF;

        -- Views and functions over the table that the role can reach: an identity that
        -- owns no row must get nothing through them.
        nobody := base_claims;
        FOR i IN 1 .. cardinality(t_cols) LOOP
            nobody := rowguard._prove_put_claim(nobody, t_claims[i], CASE
                WHEN t_types[i] = 'uuid'::regtype THEN to_jsonb('00000000-0000-0000-0000-000000000000'::text)
                WHEN t_types[i] IN ('bigint'::regtype, 'integer'::regtype, 'smallint'::regtype)
                    THEN to_jsonb(-987654321)
                ELSE to_jsonb('rowguard-prove-nobody'::text) END);
        END LOOP;
        nobody := nobody || jsonb_build_object('sub', 'rowguard-prove-nobody');
        SELECT coalesce(jsonb_agg(to_jsonb(o)), '[]') INTO reach FROM (
                 SELECT DISTINCT format('%I.%I', vn.nspname, vc.relname) AS name,
                        'view' AS kind
                   FROM pg_rewrite rw
                   JOIN pg_class vc ON vc.oid = rw.ev_class AND vc.relkind = 'v'
                   JOIN pg_namespace vn ON vn.oid = vc.relnamespace
                   JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                                   AND d.refclassid = 'pg_class'::regclass AND d.refobjid = t_rel
                  WHERE vn.nspname = ANY (schemas)
                    AND has_table_privilege(role_to_use, vc.oid, 'SELECT')
                 UNION ALL
                 SELECT p.oid::regprocedure::text, 'function'
                   FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace
                  WHERE pn.nspname = ANY (schemas) AND p.prokind = 'f'
                    AND p.pronargs = p.pronargdefaults
                    AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype, 'void'::regtype)
                    AND has_function_privilege(role_to_use, p.oid, 'EXECUTE')
                    AND p.prosrc ~* ('\m' || regexp_replace((SELECT c.relname FROM pg_class c WHERE c.oid = t_rel),
                                                            '([^A-Za-z0-9_])', '\\\1', 'g') || '\M')) o;
        FOR ri IN 0 .. jsonb_array_length(reach) - 1 LOOP
            SELECT * INTO v FROM jsonb_to_record(reach -> ri) AS x(name text, kind text);
            BEGIN
                PERFORM rowguard.test_authenticate(nobody);
                EXECUTE format('SET LOCAL ROLE %s', role_to_use);
                IF v.kind = 'view' THEN
                    stmt := format('SELECT * FROM %s', v.name);
                ELSE
                    stmt := format('SELECT * FROM %s() f', regexp_replace(v.name, '\(.*$', ''));
                END IF;
                EXECUTE format('SELECT count(*) FROM (%s) q WHERE NOT (to_jsonb(q) <@ ''{"f": null}''::jsonb OR to_jsonb(q) <@ ''{"f": 0}''::jsonb OR to_jsonb(q) <@ ''{"f": false}''::jsonb)', stmt)
                   INTO n;
                IF n > 0 THEN
                    object := v.kind || ' ' || v.name; command := 'SELECT'; identity := nobody;
                    detail := format('an identity that owns no row of %s gets %s rows through it', t_rel, n);
                    statement := format('BEGIN; SELECT rowguard.test_authenticate(%L); SET LOCAL ROLE %s; %s; ROLLBACK;',
                                        nobody, role_to_use, stmt);
                    RETURN NEXT;
                END IF;
                RAISE EXCEPTION USING ERRCODE = 'RGP01';
            EXCEPTION
                WHEN SQLSTATE 'RGP01' THEN NULL;
                WHEN insufficient_privilege THEN NULL;
            END;
        END LOOP;
    END LOOP;
END
$$;
COMMENT ON FUNCTION rowguard.prove_isolation(name[], regrole, integer, jsonb, jsonb)
    IS 'for tests: try every protected table, view and function as several identities and report each leak';
REVOKE ALL ON FUNCTION rowguard.prove_isolation(name[], regrole, integer, jsonb, jsonb),
    rowguard._prove_others(jsonb, jsonb), rowguard._prove_boundaries(name[], jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowguard.prove_isolation(name[], regrole, integer, jsonb, jsonb),
    rowguard._prove_others(jsonb, jsonb), rowguard._prove_boundaries(name[], jsonb)
    TO @extowner@;
