// rowguard.log_identity: every server log entry written while an identity is in force
// names it. The identity goes into detail_log, the field PostgreSQL writes only to the
// server log: the client's message, detail and context stay exactly as they were, and
// lines of other modules (pgaudit's AUDIT lines are plain LOG entries) keep their text,
// so tools that parse them are not disturbed.
extern "C" {
#include "postgres.h"

#include "utils/elog.h"
#include "utils/memutils.h"
}

#include <cstring>

#include "rowguard/pg/core_bridge.hpp"
#include "rowguard/pg/identity.hpp"
#include "rowguard/pg/observe.hpp"
#include "rowguard/pg/settings.hpp"

namespace rowguard::pg {

void AddIdentityToLogLine(ErrorData* edata) {
  const Identity* identity = current_identity;
  if (!setting_log_identity || identity == nullptr || !edata->output_to_server) return;
  TokenFactsPlain facts;
  BridgeQuote(facts.sub, sizeof(facts.sub), IdentitySub(identity), identity->sub_length);
  BridgeQuote(facts.iss, sizeof(facts.iss), IdentityIss(identity), strlen(IdentityIss(identity)));
  BridgeQuote(facts.kid, sizeof(facts.kid), IdentityKid(identity), strlen(IdentityKid(identity)));
  BridgeQuote(facts.jti, sizeof(facts.jti), IdentityJti(identity), strlen(IdentityJti(identity)));
  // The server log shows detail_log instead of detail when both exist, so the client's
  // detail is kept in front of the identity. Allocated in ErrorContext, which the
  // error machinery resets after the entry is written.
  const char* before = edata->detail_log != nullptr ? edata->detail_log : edata->detail;
  MemoryContext old_context = MemoryContextSwitchTo(ErrorContext);
  char line[4 * kFactSize + 64];
  snprintf(line, sizeof(line), "rowguard identity: sub=%s iss=%s kid=%s jti=%s",
           facts.sub, facts.iss, facts.kid, facts.jti);
  edata->detail_log = before != nullptr ? psprintf("%s\n%s", before, line) : pstrdup(line);
  MemoryContextSwitchTo(old_context);
}

}  // namespace rowguard::pg
