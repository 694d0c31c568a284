-- rowguard 0.1.0 -> 0.2.0, assembled from src/sql/update/0.1.0--0.2.0/*.sql (one file
-- per topic) by Makefile.pgxs. The same parts, appended to the frozen
-- rowguard--0.1.0.sql, are the full install script rowguard--0.2.0.sql, so a fresh
-- install and an upgrade run the same statements (test/integration/upgrade.sh compares
-- their schemas). Every name is schema-qualified; released scripts are never edited.

\echo Use "ALTER EXTENSION rowguard UPDATE TO '0.2.0'" to load this file. \quit
