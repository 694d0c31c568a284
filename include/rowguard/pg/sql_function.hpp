// Declares a C function callable from SQL with C linkage, exported from rowguard.so.
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
