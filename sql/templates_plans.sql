-- Plans of protected queries: the tenant predicate is an index condition, generic plans
-- follow the identity in force at execution, and parallel workers apply the same policy.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
SELECT rowguard.sign('{"sub":"carol","tenant_id":7,"org":"acme","exp":4102444800}',
                     'hs256-key') AS carol \gset

SET ROLE rowguard_app;
-- 20000 orders of 50 tenants (alice's tenant A and bob's B among them), by a
-- non-superuser owner; integer and text tenants alongside.
CREATE TABLE tpl.ledger (id bigint PRIMARY KEY, tenant_id uuid NOT NULL, amount int NOT NULL);
INSERT INTO tpl.ledger
SELECT g, CASE g % 50 WHEN 0 THEN :'tenant_a'::uuid WHEN 1 THEN :'tenant_b'::uuid
                      ELSE md5((g % 50)::text)::uuid END, g % 100
  FROM generate_series(1, 20000) g;
CREATE INDEX ledger_tenant_idx ON tpl.ledger (tenant_id);
CREATE TABLE tpl.ledger_int (id bigint PRIMARY KEY, tenant_id integer NOT NULL, amount int NOT NULL);
INSERT INTO tpl.ledger_int SELECT g, g % 50, g % 100 FROM generate_series(1, 20000) g;
CREATE INDEX ledger_int_tenant_idx ON tpl.ledger_int (tenant_id);
CREATE TABLE tpl.ledger_text (id bigint PRIMARY KEY, org text NOT NULL, amount int NOT NULL);
INSERT INTO tpl.ledger_text SELECT g, 'org' || (g % 50), g % 100 FROM generate_series(1, 20000) g;
UPDATE tpl.ledger_text SET org = 'acme' WHERE org = 'org7';
CREATE INDEX ledger_text_org_idx ON tpl.ledger_text (org);
SELECT length(rowguard.tenant_policy('tpl.ledger')) > 0 AS uuid_tenant,
       length(rowguard.tenant_policy('tpl.ledger_int')) > 0 AS int_tenant,
       length(rowguard.tenant_policy('tpl.ledger_text', 'org', 'org')) > 0 AS text_tenant;
ANALYZE tpl.ledger, tpl.ledger_int, tpl.ledger_text;

SET rowguard.token = :'alice_hs256';
-- A bitmap scan: the policy is the Index Cond, and the heap scan has no Filter on it
-- (Recheck Cond is only used for lossy pages).
SET enable_seqscan = off;
SELECT * FROM plan($$SELECT * FROM tpl.ledger$$);
SELECT count(*), sum(amount) FROM tpl.ledger;
-- A plain index scan, with the application's own predicate next to it.
SET enable_bitmapscan = off;
SELECT * FROM plan($$SELECT * FROM tpl.ledger$$);
SELECT * FROM plan($$SELECT * FROM tpl.ledger WHERE amount > 50 ORDER BY tenant_id$$);
-- What the hand-written query costs is what the protected one costs: the same plan.
RESET ROLE;
SELECT * FROM plan($$
SELECT * FROM tpl.ledger WHERE tenant_id = rowguard.claim_uuid('tenant_id')$$);
SET ROLE rowguard_app;
-- An integer column compared with claim_bigint: int4 = int8 is in the btree family.
SET rowguard.token = :'carol';
SELECT * FROM plan($$SELECT * FROM tpl.ledger_int$$);
SELECT count(*) AS carol_int_rows FROM tpl.ledger_int;
SELECT * FROM plan($$SELECT * FROM tpl.ledger_text$$);
SELECT count(*) AS carol_text_rows FROM tpl.ledger_text;
RESET enable_bitmapscan;
RESET enable_seqscan;

-- Generic plans across identity switches: one plan, the claim read at each execution.
SET plan_cache_mode = force_generic_plan;
PREPARE mine(int) AS SELECT count(*), min(id) FROM tpl.ledger WHERE amount < $1;
PREPARE leak_probe AS SELECT count(*) FROM tpl.ledger WHERE tenant_id = '22222222-2222-4222-8222-222222222222';
SET rowguard.token = :'alice_hs256';
EXECUTE mine(100);
EXECUTE leak_probe;
SET rowguard.token = :'bob_hs256';
EXECUTE mine(100);
EXECUTE leak_probe;
BEGIN;
SELECT rowguard.authenticate(:'alice_es256') ->> 'sub' AS local_identity;
EXECUTE mine(100);
COMMIT;
RESET rowguard.token;
EXECUTE mine(100);
SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'mine';
DEALLOCATE ALL;
RESET plan_cache_mode;

-- Forced parallel plans: the policy runs in the workers, with the leader's identity.
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET min_parallel_index_scan_size = 0;
-- force_parallel_mode is called debug_parallel_query since PostgreSQL 16.
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
    THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_parallel \gset
SET :force_parallel = on;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SET rowguard.token = :'alice_hs256';
SELECT * FROM plan($$SELECT count(*) FROM tpl.ledger$$);
SELECT count(*) AS parallel_alice FROM tpl.ledger;
SET rowguard.token = :'bob_hs256';
SELECT count(*) AS parallel_bob FROM tpl.ledger;
RESET rowguard.token;
SELECT count(*) AS parallel_nobody FROM tpl.ledger;
RESET enable_indexscan;
RESET enable_bitmapscan;
RESET :force_parallel;
RESET min_parallel_index_scan_size;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET max_parallel_workers_per_gather;
DROP TABLE tpl.ledger, tpl.ledger_int, tpl.ledger_text;
RESET ROLE;
