-- rowguard install script, assembled from src/sql/install/*.sql by Makefile.pgxs.
-- Every name is schema-qualified; functions that run DDL or touch the key tables pin
-- search_path, so nothing depends on the caller's search_path.

\echo Use "CREATE EXTENSION rowguard" to load this file. \quit

-- Applications call the claim functions; only administrators touch keys (below).
GRANT USAGE ON SCHEMA rowguard TO PUBLIC;
-- Keys and issuer rules. PUBLIC can neither read nor write them; the extension reads
-- them with a catalog-snapshot scan that checks no privileges, so verification works
-- for every role without exposing key material to any.

CREATE TABLE rowguard.keys (
    kid      text PRIMARY KEY,
    alg      text NOT NULL,
    issuer   text CHECK (issuer <> ''),
    jwk      jsonb NOT NULL,
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE rowguard.keys IS 'JWKs rowguard verifies with; one algorithm per key';

CREATE TABLE rowguard.issuers (
    iss          text PRIMARY KEY,
    audience     text[],
    leeway       interval CHECK (leeway >= '0'::interval),
    max_lifetime interval CHECK (max_lifetime > '0'::interval)
);
COMMENT ON TABLE rowguard.issuers IS 'per-issuer audience, leeway and maximum lifetime';

REVOKE ALL ON rowguard.keys, rowguard.issuers FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('rowguard.keys', '');
SELECT pg_catalog.pg_extension_config_dump('rowguard.issuers', '');

-- Every change reaches every backend before its next statement.
CREATE FUNCTION rowguard._keys_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'rowguard_invalidate_keys' LANGUAGE C;
CREATE TRIGGER rowguard_keys_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rowguard.keys
    FOR EACH STATEMENT EXECUTE FUNCTION rowguard._keys_changed();
CREATE TRIGGER rowguard_issuers_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rowguard.issuers
    FOR EACH STATEMENT EXECUTE FUNCTION rowguard._keys_changed();

-- The C side parses a JWK exactly as verification will; what it refuses is never stored.
CREATE FUNCTION rowguard._describe_jwk(jwk jsonb, alg text,
    OUT ordinal integer, OUT kid text, OUT key_alg text, OUT private boolean)
    RETURNS record
    AS 'MODULE_PATHNAME', 'rowguard_describe_jwk' LANGUAGE C STABLE;
CREATE FUNCTION rowguard._describe_jwks(jwks jsonb,
    OUT ordinal integer, OUT kid text, OUT key_alg text, OUT private boolean)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rowguard_describe_jwks' LANGUAGE C STABLE STRICT;

CREATE FUNCTION rowguard._store_key(p_kid text, p_alg text, p_issuer text, p_jwk jsonb)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL to accept the key for tokens of any issuer.';
    END IF;
    INSERT INTO rowguard.keys (kid, alg, issuer, jwk)
        VALUES (p_kid, p_alg, p_issuer, p_jwk)
        ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'key "%" already exists', p_kid
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Remove it with rowguard.remove_key first to replace it.';
    END IF;
END
$$;

CREATE FUNCTION rowguard.add_key(jwk jsonb, issuer text DEFAULT NULL, alg text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
BEGIN
    IF add_key.jwk IS NULL THEN
        RAISE EXCEPTION 'jwk must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    d := rowguard._describe_jwk(add_key.jwk, add_key.alg);
    PERFORM rowguard._store_key(d.kid, d.key_alg, add_key.issuer, add_key.jwk);
    RETURN d.kid;
END
$$;
COMMENT ON FUNCTION rowguard.add_key(jsonb, text, text) IS 'store one JWK; returns its kid';

CREATE FUNCTION rowguard.add_jwks(jwks jsonb, issuer text DEFAULT NULL)
    RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d record;
    n integer := 0;
BEGIN
    IF add_jwks.jwks IS NULL THEN
        RAISE EXCEPTION 'jwks must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- All keys are parsed before any is stored, and one failure undoes the call.
    FOR d IN SELECT * FROM rowguard._describe_jwks(add_jwks.jwks) ORDER BY ordinal LOOP
        PERFORM rowguard._store_key(d.kid, d.key_alg, add_jwks.issuer,
                                    add_jwks.jwks -> 'keys' -> d.ordinal);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION rowguard.add_jwks(jsonb, text) IS 'store every key of a JWK Set';

CREATE FUNCTION rowguard.remove_key(kid text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rowguard.keys k WHERE k.kid = remove_key.kid;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION rowguard.remove_key(text) IS 'delete a key; every backend stops accepting it';

CREATE FUNCTION rowguard.set_issuer(iss text, audience text[] DEFAULT NULL,
                                    leeway interval DEFAULT NULL,
                                    max_lifetime interval DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF set_issuer.iss IS NULL OR set_issuer.iss = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_issuer.audience IS NOT NULL AND (cardinality(set_issuer.audience) = 0
            OR array_position(set_issuer.audience, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'audience list must hold at least one audience and no NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL for no audience rule.';
    END IF;
    IF set_issuer.leeway < '0'::interval THEN
        RAISE EXCEPTION 'leeway must not be negative' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_issuer.max_lifetime <= '0'::interval THEN
        RAISE EXCEPTION 'max_lifetime must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO rowguard.issuers AS i (iss, audience, leeway, max_lifetime)
        VALUES (set_issuer.iss, set_issuer.audience, set_issuer.leeway, set_issuer.max_lifetime)
        ON CONFLICT ON CONSTRAINT issuers_pkey DO UPDATE
        SET audience = EXCLUDED.audience, leeway = EXCLUDED.leeway,
            max_lifetime = EXCLUDED.max_lifetime;
END
$$;
COMMENT ON FUNCTION rowguard.set_issuer(text, text[], interval, interval)
    IS 'per-issuer audiences, clock leeway and longest allowed exp - iat';

CREATE FUNCTION rowguard.remove_issuer(iss text)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rowguard.issuers i WHERE i.iss = remove_issuer.iss;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION rowguard.remove_issuer(text) IS 'drop the rules of an issuer';

CREATE FUNCTION rowguard.sign(claims jsonb, kid text) RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_sign_claims' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION rowguard.sign(jsonb, text) IS 'mint a compact JWS with a stored key';

REVOKE ALL ON FUNCTION
    rowguard._keys_changed(),
    rowguard._describe_jwk(jsonb, text),
    rowguard._describe_jwks(jsonb),
    rowguard._store_key(text, text, text, jsonb),
    rowguard.add_key(jsonb, text, text),
    rowguard.add_jwks(jsonb, text),
    rowguard.remove_key(text),
    rowguard.set_issuer(text, text[], interval, interval),
    rowguard.remove_issuer(text),
    rowguard.sign(jsonb, text)
    FROM PUBLIC;
-- Presenting a token. authenticate() is set_config on rowguard.token, whose check
-- hook verifies; verify() verifies without changing anything.

CREATE FUNCTION rowguard.verify(token text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_verify_token'
    LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION rowguard.verify(text) IS 'verify a token and return its claims';

CREATE FUNCTION rowguard.authenticate(token text, is_local boolean DEFAULT true) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_authenticate_token'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION rowguard.authenticate(text, boolean)
    IS 'verify a token and make it the identity of this transaction (or session)';
-- Claim accessors. STABLE (never IMMUTABLE: a plan must not fold an identity into a
-- constant), PARALLEL SAFE (workers receive the identity), COST 1.

CREATE FUNCTION rowguard.claims() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'rowguard_get_claims' LANGUAGE C STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim(path text) RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_get_claim' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_uuid(path text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_uuid' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_bigint(path text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_bigint' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_bool(path text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_bool' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.claim_array(path text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'rowguard_get_claim_array' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.sub() RETURNS text
    AS 'MODULE_PATHNAME', 'rowguard_get_sub' LANGUAGE C STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.has_role(role text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_has_role' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.has_scope(scope text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_has_scope' LANGUAGE C STRICT STABLE PARALLEL SAFE COST 1;
CREATE FUNCTION rowguard.is_authenticated() RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_is_authenticated' LANGUAGE C STABLE PARALLEL SAFE COST 1;

COMMENT ON FUNCTION rowguard.claims() IS 'the verified claims; NULL when unauthenticated';
COMMENT ON FUNCTION rowguard.claim(text) IS 'a claim by name, dotted path or JSON Pointer, as text';
COMMENT ON FUNCTION rowguard.claim_uuid(text) IS 'a claim as uuid';
COMMENT ON FUNCTION rowguard.claim_bigint(text) IS 'a claim as bigint';
COMMENT ON FUNCTION rowguard.claim_bool(text) IS 'a claim as boolean';
COMMENT ON FUNCTION rowguard.claim_array(text) IS 'a JSON array of scalars as text[]';
COMMENT ON FUNCTION rowguard.sub() IS 'the sub claim';
COMMENT ON FUNCTION rowguard.has_role(text) IS 'the roles claim (rowguard.roles_claim) contains role';
COMMENT ON FUNCTION rowguard.has_scope(text) IS 'scope (space-delimited) or scp contains scope';
COMMENT ON FUNCTION rowguard.is_authenticated() IS 'a verified identity is in force';
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
