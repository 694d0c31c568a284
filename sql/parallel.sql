-- Parallel workers see the leader's identity; generic plans follow the identity in
-- force when they run.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all

CREATE TABLE public.docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, owner text NOT NULL);
INSERT INTO public.docs
SELECT g, CASE WHEN g % 3 = 0 THEN :'tenant_a'::uuid ELSE :'tenant_b'::uuid END,
       CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END
  FROM generate_series(1, 30000) g;
ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.docs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON public.docs USING (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT ON public.docs TO rowguard_app;
ANALYZE public.docs;

-- The regression server does not preload rowguard: load it before the first SET of
-- rowguard.token, which would otherwise be refused (docs/security-model.md, "Before
-- rowguard is loaded").
LOAD 'rowguard';
SET ROLE rowguard_app;
-- Serial.
SET max_parallel_workers_per_gather = 0;
SET rowguard.token = :'alice_hs256';
SELECT count(*) AS serial_alice FROM public.docs;
-- Forced parallel plan: the filter runs in the workers, with the same answer.
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- force_parallel_mode is called debug_parallel_query since PostgreSQL 16.
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
    THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_parallel \gset
SET :force_parallel = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM public.docs;
SELECT count(*) AS parallel_alice FROM public.docs;
SELECT rowguard.sub() AS leader_sub;
SET rowguard.token = :'bob_hs256';
SELECT count(*) AS parallel_bob FROM public.docs;
-- Unauthenticated workers see nothing.
RESET rowguard.token;
SELECT count(*) AS parallel_nobody FROM public.docs;
-- A transaction-local identity reaches the workers too.
BEGIN;
SELECT rowguard.authenticate(:'alice_es256') ->> 'sub' AS local_identity;
SELECT count(*) AS parallel_local FROM public.docs;
COMMIT;
RESET :force_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- Generic plans: the claim is evaluated at execution, not folded at planning.
SET plan_cache_mode = force_generic_plan;
PREPARE mine(bigint) AS SELECT count(*) FROM public.docs WHERE id <= $1;
PREPARE by_claim AS SELECT count(*) FROM public.docs WHERE owner = rowguard.sub();
SET rowguard.token = :'alice_hs256';
EXECUTE mine(3000);
EXECUTE by_claim;
SET rowguard.token = :'bob_hs256';
EXECUTE mine(3000);
EXECUTE by_claim;
RESET rowguard.token;
EXECUTE mine(3000);
EXECUTE by_claim;
RESET plan_cache_mode;
DEALLOCATE ALL;
RESET ROLE;
DROP TABLE public.docs;
