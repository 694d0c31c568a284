-- Issue 24, "the first hour": messages that tell the fix (docs/keys.md).

-- One line from an error's message, detail and (when it names a setting to change) hint:
-- what refresh_keys() without an issuer reports per issuer and stores in
-- jwks_sources.last_error, like the error of the single-issuer form.
CREATE FUNCTION rowguard._error_text(message text, detail text, hint text)
    RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT _error_text.message
           || coalesce(': ' || pg_catalog.rtrim(pg_catalog.lower(pg_catalog.left(_error_text.detail, 1))
                                                || pg_catalog.substr(_error_text.detail, 2), '.'), '')
           || CASE WHEN _error_text.hint OPERATOR(pg_catalog.~) 'rowguard\.[a-z_]+'
                   THEN ' (' || _error_text.hint || ')' ELSE '' END
$$;
REVOKE ALL ON FUNCTION rowguard._error_text(text, text, text) FROM PUBLIC;

-- discover_issuer: on a mismatch, the detail shows the issuer the document names.
CREATE OR REPLACE FUNCTION rowguard.discover_issuer(issuer text)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f record;
    uri text;
BEGIN
    PERFORM rowguard._refuse_on_standby();
    IF discover_issuer.issuer IS NULL OR NOT rowguard._is_https_url(discover_issuer.issuer) THEN
        RAISE EXCEPTION 'issuer must be an https URL for discovery'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    f := rowguard._https_get_json(rtrim(discover_issuer.issuer, '/')
                                  || '/.well-known/openid-configuration');
    IF NOT coalesce(jsonb_typeof(f.document) = 'object'
                    AND jsonb_typeof(f.document -> 'issuer') = 'string'
                    AND f.document ->> 'issuer' = discover_issuer.issuer, false) THEN
        IF jsonb_typeof(f.document -> 'issuer') = 'string' THEN
            RAISE EXCEPTION 'discovery document of "%" does not name it as its issuer', discover_issuer.issuer
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('The document names %s as its issuer; OpenID Connect discovery requires it to equal the issuer exactly.',
                                      quote_ident(f.document ->> 'issuer')),
                      HINT = 'Use the issuer exactly as the document and the iss claim of the tokens spell it (mind a trailing slash).';
        END IF;
        RAISE EXCEPTION 'discovery document of "%" does not name it as its issuer', discover_issuer.issuer
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The document has no "issuer" string; OpenID Connect discovery requires it to equal the issuer exactly.';
    END IF;
    uri := f.document ->> 'jwks_uri';
    IF NOT coalesce(jsonb_typeof(f.document -> 'jwks_uri') = 'string', false) THEN
        RAISE EXCEPTION 'discovery document of "%" has no jwks_uri', discover_issuer.issuer
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM rowguard.set_jwks_uri(discover_issuer.issuer, uri);
    RETURN uri;
END
$$;

-- refresh_keys() without an issuer: each failure carries its cause (detail) and, for a
-- certificate the trust anchors do not cover, the setting to change.
CREATE OR REPLACE FUNCTION rowguard.refresh_keys(iss text DEFAULT NULL)
    RETURNS TABLE(issuer text, kid text, action text)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src record;
    f record;
    fetched jsonb[] := '{}';
    issuers text[] := '{}';
    errors text[] := '{}';
    ages integer[] := '{}';
    i integer;
    msg text;
    det text;
    hnt text;
BEGIN
    PERFORM rowguard._refuse_on_standby();
    IF refresh_keys.iss IS NOT NULL AND NOT EXISTS (
            SELECT FROM rowguard.jwks_sources s WHERE s.iss = refresh_keys.iss) THEN
        RAISE EXCEPTION 'issuer "%" has no jwks_uri', refresh_keys.iss
            USING ERRCODE = 'undefined_object',
                  HINT = 'Set one with rowguard.set_jwks_uri or rowguard.discover_issuer.';
    END IF;
    -- First every fetch, holding no lock on the key tables; then each sync, short.
    FOR src IN SELECT s.iss, s.jwks_uri FROM rowguard.jwks_sources s
                WHERE refresh_keys.iss IS NULL OR s.iss = refresh_keys.iss ORDER BY s.iss LOOP
        issuers := issuers || src.iss;
        IF refresh_keys.iss IS NOT NULL THEN
            f := rowguard._https_get_json(src.jwks_uri);  -- a failure is this call's error
            fetched := fetched || f.document;
            errors := errors || NULL::text;
            ages := ages || f.max_age;
        ELSE
            BEGIN
                f := rowguard._https_get_json(src.jwks_uri);
                fetched := fetched || f.document;
                errors := errors || NULL::text;
                ages := ages || f.max_age;
            EXCEPTION WHEN OTHERS THEN
                -- The cause (the TLS or HTTP detail) and a hint that names a setting go
                -- with the message, as the single-issuer form's error carries them.
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                        hnt = PG_EXCEPTION_HINT;
                fetched := fetched || NULL::jsonb;
                errors := errors || rowguard._error_text(msg, det, hnt);
                ages := ages || NULL::integer;
            END;
        END IF;
    END LOOP;
    FOR i IN 1 .. cardinality(issuers) LOOP
        IF errors[i] IS NULL THEN
            IF refresh_keys.iss IS NOT NULL THEN
                RETURN QUERY SELECT issuers[i], s.kid, s.action
                               FROM rowguard._sync_jwks(fetched[i], issuers[i], true) s;
            ELSE
                BEGIN
                    RETURN QUERY SELECT issuers[i], s.kid, s.action
                                   FROM rowguard._sync_jwks(fetched[i], issuers[i], true) s;
                EXCEPTION WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
                                            hnt = PG_EXCEPTION_HINT;
                    errors[i] := rowguard._error_text(msg, det, hnt);
                END;
            END IF;
        END IF;
        IF errors[i] IS NOT NULL THEN
            RAISE WARNING 'keys of issuer "%" were not refreshed: %', issuers[i], errors[i];
            UPDATE rowguard.jwks_sources s SET last_attempt = now(), last_error = errors[i],
                   failures = s.failures + 1 WHERE s.iss = issuers[i];
            issuer := issuers[i]; kid := NULL; action := 'failed';
            RETURN NEXT;
        ELSE
            -- The same schedule as the background worker's (docs/keys.md).
            UPDATE rowguard.jwks_sources s SET last_attempt = now(), last_success = now(),
                   last_error = NULL, failures = 0,
                   next_refresh = now() + make_interval(secs => CASE WHEN ages[i] IS NULL THEN 600
                                                        ELSE least(greatest(ages[i], 60), 86400) END)
             WHERE s.iss = issuers[i];
        END IF;
    END LOOP;
END
$$;

-- scope_policy for several commands at once: scope_policy('t', ARRAY['INSERT','UPDATE',
-- 'DELETE'], 'orders:write'). A call with one command as a string literal still resolves
-- to the text form (PostgreSQL prefers the string category for an unknown literal), and
-- named-argument calls use `command` there and `commands` here.
CREATE FUNCTION rowguard.scope_policy(tbl regclass, commands text[], scope text,
                                      apply boolean DEFAULT true)
    RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cmd text;
    done text[] := '{}';
    script text[] := '{}';
BEGIN
    IF scope_policy.commands IS NULL OR pg_catalog.cardinality(scope_policy.commands) = 0 THEN
        RAISE EXCEPTION 'commands must name at least one command'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example ARRAY[''INSERT'', ''UPDATE'', ''DELETE''].';
    END IF;
    FOREACH cmd IN ARRAY scope_policy.commands LOOP
        cmd := rowguard._check_command(cmd);
        CONTINUE WHEN cmd OPERATOR(pg_catalog.=) ANY (done);
        done := done OPERATOR(pg_catalog.||) cmd;
        script := script OPERATOR(pg_catalog.||)
                  rowguard.scope_policy(scope_policy.tbl, cmd, scope_policy.scope, scope_policy.apply);
    END LOOP;
    RETURN pg_catalog.array_to_string(script, E'\n');
END
$$;
COMMENT ON FUNCTION rowguard.scope_policy(regclass, text[], text, boolean)
    IS 'allow each of these commands on a table (and its partitions) only to tokens that carry a scope';

-- rowguard.sessions behind a pooler: client_addr of the backend is the pooler's. The
-- view adds (at its end, so 0.2.0's columns keep their places) what pg_stat_activity
-- knows of the connection, and the client address PgBouncer appends to
-- application_name with application_name_add_host = 1 ("app - 203.0.113.7:51234").
CREATE OR REPLACE VIEW rowguard.sessions AS
    SELECT s.pid, s.sub, s.iss, s.kid, s.jti, s.exp, s.scope,
           a.application_name, a.client_addr,
           pg_catalog.substring(a.application_name, ' - ([^ ]+):[0-9]+$') AS pooler_client_addr
      FROM rowguard._sessions() s
      LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid OPERATOR(pg_catalog.=) s.pid;
COMMENT ON VIEW rowguard.sessions
    IS 'every backend with an identity in force (needs shared_preload_libraries); never a token';
