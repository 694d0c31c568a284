// Declares a C function callable from SQL with C linkage, exported from rowguard.so.
// The C symbol is the SQL name with "rowguard_" for the schema (leading underscores of
// internal functions dropped): rowguard.claim -> rowguard_claim.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

#define ROWGUARD_SQL_FUNCTION(name)      \
  extern "C" {                           \
  PGDLLEXPORT PG_FUNCTION_INFO_V1(name); \
  }                                      \
  extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS)

// An older symbol a released install script names: calls `target` with the same
// arguments (a server may still run a released script's functions until the update).
#define ROWGUARD_SQL_FUNCTION_ALIAS(old_name, target)    \
  extern "C" PGDLLEXPORT Datum target(PG_FUNCTION_ARGS); \
  ROWGUARD_SQL_FUNCTION(old_name) { return target(fcinfo); }
