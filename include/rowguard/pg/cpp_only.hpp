// Include this LAST in every glue file that must stay plain C++ (the bridge, the
// identity cache): such files hold C++ objects with destructors, across which
// PostgreSQL's longjmp must never pass, so they may not call PostgreSQL at all. The
// build fails if any PostgreSQL header was included before this point.
#pragma once

#if defined(POSTGRES_H) || defined(C_H) || defined(POSTGRES_FE_H) || defined(FMGR_H) || \
    defined(ELOG_H) || defined(PALLOC_H)
#error "a plain C++ glue file includes a PostgreSQL header (see docs/design.md)"
#endif

// A PostgreSQL header included after this point finds its include guards set and
// declares nothing, so any use of it fails to compile.
#define POSTGRES_H
#define C_H
