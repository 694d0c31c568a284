extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/builtins.h"
#include "access/table.h"
#include "access/genam.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "access/parallel.h"
#include "miscadmin.h"
#include "utils/guc_tables.h"

PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

void _PG_init(void) {}
