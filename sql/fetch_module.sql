-- rowguard_fetch.so, the module that does HTTPS fetches (docs/design.md, "The fetch
-- module"): a backend that authenticates maps no libcurl; its first fetch loads the
-- module, and libcurl with it, and a failed fetch is the usual error. Reads this
-- backend's /proc/<pid>/maps (Linux), so it runs in a backend of its own.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all

CREATE FUNCTION public.fetch_module_mapped(pattern text) RETURNS boolean LANGUAGE sql AS
$$ SELECT pg_catalog.pg_read_file('/proc/' || pg_catalog.pg_backend_pid() || '/maps') ~ pattern $$;

SET rowguard.audience = 'rowguard-tests';
SELECT rowguard.authenticate(:'valid_hs256', false) ->> 'sub' AS authenticated;
SELECT rowguard._is_https_url('https://issuer.example/jwks') AS https_url,
       rowguard._is_https_url('https://user@issuer.example/jwks') AS with_user;
SELECT fetch_module_mapped('/rowguard\.so') AS rowguard_mapped,
       fetch_module_mapped('/rowguard_fetch\.so') AS fetch_module_mapped,
       fetch_module_mapped('/libcurl[^/]*\.so') AS libcurl_mapped;

-- The first fetch loads the module; nothing listens on port 1, so the fetch fails as
-- before the split (SQLSTATE 08001, the URL in the message).
DO $$
BEGIN
  PERFORM rowguard._https_get_json('https://127.0.0.1:1/jwks.json');
EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection THEN
  RAISE NOTICE '%', SQLERRM;
END
$$;
SELECT fetch_module_mapped('/rowguard_fetch\.so') AS fetch_module_mapped,
       fetch_module_mapped('/libcurl[^/]*\.so') AS libcurl_mapped;

-- Loaded once: the next fetch fails the same way (libcurl's detail names a time, so
-- terse), and the identity is still in force.
\set VERBOSITY terse
SELECT rowguard._https_get_json('https://127.0.0.1:1/jwks.json');
\set VERBOSITY default
SELECT rowguard.sub() AS still_authenticated;

DROP FUNCTION public.fetch_module_mapped(text);
