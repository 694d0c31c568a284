-- Hardening (issue 11): what a hostile application role sharing the connection with
-- every tenant must not be able to do. Runs after the other suites; uses its own key.
\set ECHO none
\i test/fixtures/keys.psql
\set ECHO all
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
-- Key material A and key material B under the same kid (two different HMAC secrets).
SELECT jsonb_set(jsonb_set(:'jwk_hs256'::jsonb, '{kid}', '"harden-key"'), '{alg}', '"HS256"')
    AS material_a,
       jsonb_set(jsonb_set(:'jwk_hs512'::jsonb, '{kid}', '"harden-key"'), '{alg}', '"HS256"')
    AS material_b \gset
SELECT rowguard.add_key(:'material_a') AS added;
SELECT rowguard.sign('{"sub":"alice","tenant_id":"11111111-1111-4111-8111-111111111111",
                       "exp":4102444800}', 'harden-key') AS alice,
       rowguard.sign('{"sub":"bob","tenant_id":"22222222-2222-4222-8222-222222222222",
                       "exp":4102444800}', 'harden-key') AS bob \gset

CREATE TABLE public.harden_docs (id bigint PRIMARY KEY, tenant_id uuid NOT NULL);
INSERT INTO public.harden_docs
SELECT g, CASE WHEN g % 3 = 0 THEN '11111111-1111-4111-8111-111111111111'::uuid
               ELSE '22222222-2222-4222-8222-222222222222'::uuid END
  FROM generate_series(1, 30000) g;
ALTER TABLE public.harden_docs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.harden_docs FORCE ROW LEVEL SECURITY;
-- Hand-written, without the templates' (SELECT ...) form: the claim is evaluated per
-- row, in parallel workers when the plan has them.
CREATE POLICY tenant ON public.harden_docs USING (tenant_id = rowguard.claim_uuid('tenant_id'));
GRANT SELECT ON public.harden_docs TO rowguard_app;
ANALYZE public.harden_docs;

-- A second session of the application role.
SELECT dblink_connect('app2', format('host=%s port=%s dbname=%s user=rowguard_app',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database()));
-- rowguard must be loaded to see a statement: with neither shared_ nor
-- session_preload_libraries, the first SET of rowguard.token in a session is only a
-- placeholder until something loads the module (docs/security-model.md).
SELECT pid AS app2_pid
  FROM dblink('app2', 'SELECT pg_backend_pid() WHERE NOT rowguard.is_authenticated()')
    AS t(pid integer) \gset
-- An administrator's session.
SELECT dblink_connect('admin', format('host=%s port=%s dbname=%s user=postgres',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database()));

-- 1. Nobody else reads a token from pg_stat_activity, whichever form carried it.
SELECT dblink_exec('app2', 'BEGIN');
SELECT dblink_exec('app2', format('SET LOCAL rowguard.token = %L', :'alice'));
SELECT state, query ~ 'eyJ' AS holds_token, left(query, 50) AS query
  FROM pg_stat_activity WHERE pid = :app2_pid;
SELECT * FROM dblink('app2', format('SELECT rowguard.authenticate(%L) ->> ''sub''', :'bob'))
    AS t(sub text);
SELECT state, query ~ 'eyJ' AS holds_token, left(query, 50) AS query
  FROM pg_stat_activity WHERE pid = :app2_pid;
SELECT * FROM dblink('app2', format('SELECT set_config(''rowguard.token'', %L, true) <> ''''',
                                    :'alice')) AS t(set boolean);
SELECT state, query ~ 'eyJ' AS holds_token, left(query, 50) AS query
  FROM pg_stat_activity WHERE pid = :app2_pid;
SELECT dblink_exec('app2', 'COMMIT');

-- 2. authenticate(token) outside a transaction block warns like SET LOCAL does.
SET ROLE rowguard_app;
\set VERBOSITY sqlstate
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS sub;
\set VERBOSITY default
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS sub;
SELECT rowguard.is_authenticated() AS still_authenticated;
SELECT rowguard.authenticate(:'alice', false) ->> 'sub' AS session_scope_does_not_warn;
RESET rowguard.token;
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS inside_a_block;
COMMIT;

-- 3. A transaction identity does not start on top of what an earlier transaction of
-- the connection left behind. "Tenant B" leaves a temporary view named like the real
-- table, reading through a pg_temp function that copies rows into its own table.
CREATE TEMP TABLE stash (id bigint, tenant_id uuid);
CREATE FUNCTION pg_temp.steal() RETURNS SETOF public.harden_docs LANGUAGE sql AS $$
    INSERT INTO pg_temp.stash SELECT * FROM public.harden_docs RETURNING *
$$;
CREATE TEMP VIEW harden_docs AS SELECT * FROM pg_temp.steal();
-- "Tenant A", authenticated exactly as documented, in each of the three forms:
BEGIN;
SELECT outcome(format('SET LOCAL rowguard.token = %L', :'alice')) AS set_local;
ROLLBACK;
BEGIN;
SELECT outcome(format('SELECT rowguard.authenticate(%L) ->> ''sub''', :'alice')) AS authenticate;
ROLLBACK;
BEGIN;
SELECT outcome(format('SELECT set_config(''rowguard.token'', %L, true)', :'alice')) <> 'ok'
    AS set_config_refused;
ROLLBACK;
SELECT count(*) AS stashed_rows FROM pg_temp.stash;
-- A session identity (a connection not shared) is the session's own business.
SELECT outcome(format('SET rowguard.token = %L', :'alice')) AS session_identity;
RESET rowguard.token;
-- DISCARD TEMP (or DISCARD ALL, a pooler's reset query) clears the way.
DISCARD TEMP;
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS after_discard;
SELECT count(*) AS alice_rows FROM harden_docs;
COMMIT;
-- Objects created and dropped inside a transaction leave nothing behind.
BEGIN;
CREATE TEMP TABLE scratch (x int) ON COMMIT DROP;
COMMIT;
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS after_on_commit_drop;
COMMIT;

-- Cursors: none is declared WITH HOLD under an identity, and an identity does not
-- start while a cursor (which COMMIT would materialize under it) is open.
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS sub;
SELECT outcome('DECLARE held CURSOR WITH HOLD FOR SELECT * FROM public.harden_docs') AS with_hold;
ROLLBACK;
BEGIN;
DECLARE early CURSOR WITH HOLD FOR SELECT count(*) FROM public.harden_docs;
SELECT outcome(format('SET LOCAL rowguard.token = %L', :'alice')) AS cursor_open;
COMMIT;
BEGIN;
SELECT outcome(format('SET LOCAL rowguard.token = %L', :'alice')) AS held_from_earlier;
COMMIT;
CLOSE early;
BEGIN;
SELECT rowguard.authenticate(:'alice') ->> 'sub' AS after_close;
DECLARE plain CURSOR FOR SELECT count(*) FROM public.harden_docs;
FETCH plain;
COMMIT;
RESET ROLE;

-- 4. The leader checks the identity before parallel workers run: with
-- parallel_leader_participation = off and a removed key, workers would otherwise
-- filter with an identity that has ended.
SET ROLE rowguard_app;
SET rowguard.token = :'alice';
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- force_parallel_mode is called debug_parallel_query since PostgreSQL 16.
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
    THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS force_parallel \gset
SET :force_parallel = on;
SET parallel_leader_participation = off;
SELECT count(*) AS parallel_alice FROM public.harden_docs;
SET plan_cache_mode = force_generic_plan;
PREPARE mine AS SELECT count(*) FROM public.harden_docs;
EXECUTE mine;
-- Another session removes the key.
SELECT * FROM dblink('admin', 'SELECT rowguard.remove_key(''harden-key'')') AS t(removed boolean);
SELECT outcome('SELECT count(*) FROM public.harden_docs') AS parallel_after_removal;
SELECT outcome('EXECUTE mine') AS generic_plan_after_removal;
\set VERBOSITY terse
SELECT count(*) FROM public.harden_docs;
\set VERBOSITY default
RESET rowguard.token;
DEALLOCATE mine;
RESET ALL;
RESET ROLE;

-- 5. An identity is bound to the key material that verified it: other material under
-- the same kid ends it at its next statement.
SELECT rowguard.add_key(:'material_a') AS added_a;
SET ROLE rowguard_app;
SET rowguard.token = :'alice';
SELECT rowguard.sub() AS before_replacement;
SELECT * FROM dblink('admin', 'SELECT rowguard.remove_key(''harden-key'')') AS t(removed boolean);
SELECT * FROM dblink('admin', format('SELECT rowguard.add_key(%L)', :'material_b'))
    AS t(added text);
SELECT outcome('SELECT rowguard.sub()') AS after_replacement;
-- A token signed with the new material is accepted.
RESET rowguard.token;
RESET ROLE;
SELECT rowguard.sign('{"sub":"carol","exp":4102444800}', 'harden-key') AS carol \gset
SET ROLE rowguard_app;
SET rowguard.token = :'carol';
SELECT rowguard.sub() AS new_material;
-- Putting material A back does not revive alice's identity elsewhere, but a token of
-- material A verifies again.
SELECT * FROM dblink('admin', 'SELECT rowguard.remove_key(''harden-key'')') AS t(removed boolean);
SELECT * FROM dblink('admin', format('SELECT rowguard.add_key(%L)', :'material_a'))
    AS t(added text);
SELECT outcome('SELECT rowguard.sub()') AS carol_after_swap_back;
RESET rowguard.token;
SELECT verdict(:'alice') AS alice_again;
RESET ROLE;

-- 6. A procedure that COMMITs in a loop re-checks the identity at every transaction
-- start: the token expires about 4 s after the CALL starts, and the loop would run 10 s.
-- (The margin of 4 s is for a busy machine: the CALL must start before the expiry.)
SET rowguard.leeway = 0;
CREATE TABLE public.harden_loop_log (i int, sub text);
GRANT INSERT, SELECT ON public.harden_loop_log TO rowguard_app;
CREATE PROCEDURE public.harden_loop() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..10 LOOP
        INSERT INTO public.harden_loop_log VALUES (i, rowguard.sub());
        COMMIT;
        PERFORM pg_sleep(1);
    END LOOP;
END
$$;
SELECT rowguard.sign(jsonb_build_object('sub', 'short',
                     'exp', extract(epoch FROM now())::bigint + 4), 'harden-key') AS short \gset
SET ROLE rowguard_app;
SET rowguard.token = :'short';
\set VERBOSITY terse
CALL public.harden_loop();
\set VERBOSITY default
RESET rowguard.token;
SELECT count(*) BETWEEN 1 AND 9 AS stopped_early, min(sub) AS sub FROM public.harden_loop_log;
-- A key removed by another session ends the identity at the procedure's next
-- transaction as well.
CREATE OR REPLACE PROCEDURE public.harden_loop_removal() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3 LOOP
        INSERT INTO public.harden_loop_log VALUES (100 + i, rowguard.sub());
        COMMIT;
        IF i = 1 THEN
            PERFORM * FROM dblink('admin', 'SELECT rowguard.remove_key(''harden-key'')')
                AS t(removed boolean);
        END IF;
    END LOOP;
END
$$;
RESET ROLE;
TRUNCATE public.harden_loop_log;
SET ROLE rowguard_app;
SET rowguard.token = :'alice';
\set VERBOSITY terse
CALL public.harden_loop_removal();
\set VERBOSITY default
RESET rowguard.token;
SELECT i, sub FROM public.harden_loop_log ORDER BY i;
RESET ROLE;

-- 7. A connection option with another spelling of the prefix does not displace a
-- superuser-only setting: the session then refuses to verify at all.
SELECT rowguard.add_key(:'material_a') AS added_again;
ALTER ROLE rowguard_app SET rowguard.audience = 'harden-audience';
SELECT dblink_connect('spelled', format('host=%s port=%s dbname=%s user=rowguard_app '
    'options=''-c Rowguard.audience=x -c ROWGUARD.leeway=99999''',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database()));
SELECT * FROM dblink('spelled', format('SELECT public.verdict(%L)', :'alice')) AS t(verdict text);
SELECT dblink_disconnect('spelled');
-- The control: without the option the role's audience applies (alice has no aud).
SELECT dblink_connect('plain', format('host=%s port=%s dbname=%s user=rowguard_app',
    split_part(current_setting('unix_socket_directories'), ',', 1),
    current_setting('port'), current_database()));
SELECT * FROM dblink('plain', format('SELECT public.verdict(%L)', :'alice')) AS t(verdict text);
SELECT dblink_disconnect('plain');
ALTER ROLE rowguard_app RESET rowguard.audience;

SELECT dblink_disconnect('app2');
SELECT dblink_disconnect('admin');
DROP PROCEDURE public.harden_loop(), public.harden_loop_removal();
DROP TABLE public.harden_docs, public.harden_loop_log;
SELECT rowguard.remove_key('harden-key') AS cleaned_up;
DROP EXTENSION dblink;
