// rowguard.session_status(), the last rejection of this transaction, and
// rowguard.failure_delay.
extern "C" {
#include "postgres.h"

#include "access/parallel.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
}

#include <cstring>

#include "rowguard/core/failure_class.hpp"
#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/observe_shared.hpp"
#include "rowguard/pg/pg_compat.hpp"
#include "rowguard/pg/settings.hpp"
#include "rowguard/pg/sql_function.hpp"

namespace rowguard::pg {

namespace {

// The last rejection and the (local) transaction it happened in.
LocalTransactionId last_failure_xact = InvalidLocalTransactionId;
int last_failure_class = 0;
char last_failure_detail[kDetailSize];

// Waits rowguard.failure_delay on the latch, so a cancel or a terminate still ends the
// wait at once (like contrib/auth_delay, which sleeps before the error is reported).
void WaitFailureDelay() {
  // Only a backend waits: never the postmaster (a rowguard.token in a configuration
  // file is checked there too).
  if (setting_failure_delay <= 0 || !IsUnderPostmaster || MyProc == nullptr) return;
  const TimestampTz deadline =
      TimestampTzPlusMilliseconds(GetCurrentTimestamp(), setting_failure_delay);
  for (;;) {
    const long remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
    if (remaining <= 0) break;
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, remaining,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

}  // namespace

void ObserveRejected(int failure_class, const char* detail) {
  if (failure_class < 0 || failure_class >= core::kFailureClassCount) {
    failure_class = static_cast<int>(core::FailureClass::kOther);
  }
  CountOutcome(kOutcomeFirstFailure + failure_class);
  if (MyProc != nullptr) {
    last_failure_xact = CompatLocalTransactionId();
    last_failure_class = failure_class;
    strlcpy(last_failure_detail, detail != nullptr ? detail : "", sizeof(last_failure_detail));
  }
  WaitFailureDelay();
}

}  // namespace rowguard::pg

using namespace rowguard::pg;

namespace {

void PushKey(CompatJsonbBuilder* state, const char* key) {
  JsonbValue value;
  value.type = jbvString;
  value.val.string.val = const_cast<char*>(key);
  value.val.string.len = static_cast<int>(strlen(key));
  CompatPushJsonbValue(state, WJB_KEY, &value);
}

void PushText(CompatJsonbBuilder* state, const char* key, const char* text, int length) {
  PushKey(state, key);
  JsonbValue value;
  if (text == nullptr) {
    value.type = jbvNull;
  } else {
    value.type = jbvString;
    value.val.string.val = const_cast<char*>(text);
    value.val.string.len = length;
  }
  CompatPushJsonbValue(state, WJB_VALUE, &value);
}

void PushCString(CompatJsonbBuilder* state, const char* key, const char* text) {
  PushText(state, key, text != nullptr && text[0] != '\0' ? text : nullptr,
           text != nullptr ? static_cast<int>(strlen(text)) : 0);
}

void PushBool(CompatJsonbBuilder* state, const char* key, bool b) {
  PushKey(state, key);
  JsonbValue value;
  value.type = jbvBool;
  value.val.boolean = b;
  CompatPushJsonbValue(state, WJB_VALUE, &value);
}

void PushInt64(CompatJsonbBuilder* state, const char* key, bool present, int64 number) {
  PushKey(state, key);
  JsonbValue value;
  if (present) {
    value.type = jbvNumeric;
    value.val.numeric = int64_to_numeric(number);
  } else {
    value.type = jbvNull;
  }
  CompatPushJsonbValue(state, WJB_VALUE, &value);
}

}  // namespace

// This session's identity and the last rejection of this transaction, as jsonb. It
// reads the identity in force without the expiry check of the accessors, so an expired
// identity is shown (with its exp) rather than raising an error.
ROWGUARD_SQL_FUNCTION(rowguard_session_status) {
  const Identity* identity = current_identity;
  CompatJsonbBuilder state;
  CompatPushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
  PushBool(&state, "authenticated", identity != nullptr);
  if (identity != nullptr) {
    PushCString(&state, "scope", TokenIsTransactionScoped() ? "transaction" : "session");
    const bool has_sub = (identity->flags & kIdentityHasSub) != 0;
    PushText(&state, "sub", has_sub ? IdentitySub(identity) : nullptr,
             static_cast<int>(identity->sub_length));
    PushCString(&state, "iss", IdentityIss(identity));
    PushCString(&state, "kid", IdentityKid(identity));
    PushCString(&state, "jti", IdentityJti(identity));
    PushInt64(&state, "exp", (identity->flags & kIdentityHasExp) != 0, identity->exp);
  } else {
    PushCString(&state, "scope", nullptr);
    PushCString(&state, "sub", nullptr);
    PushCString(&state, "iss", nullptr);
    PushCString(&state, "kid", nullptr);
    PushCString(&state, "jti", nullptr);
    PushInt64(&state, "exp", false, 0);
  }
  PushCString(&state, "role", GetUserNameFromId(GetUserId(), false));
  const bool failed_here = last_failure_xact != InvalidLocalTransactionId &&
                           last_failure_xact == CompatLocalTransactionId();
  PushCString(&state, "last_failure", failed_here ? last_failure_detail : nullptr);
  PushCString(&state, "last_failure_class",
              failed_here ? rowguard::core::FailureClassName(
                                static_cast<rowguard::core::FailureClass>(last_failure_class))
                          : nullptr);
  CompatPushJsonbValue(&state, WJB_END_OBJECT, nullptr);
  PG_RETURN_JSONB_P(CompatJsonbBuilderResult(&state));
}
