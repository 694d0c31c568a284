-- rowguard install script, assembled from src/sql/install/*.sql by Makefile.pgxs.
-- Every name is schema-qualified; functions that run DDL or touch the key tables pin
-- search_path, so nothing depends on the caller's search_path.

\echo Use "CREATE EXTENSION rowguard" to load this file. \quit

-- Applications call the claim functions; only administrators touch keys (below).
GRANT USAGE ON SCHEMA rowguard TO PUBLIC;
