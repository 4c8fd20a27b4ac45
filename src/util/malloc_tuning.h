// TuneMalloc: how the exporter configures glibc's allocator, once, before any thread starts.
//
// Every poll cycle and every scrape allocates and frees a few megabytes (the Sentinels'
// replies, the /metrics text). glibc's defaults hand such blocks back to the kernel on
// free and fault them in again, zeroed, on the next cycle: on a VM that was most of a
// scrape's CPU (bench_render at 100 groups: 15.9 ms per /metrics render, 2.0 ms without).
// Keep them in the heap for reuse instead, in at most two arenas so the memory kept is
// bounded (the workload's peak, once or twice), not a copy per HTTP worker thread.
//
// Thread-safety: call before starting threads.
#ifndef REDIS_HA_UTIL_MALLOC_TUNING_H_
#define REDIS_HA_UTIL_MALLOC_TUNING_H_

#include <malloc.h>

namespace redis_ha {

inline void TuneMalloc() {
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_MALLOC_TUNING_H_
