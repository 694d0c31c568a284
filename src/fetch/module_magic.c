/*
 * rowguard_fetch.so's magic block: PostgreSQL's dynamic loader refuses a module
 * without one, and one built for another major version. The only file of the module
 * that includes a PostgreSQL header (src/fetch/fetch_entry.cpp is plain C++).
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
