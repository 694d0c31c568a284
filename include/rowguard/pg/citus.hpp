// rowguard on Citus (docs/scaling.md): the identity set by rowguard.authenticate is
// forwarded to the worker connections of the transaction the way Citus forwards SET LOCAL.
#pragma once

namespace rowguard::pg {

// When Citus is loaded with citus.propagate_set_commands = 'local', runs
// SET LOCAL rowguard.token = <token> through SPI, so that Citus' utility hook sends it to
// the workers the transaction uses (now and later in the transaction). Does nothing
// without Citus or with propagation off. Call after rowguard.token was set to `token`.
void ForwardTokenToCitus(const char* token);

}  // namespace rowguard::pg
