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
