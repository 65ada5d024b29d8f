/*
 * diskbench.h - the workload that blkbench.c (blkfront/blkback) and virtblkbench.c
 * (virtio-blk) share, so that issue 6's disk comparison runs the same guest work on both
 * paths: the whole disk (4 to 256 MiB, in whole batches) written from sector 0, then read
 * back, in IO_BYTES I/Os, BATCH in flight; each batch stamps the first 8 bytes of every
 * sector with its disk offset before writing, clears the stamps before reading and checks
 * them after.
 */
#ifndef DISKBENCH_H
#define DISKBENCH_H

#include <stdint.h>
#include "guest.h"

#define DISKBENCH_MIN (4u << 20)
#define DISKBENCH_MAX (256u << 20)
#define IO_BYTES (64u << 10)
#define BATCH 16
#define BATCH_BYTES (BATCH * IO_BYTES)

/* Bytes the workload moves each way on a disk of `sectors` sectors; 0 if it is under 4 MiB. */
static inline uint32_t diskbench_total(uint64_t sectors)
{
    if (sectors < DISKBENCH_MIN / 512)
        return 0;
    return sectors >= DISKBENCH_MAX / 512 ? DISKBENCH_MAX : (uint32_t)(sectors * 512 / BATCH_BYTES * BATCH_BYTES);
}

/* The batch buffer's initial contents (filled once, untimed). */
static inline void diskbench_fill(uint8_t *buf)
{
    for (uint32_t i = 0; i < BATCH_BYTES; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
}

/* Stamp (or, with `clear`, zero) the first 8 bytes of every sector of the batch at disk offset `off`. */
static inline void diskbench_stamp(uint8_t *buf, uint32_t off, int clear)
{
    for (uint32_t i = 0; i < BATCH_BYTES; i += 512) {
        uint64_t v = clear ? 0 : (uint64_t)(off + i) << 8 | 0xa5;
        memcpy(buf + i, &v, 8);
    }
}

/* Whether every sector of the batch at `off` carries its stamp. */
static inline int diskbench_stamped(const uint8_t *buf, uint32_t off)
{
    for (uint32_t i = 0; i < BATCH_BYTES; i += 512) {
        uint64_t v;
        memcpy(&v, buf + i, 8);
        if (v != ((uint64_t)(off + i) << 8 | 0xa5))
            return 0;
    }
    return 1;
}

#endif
