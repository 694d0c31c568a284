-- rowguard 0.2.0 -> 0.3.0, assembled from src/sql/update/0.2.0--0.3.0/*.sql (one file
-- per topic) by Makefile.pgxs. The full install script rowguard--0.3.0.sql is the frozen
-- rowguard--0.1.0.sql, then the frozen 0.1.0--0.2.0 parts, then these parts, so a fresh
-- install and an upgrade run the same statements (test/integration/upgrade.sh compares
-- their schemas). Every name is schema-qualified; released scripts are never edited.
-- Functions that run with elevated rights (SECURITY DEFINER, or called by the key
-- refresher as the bootstrap superuser) pin search_path and qualify every operator.

\echo Use "ALTER EXTENSION rowguard UPDATE TO '0.3.0'" to load this file. \quit
