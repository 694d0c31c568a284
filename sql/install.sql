-- Install as a superuser; everything after this file runs as roles without
-- superuser, BYPASSRLS or ownership of rowguard's objects.
CREATE EXTENSION rowguard;
SELECT extname, extversion, extrelocatable, n.nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'rowguard';

-- Not relocatable, one schema.
CREATE SCHEMA elsewhere;
ALTER EXTENSION rowguard SET SCHEMA elsewhere;
DROP SCHEMA elsewhere;

-- Roles used by the suites: an application role and an administrator who was
-- granted the key functions but is not a superuser.
SET client_min_messages = warning;
DROP ROLE IF EXISTS rowguard_app, rowguard_admin;  -- left by an earlier run on this cluster
RESET client_min_messages;
CREATE ROLE rowguard_app LOGIN;
CREATE ROLE rowguard_admin LOGIN;
GRANT CREATE, USAGE ON SCHEMA public TO rowguard_app, rowguard_admin;
GRANT EXECUTE ON FUNCTION rowguard.add_key(jsonb, text, text), rowguard.add_jwks(jsonb, text),
    rowguard.remove_key(text), rowguard.set_issuer(text, text[], interval, interval),
    rowguard.remove_issuer(text), rowguard.sign(jsonb, text)
    TO rowguard_admin;

-- Shared helper: runs a statement and reports its outcome on one line, so expected
-- files show SQLSTATEs and details without server-side context lines.
CREATE FUNCTION public.outcome(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text; message text; detail text; result text;
BEGIN
    IF statement ~* '^\s*(SELECT|VALUES|TABLE|WITH)' THEN
        EXECUTE statement INTO result;
    ELSE
        EXECUTE statement;
    END IF;
    RETURN 'ok' || coalesce(': ' || result, '');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL;
    RETURN state || ' ' || message || coalesce(nullif(': ' || detail, ': '), '');
END
$$;
-- verify() of a token, one line: 'ok: <sub>' or the SQLSTATE and reason.
CREATE FUNCTION public.verdict(token text) RETURNS text
LANGUAGE sql AS $$
    SELECT public.outcome(format('SELECT coalesce(rowguard.verify(%L) ->> %L, %L)',
                                 token, 'sub', '(no sub)'))
$$;
-- EXPLAIN (COSTS OFF) of a query, in the same words on every PostgreSQL version: 17's.
-- 17 and 18 call an InitPlan's result "(InitPlan 1).col1"; before 17 it is a parameter
-- "$0" (and the InitPlan line says "(returns $0)"); 19 names the plan "expr_1". Both are
-- rewritten into 17's form. "Params Evaluated" lines (shown before 17 only) are left out.
CREATE FUNCTION public.plan(query text) RETURNS TABLE ("QUERY PLAN" text)
LANGUAGE plpgsql AS $plan$
DECLARE
    lines text[] := '{}'; line text; m text[]; outputs text[]; names text[] := '{}';
    columns text[] := '{}'; i int;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        lines := lines || line;
    END LOOP;
    FOREACH line IN ARRAY lines LOOP
        m := regexp_match(line, 'InitPlan (\d+) \(returns ([^)]*)\)');
        CONTINUE WHEN m IS NULL;
        outputs := string_to_array(m[2], ',');
        FOR i IN 1 .. cardinality(outputs) LOOP
            names := names || outputs[i];
            columns := columns || format('(InitPlan %s).col%s', m[1], i);
        END LOOP;
    END LOOP;
    FOREACH line IN ARRAY lines LOOP
        CONTINUE WHEN line ~ '^\s*Params Evaluated: ';
        line := regexp_replace(line, '(InitPlan \d+) \(returns [^)]*\)', '\1');
        line := regexp_replace(line, '\m(InitPlan|SubPlan) [a-z]+_(\d+)', '\1 \2', 'g');
        FOR i IN 1 .. cardinality(names) LOOP
            line := regexp_replace(line, '\' || names[i] || '(?!\d)', columns[i], 'g');
        END LOOP;
        "QUERY PLAN" := line;
        RETURN NEXT;
    END LOOP;
END
$plan$;

-- What PUBLIC may do: call verify/authenticate/claims, nothing about keys.
SELECT p.proname,
       has_function_privilege('rowguard_app', p.oid, 'EXECUTE') AS app_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace
 ORDER BY p.proname, p.oid::regprocedure::text;
SELECT c.relname,
       has_table_privilege('rowguard_app', c.oid, 'SELECT') AS app_select,
       has_table_privilege('rowguard_app', c.oid, 'INSERT') AS app_insert,
       has_table_privilege('rowguard_app', c.oid, 'DELETE') AS app_delete
  FROM pg_class c
 WHERE c.relnamespace = 'rowguard'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

-- Accessors are STABLE PARALLEL SAFE COST 1, never IMMUTABLE and never SECURITY DEFINER.
SELECT p.proname, p.provolatile, p.proparallel, p.procost, p.prosecdef
  FROM pg_proc p
 WHERE p.pronamespace = 'rowguard'::regnamespace AND p.proname NOT LIKE '\_%'
 ORDER BY p.proname, p.oid::regprocedure::text;

-- The key tables are dumped by pg_dump.
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'rowguard'
 ORDER BY 1;
