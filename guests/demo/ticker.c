/*
 * ticker.c - a guest that keeps printing and keeps writing memory: the demo page's live
 * migration (docs/migration.md "In the browser") moves it between two Workers mid-run.
 *
 * 8 MiB of RAM, ROUNDS rounds. Each round rewrites a 1 MiB window of it that moves along
 * (so the dirty log sees a steady stream of writes while the other pages stay clean), folds
 * the whole 8 MiB into an FNV-1a checksum, and prints one line. The last line reports the
 * checksum of every round together: a migration that lost or garbled a page, or a register,
 * prints another number. Rounds are paced by the time CSR (at least TICK_MS each), but nothing
 * printed depends on time: the output is the same on every run.
 */
#include "guest.h"

#define MIB (1024 * 1024)
#define AREA (8 * MIB)
#define WINDOW (1 * MIB)
#define ROUNDS 240
/* Each round ends no earlier than TICK_MS after the previous one (the time CSR at 10 MHz, the
 * virt board's timebase-frequency): the run lasts at least ROUNDS * TICK_MS, however fast the
 * host, so there is time to migrate it mid-run. */
#define TICK_MS 25
#define TICKS_PER_MS 10000

static uint64_t area[AREA / 8];

static uint64_t fnv_words(const uint64_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
        h ^= h >> 32;
    }
    return h;
}

int main(void)
{
    con_printf("ticker: %d rounds over %d MiB, rewriting a %d MiB window each round\n", ROUNDS, AREA / MIB, WINDOW / MIB);
    uint64_t all = 0xcbf29ce484222325ull;
    uint64_t t0 = rdtime64();
    for (int r = 0; r < ROUNDS; r++) {
        /* The window moves by 256 KiB a round and wraps around the area. */
        size_t start = ((size_t)r * (WINDOW / 4)) % AREA / 8;
        for (size_t i = 0; i < WINDOW / 8; i++) {
            size_t k = (start + i) % (AREA / 8);
            area[k] = area[k] * 6364136223846793005ull + (uint64_t)r * 1442695040888963407ull + k;
        }
        uint64_t h = fnv_words(area, AREA / 8, 0xcbf29ce484222325ull);
        all = (all ^ h) * 0x100000001b3ull;
        con_printf("ticker: round %d/%d, memory fnv 0x%016lx\n", r + 1, ROUNDS, (unsigned long)h);
        while (rdtime64() - t0 < (uint64_t)(r + 1) * TICK_MS * TICKS_PER_MS)
            ;
    }
    con_printf("ticker: done, %d rounds, checksum 0x%016lx\n", ROUNDS, (unsigned long)all);
    return 0;
}
