-- Claim accessors on a verified identity.
\set ECHO none
\i test/fixtures/tokens.psql
\set ECHO all
-- The regression server does not preload rowguard: load it before the first SET of
-- rowguard.token, which would otherwise be refused (docs/security-model.md, "Before
-- rowguard is loaded").
LOAD 'rowguard';
SET ROLE rowguard_app;

SET rowguard.token = :'alice_hs256';
SELECT rowguard.claims() ->> 'sub' AS sub_from_claims, rowguard.sub(),
       rowguard.is_authenticated();
-- Strings unquoted, everything else as JSON text; absent claims are NULL.
SELECT rowguard.claim('sub') AS string, rowguard.claim('org') AS object,
       rowguard.claim('roles') AS array, rowguard.claim('exp') AS number,
       rowguard.claim('flags.admin') AS boolean, rowguard.claim('nope') AS absent;
-- Dotted paths and JSON Pointers.
SELECT rowguard.claim('org.id') AS dotted, rowguard.claim('/org/id') AS pointer,
       rowguard.claim('/roles/1') AS pointer_index, rowguard.claim('/roles/01') AS leading_zero,
       rowguard.claim('/https:~1~1example.com~1tenant') AS escaped,
       rowguard.claim('org.id.deeper') AS through_scalar, rowguard.claim('/') AS empty_name;
-- Typed accessors.
SELECT rowguard.claim_uuid('tenant_id') AS uuid, rowguard.claim_bigint('org.id') AS bigint,
       rowguard.claim_bool('flags.admin') AS bool, rowguard.claim_array('roles') AS array;
SELECT rowguard.claim_uuid('nope') AS absent_uuid, rowguard.claim_bigint('nope') AS absent_bigint,
       rowguard.claim_bool('nope') AS absent_bool, rowguard.claim_array('nope') AS absent_array;
SELECT pg_typeof(rowguard.claim_uuid('tenant_id')), pg_typeof(rowguard.claim_bigint('org.id')),
       pg_typeof(rowguard.claim_array('roles'));
-- Present but of another type: 22P02 naming the claim.
SELECT outcome($$SELECT rowguard.claim_uuid('sub')::text$$) AS uuid_of_string;
SELECT outcome($$SELECT rowguard.claim_uuid('org.id')::text$$) AS uuid_of_number;
SELECT outcome($$SELECT rowguard.claim_bigint('sub')::text$$) AS bigint_of_string;
SELECT outcome($$SELECT rowguard.claim_bool('sub')::text$$) AS bool_of_string;
SELECT outcome($$SELECT rowguard.claim_array('org')::text$$) AS array_of_object;
SELECT rowguard.claim_array('sub') AS array_of_scalar;

-- Roles: string or array, exact match.
SELECT rowguard.has_role('reader') AS reader, rowguard.has_role('writer') AS writer,
       rowguard.has_role('read') AS prefix, rowguard.has_role('READER') AS other_case,
       rowguard.has_role('') AS empty;
-- Scopes: space-delimited scope or scp array, exact match.
SELECT rowguard.has_scope('orders:read') AS read, rowguard.has_scope('orders:write') AS write,
       rowguard.has_scope('orders') AS prefix, rowguard.has_scope('orders:read orders:write') AS two,
       rowguard.has_scope('') AS empty;

SET rowguard.token = :'scp_array';
SELECT rowguard.claim('scp') AS scp, rowguard.has_scope('orders:read') AS read,
       rowguard.has_scope('orders:delete') AS other;
SET rowguard.token = :'scope_prefix';
SELECT rowguard.claim('scope') AS scope, rowguard.has_scope('orders:read') AS exact;
SET rowguard.token = :'roles_string';
SELECT rowguard.claim('roles') AS roles, rowguard.has_role('admin') AS admin,
       rowguard.has_role('adm') AS prefix, rowguard.claim_array('roles') AS as_array;
SET rowguard.token = :'no_roles';
SELECT rowguard.has_role('reader') AS no_roles_claim;
SET rowguard.token = :'tenant_not_uuid';
SELECT outcome($$SELECT rowguard.claim_uuid('tenant_id')::text$$) AS tenant_not_uuid;
SET rowguard.token = :'org_id_string';
SELECT outcome($$SELECT rowguard.claim_bigint('org.id')::text$$) AS quoted_integer;
SET rowguard.token = :'org_id_float';
SELECT outcome($$SELECT rowguard.claim_bigint('org.id')::text$$) AS fraction;
-- An integer beyond 64 bits anywhere in the payload is refused at verification.
SELECT verdict(:'org_id_huge') AS huge_integer_claim;
SET rowguard.token = :'admin_false';
SELECT rowguard.claim_bool('flags.admin') AS admin;
SET rowguard.token = :'dotted_names';
SELECT rowguard.claims() - ARRAY['iss','aud','iat','exp','sub'] AS claims;
SET rowguard.token = :'unicode_sub';
SELECT rowguard.sub(), length(rowguard.sub()) AS characters;
RESET rowguard.token;

-- uuid claims: the canonical form in either case, or 32 bare hex digits; nothing else.
RESET ROLE;
SELECT rowguard.sign('{"sub":"u","exp":4102444800,"upper":"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE",
    "bare":"aaaaaaaabbbb4ccc8dddeeeeeeeeeeee","braces":"{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}",
    "short":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeee","misplaced":"aaaaaaaab-bbb-4ccc-8ddd-eeeeeeeeeeee",
    "nonhex":"gaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}', 'hs256-key') AS uuids \gset
SET ROLE rowguard_app;
SET rowguard.token = :'uuids';
SELECT rowguard.claim_uuid('upper') AS upper, rowguard.claim_uuid('bare') AS bare;
SELECT name, outcome(format('SELECT rowguard.claim_uuid(%L)::text', name)) AS outcome
  FROM unnest(ARRAY['braces', 'short', 'misplaced', 'nonhex']) AS name;
RESET rowguard.token;

-- rowguard.roles_claim names the claim has_role reads (superuser-only setting).
RESET ROLE;
SET rowguard.roles_claim = 'flags';
SET ROLE rowguard_app;
SET rowguard.token = :'alice_hs256';
SELECT rowguard.has_role('reader') AS reader_in_flags;
RESET ROLE;
SET rowguard.roles_claim = '/org/roles';
RESET rowguard.roles_claim;
SET ROLE rowguard_app;
SELECT rowguard.has_role('reader') AS reader_again;
RESET rowguard.token;

-- An identity whose exp passes fails at its next use with 28000; the clock is the
-- statement's start time. (A token minted here expires 2 to 3 s from now: the margin is
-- for a busy machine, as the next statements must start before the expiry.)
RESET ROLE;
SET rowguard.leeway = 0;
SELECT rowguard.sign(jsonb_build_object('sub', 'brief',
           'exp', floor(extract(epoch FROM statement_timestamp()))::bigint + 3), 'hs256-key') AS brief
\gset
SET ROLE rowguard_app;
SET rowguard.token = :'brief';
SELECT rowguard.sub() AS before_expiry;
SELECT pg_sleep(3.1);
SELECT regexp_replace(outcome('SELECT rowguard.sub()'), 'at .*', 'at <time>') AS after_expiry;
SELECT regexp_replace(outcome('SELECT rowguard.is_authenticated()::text'), 'at .*', 'at <time>')
    AS is_authenticated;
RESET rowguard.token;
SELECT rowguard.is_authenticated() AS after_reset;
RESET ROLE;
RESET rowguard.leeway;
