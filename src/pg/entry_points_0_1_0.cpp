// The C symbols the frozen 0.1.0 install script (src/sql/rowguard--0.1.0.sql) names. An
// installation still at 0.1.0 calls these until ALTER EXTENSION rowguard UPDATE, which
// re-points every function at the symbol named after it
// (src/sql/update/0.1.0--0.2.0/01_symbols.sql). Each is a thin alias; nothing else may
// call them.
#include "rowguard/pg/sql_function.hpp"

ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_invalidate_keys, rowguard_keys_changed)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_sign_claims, rowguard_sign)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_verify_token, rowguard_verify)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_authenticate_token, rowguard_authenticate)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_claims, rowguard_claims)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_claim, rowguard_claim)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_claim_uuid, rowguard_claim_uuid)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_claim_bigint, rowguard_claim_bigint)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_claim_bool, rowguard_claim_bool)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_claim_array, rowguard_claim_array)
ROWGUARD_SQL_FUNCTION_ALIAS(rowguard_get_sub, rowguard_sub)
