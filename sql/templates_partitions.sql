-- Partitioned tables: the template protects the parent and every existing partition,
-- so a query that names a partition is filtered too.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
SET ROLE rowguard_app;
CREATE TABLE tpl.events (id bigint NOT NULL, tenant_id uuid NOT NULL, at date NOT NULL,
                         what text) PARTITION BY RANGE (at);
CREATE TABLE tpl.events_2024 PARTITION OF tpl.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY HASH (id);
CREATE TABLE tpl.events_2024_h0 PARTITION OF tpl.events_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE tpl.events_2024_h1 PARTITION OF tpl.events_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE tpl.events_2025 PARTITION OF tpl.events
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO tpl.events VALUES
    (1, :'tenant_a', '2024-03-01', 'a 2024'), (2, :'tenant_b', '2024-03-01', 'b 2024'),
    (3, :'tenant_a', '2025-03-01', 'a 2025'), (4, :'tenant_b', '2025-03-01', 'b 2025'),
    (5, :'tenant_a', '2024-06-01', 'a 2024'), (6, :'tenant_b', '2024-06-01', 'b 2024');

-- Without an index the warning names the leaves and proposes one on the parent.
\a \t
SELECT rowguard.tenant_policy('tpl.events');
\a \t
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       array_agg(p.polname::text ORDER BY p.polname) AS policies
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relnamespace = 'tpl'::regnamespace AND c.relname LIKE 'events%' AND c.relkind IN ('r', 'p')
 GROUP BY 1, 2, 3 ORDER BY 1;
CREATE INDEX ON tpl.events (tenant_id);
SELECT length(rowguard.tenant_policy('tpl.events')) > 0 AS reapplied_without_warning;

SET rowguard.token = :'alice_hs256';
SELECT tableoid::regclass AS partition, id, what FROM tpl.events ORDER BY id;
-- Partitions named directly are protected by their own copy of the policies.
SELECT id, what FROM tpl.events_2024 ORDER BY id;
SELECT id, what FROM tpl.events_2024_h0 UNION ALL SELECT id, what FROM tpl.events_2024_h1 ORDER BY id;
SELECT id, what FROM tpl.events_2025 ORDER BY id;
SELECT outcome(format('INSERT INTO tpl.events_2025 VALUES (7, %L, %L, %L)', :'tenant_b', '2025-05-01', 'forged'))
    AS insert_into_partition;
UPDATE tpl.events_2025 SET what = 'taken' WHERE id = 4;
DELETE FROM tpl.events_2024_h1 WHERE tenant_id <> rowguard.claim_uuid('tenant_id');
SET rowguard.token = :'bob_hs256';
SELECT tableoid::regclass AS partition, id, what FROM tpl.events ORDER BY id;
RESET rowguard.token;
SELECT count(*) AS unauthenticated_partition_rows FROM tpl.events_2024_h0;

-- The index condition reaches every partition (and pruning still works).
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SET rowguard.token = :'alice_hs256';
SELECT * FROM plan($$SELECT * FROM tpl.events WHERE at >= '2025-01-01'$$);
RESET rowguard.token;
RESET enable_bitmapscan;
RESET enable_seqscan;

-- A partition created later is not covered until the template runs again; lint says so.
CREATE TABLE tpl.events_2026 PARTITION OF tpl.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT severity, object, problem FROM rowguard.lint()
 WHERE object LIKE '%tpl.events%' ORDER BY object, problem;
SELECT length(rowguard.tenant_policy('tpl.events')) > 0 AS reapplied;
SELECT count(*) AS findings FROM rowguard.lint() WHERE object LIKE '%tpl.events%';

-- drop_policies clears the whole tree.
SELECT rowguard.drop_policies('tpl.events') AS dropped;
SELECT count(*) AS rowguard_policies_left FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = 'tpl'::regnamespace AND c.relname LIKE 'events%';
DROP TABLE tpl.events;
RESET ROLE;
