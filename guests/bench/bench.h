/*
 * bench.h - helpers shared by the benchmark workloads in guests/bench/.
 *
 * Included after "guest.h", which is guests/common/guest.h in guest builds
 * and bench/native/guest.h (stdio shim) in the harness's native builds.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>

/*
 * Page-aligns a mutable global. Giving one .bss object this alignment makes
 * the whole .bss output section (and the stack link.ld puts at its end)
 * start on a fresh 4 KiB page, so no hot store lands on a page that also
 * holds code. Both QEMU and wasmvisor treat a store to a page with
 * translated code as possible self-modifying code and take a slow path
 * (QEMU: up to 100x slower), which would swamp what the workload measures.
 */
#define BENCH_PAGE_ALIGNED __attribute__((aligned(4096)))

/* One step of the 64-bit LCG with Knuth's MMIX constants; the high bits
   are the useful ones. */
static inline uint64_t bench_lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state;
}

#endif /* BENCH_H */
