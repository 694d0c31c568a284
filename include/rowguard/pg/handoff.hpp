// Moving results the bridge (or the GUC allocator) returned in malloc'ed memory into
// palloc'ed memory without leaking the block when palloc fails.
#pragma once

extern "C" {
#include "postgres.h"

#include "utils/memutils.h"
}

#include <cstdlib>
#include <cstring>

namespace rowguard::pg {

// Copies `size` bytes at `data` to `offset` bytes into `offset + size` bytes palloc'ed in
// CurrentMemoryContext (the caller fills the first `offset`, e.g. a varlena header),
// then releases `block` (which holds `data`) with `release` - also when the palloc
// fails, in which case the out-of-memory ERROR is raised after the release.
inline void* PallocCopyThenRelease(const void* data, std::size_t size, std::size_t offset,
                                   void* block, void (*release)(void*)) {
  auto* copy = static_cast<char*>(palloc_extended(offset + size, MCXT_ALLOC_NO_OOM));
  if (copy != nullptr) std::memcpy(copy + offset, data, size);
  release(block);
  if (copy == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  }
  return copy;
}

}  // namespace rowguard::pg
