
-- Keys that follow the issuer (docs/keys.md): sync_jwks, add_secret, where an issuer
-- publishes its keys (set_jwks_uri, discover_issuer) and fetching them (refresh_keys,
-- and the background worker in src/pg/key_refresh_worker.cpp).

-- Where each issuer publishes its JWK Set, and how the last fetches went. The worker
-- writes the bookkeeping columns; administrators write the rest through set_jwks_uri.
CREATE TABLE rowguard.jwks_sources (
    iss          text PRIMARY KEY CHECK (iss <> ''),
    jwks_uri     text NOT NULL CHECK (jwks_uri ~* '^https://[^/?#@]+'),
    last_attempt timestamptz,
    last_success timestamptz,
    last_error   text,
    failures     integer NOT NULL DEFAULT 0,
    next_refresh timestamptz
);
COMMENT ON TABLE rowguard.jwks_sources IS 'where each issuer publishes its JWK Set; refresh bookkeeping';
REVOKE ALL ON rowguard.jwks_sources FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowguard.jwks_sources', '');

-- The C side parses the stored rows and the new set exactly as verification will and
-- says, per kid, what a sync does; the SQL side applies that (src/pg/key_sync.cpp).
CREATE FUNCTION rowguard._plan_jwks_sync(stored_kids text[], stored_algs text[],
    stored_jwks text[], jwks jsonb, public_only boolean,
    OUT kid text, OUT action text, OUT key_alg text, OUT jwk jsonb)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'rowguard_plan_jwks_sync' LANGUAGE C STABLE;

-- HTTPS GET under the fetch rules of docs/keys.md; the body must be JSON.
CREATE FUNCTION rowguard._https_get_json(url text, OUT document jsonb, OUT max_age integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'rowguard_https_get_json' LANGUAGE C VOLATILE STRICT;

CREATE FUNCTION rowguard._sync_jwks(jwks jsonb, issuer text, public_only boolean)
    RETURNS TABLE(kid text, action text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    plan jsonb;
    other text;
BEGIN
    IF _sync_jwks.jwks IS NULL THEN
        RAISE EXCEPTION 'jwks must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF _sync_jwks.issuer IS NULL OR _sync_jwks.issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value',
              HINT = 'A sync replaces the keys of one issuer; keys of no issuer are added with rowguard.add_key.';
    END IF;
    -- One sync at a time, and no add_key/remove_key in between; verification reads
    -- the table without locks and is not held up.
    LOCK TABLE rowguard.keys IN SHARE ROW EXCLUSIVE MODE;
    -- The plan is computed (and every key parsed) before anything is written.
    SELECT coalesce(jsonb_agg(to_jsonb(p)), '[]') INTO plan
      FROM rowguard._plan_jwks_sync(
               ARRAY(SELECT k.kid FROM rowguard.keys k WHERE k.issuer = _sync_jwks.issuer ORDER BY k.kid),
               ARRAY(SELECT k.alg FROM rowguard.keys k WHERE k.issuer = _sync_jwks.issuer ORDER BY k.kid),
               ARRAY(SELECT k.jwk::text FROM rowguard.keys k WHERE k.issuer = _sync_jwks.issuer ORDER BY k.kid),
               _sync_jwks.jwks, _sync_jwks.public_only) p;
    -- A kid names one key in the whole store: a key of another issuer (or of none) is
    -- never taken over.
    SELECT p.kid INTO other FROM jsonb_to_recordset(plan) p(kid text)
      JOIN rowguard.keys k ON k.kid = p.kid AND k.issuer IS DISTINCT FROM _sync_jwks.issuer
     ORDER BY p.kid LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'key "%" belongs to another issuer', other
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Nothing was changed.',
                  HINT = 'Remove that key with rowguard.remove_key first, or give the new key another kid.';
    END IF;
    -- Statement triggers fire even for statements that change no row, and every firing
    -- makes each backend reload its keys: a sync that keeps everything writes nothing.
    IF NOT jsonb_path_exists(plan, '$[*] ? (@.action != "kept")') THEN
        RETURN QUERY SELECT p.kid, p.action FROM jsonb_to_recordset(plan) p(kid text, action text)
                      ORDER BY p.kid;
        RETURN;
    END IF;
    RETURN QUERY
    WITH p AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(plan) AS x(kid text, action text, key_alg text, jwk jsonb)),
    removed AS (
        DELETE FROM rowguard.keys k USING p
         WHERE p.action = 'removed' AND k.kid = p.kid AND k.issuer = _sync_jwks.issuer),
    replaced AS (
        UPDATE rowguard.keys k SET alg = p.key_alg, jwk = p.jwk, added_at = now() FROM p
         WHERE p.action = 'replaced' AND k.kid = p.kid AND k.issuer = _sync_jwks.issuer),
    added AS (
        INSERT INTO rowguard.keys (kid, alg, issuer, jwk)
        SELECT p.kid, p.key_alg, _sync_jwks.issuer, p.jwk FROM p WHERE p.action = 'added')
    SELECT p.kid, p.action FROM p ORDER BY p.kid;
END
$$;

CREATE FUNCTION rowguard.sync_jwks(jwks jsonb, issuer text)
    RETURNS TABLE(kid text, action text)
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT s.kid, s.action FROM rowguard._sync_jwks(jwks, issuer, false) s $$;
COMMENT ON FUNCTION rowguard.sync_jwks(jsonb, text)
    IS 'make the issuer''s stored keys equal this JWK Set, in one transaction';

CREATE FUNCTION rowguard.add_secret(secret text, alg text DEFAULT 'HS256',
                                    kid text DEFAULT NULL, issuer text DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bytes bytea;
    needed integer;
    jwk jsonb;
BEGIN
    IF add_secret.secret IS NULL OR add_secret.alg IS NULL THEN
        RAISE EXCEPTION 'secret and alg must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    needed := CASE add_secret.alg WHEN 'HS256' THEN 32 WHEN 'HS384' THEN 48 WHEN 'HS512' THEN 64 END;
    IF needed IS NULL THEN
        RAISE EXCEPTION 'unsupported HMAC algorithm "%"', add_secret.alg
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use HS256, HS384 or HS512.';
    END IF;
    bytes := convert_to(add_secret.secret, 'UTF8');
    -- The secret itself never appears in a message.
    IF octet_length(bytes) < needed THEN
        RAISE EXCEPTION 'HMAC secret too short for %', add_secret.alg
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('%s needs at least %s bytes; this secret has %s.',
                                  add_secret.alg, needed, octet_length(bytes));
    END IF;
    jwk := jsonb_build_object('kty', 'oct', 'alg', add_secret.alg,
                              'k', translate(encode(bytes, 'base64'), E'+/=\n', '-_'));
    IF add_secret.kid IS NOT NULL THEN
        jwk := jwk || jsonb_build_object('kid', add_secret.kid);
    END IF;
    RETURN rowguard.add_key(jwk, add_secret.issuer);
END
$$;
COMMENT ON FUNCTION rowguard.add_secret(text, text, text, text)
    IS 'store an HMAC secret given as plain text (its UTF-8 bytes); returns its kid';

CREATE FUNCTION rowguard.set_jwks_uri(issuer text, uri text)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF set_jwks_uri.issuer IS NULL OR set_jwks_uri.issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF set_jwks_uri.uri IS NULL THEN
        DELETE FROM rowguard.jwks_sources s WHERE s.iss = set_jwks_uri.issuer;
        RETURN;
    END IF;
    IF NOT rowguard._is_https_url(set_jwks_uri.uri) THEN
        RAISE EXCEPTION 'jwks_uri must be an https URL'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Keys are fetched over https only, from a URL with a host and without user information.';
    END IF;
    INSERT INTO rowguard.jwks_sources AS s (iss, jwks_uri) VALUES (set_jwks_uri.issuer, set_jwks_uri.uri)
        ON CONFLICT (iss) DO UPDATE
        SET jwks_uri = EXCLUDED.jwks_uri, failures = 0, last_error = NULL, next_refresh = NULL
        WHERE s.jwks_uri IS DISTINCT FROM EXCLUDED.jwks_uri;
END
$$;
COMMENT ON FUNCTION rowguard.set_jwks_uri(text, text)
    IS 'where the issuer publishes its JWK Set (https only); NULL forgets it';

CREATE FUNCTION rowguard._is_https_url(url text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'rowguard_is_https_url' LANGUAGE C IMMUTABLE STRICT;

CREATE FUNCTION rowguard._refuse_on_standby() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_is_in_recovery() THEN
        RAISE EXCEPTION 'keys cannot be fetched on a standby'
            USING ERRCODE = 'read_only_sql_transaction',
                  DETAIL = 'A standby receives its keys from the primary by replication.';
    END IF;
END
$$;

CREATE FUNCTION rowguard.discover_issuer(issuer text)
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
        RAISE EXCEPTION 'discovery document of "%" does not name it as its issuer', discover_issuer.issuer
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'OpenID Connect discovery requires its "issuer" to equal the issuer exactly.';
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
COMMENT ON FUNCTION rowguard.discover_issuer(text)
    IS 'OpenID Connect discovery: store and return the issuer''s jwks_uri';

CREATE FUNCTION rowguard.refresh_keys(iss text DEFAULT NULL)
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
                fetched := fetched || NULL::jsonb;
                errors := errors || SQLERRM;
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
                    errors[i] := SQLERRM;
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
COMMENT ON FUNCTION rowguard.refresh_keys(text)
    IS 'fetch the JWK Set of one issuer (or of all with a jwks_uri) now and sync it';

REVOKE ALL ON FUNCTION
    rowguard._plan_jwks_sync(text[], text[], text[], jsonb, boolean),
    rowguard._https_get_json(text),
    rowguard._sync_jwks(jsonb, text, boolean),
    rowguard.sync_jwks(jsonb, text),
    rowguard.add_secret(text, text, text, text),
    rowguard.set_jwks_uri(text, text),
    rowguard._is_https_url(text),
    rowguard._refuse_on_standby(),
    rowguard.discover_issuer(text),
    rowguard.refresh_keys(text)
    FROM PUBLIC;
