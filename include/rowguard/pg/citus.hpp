// rowguard on Citus (docs/scaling.md): the identity reaches the worker connections of a
// transaction the way Citus forwards SET LOCAL, with the token's real text (the statement
// text a client sent is masked as soon as it is parsed, see statement_masking.cpp).
#pragma once

extern "C" {
#include "postgres.h"

#include "nodes/nodes.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
}

namespace rowguard::pg {

// When Citus is loaded with citus.propagate_set_commands = 'local', runs
// SET LOCAL rowguard.token = <token> through SPI, so that Citus' utility hook sends it to
// the workers the transaction uses (now and later in the transaction); the SPI text is
// not masked. Does nothing without Citus or with propagation off. Call after
// rowguard.token was set to `token`, or instead of setting it locally.
void ForwardTokenToCitus(const char* token);

// For the ProcessUtility hook: a client's SET LOCAL rowguard.token = '...' under Citus'
// 'local' propagation is run as ForwardTokenToCitus (which sets it here too) instead of
// going on with its masked text, which Citus would forward. True when it did so.
bool RunTokenSetLocalForCitus(const Node* statement);

// True when Citus is loaded in this backend (its own citus.propagate_set_commands is
// defined, not a placeholder a session made up).
bool CitusLoaded();

// True in a client backend of a database with the citus extension, on its coordinator
// (citus_is_coordinator()); false, at no cost, without Citus. citus_config.cpp.
bool CitusCoordinator();

// A top-level SELECT that calls citus_add_node or citus_activate_node (and nothing else
// from a table): after its executor finishes, rowguard.citus_sync_nodes() brings the
// nodes up to date in its transaction (citus_config.cpp). The planner hook asks
// MayActivateNode and hands the plan to NoteNodeActivation.
bool MayActivateNode(const Query* query);
void NoteNodeActivation(const PlannedStmt* statement);
void InstallCitusNodeSync();

// The router planner hook (citus_router.cpp): installed by _PG_init; told by
// SetCurrentIdentity when the identity in force changes, so that cached plans routed by
// the previous identity are planned again.
void InstallCitusRouter();
void CitusRouterIdentityChanged();
// Called by key_store.cpp's relcache callback (InvalidOid: every relation).
void CitusRouterRelcacheInvalidated(Oid relid);

// True while ForwardTokenToCitus runs its statement: that text must not be masked.
bool ForwardingTokenToCitus();

}  // namespace rowguard::pg
