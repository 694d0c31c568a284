-- Coming from Supabase, PostgREST or pg_session_jwt: the functions their policies call,
-- answered from the verified identity instead of a setting any session can write.
-- docs/migrating.md walks through each migration; docs/functions.md documents the functions.

-- PostgREST's db-pre-request: PostgREST runs it at the start of every request's
-- transaction, after its own SET LOCAL role and request.* settings. It authenticates the
-- Authorization header again inside the database, for this transaction only: no header,
-- no identity (even if the connection carried one); a bad token fails the request with
-- 28000. It does not write request.jwt.claims: any later statement of the transaction
-- could overwrite that setting again, so readers of it stay forgeable and are replaced
-- instead (lint() reports them, install_compat('supabase') covers auth.*).
CREATE FUNCTION rowguard.postgrest_pre_request()
    RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    headers text := nullif(current_setting('request.headers', true), '');
    header text;
BEGIN
    IF headers IS NOT NULL THEN
        header := headers::json ->> 'authorization';
    END IF;
    IF header IS NULL OR btrim(header) = '' THEN
        PERFORM set_config('rowguard.token', '', true);
        RETURN;
    END IF;
    -- PostgREST accepts the scheme in any case; rowguard.authenticate takes "Bearer ".
    PERFORM rowguard.authenticate(regexp_replace(header, '^\s*bearer\s+', '', 'i'), true);
END
$$;
COMMENT ON FUNCTION rowguard.postgrest_pre_request()
    IS 'PostgREST db-pre-request: authenticate the Authorization header of request.headers for this transaction';

-- The functions each flavour replaces: schema auth, name, result type, body, comment.
-- Bodies are single SELECTs of rowguard's accessors with every name qualified, so the
-- planner inlines them (no SET clause, not SECURITY DEFINER): (SELECT auth.uid()) is an
-- InitPlan and user_id = auth.uid() an index condition, as with the accessors themselves.
CREATE FUNCTION rowguard._compat_functions(flavor text)
    RETURNS TABLE (fname name, result regtype, body text, note text)
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT v.fname, v.result, v.body, v.note FROM (VALUES
        ('supabase', 'uid'::name, 'uuid'::regtype, 'SELECT rowguard.claim_uuid(''sub'')',
         'rowguard: the sub claim of the verified token, as uuid'),
        ('supabase', 'jwt', 'jsonb', 'SELECT rowguard.claims()',
         'rowguard: the claims of the verified token'),
        ('supabase', 'role', 'text', 'SELECT rowguard.claim(''role'')',
         'rowguard: the role claim of the verified token'),
        ('supabase', 'email', 'text', 'SELECT rowguard.claim(''email'')',
         'rowguard: the email claim of the verified token'),
        ('neon', 'user_id', 'text', 'SELECT rowguard.sub()',
         'rowguard: the sub claim of the verified token'),
        ('neon', 'session', 'jsonb', 'SELECT rowguard.claims()',
         'rowguard: the claims of the verified token')
    ) v (flavor, fname, result, body, note)
    WHERE v.flavor = _compat_functions.flavor
$$;

CREATE FUNCTION rowguard.install_compat(flavor text, apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := lower(flavor);
    script text[] := '{}';
    f record;
    ext name;
    stmt text;
BEGIN
    IF flavor IS NULL THEN
        RAISE EXCEPTION 'flavor must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF apply IS NULL THEN
        RAISE EXCEPTION 'apply must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF kind NOT IN ('supabase', 'neon', 'postgrest') THEN
        RAISE EXCEPTION 'unknown compatibility flavor "%"', flavor
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The flavor is one of supabase, postgrest and neon.';
    END IF;

    IF kind = 'postgrest' THEN
        -- The pre-request function ships with the extension; PostgREST is pointed at it
        -- in its own configuration, which is not in the database: nothing to run.
        script := ARRAY[
            '-- rowguard.postgrest_pre_request() ships with rowguard. Point PostgREST at it:',
            '--   db-pre-request = "rowguard.postgrest_pre_request"   (PostgREST configuration file)',
            '-- or, with in-database configuration, as a superuser:',
            '--   ALTER ROLE <the role PostgREST connects as> SET pgrst.db_pre_request = ''rowguard.postgrest_pre_request'';',
            '--   NOTIFY pgrst, ''reload config'';',
            '-- Policies that read current_setting(''request.jwt.claims'') stay forgeable: SELECT * FROM rowguard.lint() lists them with their fix.'];
    ELSE
        script := script || 'CREATE SCHEMA IF NOT EXISTS auth;'::text;
        FOR f IN SELECT * FROM rowguard._compat_functions(kind) LOOP
            -- A function another extension installed (pg_session_jwt's auth.user_id()):
            -- released from that extension first, so dropping it later keeps ours.
            SELECT e.extname INTO ext
              FROM pg_proc p
              JOIN pg_namespace n ON n.oid = p.pronamespace
              JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                              AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
              JOIN pg_extension e ON e.oid = d.refobjid
             WHERE n.nspname = 'auth' AND p.proname = f.fname AND p.pronargs = 0;
            IF ext IS NOT NULL THEN
                script := script || format('ALTER EXTENSION %I DROP FUNCTION auth.%I();', ext, f.fname);
            END IF;
            -- CREATE OR REPLACE keeps the function's oid, owner and grants, so every
            -- policy that calls it keeps its text and now reads the verified identity.
            script := script || format(E'CREATE OR REPLACE FUNCTION auth.%I() RETURNS %s\n'
                                        '    LANGUAGE sql STABLE PARALLEL SAFE COST 1\n'
                                        '    AS $rowguard$%s$rowguard$;',
                                        f.fname, f.result::text, f.body);
            script := script || format('COMMENT ON FUNCTION auth.%I() IS %L;', f.fname, f.note);
        END LOOP;
    END IF;

    IF apply THEN
        FOREACH stmt IN ARRAY script LOOP
            -- (IF NOT EXISTS would say so in a NOTICE on every run after the first)
            IF stmt NOT LIKE '--%' AND NOT (stmt LIKE 'CREATE SCHEMA IF NOT EXISTS auth;'
                                            AND to_regnamespace('auth') IS NOT NULL) THEN
                EXECUTE stmt;
            END IF;
        END LOOP;
    END IF;
    RETURN array_to_string(script, E'\n');
END
$$;
COMMENT ON FUNCTION rowguard.install_compat(text, boolean)
    IS 'answer Supabase''s auth.uid()/jwt()/role()/email() or pg_session_jwt''s auth.user_id()/session() from the verified identity; postgrest: how to use rowguard.postgrest_pre_request()';

-- Installable by a database owner (trusted = true in rowguard.control; the reasoning is in
-- docs/security-model.md, "Installing as a database owner"). The script runs as the
-- bootstrap superuser; @extowner@ is the role that ran CREATE EXTENSION.
--
-- 1. Schema rowguard holds only rowguard's objects. A schema that existed before (made by
--    whoever could create schemas in this database) could hold an overload that a
--    qualified rowguard.* call with an untyped argument resolves to, run later by a
--    superuser or by a SECURITY DEFINER function: refuse to install into it.
DO $$
DECLARE
    foreign_objects text;
BEGIN
    SELECT string_agg(o.what, ', ' ORDER BY o.what) INTO foreign_objects
      FROM (SELECT format('relation %s', c.oid::regclass) AS what, 'pg_class'::regclass AS cat, c.oid
              FROM pg_class c
             WHERE c.relnamespace = 'rowguard'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c', 'S')
            UNION ALL
            SELECT format('function %s', p.oid::regprocedure), 'pg_proc'::regclass, p.oid
              FROM pg_proc p WHERE p.pronamespace = 'rowguard'::regnamespace
            UNION ALL
            SELECT format('operator %s', o.oid::regoperator), 'pg_operator'::regclass, o.oid
              FROM pg_operator o WHERE o.oprnamespace = 'rowguard'::regnamespace
            UNION ALL
            SELECT format('type %s', t.oid::regtype), 'pg_type'::regclass, t.oid
              FROM pg_type t WHERE t.typnamespace = 'rowguard'::regnamespace
            UNION ALL
            SELECT format('collation %s', co.oid::regcollation), 'pg_collation'::regclass, co.oid
              FROM pg_collation co WHERE co.collnamespace = 'rowguard'::regnamespace
            UNION ALL
            SELECT format('conversion %I', cv.conname), 'pg_conversion'::regclass, cv.oid
              FROM pg_conversion cv WHERE cv.connamespace = 'rowguard'::regnamespace
            UNION ALL
            SELECT format('operator family %I', f.opfname), 'pg_opfamily'::regclass, f.oid
              FROM pg_opfamily f WHERE f.opfnamespace = 'rowguard'::regnamespace) o
     -- Members of the extension, and what belongs to a member (row and array types,
     -- sequences of its columns).
     WHERE NOT EXISTS (SELECT FROM pg_depend d
                        WHERE d.classid = o.cat AND d.objid = o.oid AND d.deptype IN ('e', 'i', 'a'));
    IF foreign_objects IS NOT NULL THEN
        RAISE EXCEPTION 'schema rowguard holds objects that are not part of rowguard'
            USING ERRCODE = 'invalid_schema_definition',
                  DETAIL = format('Found: %s.', foreign_objects),
                  HINT = 'Drop the schema rowguard (or those objects) and run CREATE EXTENSION rowguard again.';
    END IF;
END
$$;

-- 2. Nobody but the installing superuser can create in schema rowguard. CREATE EXTENSION
--    creates the schema as the role that runs it, and a pre-existing one may carry grants;
--    the schema owner could otherwise plant such overloads after the install.
ALTER SCHEMA rowguard OWNER TO CURRENT_USER;
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT DISTINCT x.grantee
               FROM pg_namespace n, aclexplode(n.nspacl) x
              WHERE n.nspname = 'rowguard' AND x.grantee <> n.nspowner LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA rowguard FROM %s',
                       CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END);
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA rowguard TO PUBLIC;

-- 3. The extension's owner administers keys and issuers in this database (and may hand
--    that on: WITH GRANT OPTION), and reads rowguard's tables, which pg_dump of its
--    database needs (they are configuration tables: their rows are dumped). Functions that
--    reach beyond the database are not granted: role binding (a token could become any
--    role of the cluster, predefined ones included) and fetching over the network stay
--    with superusers, who may grant them.
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'rowguard.add_key(jsonb,text,text)', 'rowguard.add_jwks(jsonb,text)',
        'rowguard.remove_key(text)', 'rowguard.set_issuer(text,text[],interval,interval)',
        'rowguard.remove_issuer(text)', 'rowguard.sign(jsonb,text)',
        -- 0.2.0 functions of other topics, where this build has them
        'rowguard.add_secret(text,text,text,text)', 'rowguard.sync_jwks(jsonb,text)',
        'rowguard.revoke_token(text,text)', 'rowguard.revoke_subject(text,timestamptz,text)',
        'rowguard.stats_reset()'] LOOP
        IF to_regprocedure(f) IS NOT NULL THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO @extowner@ WITH GRANT OPTION', f);
        END IF;
    END LOOP;
END
$$;
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_extension e, unnest(e.extconfig) c(oid)
              WHERE e.extname = 'rowguard' LOOP
        EXECUTE format('GRANT SELECT ON %s TO @extowner@', t);
    END LOOP;
    -- pg_restore of the owner's own dump writes the rows of the tables the owner already
    -- manages through the functions granted above. Not role_bindings (allow_role is not
    -- granted, see above) nor jwks_sources (network fetches): a superuser restores those.
    FOR t IN SELECT to_regclass(n) FROM unnest(ARRAY['rowguard.keys', 'rowguard.issuers',
                                                     'rowguard.revocations']) n
              WHERE to_regclass(n) IS NOT NULL LOOP
        EXECUTE format('GRANT INSERT ON %s TO @extowner@', t);
    END LOOP;
END
$$;
