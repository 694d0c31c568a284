-- rowguard SQL benchmarks: roles, keys, helpers and the tokens of case 4.
-- Run by scripts/bench.sh as the superuser postgres from the repository root, with
--   -v ntokens=N   distinct pre-minted tokens per algorithm (case 4)
\set ON_ERROR_STOP 1
\set ECHO none
\i test/fixtures/keys.psql
\set ECHO errors
CREATE EXTENSION rowguard;

-- bench_owner owns the tables (RLS is forced, so the owner is bound too);
-- bench_app runs protected queries (its tokens name bench_user, the NOLOGIN role they are
-- bound to when role binding is on: 0.3.0 binds no LOGIN role, docs/roles.md);
-- bench_bypass runs the hand-written literal queries;
-- bench_nocache verifies without the verified-token cache (rowguard.cache_size is
-- superuser-only, so it is a setting of the role).
CREATE ROLE bench_owner;
CREATE ROLE bench_app LOGIN NOBYPASSRLS;
CREATE ROLE bench_user NOLOGIN NOBYPASSRLS;
CREATE ROLE bench_bypass LOGIN BYPASSRLS;
CREATE ROLE bench_nocache LOGIN NOBYPASSRLS;
ALTER ROLE bench_nocache SET rowguard.cache_size = 0;
CREATE SCHEMA bench AUTHORIZATION bench_owner;
GRANT USAGE ON SCHEMA bench TO bench_app, bench_user, bench_bypass, bench_nocache;
ALTER DEFAULT PRIVILEGES FOR ROLE bench_owner IN SCHEMA bench
    GRANT SELECT ON TABLES TO bench_app, bench_user, bench_bypass, bench_nocache;

-- Every key of the fixtures (private JWKs, so rowguard.sign can mint with them).
SELECT count(rowguard.add_key(k::jsonb)) AS keys
  FROM (VALUES (:'jwk_hs256'), (:'jwk_hs384'), (:'jwk_hs512'),
               (:'jwk_rs256'), (:'jwk_rs384'), (:'jwk_rs512'),
               (:'jwk_ps256'), (:'jwk_ps384'), (:'jwk_ps512'),
               (:'jwk_es256'), (:'jwk_es384'), (:'jwk_es512'), (:'jwk_eddsa')) v(k);

-- Tenant t's id.
CREATE FUNCTION bench.tenant_uuid(t int) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT md5('tenant-' || t)::uuid $$;

-- The claims of a realistic access token of tenant t (about 300 bytes of JSON).
CREATE FUNCTION bench.claims(t int, jti text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'iss', 'https://issuer.example', 'aud', 'rowguard-bench',
        'sub', '6a1f4c2e-8d3b-4f7a-9c1e-2b5d7e9f0a13', 'iat', 1700000000, 'exp', 4102444800,
        'jti', jti, 'tenant_id', bench.tenant_uuid(t), 'role', 'bench_user',
        'roles', jsonb_build_array('reader', 'writer'), 'scope', 'orders:read orders:write')
$$;

-- bench.make_table(name, rows, tenants, policy): rows spread round-robin over the tenants
-- (a tenant's rows are interleaved with everyone's, as in a shared table), the primary key
-- on id and the tenant index (tenant_id, created_at), then either rowguard.tenant_policy
-- ('rowguard'), PostgREST's current_setting policy ('postgrest') or no policy ('none').
-- Tenant t holds ids t, t + tenants, t + 2 * tenants, ...; its k-th row was created
-- k minutes after 2024-01-01.
CREATE FUNCTION bench.make_table(tbl text, nrows bigint, ntenants int, policy text)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS bench.%I', tbl);
    EXECUTE format('CREATE TABLE bench.%I (id bigint NOT NULL, tenant_id uuid NOT NULL, '
                   'amount int NOT NULL, created_at timestamptz NOT NULL)', tbl);
    EXECUTE format('INSERT INTO bench.%I SELECT g, bench.tenant_uuid((g %% %s)::int), '
                   '((g * 7919) %% 1000)::int, '
                   'timestamptz ''2024-01-01 00:00:00+00'' + (g / %s) * interval ''1 minute'' '
                   'FROM generate_series(0::bigint, %s - 1) g', tbl, ntenants, ntenants, nrows);
    EXECUTE format('ALTER TABLE bench.%I ADD PRIMARY KEY (id)', tbl);
    EXECUTE format('CREATE INDEX %I ON bench.%I (tenant_id, created_at)', tbl || '_tenant_idx', tbl);
    EXECUTE format('ALTER TABLE bench.%I OWNER TO bench_owner', tbl);
    EXECUTE format('GRANT SELECT ON bench.%I TO bench_app, bench_user, bench_bypass, bench_nocache', tbl);
    IF policy = 'rowguard' THEN
        PERFORM rowguard.tenant_policy(format('bench.%I', tbl)::regclass);
    ELSIF policy = 'postgrest' THEN
        EXECUTE format('ALTER TABLE bench.%I ENABLE ROW LEVEL SECURITY', tbl);
        EXECUTE format('ALTER TABLE bench.%I FORCE ROW LEVEL SECURITY', tbl);
        EXECUTE format('CREATE POLICY pgrst_tenant ON bench.%I USING (tenant_id = '
                       '(current_setting(''request.jwt.claims'', true)::jsonb ->> ''tenant_id'')::uuid)',
                       tbl);
    END IF;
END
$$;

-- Case 4: distinct tokens per algorithm, minted with the stored private keys.
CREATE TABLE bench.tokens (alg text, n int, token text NOT NULL, PRIMARY KEY (alg, n));
INSERT INTO bench.tokens
SELECT a.alg, g, rowguard.sign(bench.claims(7, a.alg || '-' || g), lower(a.alg) || '-key')
  FROM unnest(ARRAY['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384',
                    'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']) a(alg),
       generate_series(1, :ntokens) g;
ALTER TABLE bench.tokens OWNER TO bench_owner;
GRANT SELECT ON bench.tokens TO bench_app, bench_user, bench_bypass, bench_nocache;
