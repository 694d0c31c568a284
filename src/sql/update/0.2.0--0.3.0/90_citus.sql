-- Citus, second step (docs/scaling.md):
-- 1. The configuration follows the coordinator: every row written to rowguard's
--    configuration tables on a Citus coordinator (by add_key, remove_key, set_issuer,
--    revoke_token, allow_role, set_jwks_uri, ... or by hand) is written on every other
--    active primary node in the same distributed transaction (Citus' two-phase commit),
--    and citus_sync_nodes() copies the whole configuration to the nodes (a node added
--    later). Without Citus, and on the workers, the triggers return at once.
-- 2. combined_policy: tenant, owner and scope as one policy, the form a Citus table can
--    carry (Citus makes every policy PERMISSIVE on the shards).
-- The router planner hook (queries routed to the tenant's shard) is C only:
-- src/pg/citus_router.cpp.

-- True in a client backend of a database where Citus is installed, on its coordinator
-- (citus_is_coordinator()); false elsewhere, at no cost without Citus.
CREATE FUNCTION rowguard._citus_coordinator()
    RETURNS boolean AS 'MODULE_PATHNAME', 'rowguard_citus_coordinator' LANGUAGE C VOLATILE;
-- Runs a command on every other active primary node, as the current (super)user, in
-- Citus' coordinated transaction: it commits (two-phase) with the local transaction, and a
-- node that cannot take it aborts the local transaction.
CREATE FUNCTION rowguard._citus_send(command text)
    RETURNS void AS 'MODULE_PATHNAME', 'rowguard_citus_send' LANGUAGE C STRICT VOLATILE;
-- _citus_coordinator() stays executable by PUBLIC: the row trigger below calls it as the
-- role that writes a configuration table (a non-superuser database owner restoring its
-- dump, test/integration/trusted.sh), and what it tells is what Citus'
-- citus_is_coordinator() tells anyone.
REVOKE ALL ON FUNCTION rowguard._citus_send(text) FROM PUBLIC;

-- The row as the other nodes store it: a key loses its private members (the workers only
-- verify; a symmetric secret, which verification needs, is kept).
CREATE FUNCTION rowguard._citus_row(tbl text, r jsonb)
    RETURNS jsonb LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN tbl OPERATOR(pg_catalog.=) 'keys'
                 AND (r OPERATOR(pg_catalog.->) 'jwk' OPERATOR(pg_catalog.->>) 'kty')
                     IS DISTINCT FROM 'oct'
           THEN pg_catalog.jsonb_set(r, '{jwk}', (r OPERATOR(pg_catalog.->) 'jwk')
                    OPERATOR(pg_catalog.-) ARRAY['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'])
           ELSE r END
$$;

-- The tables that follow the coordinator, in the order a full copy writes them.
CREATE FUNCTION rowguard._citus_config_tables()
    RETURNS text[] LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ARRAY['issuers', 'keys', 'jwks_sources', 'role_bindings',
                 'privileged_role_bindings', 'revocations']
$$;

-- On the other nodes: applies one row change made on the coordinator. An old row is
-- removed (for keyed tables by its key, for revocations the identical row); a new row
-- replaces any row with its key, so applying a change twice is harmless. The node's own
-- triggers (key store invalidation, _forget_privileged_binding) fire as for a local
-- change.
CREATE FUNCTION rowguard._citus_apply(tbl text, op text, old_row jsonb, new_row jsonb)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel text;
    same text;
BEGIN
    IF tbl IS NULL OR NOT (tbl OPERATOR(pg_catalog.=) ANY (rowguard._citus_config_tables())) THEN
        RAISE EXCEPTION 'unknown rowguard configuration table "%"', tbl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    rel := format('rowguard.%I', tbl);
    IF op OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        EXECUTE format('DELETE FROM %s', rel);
        RETURN;
    END IF;
    same := CASE tbl
        WHEN 'keys' THEN 't.kid OPERATOR(pg_catalog.=) r.kid'
        WHEN 'issuers' THEN 't.iss OPERATOR(pg_catalog.=) r.iss'
        WHEN 'jwks_sources' THEN 't.iss OPERATOR(pg_catalog.=) r.iss'
        WHEN 'revocations' THEN 't OPERATOR(pg_catalog.=) r'
        ELSE 't.role OPERATOR(pg_catalog.=) r.role AND t.issuer IS NOT DISTINCT FROM r.issuer' END;
    IF old_row IS NOT NULL THEN
        EXECUTE format('DELETE FROM %s t USING pg_catalog.jsonb_populate_record(NULL::%s, $1) r WHERE %s',
                       rel, rel, same) USING old_row;
    END IF;
    IF new_row IS NOT NULL THEN
        EXECUTE format('DELETE FROM %s t USING pg_catalog.jsonb_populate_record(NULL::%s, $1) r WHERE %s',
                       rel, rel, same) USING new_row;
        EXECUTE format('INSERT INTO %s SELECT * FROM pg_catalog.jsonb_populate_record(NULL::%s, $1)',
                       rel, rel) USING new_row;
    END IF;
END
$$;

-- On the other nodes: replaces a table's rows with the coordinator's (citus_sync_nodes).
CREATE FUNCTION rowguard._citus_replace(tbl text, rows_ jsonb)
    RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    rel text;
BEGIN
    IF tbl IS NULL OR NOT (tbl OPERATOR(pg_catalog.=) ANY (rowguard._citus_config_tables())) THEN
        RAISE EXCEPTION 'unknown rowguard configuration table "%"', tbl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    rel := format('rowguard.%I', tbl);
    EXECUTE format('DELETE FROM %s', rel);
    EXECUTE format('INSERT INTO %s SELECT * FROM pg_catalog.jsonb_populate_recordset(NULL::%s, $1)',
                   rel, rel) USING rows_;
END
$$;
REVOKE ALL ON FUNCTION rowguard._citus_row(text, jsonb), rowguard._citus_config_tables(),
    rowguard._citus_apply(text, text, jsonb, jsonb), rowguard._citus_replace(text, jsonb)
    FROM PUBLIC;

-- The trigger on every configuration table: on a Citus coordinator, the change goes to
-- the other nodes in this transaction. The row trigger's WHEN asks the same question
-- first, so without Citus (and on the workers) a row change queues no trigger event and
-- runs no PL/pgSQL (a bulk load of revocations pays nothing for this).
CREATE FUNCTION rowguard._citus_propagate()
    RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF NOT rowguard._citus_coordinator() THEN
        RETURN NULL;
    END IF;
    IF TG_OP OPERATOR(pg_catalog.<>) 'TRUNCATE' THEN
        IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN
            old_row := rowguard._citus_row(TG_TABLE_NAME, pg_catalog.to_jsonb(OLD));
        END IF;
        IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN
            new_row := rowguard._citus_row(TG_TABLE_NAME, pg_catalog.to_jsonb(NEW));
        END IF;
    END IF;
    PERFORM rowguard._citus_send(format('SELECT rowguard._citus_apply(%L, %L, %L::jsonb, %L::jsonb)',
                                        TG_TABLE_NAME, TG_OP, old_row, new_row));
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION rowguard._citus_propagate() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY rowguard._citus_config_tables() LOOP
        EXECUTE format('CREATE TRIGGER rowguard_citus_propagate AFTER INSERT OR UPDATE OR DELETE'
                       ' ON rowguard.%I FOR EACH ROW WHEN (rowguard._citus_coordinator())'
                       ' EXECUTE FUNCTION rowguard._citus_propagate()', t);
        EXECUTE format('CREATE TRIGGER rowguard_citus_propagate_truncate AFTER TRUNCATE'
                       ' ON rowguard.%I FOR EACH STATEMENT EXECUTE FUNCTION rowguard._citus_propagate()', t);
    END LOOP;
END
$$;

-- Copies the whole configuration of the coordinator to every other active primary node,
-- replacing theirs (keys without their private members), in this transaction. For a
-- node added (citus_add_node) or activated again (citus_activate_node) after the
-- configuration was made. Returns the number of rows copied per node.
CREATE FUNCTION rowguard.citus_sync_nodes()
    RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
    rows_ jsonb;
    total bigint := 0;
BEGIN
    IF NOT rowguard._citus_coordinator() THEN
        RAISE EXCEPTION 'not a Citus coordinator'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'citus_sync_nodes copies the configuration of a Citus coordinator to its nodes.';
    END IF;
    FOREACH t IN ARRAY rowguard._citus_config_tables() LOOP
        EXECUTE format('SELECT pg_catalog.jsonb_agg(rowguard._citus_row(%L, pg_catalog.to_jsonb(x)))'
                       ' FROM rowguard.%I x', t, t) INTO rows_;
        rows_ := COALESCE(rows_, '[]');
        PERFORM rowguard._citus_send(format('SELECT rowguard._citus_replace(%L, %L::jsonb)', t, rows_));
        total := total OPERATOR(pg_catalog.+) pg_catalog.jsonb_array_length(rows_);
    END LOOP;
    RETURN total;
END
$$;
REVOKE ALL ON FUNCTION rowguard.citus_sync_nodes() FROM PUBLIC;
COMMENT ON FUNCTION rowguard.citus_sync_nodes()
    IS 'copy the configuration of a Citus coordinator to every other node (a node added later)';

-- Tenant, owner and scope as one policy named rowguard_tenant: on a Citus table the only
-- way to combine them (every policy is PERMISSIVE on the shards, so separate policies
-- would be OR-ed); elsewhere the same RESTRICTIVE policy as tenant_policy writes. The
-- tenant condition comes first, so the router planner hook (citus_router.cpp) still
-- routes by it.
CREATE FUNCTION rowguard.combined_policy(tbl regclass, tenant_column name DEFAULT 'tenant_id',
                                         owner_column name DEFAULT NULL, scope text DEFAULT NULL,
                                         tenant_claim text DEFAULT NULL,
                                         owner_claim text DEFAULT 'sub',
                                         apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    resolved text;
    predicate text;
    script text;
BEGIN
    IF tenant_column IS NULL THEN
        RAISE EXCEPTION 'tenant_column must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF tenant_claim IS NULL THEN
        PERFORM rowguard.is_authenticated();  -- loads the module, which defines the setting
        resolved := current_setting('rowguard.tenant_claim');
    ELSE
        resolved := tenant_claim;
    END IF;
    predicate := format('%I = %s', tenant_column,
                        rowguard._claim_expression(rowguard._column_type(tbl, tenant_column),
                                                   rowguard._check_claim(resolved)));
    IF owner_column IS NOT NULL THEN
        predicate := predicate || format(' AND %I = %s', owner_column,
                        rowguard._claim_expression(rowguard._column_type(tbl, owner_column),
                                                   rowguard._check_claim(owner_claim)));
    END IF;
    IF scope IS NOT NULL THEN
        IF scope = '' OR scope ~ '\s' THEN
            RAISE EXCEPTION 'invalid scope "%"', scope
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A scope is one non-empty token without spaces.';
        END IF;
        predicate := predicate || format(' AND rowguard.has_scope(%L)', scope);
    END IF;
    script := rowguard._install_policy(tbl, 'rowguard_tenant', 'ALL', predicate, apply);
    IF owner_column IS NOT NULL AND owner_column <> tenant_column THEN
        PERFORM rowguard._index_check(tbl, ARRAY[tenant_column, owner_column]);
    ELSE
        PERFORM rowguard._index_check(tbl, ARRAY[tenant_column]);
    END IF;
    RETURN script;
END
$$;
COMMENT ON FUNCTION rowguard.combined_policy(regclass, name, name, text, text, text, boolean)
    IS 'restrict every command on a table to the caller''s tenant, and to its own rows and a scope, as one policy';
