
-- Token lifecycle: revocation and role-bound tokens (docs/functions.md, "Revocation"
-- and "Role binding"; docs/roles.md). Both tables are read by the C side with index
-- probes and catalog-snapshot scans that check no privileges, like the key tables, so
-- PUBLIC needs (and has) no access to them.

-- One row per revocation. A jti row rejects tokens with that jti; a sub row rejects
-- tokens of that subject issued before issued_before (or without iat). issuer NULL =
-- any issuer. prune_after: from then on the row can match no live token (NULL = kept
-- until an administrator deletes it); revoke_token and revoke_subject delete such rows.
CREATE TABLE rowguard.revocations (
    jti           text CHECK (jti <> ''),
    sub           text,
    issuer        text CHECK (issuer <> ''),
    issued_before timestamptz,
    revoked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    prune_after   timestamptz,
    CONSTRAINT revocations_jti_or_sub CHECK ((jti IS NULL) <> (sub IS NULL)),
    CONSTRAINT revocations_sub_cutoff CHECK (sub IS NULL OR issued_before IS NOT NULL)
);
COMMENT ON TABLE rowguard.revocations IS 'revoked token ids and subjects ("log out everywhere")';
CREATE INDEX revocations_jti_issuer ON rowguard.revocations (jti, issuer);
CREATE INDEX revocations_sub_issuer ON rowguard.revocations (sub, issuer);
CREATE INDEX revocations_prune_after ON rowguard.revocations (prune_after);

-- Roles a token may make current_user (issuer NULL = tokens of any issuer).
CREATE TABLE rowguard.role_bindings (
    role     regrole NOT NULL,
    issuer   text CHECK (issuer <> ''),
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE rowguard.role_bindings IS 'roles that a token''s role claim may switch to';
CREATE UNIQUE INDEX role_bindings_role_issuer
    ON rowguard.role_bindings (role, COALESCE(issuer, ''));

REVOKE ALL ON rowguard.revocations, rowguard.role_bindings FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowguard.revocations', '');
SELECT pg_catalog.pg_extension_config_dump('rowguard.role_bindings', '');

-- Every change reaches every backend (and every hot standby) before its next statement.
-- (The same statement trigger as on rowguard.keys and rowguard.issuers, one per table:
-- rowguard_revocations_changed, rowguard_role_bindings_changed.)
DO $$
DECLARE
    t name;
BEGIN
    FOREACH t IN ARRAY ARRAY['revocations', 'role_bindings']::name[] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rowguard.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION rowguard._keys_changed()',
                       'rowguard_' || t || '_changed', t);
    END LOOP;
END
$$;

-- The longest time, from `t`, during which a token of `p_issuer` that was already
-- alive (or issued) at `t` can still be accepted: max_lifetime + leeway of the issuer
-- (a token with iat after t + leeway is refused as issued in the future, so its exp is
-- at most t + leeway + max_lifetime). NULL when unknown: no issuer rule, no
-- max_lifetime, or, for issuer NULL, any issuer without one. rowguard.leeway (the
-- setting) applies when the issuer has no leeway of its own.
CREATE FUNCTION rowguard._revocation_horizon(p_issuer text, t timestamptz)
    RETURNS timestamptz LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN bool_and(i.max_lifetime IS NOT NULL) AND count(*) > 0
                THEN t + max(i.max_lifetime + coalesce(i.leeway,
                         coalesce(current_setting('rowguard.leeway', true), '30s')::interval))
           END
      FROM rowguard.issuers i
     WHERE p_issuer IS NULL OR i.iss = p_issuer
$$;

-- Deletes revocations that can no longer match a live token; returns how many.
CREATE FUNCTION rowguard._prune_revocations()
    RETURNS bigint LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH gone AS (DELETE FROM rowguard.revocations r
                   WHERE r.prune_after < pg_catalog.now() RETURNING 1)
    SELECT count(*) FROM gone
$$;

CREATE FUNCTION rowguard.revoke_token(jti text, issuer text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF revoke_token.jti IS NULL OR revoke_token.jti = '' THEN
        RAISE EXCEPTION 'jti must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF revoke_token.issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass NULL to revoke the jti for tokens of any issuer.';
    END IF;
    PERFORM rowguard._prune_revocations();
    INSERT INTO rowguard.revocations (jti, issuer, prune_after)
        VALUES (revoke_token.jti, revoke_token.issuer,
                rowguard._revocation_horizon(revoke_token.issuer, now()));
END
$$;
COMMENT ON FUNCTION rowguard.revoke_token(text, text)
    IS 'reject tokens with this jti (of this issuer, when given) from now on';

CREATE FUNCTION rowguard.revoke_subject(sub text, issued_before timestamptz DEFAULT now(),
                                        issuer text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF revoke_subject.sub IS NULL THEN
        RAISE EXCEPTION 'sub must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF revoke_subject.issued_before IS NULL OR NOT isfinite(revoke_subject.issued_before) THEN
        RAISE EXCEPTION 'issued_before must be a finite time'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF revoke_subject.issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass NULL to revoke the subject''s tokens of any issuer.';
    END IF;
    PERFORM rowguard._prune_revocations();
    -- Tokens issued before issued_before are alive at most until the horizon counted
    -- from the later of issued_before and now (a token without iat is refused by an
    -- issuer with max_lifetime, so the rule covers those too).
    INSERT INTO rowguard.revocations (sub, issuer, issued_before, prune_after)
        VALUES (revoke_subject.sub, revoke_subject.issuer, revoke_subject.issued_before,
                rowguard._revocation_horizon(revoke_subject.issuer,
                                             greatest(now(), revoke_subject.issued_before)));
END
$$;
COMMENT ON FUNCTION rowguard.revoke_subject(text, timestamptz, text)
    IS 'reject tokens of this sub issued before issued_before (or without iat): log out everywhere';

CREATE FUNCTION rowguard.allow_role(role regrole, issuer text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r pg_catalog.pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE oid = allow_role.role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role "%" cannot be bound to tokens', r.rolname
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Superusers and roles with BYPASSRLS would escape every policy.';
    END IF;
    IF allow_role.issuer = '' THEN
        RAISE EXCEPTION 'issuer must not be empty' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass NULL to allow the role for tokens of any issuer.';
    END IF;
    INSERT INTO rowguard.role_bindings (role, issuer)
        VALUES (allow_role.role, allow_role.issuer)
        ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION rowguard.allow_role(regrole, text)
    IS 'a token (of this issuer, when given) may make this role current_user';

CREATE FUNCTION rowguard.disallow_role(role regrole, issuer text DEFAULT NULL)
    RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM rowguard.role_bindings b
     WHERE b.role = disallow_role.role
       AND b.issuer IS NOT DISTINCT FROM disallow_role.issuer;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION rowguard.disallow_role(regrole, text)
    IS 'take back allow_role; identities in force lose the role at their next statement';

REVOKE ALL ON FUNCTION
    rowguard._revocation_horizon(text, timestamptz),
    rowguard._prune_revocations(),
    rowguard.revoke_token(text, text),
    rowguard.revoke_subject(text, timestamptz, text),
    rowguard.allow_role(regrole, text),
    rowguard.disallow_role(regrole, text)
    FROM PUBLIC;
