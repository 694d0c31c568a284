
-- Supabase for real (issue 25; docs/migrating.md "From Supabase", docs/roles.md
-- "Privileged bindings"): the platform's own keys, roles, Storage and Realtime keep
-- working after install_compat('supabase'), and nothing but a verified token switches
-- a session to anon, authenticated or service_role.

-- ---- 1. Privileged role bindings: the explicit opt-in for a BYPASSRLS role ----------

-- One row per opt-in, next to its row in rowguard.role_bindings (issuer NULL = tokens of
-- any issuer). Read by the C side (src/pg/privileged_binding.cpp) with a catalog-snapshot
-- scan that checks no privileges, like role_bindings.
CREATE TABLE rowguard.privileged_role_bindings (
    role     regrole NOT NULL,
    issuer   text CHECK (issuer <> ''),
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE rowguard.privileged_role_bindings
    IS 'roles with BYPASSRLS that a token''s role claim may switch to (allow_privileged_role)';
CREATE UNIQUE INDEX privileged_role_bindings_role_issuer
    ON rowguard.privileged_role_bindings (role, COALESCE(issuer, ''));
REVOKE ALL ON rowguard.privileged_role_bindings FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowguard.privileged_role_bindings', '');
CREATE TRIGGER rowguard_privileged_role_bindings_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rowguard.privileged_role_bindings
    FOR EACH STATEMENT EXECUTE FUNCTION rowguard._keys_changed();

-- disallow_role (or any delete of a binding) takes the opt-in back with it, so a role
-- allowed later with allow_role never inherits an old opt-in.
CREATE FUNCTION rowguard._forget_privileged_binding()
    RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rowguard.privileged_role_bindings p
     WHERE p.role OPERATOR(pg_catalog.=) OLD.role
       AND p.issuer IS NOT DISTINCT FROM OLD.issuer;
    RETURN NULL;
END
$$;
CREATE TRIGGER rowguard_role_bindings_forget_privileged
    AFTER DELETE ON rowguard.role_bindings
    FOR EACH ROW EXECUTE FUNCTION rowguard._forget_privileged_binding();

-- Why `role` may not be bound even with the opt-in, or NULL. Only BYPASSRLS is waived:
-- a superuser never, a role without BYPASSRLS takes allow_role, and a role that could
-- hand out or reach more than its own rights (LOGIN, CREATEROLE, membership in a
-- superuser) neither. (The general refusals of allow_role, which the 0.3.0 hardening
-- extends, belong in one function both call; this one holds the privileged part.)
CREATE FUNCTION rowguard._privileged_binding_refusal(role regrole)
    RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN r.oid IS NULL THEN 'the role does not exist'
        WHEN r.rolsuper THEN 'superusers can never be bound to tokens'
        WHEN NOT r.rolbypassrls THEN 'the role does not have BYPASSRLS'
        WHEN r.rolreplication THEN 'the role has REPLICATION'
        -- Everything allow_role refuses but BYPASSRLS itself (20_role_binding.sql):
        -- LOGIN, CREATEROLE, superuser memberships, the file/program/all-data roles,
        -- owners of tables with row level security.
        ELSE 'the role ' OPERATOR(pg_catalog.||) rowguard._role_binding_hazard(r.oid::regrole, true)
        END
      FROM (SELECT _privileged_binding_refusal.role::oid AS wanted) w
      LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) w.wanted
$$;

CREATE FUNCTION rowguard.allow_privileged_role(role regrole, issuer text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    refusal text;
BEGIN
    IF allow_privileged_role.role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF allow_privileged_role.issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass NULL to allow the role for tokens of any issuer.';
    END IF;
    refusal := rowguard._privileged_binding_refusal(allow_privileged_role.role);
    IF refusal = 'the role does not have BYPASSRLS' THEN
        RAISE EXCEPTION 'role "%" cannot be bound to tokens as a privileged role',
                        allow_privileged_role.role::text
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The role does not have BYPASSRLS.',
                  HINT = 'Use rowguard.allow_role for a role without BYPASSRLS.';
    ELSIF refusal IS NOT NULL THEN
        RAISE EXCEPTION 'role "%" cannot be bound to tokens as a privileged role',
                        allow_privileged_role.role::text
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = upper(left(refusal, 1)) || substr(refusal, 2) || '.';
    END IF;
    INSERT INTO rowguard.role_bindings (role, issuer)
        VALUES (allow_privileged_role.role, allow_privileged_role.issuer)
        ON CONFLICT DO NOTHING;
    INSERT INTO rowguard.privileged_role_bindings (role, issuer)
        VALUES (allow_privileged_role.role, allow_privileged_role.issuer)
        ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION rowguard.allow_privileged_role(regrole, text)
    IS 'a token (of this issuer, when given) may make this BYPASSRLS role current_user; lint warns';
REVOKE ALL ON FUNCTION rowguard.allow_privileged_role(regrole, text),
    rowguard._privileged_binding_refusal(regrole), rowguard._forget_privileged_binding()
    FROM PUBLIC;

-- ---- 2. Which compatibility was installed (install_compat records it) -------------

CREATE TABLE rowguard.compat_installed (
    flavor       text PRIMARY KEY CHECK (flavor IN ('supabase', 'neon')),
    installed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE rowguard.compat_installed
    IS 'install_compat flavours in force: their auth.* functions are kept (event trigger rowguard_compat_guard)';
SELECT pg_catalog.pg_extension_config_dump('rowguard.compat_installed', '');
-- Nothing secret: lint reads it as the calling role.
REVOKE ALL ON rowguard.compat_installed FROM PUBLIC;
GRANT SELECT ON rowguard.compat_installed TO PUBLIC;
-- As for 0.2.0's configuration tables (60_compat.sql): the extension's owner reads both
-- new ones (pg_dump of its database) and restores compat_installed; privileged bindings,
-- like role_bindings, are restored by a superuser.
GRANT SELECT ON rowguard.compat_installed, rowguard.privileged_role_bindings TO @extowner@;
GRANT INSERT ON rowguard.compat_installed TO @extowner@;

-- install_compat runs with the caller's rights (who must own the auth.* functions); the
-- record is written here, and only when every function of the flavour now has
-- rowguard's body, so the row cannot claim a flavour nobody installed.
CREATE FUNCTION rowguard._record_compat(flavor text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM rowguard._compat_functions(_record_compat.flavor) f
                WHERE NOT EXISTS (SELECT FROM pg_proc p
                                   WHERE p.pronamespace = to_regnamespace('auth')
                                     AND p.proname = f.fname AND p.pronargs = 0
                                     AND p.prosrc = f.body)) THEN
        RAISE EXCEPTION 'the % functions are not rowguard''s', _record_compat.flavor
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO rowguard.compat_installed (flavor) VALUES (_record_compat.flavor)
        ON CONFLICT DO NOTHING;
END
$$;

-- ---- 3. auth.* as Storage and Realtime call them ----------------------------------

-- Supabase Storage (src/internal/database/postgres/scope.ts) and Realtime
-- (lib/realtime/tenants/authorization.ex) put the raw token of the request in the
-- setting request.jwt with set_config, next to the claims they decoded. The claims are
-- forgeable; the token is not: this verifies it (rowguard.verify: signature, issuer,
-- times, revocation) and returns its claims, or NULL when the setting is empty. A token
-- that does not verify is an error (28000), never an identity. PARALLEL RESTRICTED like
-- verify(): a parallel worker does not verify.
CREATE FUNCTION rowguard.request_jwt_claims()
    RETURNS jsonb LANGUAGE sql STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp AS $$
    SELECT rowguard.verify(t.token)
      FROM (SELECT nullif(pg_catalog.current_setting('request.jwt', true), '') AS token) t
$$;
COMMENT ON FUNCTION rowguard.request_jwt_claims()
    IS 'the claims of the token in request.jwt (Supabase Storage/Realtime), verified; NULL when empty';

-- The functions each flavour replaces (0.2.0's list, Supabase's bodies now answer from
-- the identity in force, or without one from the verified request.jwt, and auth.role()
-- is 'anon' with neither, as under PostgREST).
CREATE OR REPLACE FUNCTION rowguard._compat_functions(flavor text)
    RETURNS TABLE (fname name, result regtype, body text, note text)
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT v.fname, v.result, v.body, v.note FROM (VALUES
        ('supabase', 'uid'::name, 'uuid'::regtype,
         'SELECT CASE WHEN rowguard.is_authenticated() THEN rowguard.claim_uuid(''sub'') '
         'ELSE (rowguard.request_jwt_claims() ->> ''sub'')::uuid END',
         'rowguard: the sub claim of the verified token (or of the verified request.jwt), as uuid'),
        ('supabase', 'jwt', 'jsonb',
         'SELECT CASE WHEN rowguard.is_authenticated() THEN rowguard.claims() '
         'ELSE rowguard.request_jwt_claims() END',
         'rowguard: the claims of the verified token (or of the verified request.jwt)'),
        ('supabase', 'role', 'text',
         'SELECT CASE WHEN rowguard.is_authenticated() THEN rowguard.claim(''role'') '
         'ELSE coalesce(rowguard.request_jwt_claims() ->> ''role'', ''anon'') END',
         'rowguard: the role claim of the verified token (or of the verified request.jwt); anon without either'),
        ('supabase', 'email', 'text',
         'SELECT CASE WHEN rowguard.is_authenticated() THEN rowguard.claim(''email'') '
         'ELSE rowguard.request_jwt_claims() ->> ''email'' END',
         'rowguard: the email claim of the verified token (or of the verified request.jwt)'),
        ('neon', 'user_id', 'text', 'SELECT rowguard.sub()',
         'rowguard: the sub claim of the verified token'),
        ('neon', 'session', 'jsonb', 'SELECT rowguard.claims()',
         'rowguard: the claims of the verified token')
    ) v (flavor, fname, result, body, note)
    WHERE v.flavor = _compat_functions.flavor
$$;

-- The statements that put one flavour's functions in place (used by install_compat and
-- by the event trigger that keeps them).
CREATE FUNCTION rowguard._compat_function_sql(flavor text)
    RETURNS TABLE (fname name, stmt text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f record;
    ext name;
BEGIN
    FOR f IN SELECT * FROM rowguard._compat_functions(_compat_function_sql.flavor) LOOP
        -- A function another extension installed (pg_session_jwt's auth.user_id()):
        -- released from that extension first, so dropping it later keeps ours.
        ext := NULL;
        SELECT e.extname INTO ext
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid
         WHERE n.nspname = 'auth' AND p.proname = f.fname AND p.pronargs = 0;
        IF ext IS NOT NULL THEN
            fname := f.fname;
            stmt := format('ALTER EXTENSION %I DROP FUNCTION auth.%I();', ext, f.fname);
            RETURN NEXT;
        END IF;
        -- CREATE OR REPLACE keeps the function's oid, owner and grants, so every policy
        -- that calls it keeps its text and now reads the verified identity. Supabase's
        -- bodies verify request.jwt, which a parallel worker cannot: PARALLEL RESTRICTED.
        fname := f.fname;
        stmt := format(E'CREATE OR REPLACE FUNCTION auth.%I() RETURNS %s\n'
                        '    LANGUAGE sql STABLE PARALLEL %s COST 1\n'
                        '    AS $rowguard$%s$rowguard$;',
                        f.fname, f.result::text,
                        CASE WHEN _compat_function_sql.flavor = 'supabase' THEN 'RESTRICTED' ELSE 'SAFE' END,
                        f.body);
        RETURN NEXT;
        stmt := format('COMMENT ON FUNCTION auth.%I() IS %L;', f.fname, f.note);
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION rowguard.install_compat(flavor text, apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kind text := lower(flavor);
    script text[] := '{}';
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
        script := script || ARRAY(SELECT s.stmt FROM rowguard._compat_function_sql(kind) s);
        -- Recorded, so the event trigger rowguard_compat_guard keeps these bodies when a
        -- platform upgrade replaces them, and lint knows the platform.
        script := script || format('SELECT rowguard._record_compat(%L);', kind);
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

-- ---- 4. Keeping the replacement in force across platform upgrades ----------------

-- GoTrue's migrations (e.g. 20220224000811_update_auth_functions) run CREATE OR REPLACE
-- FUNCTION auth.uid() and its siblings again, which would bring back the bodies that
-- read request.jwt.claims. At the end of any CREATE FUNCTION that (re)defines one of the
-- functions of a flavour in rowguard.compat_installed with another body, this puts
-- rowguard's body back in the same transaction and says so (WARNING). SECURITY DEFINER:
-- the role that ran the migration (supabase_auth_admin) need not read rowguard's tables;
-- the statements it runs are fixed by _compat_function_sql.
CREATE FUNCTION rowguard._compat_guard()
    RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
    f record;
    s record;
BEGIN
    FOR c IN SELECT DISTINCT d.objid FROM pg_event_trigger_ddl_commands() d
              WHERE d.object_type = 'function' AND d.schema_name = 'auth' LOOP
        FOR f IN SELECT i.flavor, cf.fname, cf.body
                   FROM rowguard.compat_installed i,
                        LATERAL rowguard._compat_functions(i.flavor) cf,
                        pg_proc p
                  WHERE p.oid = c.objid AND p.proname = cf.fname AND p.pronargs = 0
                    AND p.prosrc IS DISTINCT FROM cf.body LOOP
            FOR s IN SELECT * FROM rowguard._compat_function_sql(f.flavor) x
                      WHERE x.fname = f.fname LOOP
                EXECUTE s.stmt;
            END LOOP;
            RAISE WARNING 'rowguard put back its auth.%() after it was replaced', f.fname
                USING DETAIL = format('install_compat(%L) is in force: auth.%s() answers from the verified token.',
                                      f.flavor, f.fname),
                      HINT = 'To give the function back to the platform, delete its flavour from rowguard.compat_installed first.';
        END LOOP;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION rowguard._compat_guard() FROM PUBLIC;
CREATE EVENT TRIGGER rowguard_compat_guard ON ddl_command_end
    WHEN TAG IN ('CREATE FUNCTION')
    EXECUTE FUNCTION rowguard._compat_guard();

-- ---- 5. One call for a Supabase project ------------------------------------------

-- install_compat('supabase', project_url => ..., jwt_secret => ... | jwks => ...): the
-- auth.* functions (as above), the keys of everything GoTrue issues, the issuers' rules,
-- role-bound tokens for anon / authenticated / service_role, and the login role that
-- PostgREST uses (authenticator) loses every other way to become them. Returns the
-- script (the secret shown as <jwt_secret>); apply => false runs nothing.
--   user access tokens, anonymous sign-ins: iss <project_url>/auth/v1, aud authenticated,
--     HS256 with the JWT secret (kid = jwt_kid when GoTrue has GOTRUE_JWT_KEY_ID) or
--     ES256/RS256 with the project's signing keys (jwks: /auth/v1/.well-known/jwks.json)
--   OAuth-server access tokens: the same issuer, aud = the client id (oauth_client_ids)
--   anon and service_role API keys: iss api_key_issuer ('supabase'; self-hosted demo
--     keys say 'supabase-demo'), no aud, HS256 with the same secret, no kid
CREATE FUNCTION rowguard.install_compat(flavor text, project_url text,
                                        jwt_secret text DEFAULT NULL, jwks jsonb DEFAULT NULL,
                                        jwt_kid text DEFAULT NULL,
                                        oauth_client_ids text[] DEFAULT NULL,
                                        api_key_issuer text DEFAULT 'supabase',
                                        authenticator name DEFAULT 'authenticator',
                                        apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    auth_iss text;
    audiences text[];
    shown text[] := '{}';
    run text[] := '{}';
    i integer;
    r name;
    g record;
    login_role regrole;
BEGIN
    IF flavor IS NULL OR lower(flavor) <> 'supabase' THEN
        RAISE EXCEPTION 'a project URL is taken by the supabase flavor only'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Call rowguard.install_compat(flavor) for the other flavors.';
    END IF;
    IF apply IS NULL THEN
        RAISE EXCEPTION 'apply must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF project_url IS NULL OR project_url !~ '^https?://[^/?#]+' THEN
        RAISE EXCEPTION 'project_url must be the project''s URL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example https://<project ref>.supabase.co, or the API_EXTERNAL_URL of a self-hosted Supabase.';
    END IF;
    IF jwt_secret IS NULL AND jwks IS NULL THEN
        RAISE EXCEPTION 'jwt_secret or jwks must be given'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The JWT secret verifies the API keys and HS256 user tokens; the JWK Set of /auth/v1/.well-known/jwks.json the asymmetric ones.';
    END IF;
    IF api_key_issuer IS NULL OR api_key_issuer = '' THEN
        RAISE EXCEPTION 'api_key_issuer must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF jwt_kid = '' THEN
        RAISE EXCEPTION 'jwt_kid must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    auth_iss := regexp_replace(project_url, '/+$', '') || '/auth/v1';
    audiences := ARRAY['authenticated'] || coalesce(oauth_client_ids, '{}');
    IF array_position(audiences, NULL) IS NOT NULL OR array_position(audiences, '') IS NOT NULL THEN
        RAISE EXCEPTION 'oauth_client_ids must not hold NULL or empty ids'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- 1. auth.* (and the record that keeps them): install_compat('supabase'), run first.
    shown := shown || rowguard.install_compat('supabase', false);

    -- 2. Keys and issuers. The JWK Set first: a sync makes the issuer's stored keys equal
    --    to it (a key of an older set goes). Then the secret twice: bound to the Auth
    --    issuer (user tokens, under GoTrue's key id when it has one) and to the API keys'
    --    issuer. A token without kid is accepted when either key accepts its issuer.
    IF jwks IS NOT NULL THEN
        shown := shown || format('SELECT rowguard.sync_jwks(%L::jsonb, %L);', jwks::text, auth_iss);
        run := run || format('SELECT rowguard.sync_jwks(%L::jsonb, %L);', jwks::text, auth_iss);
    END IF;
    IF jwt_secret IS NOT NULL THEN
        FOREACH r IN ARRAY ARRAY[coalesce(jwt_kid, 'supabase-auth-hs256'), 'supabase-api-keys-hs256']::name[] LOOP
            shown := shown || format('SELECT rowguard.remove_key(%L) WHERE EXISTS (SELECT FROM rowguard.keys WHERE kid = %L);', r, r);
            run := run || format('SELECT rowguard.remove_key(%L) WHERE EXISTS (SELECT FROM rowguard.keys WHERE kid = %L);', r, r);
            shown := shown || format('SELECT rowguard.add_secret(%s, ''HS256'', kid => %L, issuer => %L);',
                                     '<jwt_secret>', r,
                                     CASE WHEN r = 'supabase-api-keys-hs256' THEN api_key_issuer ELSE auth_iss END);
            run := run || format('SELECT rowguard.add_secret(%L, ''HS256'', kid => %L, issuer => %L);',
                                 jwt_secret, r,
                                 CASE WHEN r = 'supabase-api-keys-hs256' THEN api_key_issuer ELSE auth_iss END);
        END LOOP;
    END IF;
    -- User tokens carry aud (authenticated, or an OAuth client's id); API keys none.
    shown := shown || format('SELECT rowguard.set_issuer(%L, audience => %L::text[]);', auth_iss, audiences);
    run := run || format('SELECT rowguard.set_issuer(%L, audience => %L::text[]);', auth_iss, audiences);
    shown := shown || format('SELECT rowguard.set_issuer(%L);', api_key_issuer);
    run := run || format('SELECT rowguard.set_issuer(%L);', api_key_issuer);

    -- 3. The role claim chooses the role: anon and authenticated from user tokens, anon
    --    and service_role (BYPASSRLS, explicit opt-in) from the API keys.
    FOR i IN 1 .. 4 LOOP
        shown := shown || (ARRAY[
            format('SELECT rowguard.allow_role(%L, %L);', 'anon', auth_iss),
            format('SELECT rowguard.allow_role(%L, %L);', 'authenticated', auth_iss),
            format('SELECT rowguard.allow_role(%L, %L);', 'anon', api_key_issuer),
            format('SELECT rowguard.allow_privileged_role(%L, %L);', 'service_role', api_key_issuer)])[i];
        run := run || shown[cardinality(shown)];
    END LOOP;
    login_role := to_regrole(quote_ident(authenticator));
    IF login_role IS NOT NULL THEN
        shown := shown || format('ALTER ROLE %I SET rowguard.role_binding_claim = %L;', authenticator, 'role');
        run := run || shown[cardinality(shown)];
        -- Nothing else switches authenticator to the API roles: its memberships go (the
        -- token's role claim is the only way in).
        -- (From PostgreSQL 16 on, one membership per grantor: each is revoked by name.)
        FOR g IN SELECT b.rolname, m.grantor FROM pg_auth_members m
                   JOIN pg_roles b ON b.oid = m.roleid
                  WHERE m.member = login_role AND b.rolname IN ('anon', 'authenticated', 'service_role')
                  ORDER BY b.rolname, m.grantor LOOP
            shown := shown || format('REVOKE %I FROM %I%s;', g.rolname, authenticator,
                                     CASE WHEN current_setting('server_version_num')::int >= 160000
                                          THEN ' GRANTED BY ' || g.grantor::regrole::text ELSE '' END);
            run := run || shown[cardinality(shown)];
        END LOOP;
        shown := shown || ARRAY[
            format('-- PostgREST (PGRST_* in a self-hosted docker-compose) connects as %I and must leave the role to the token:', authenticator),
            format('--   db-anon-role = "%s"                      (PGRST_DB_ANON_ROLE)', authenticator),
            '--   jwt-role-claim-key = ".rowguard_no_role"     (PGRST_JWT_ROLE_CLAIM_KEY: a claim no token has)',
            '--   db-pre-request = "rowguard.postgrest_pre_request"   (PGRST_DB_PRE_REQUEST)',
            '-- then NOTIFY pgrst, ''reload config''; (or restart PostgREST).'];
    END IF;

    IF apply THEN
        PERFORM rowguard.install_compat('supabase', true);
        FOR i IN 1 .. cardinality(run) LOOP
            IF run[i] NOT LIKE '--%' THEN
                EXECUTE run[i];
            END IF;
        END LOOP;
    END IF;
    RETURN array_to_string(shown, E'\n');
END
$$;
COMMENT ON FUNCTION rowguard.install_compat(text, text, text, jsonb, text, text[], text, name, boolean)
    IS 'Supabase in one call: auth.*, the keys and issuers of everything GoTrue issues, role-bound anon/authenticated/service_role';
REVOKE ALL ON FUNCTION rowguard.install_compat(text, text, text, jsonb, text, text[], text, name, boolean) FROM PUBLIC;

-- ---- 6. Lint helpers (rowguard.lint is defined elsewhere; see docs/migrating.md) --

-- Is this a Supabase database: install_compat('supabase') recorded, or the platform's
-- roles and its auth schema are there.
CREATE FUNCTION rowguard._supabase_platform()
    RETURNS boolean LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_regnamespace('auth') IS NOT NULL
       AND (EXISTS (SELECT FROM rowguard.compat_installed c WHERE c.flavor = 'supabase')
            OR (to_regrole('supabase_admin') IS NOT NULL AND to_regrole('supabase_auth_admin') IS NOT NULL
                AND to_regclass('auth.users') IS NOT NULL))
$$;

-- Schemas and roles that belong to the Supabase platform: its services own and migrate
-- them, and on hosted projects the user cannot change them.
CREATE FUNCTION rowguard._supabase_platform_objects()
    RETURNS TABLE (kind text, name text, owner text)
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT v.kind, v.name, v.owner FROM (VALUES
        ('schema', 'auth', 'Supabase Auth (GoTrue) migrations'),
        ('schema', 'storage', 'Supabase Storage migrations'),
        ('schema', 'realtime', 'Supabase Realtime migrations'),
        ('schema', '_realtime', 'Supabase Realtime'),
        ('schema', 'extensions', 'the Supabase platform'),
        ('schema', 'graphql', 'pg_graphql'),
        ('schema', 'graphql_public', 'pg_graphql'),
        ('schema', 'vault', 'supabase_vault'),
        ('schema', 'pgsodium', 'pgsodium'),
        ('schema', 'pgsodium_masks', 'pgsodium'),
        ('schema', 'net', 'pg_net'),
        ('schema', 'cron', 'pg_cron'),
        ('schema', 'pgbouncer', 'the Supabase platform'),
        ('schema', 'supabase_functions', 'Supabase database webhooks'),
        ('schema', 'supabase_migrations', 'the Supabase CLI'),
        ('role', 'supabase_admin', 'the Supabase platform'),
        ('role', 'supabase_auth_admin', 'Supabase Auth (GoTrue)'),
        ('role', 'supabase_storage_admin', 'Supabase Storage'),
        ('role', 'supabase_realtime_admin', 'Supabase Realtime'),
        ('role', 'supabase_functions_admin', 'Supabase database webhooks'),
        ('role', 'supabase_replication_admin', 'the Supabase platform'),
        ('role', 'supabase_read_only_user', 'the Supabase platform'),
        ('role', 'supabase_etl_admin', 'the Supabase platform'),
        ('role', 'supabase_superuser', 'the Supabase platform'),
        ('role', 'dashboard_user', 'the Supabase dashboard'),
        ('role', 'pgbouncer', 'the Supabase platform'),
        ('role', 'pgsodium_keyholder', 'pgsodium'),
        ('role', 'pgsodium_keyiduser', 'pgsodium'),
        ('role', 'pgsodium_keymaker', 'pgsodium'),
        ('role', 'postgres', 'the Supabase platform (the project''s administrator role, BYPASSRLS by design)')
    ) v (kind, name, owner)
$$;

-- For one lint finding: why it is the platform's to decide (a note), or NULL when it is
-- the user's. On a Supabase database only. Findings about anon, authenticated,
-- service_role and authenticator stay: those are what install_compat changes.
CREATE FUNCTION rowguard._lint_platform_note(object text, problem text, fix text)
    RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN NOT rowguard._supabase_platform() THEN NULL
        WHEN _lint_platform_note.fix LIKE '%SET rowguard.audience%'
            THEN 'Supabase''s API keys carry no aud: audiences are set per issuer (install_compat(''supabase'', project_url => ...)), not for the database'
        ELSE (SELECT format('%s %s belongs to %s; leave it to the platform', p.kind, p.name, p.owner)
                FROM rowguard._supabase_platform_objects() p
               WHERE (p.kind = 'schema'
                      AND (_lint_platform_note.object ~ ('^[a-z ]+ ' || p.name || '\.')
                           OR _lint_platform_note.object ~ ('^[a-z ]+ .* on ' || p.name || '\.')
                           OR _lint_platform_note.object = 'schema ' || p.name))
                  OR (p.kind = 'role' AND _lint_platform_note.object = 'role ' || p.name)
               ORDER BY p.kind DESC, length(p.name) DESC
               LIMIT 1)
    END
$$;

-- Login roles that can become a role with BYPASSRLS (or a superuser) by SET ROLE,
-- directly or through other roles, without a token: a full bypass for anyone who runs
-- SQL as them. (rowguard._lint_bypass_roles reports direct memberships of INHERIT roles
-- and of roles that hold privileges on protected tables; this adds the rest, e.g.
-- Supabase's authenticator, NOINHERIT with nothing of its own, granted service_role.)
CREATE FUNCTION rowguard._lint_030_token_free_switch()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT 'warning', format('role %I', a.rolname),
           format('role can log in and SET ROLE to %I, which bypasses row level security, without a token',
                  b.rolname),
           concat_ws(E'\n',
               CASE WHEN EXISTS (SELECT FROM pg_auth_members m WHERE m.member = a.oid AND m.roleid = b.oid)
                    THEN format('REVOKE %I FROM %I;', b.rolname, a.rolname)
                    ELSE format('-- %I reaches %I through other roles: revoke the membership on the way', a.rolname, b.rolname) END,
               CASE WHEN NOT b.rolsuper
                    THEN format('-- and let a token choose it: SELECT rowguard.allow_privileged_role(%L, <issuer>);', b.rolname) END)
      FROM pg_roles a, pg_roles b
     WHERE a.rolcanlogin AND NOT a.rolsuper AND NOT a.rolbypassrls
       AND (b.rolbypassrls OR b.rolsuper) AND b.oid <> a.oid
       AND pg_has_role(a.oid, b.oid,
                       CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END)
       -- what _lint_bypass_roles already reports
       AND NOT (EXISTS (SELECT FROM pg_auth_members m WHERE m.member = a.oid AND m.roleid = b.oid)
                AND NOT (NOT a.rolinherit AND NOT b.rolsuper AND NOT EXISTS (
                    SELECT FROM rowguard._lint_relations() t
                     WHERE t.relkind IN ('r', 'p') AND t.rls
                       AND has_table_privilege(a.oid, t.oid, 'SELECT, INSERT, UPDATE, DELETE'))))
$$;

-- Every privileged binding is a standing warning: a token of that issuer bypasses row
-- level security.
CREATE FUNCTION rowguard._lint_030_privileged_bindings()
    RETURNS TABLE (severity text, object text, problem text, fix text)
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT has_table_privilege('rowguard.privileged_role_bindings', 'SELECT') THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT 'warning'::text, format('role %s', p.role::text),
           format('tokens of %s may make this BYPASSRLS role current_user (allow_privileged_role)',
                  coalesce('issuer ' || quote_literal(p.issuer), 'any issuer')),
           format('SELECT rowguard.disallow_role(%L, %L);', p.role::text, p.issuer)
      FROM rowguard.privileged_role_bindings p;
END
$$;
