-- Policy templates: tenant, owner and scope isolation, applied and exercised by a table
-- owner that is not a superuser (rowguard_app owns schema tpl and every table in it).
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
-- Tokens with integer and text tenants and narrower scopes (minted as superuser).
SELECT rowguard.sign('{"sub":"carol","tenant_id":7,"org":"acme","scope":"orders:read","exp":4102444800}',
                     'hs256-key') AS carol \gset
SELECT rowguard.sign('{"sub":"dave","tenant_id":8,"org":"globex","scope":"orders:write","exp":4102444800}',
                     'hs256-key') AS dave \gset
SELECT rowguard.sign('{"sub":"erin","tenant_id":7,"org":"acme","exp":4102444800}',
                     'hs256-key') AS erin \gset
CREATE SCHEMA tpl AUTHORIZATION rowguard_app;
GRANT USAGE ON SCHEMA tpl TO rowguard_admin;

-- The templates run as their caller (no SECURITY DEFINER) with a pinned search_path.
SELECT p.oid::regprocedure AS function, p.prosecdef, p.proconfig,
       has_function_privilege('rowguard_app', p.oid, 'EXECUTE') AS app_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace
   AND p.proname IN ('tenant_policy', 'owner_policy', 'scope_policy', 'drop_policies', 'lint')
 ORDER BY p.proname;

SET ROLE rowguard_app;
CREATE TABLE tpl.orders (
    id        bigint PRIMARY KEY,
    tenant_id uuid NOT NULL,
    owner_id  text NOT NULL,
    note      text
);
CREATE INDEX ON tpl.orders (tenant_id);
INSERT INTO tpl.orders VALUES
    (1, :'tenant_a', 'alice', 'a1'), (2, :'tenant_a', 'alice', 'a2'),
    (3, :'tenant_a', 'zoe',   'a3'), (4, :'tenant_b', 'bob',   'b1'),
    (5, :'tenant_b', 'bob',   'b2');

-- apply => false returns the script and changes nothing.
CREATE TEMP TABLE before AS
    SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
      FROM pg_policies WHERE schemaname = 'tpl';
\a \t
SELECT rowguard.tenant_policy('tpl.orders', apply => false);
\a \t
SELECT count(*) AS policies FROM pg_policies WHERE schemaname = 'tpl';
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'tpl.orders'::regclass;

-- Applied: the same script, run.
SELECT rowguard.tenant_policy('tpl.orders') = rowguard.tenant_policy('tpl.orders', apply => false)
    AS same_script;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'tpl.orders'::regclass;
SELECT policyname, permissive, roles, cmd, qual, with_check
  FROM pg_policies WHERE schemaname = 'tpl' ORDER BY policyname;

-- Idempotent: the template again, and its script run twice, leave the same policies.
DROP TABLE before;
CREATE TEMP TABLE before AS
    SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
      FROM pg_policies WHERE schemaname = 'tpl';
SELECT length(rowguard.tenant_policy('tpl.orders')) > 0 AS reapplied;
SELECT outcome(rowguard.tenant_policy('tpl.orders', apply => false)) AS script_run_once;
SELECT outcome(rowguard.tenant_policy('tpl.orders', apply => false)) AS script_run_twice;
(SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
   FROM pg_policies WHERE schemaname = 'tpl'
 EXCEPT SELECT * FROM before)
UNION ALL
(SELECT * FROM before
 EXCEPT SELECT tablename, policyname, permissive, roles, cmd, qual, with_check
   FROM pg_policies WHERE schemaname = 'tpl');

-- The owner is bound (FORCE): unauthenticated it sees nothing and cannot insert.
SELECT count(*) AS unauthenticated_rows FROM tpl.orders;
SELECT outcome($$INSERT INTO tpl.orders VALUES (9, '11111111-1111-4111-8111-111111111111', 'x', 'x')$$)
    AS unauthenticated_insert;

-- Isolation.
SET rowguard.token = :'alice_hs256';
SELECT id, owner_id, note FROM tpl.orders ORDER BY id;
SET rowguard.token = :'bob_hs256';
SELECT id, owner_id, note FROM tpl.orders ORDER BY id;
-- Cross-tenant INSERT is refused; an own-tenant one is not.
SELECT outcome(format('INSERT INTO tpl.orders VALUES (6, %L, %L, %L)', :'tenant_a', 'bob', 'forged'))
    AS insert_into_a;
INSERT INTO tpl.orders VALUES (6, :'tenant_b', 'bob', 'b3');
-- UPDATE and DELETE of the other tenant's rows touch nothing.
UPDATE tpl.orders SET note = 'taken' WHERE id = 1;
DELETE FROM tpl.orders WHERE id IN (1, 2, 3);
UPDATE tpl.orders SET note = note || '!' RETURNING id, note;
-- Moving an own row into another tenant is refused.
SELECT outcome(format('UPDATE tpl.orders SET tenant_id = %L WHERE id = 4', :'tenant_a'))
    AS move_to_a;
-- ON CONFLICT DO UPDATE: an own row is updated; a conflict with the other tenant's row
-- is an error, never an update of it.
INSERT INTO tpl.orders VALUES (5, :'tenant_b', 'bob', 'b2 upsert')
    ON CONFLICT (id) DO UPDATE SET note = EXCLUDED.note RETURNING id, note;
SELECT outcome(format('INSERT INTO tpl.orders VALUES (1, %L, %L, %L) ON CONFLICT (id) DO UPDATE SET note = %L',
                      :'tenant_b', 'bob', 'x', 'overwritten')) AS upsert_other_tenant;
-- COPY TO shows the caller's rows only.
COPY tpl.orders TO STDOUT;
COPY (SELECT id, note FROM tpl.orders ORDER BY id) TO STDOUT;
SET rowguard.token = :'alice_hs256';
SELECT id, note FROM tpl.orders ORDER BY id;

-- A leaky function in WHERE sees only the caller's rows: the policy runs first.
CREATE FUNCTION tpl.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    RAISE NOTICE 'leak saw %', $1;
    RETURN true;
END
$$;
SELECT id FROM tpl.orders WHERE tpl.leak(note) ORDER BY id;

-- A permissive policy added later, even USING (true), does not cross tenants:
-- rowguard_tenant is restrictive and is ANDed with it.
CREATE POLICY everything ON tpl.orders USING (true) WITH CHECK (true);
SELECT id, note FROM tpl.orders ORDER BY id;
SELECT outcome(format('INSERT INTO tpl.orders VALUES (7, %L, %L, %L)', :'tenant_b', 'alice', 'x'))
    AS insert_into_b;
-- Re-running the template next to it keeps rowguard_base as it was and adds no other.
SELECT position('rowguard_base' IN rowguard.tenant_policy('tpl.orders', apply => false)) AS base_in_script;
DROP POLICY everything ON tpl.orders;
RESET rowguard.token;

-- Argument checks.
SELECT outcome($$SELECT rowguard.tenant_policy('tpl.orders', 'tenant')$$) AS no_column;
SELECT outcome($$SELECT rowguard.tenant_policy('tpl.orders', claim => '')$$) AS empty_claim;
SELECT outcome($$SELECT rowguard.tenant_policy(NULL)$$) AS null_table;
SELECT outcome($$SELECT rowguard.owner_policy('tpl.orders', command => 'TRUNCATE')$$) AS bad_command;
SELECT outcome($$SELECT rowguard.scope_policy('tpl.orders', 'select', 'a b')$$) AS two_scopes;
CREATE VIEW tpl.orders_view AS SELECT * FROM tpl.orders;
SELECT outcome($$SELECT rowguard.tenant_policy('tpl.orders_view')$$) AS on_a_view;
DROP VIEW tpl.orders_view;
RESET ROLE;

-- Only the owner applies templates: another role may read the script but not run it.
SET ROLE rowguard_admin;
SELECT outcome($$SELECT rowguard.tenant_policy('tpl.orders')$$) AS not_owner;
SELECT outcome($$SELECT rowguard.drop_policies('tpl.orders')$$) AS not_owner_drop;
SELECT length(rowguard.tenant_policy('tpl.orders', apply => false)) > 0 AS script_only;
RESET ROLE;

-- bigint, integer and text tenants: the accessor follows the column type.
SET ROLE rowguard_app;
CREATE TABLE tpl.big (id int PRIMARY KEY, tenant_id bigint NOT NULL, note text);
CREATE TABLE tpl.small (id int PRIMARY KEY, tenant_id integer NOT NULL, note text);
CREATE TABLE tpl.named (id int PRIMARY KEY, org varchar(20) NOT NULL, note text);
CREATE INDEX ON tpl.big (tenant_id);
CREATE INDEX ON tpl.small (tenant_id);
CREATE INDEX ON tpl.named (org);
INSERT INTO tpl.big VALUES (1, 7, 'carol'), (2, 8, 'dave'), (3, 7, 'carol');
INSERT INTO tpl.small VALUES (1, 7, 'carol'), (2, 8, 'dave');
INSERT INTO tpl.named VALUES (1, 'acme', 'carol'), (2, 'globex', 'dave');
SELECT length(rowguard.tenant_policy('tpl.big')) > 0 AS big,
       length(rowguard.tenant_policy('tpl.small')) > 0 AS small,
       length(rowguard.tenant_policy('tpl.named', 'org', 'org')) > 0 AS named;
SELECT tablename, qual FROM pg_policies
 WHERE schemaname = 'tpl' AND policyname = 'rowguard_tenant' ORDER BY tablename;
SET rowguard.token = :'carol';
SELECT 'big' AS t, id, note FROM tpl.big UNION ALL
SELECT 'small', id, note FROM tpl.small UNION ALL
SELECT 'named', id, note FROM tpl.named ORDER BY 1, 2;
SELECT outcome('INSERT INTO tpl.big VALUES (4, 8, ''forged'')') AS big_insert_other,
       outcome('INSERT INTO tpl.small VALUES (4, 8, ''forged'')') AS small_insert_other,
       outcome('INSERT INTO tpl.named VALUES (4, ''globex'', ''forged'')') AS named_insert_other;
SET rowguard.token = :'dave';
SELECT 'big' AS t, id, note FROM tpl.big UNION ALL
SELECT 'small', id, note FROM tpl.small UNION ALL
SELECT 'named', id, note FROM tpl.named ORDER BY 1, 2;
-- A uuid token on a bigint policy: the claim is not an integer, the query fails loudly.
SET rowguard.token = :'alice_hs256';
SELECT outcome('SELECT count(*) FROM tpl.big') AS uuid_tenant_on_bigint;
RESET rowguard.token;

-- Other column types compare through a cast to the column's type (bpchar keeps its
-- length: no character(1) truncation).
CREATE TABLE tpl.odd (code character(3), n numeric);
\a \t
SELECT rowguard.tenant_policy('tpl.odd', 'code', apply => false);
SELECT rowguard.owner_policy('tpl.odd', 'n', command => 'select', apply => false);
\a \t
DROP TABLE tpl.odd;

-- Owner policy alone: alice and zoe share tenant A, each sees their own rows.
CREATE TABLE tpl.notes (id int PRIMARY KEY, owner_id text NOT NULL, body text);
INSERT INTO tpl.notes VALUES (1, 'alice', 'mine'), (2, 'bob', 'his');
\a \t
SELECT rowguard.owner_policy('tpl.notes');
\a \t
SET rowguard.token = :'alice_hs256';
SELECT * FROM tpl.notes ORDER BY id;
SELECT outcome('INSERT INTO tpl.notes VALUES (3, ''bob'', ''forged'')') AS insert_as_bob;
SELECT outcome('UPDATE tpl.notes SET owner_id = ''bob'' WHERE id = 1') AS give_away;
SET rowguard.token = :'bob_hs256';
SELECT * FROM tpl.notes ORDER BY id;
RESET rowguard.token;
-- One command: here everyone of the tenant may read and update, only owners delete.
-- A second call replaces rowguard_owner (one owner rule per table).
SELECT rowguard.drop_policies('tpl.notes') AS dropped;
CREATE INDEX ON tpl.notes (owner_id);
SELECT length(rowguard.owner_policy('tpl.notes', command => 'delete')) > 0 AS owner_delete;
SELECT policyname, permissive, cmd, qual, with_check
  FROM pg_policies WHERE schemaname = 'tpl' AND tablename = 'notes' ORDER BY policyname;
SET rowguard.token = :'alice_hs256';
SELECT * FROM tpl.notes ORDER BY id;
UPDATE tpl.notes SET body = body || '!' RETURNING *;
DELETE FROM tpl.notes RETURNING *;
RESET rowguard.token;
SELECT length(rowguard.owner_policy('tpl.notes', command => 'insert')) > 0 AS owner_insert;
SELECT policyname, permissive, cmd, qual, with_check
  FROM pg_policies WHERE schemaname = 'tpl' AND tablename = 'notes' ORDER BY policyname;
SET rowguard.token = :'alice_hs256';
SELECT outcome('INSERT INTO tpl.notes VALUES (3, ''bob'', ''forged'')') AS insert_as_bob;
INSERT INTO tpl.notes VALUES (3, 'alice', 'new');
DELETE FROM tpl.notes WHERE id = 2 RETURNING *;
RESET rowguard.token;

-- Owner and tenant together: the warning proposes the composite index.
SELECT length(rowguard.owner_policy('tpl.orders')) > 0 AS owner_on_orders;
SET rowguard.token = :'alice_hs256';
SELECT id, owner_id, note FROM tpl.orders ORDER BY id;
RESET rowguard.token;

-- Scope policies alone: reading needs orders:read, writing orders:write.
CREATE TABLE tpl.catalog (id int PRIMARY KEY, name text);
INSERT INTO tpl.catalog VALUES (1, 'widget');
\a \t
SELECT rowguard.scope_policy('tpl.catalog', 'SELECT', 'orders:read');
\a \t
SELECT length(rowguard.scope_policy('tpl.catalog', 'insert', 'orders:write')) > 0 AS ins,
       length(rowguard.scope_policy('tpl.catalog', 'update', 'orders:write')) > 0 AS upd,
       length(rowguard.scope_policy('tpl.catalog', 'delete', 'orders:write')) > 0 AS del;
SELECT policyname, cmd, qual, with_check
  FROM pg_policies WHERE schemaname = 'tpl' AND tablename = 'catalog' ORDER BY policyname;
SET rowguard.token = :'carol';  -- orders:read
SELECT * FROM tpl.catalog;
SELECT outcome('INSERT INTO tpl.catalog VALUES (2, ''gadget'')') AS carol_insert;
SET rowguard.token = :'dave';   -- orders:write
SELECT * FROM tpl.catalog;
INSERT INTO tpl.catalog VALUES (2, 'gadget');
SET rowguard.token = :'erin';   -- no scope
SELECT * FROM tpl.catalog;
RESET rowguard.token;

-- Tenant, owner and scope combined: every rule must hold.
SELECT length(rowguard.scope_policy('tpl.big', 'ALL', 'orders:read')) > 0 AS scope_on_big,
       length(rowguard.owner_policy('tpl.big', 'note')) > 0 AS owner_on_big;
SET rowguard.token = :'carol';   -- tenant 7, sub carol, orders:read
SELECT * FROM tpl.big ORDER BY id;
SET rowguard.token = :'erin';    -- tenant 7, no scope
SELECT * FROM tpl.big ORDER BY id;
SET rowguard.token = :'dave';    -- tenant 8, sub dave, no orders:read
SELECT * FROM tpl.big ORDER BY id;
RESET rowguard.token;

-- drop_policies removes rowguard's policies only; row level security stays on.
CREATE POLICY mine ON tpl.big USING (true);
SELECT rowguard.drop_policies('tpl.big') AS dropped;
SELECT policyname FROM pg_policies WHERE schemaname = 'tpl' AND tablename = 'big';
SELECT rowguard.drop_policies('tpl.small') AS dropped;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'tpl.small'::regclass;
SELECT count(*) AS rows_after_drop FROM tpl.small;
SELECT rowguard.drop_policies('tpl.small') AS dropped_again;
RESET ROLE;
