-- OAuth sign-in roles (docs/oauth.md): allow_oauth_login / disallow_oauth_login and the
-- hazard check they share with every sign-in. Runs on every major (the table and
-- functions exist everywhere; the validator module only on PostgreSQL 18 and later).
SET client_min_messages = warning;
DROP ROLE IF EXISTS oal_login, oal_super, oal_createrole, oal_bypass, oal_repl, oal_member,
    oal_owner, oal_nologin;
RESET client_min_messages;
CREATE ROLE oal_login LOGIN;
CREATE ROLE oal_nologin NOLOGIN;
CREATE ROLE oal_super LOGIN SUPERUSER;
CREATE ROLE oal_createrole LOGIN CREATEROLE;
CREATE ROLE oal_bypass LOGIN BYPASSRLS;
CREATE ROLE oal_repl LOGIN REPLICATION;
CREATE ROLE oal_member LOGIN IN ROLE pg_read_all_data;
CREATE ROLE oal_owner LOGIN;
CREATE TABLE oal_owned (x int);
ALTER TABLE oal_owned ENABLE ROW LEVEL SECURITY;
ALTER TABLE oal_owned OWNER TO oal_owner;

-- The hazards: LOGIN is fine for a sign-in role (unlike a role binding).
SELECT r AS role, rowguard._oauth_login_hazard(r::regrole) AS hazard,
       rowguard._role_binding_hazard(r::regrole) AS binding_hazard
  FROM unnest(ARRAY['oal_login', 'oal_nologin', 'oal_super', 'oal_createrole', 'oal_bypass',
                    'oal_repl', 'oal_member', 'oal_owner']) AS r;

SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_login');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_login');  -- again: no change
SELECT issuer, role FROM rowguard.oauth_logins ORDER BY 1, 2;
-- Refused: roles that would escape the policies, an empty or NULL issuer, a NULL role.
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_super');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_createrole');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_bypass');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_repl');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_member');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_owner');
SELECT rowguard.allow_oauth_login('', 'oal_login');
SELECT rowguard.allow_oauth_login(NULL, 'oal_login');
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', NULL);
-- The table refuses an empty issuer too (a row put in by hand).
\set VERBOSITY terse
INSERT INTO rowguard.oauth_logins (issuer, role) VALUES ('', 'oal_login');
\set VERBOSITY default

-- Not for the application role or PUBLIC.
SET ROLE rowguard_app;
SELECT rowguard.allow_oauth_login('https://idp.example/realms/acme', 'oal_nologin');
SELECT rowguard.disallow_oauth_login('https://idp.example/realms/acme', 'oal_login');
SELECT count(*) FROM rowguard.oauth_logins;
RESET ROLE;

-- lint: a role allowed before it became hazardous is reported (and refused at sign-in).
SELECT severity, object, problem, fix FROM rowguard._lint_030_oauth_logins();
ALTER ROLE oal_login CREATEROLE;
SELECT severity, object, problem, fix FROM rowguard._lint_030_oauth_logins();
SELECT count(*) AS lint_findings FROM rowguard.lint() WHERE object = 'OAuth sign-in role oal_login';
ALTER ROLE oal_login NOCREATEROLE;
SELECT count(*) AS lint_findings FROM rowguard.lint() WHERE object = 'OAuth sign-in role oal_login';

SELECT rowguard.disallow_oauth_login('https://idp.example/realms/acme', 'oal_login');
SELECT rowguard.disallow_oauth_login('https://idp.example/realms/acme', 'oal_login');
SELECT count(*) FROM rowguard.oauth_logins;

DROP TABLE oal_owned;
DROP ROLE oal_login, oal_super, oal_createrole, oal_bypass, oal_repl, oal_member, oal_owner,
    oal_nologin;
