// Declares a C function callable from SQL with C linkage, exported from rowguard.so.
// The C symbol is the SQL name with "rowguard_" for the schema (leading underscores of
// internal functions dropped): rowguard.claim -> rowguard_claim.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

#include "rowguard/pg/token_before_load.hpp"

//
// Every such function first raises a refusal still pending from the module's load (a
// token set by a statement before rowguard was loaded, token_before_load.hpp): the
// function whose call loaded the module is the first place that can raise it.
#define ROWGUARD_SQL_FUNCTION(name)                     \
  static Datum name##_body(PG_FUNCTION_ARGS);           \
  extern "C" {                                          \
  PGDLLEXPORT PG_FUNCTION_INFO_V1(name);                \
  }                                                     \
  extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS) { \
    rowguard::pg::RaisePendingTokenRefusal();           \
    return name##_body(fcinfo);                         \
  }                                                     \
  static Datum name##_body(PG_FUNCTION_ARGS)

// An older symbol a released install script names: calls `target` with the same
// arguments (a server may still run a released script's functions until the update).
#define ROWGUARD_SQL_FUNCTION_ALIAS(old_name, target)    \
  extern "C" PGDLLEXPORT Datum target(PG_FUNCTION_ARGS); \
  ROWGUARD_SQL_FUNCTION(old_name) { return target(fcinfo); }
