-- A schema seeded with one leak of each kind rowguard.prove_isolation must find
-- (test/integration/pgtap.sh). Run as a superuser in a database with rowguard.
SET client_min_messages = warning;
CREATE ROLE leak_app NOLOGIN;
CREATE ROLE leak_owner NOLOGIN;
CREATE SCHEMA leaks;
GRANT USAGE ON SCHEMA leaks TO leak_app;

-- 1. A permissive policy that ORs in true, and no rowguard template on the table.
CREATE TABLE leaks.or_true (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
ALTER TABLE leaks.or_true ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY wide ON leaks.or_true
    USING (tenant_id = (SELECT rowguard.claim('tenant_id')) OR true);

-- 2 and 3. A correctly protected table, read through a view without security_invoker
--    and a SECURITY DEFINER function, both owned by a superuser.
CREATE TABLE leaks.orders (id int PRIMARY KEY, tenant_id text NOT NULL, amount int);
CREATE INDEX ON leaks.orders (tenant_id);
SELECT rowguard.tenant_policy('leaks.orders') IS NOT NULL AS protected;
CREATE VIEW leaks.order_totals AS SELECT tenant_id, sum(amount) AS total FROM leaks.orders GROUP BY tenant_id;
CREATE FUNCTION leaks.all_orders() RETURNS SETOF leaks.orders
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT * FROM leaks.orders';

-- 4. A trigger that copies every new post into the feed of another tenant.
CREATE TABLE leaks.posts (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
CREATE INDEX ON leaks.posts (tenant_id);
SELECT rowguard.tenant_policy('leaks.posts') IS NOT NULL AS protected;
CREATE TABLE leaks.feed (id serial PRIMARY KEY, tenant_id text NOT NULL, body text);
CREATE INDEX ON leaks.feed (tenant_id);
SELECT rowguard.tenant_policy('leaks.feed') IS NOT NULL AS protected;
CREATE FUNCTION leaks.copy_to_feed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO leaks.feed (tenant_id, body) VALUES ('acme', NEW.body);
    RETURN NEW;
END $$;
CREATE TRIGGER copy_to_feed AFTER INSERT OR UPDATE ON leaks.posts
    FOR EACH ROW EXECUTE FUNCTION leaks.copy_to_feed();

-- 5. A rule that archives deleted messages into another tenant's rows (the rule runs
--    with the rights of the table's owner, here a superuser).
CREATE TABLE leaks.messages (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
CREATE INDEX ON leaks.messages (tenant_id);
SELECT rowguard.tenant_policy('leaks.messages') IS NOT NULL AS protected;
CREATE RULE archive AS ON DELETE TO leaks.messages
    DO ALSO INSERT INTO leaks.feed (tenant_id, body) VALUES ('acme', OLD.body);

-- 6. A policy function declared PARALLEL SAFE that lets every row through in a parallel
--    worker: only a parallel plan shows it.
CREATE TABLE leaks.reports (id int PRIMARY KEY, tenant_id text NOT NULL, body text);
CREATE INDEX ON leaks.reports (tenant_id);
CREATE FUNCTION leaks.in_worker() RETURNS boolean LANGUAGE plpgsql STABLE PARALLEL SAFE
    SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    RETURN EXISTS (SELECT FROM pg_catalog.pg_stat_get_activity(pg_catalog.pg_backend_pid()) a
                    WHERE a.backend_type = 'parallel worker');
END $$;
ALTER TABLE leaks.reports ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY by_tenant ON leaks.reports
    USING (tenant_id = (SELECT rowguard.claim('tenant_id')) OR leaks.in_worker());
INSERT INTO leaks.reports SELECT g, CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, 'r' FROM generate_series(1, 10) g;

INSERT INTO leaks.or_true SELECT g, CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, 'x' FROM generate_series(1, 10) g;
INSERT INTO leaks.orders SELECT g, CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, g FROM generate_series(1, 10) g;
INSERT INTO leaks.posts SELECT g, CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, 'p' || g FROM generate_series(1, 10) g;
INSERT INTO leaks.feed (tenant_id, body) SELECT CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, 'f' FROM generate_series(1, 10) g;
INSERT INTO leaks.messages SELECT g, CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, 'm' || g FROM generate_series(1, 10) g;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA leaks TO leak_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA leaks TO leak_app;
ALTER TABLE leaks.or_true OWNER TO leak_owner;
ALTER TABLE leaks.orders OWNER TO leak_owner;
ALTER TABLE leaks.posts OWNER TO leak_owner;
ALTER TABLE leaks.feed OWNER TO leak_owner;
ALTER TABLE leaks.reports OWNER TO leak_owner;
RESET client_min_messages;
