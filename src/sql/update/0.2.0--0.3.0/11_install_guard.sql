-- The install guard (src/pg/install_guard.cpp; docs/security-model.md, "0.3.0 hardening:
-- the database owner"). The part of 0.2.0 that takes schema rowguard for the installing
-- superuser (60_compat.sql) checks what the schema holds, and sees only committed
-- objects: a second session of a role that could create in a schema rowguard made before
-- the install could plant rowguard.add_key(text) and commit after that check. The module
-- refuses such a schema at the first utility statement of the script it sees; this runs
-- the same check once more at the end of every install and update, so it also holds when
-- the module was first loaded late in the script.
CREATE FUNCTION rowguard._check_install_schema() RETURNS void
    AS 'MODULE_PATHNAME', 'rowguard_check_install_schema' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION rowguard._check_install_schema() FROM PUBLIC;
COMMENT ON FUNCTION rowguard._check_install_schema()
    IS 'refuse a schema rowguard that existed before this transaction and that roles other than superusers could create objects in';
SELECT rowguard._check_install_schema();
