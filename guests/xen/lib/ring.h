/*
 * ring.h - the front end of a Xen shared ring (xen/include/public/io/ring.h),
 * written for wasmvisor's frontends (blkfront.c, netfront.c).
 *
 * One page, shared with the backend through a grant:
 *   0x00 u32 req_prod   producer index of requests (ours)
 *   0x04 u32 req_event  the backend wants an event when req_prod passes this
 *   0x08 u32 rsp_prod   producer index of responses (the backend's)
 *   0x0c u32 rsp_event  we want an event when rsp_prod passes this
 *   0x10 48 bytes of padding
 *   0x40 slots[RING_SIZE]   each slot holds a request or its response
 * RING_SIZE = (4096 - 64) / slot size, rounded down to a power of two.
 * Indices run free (u32, wrapping); slot i is at i & (RING_SIZE - 1).
 * The frontend keeps req_prod_pvt (requests written, not yet published) and
 * rsp_cons (responses consumed) privately, as FRONT_RING does.
 */
#ifndef XEN_RING_H
#define XEN_RING_H

#include <stdint.h>

struct sring_hdr {
    volatile uint32_t req_prod, req_event;
    volatile uint32_t rsp_prod, rsp_event;
    uint8_t pad[48];
};

struct front_ring {
    struct sring_hdr *sring;
    uint32_t req_prod_pvt;      /* requests written into slots */
    uint32_t rsp_cons;          /* responses consumed */
    uint32_t size;              /* slots (a power of two) */
    uint32_t slot;              /* bytes per slot */
};

/* Slots of a ring of `pages` pages whose slots are `slot` bytes (__CONST_RING_SIZE). */
static inline uint32_t ring_size_pages(uint32_t slot, uint32_t pages)
{
    uint32_t n = (4096 * pages - sizeof(struct sring_hdr)) / slot, p = 1;
    while (p * 2 <= n)
        p *= 2;
    return p;
}

/* Slots of a one-page ring whose slots are `slot` bytes (__RING_SIZE). */
static inline uint32_t ring_size_for(uint32_t slot)
{
    return ring_size_pages(slot, 1);
}

/* SHARED_RING_INIT + FRONT_RING_INIT over `pages` consecutive pages (a multi-page ring when > 1). */
static inline void front_ring_init_pages(struct front_ring *r, void *page, uint32_t slot, uint32_t pages)
{
    uint8_t *p = page;
    for (uint32_t i = 0; i < 4096 * pages; i++)
        p[i] = 0;
    r->sring = page;
    r->sring->req_event = 1;
    r->sring->rsp_event = 1;
    r->req_prod_pvt = 0;
    r->rsp_cons = 0;
    r->slot = slot;
    r->size = ring_size_pages(slot, pages);
}

/* SHARED_RING_INIT + FRONT_RING_INIT: a zeroed page with both events at 1. */
static inline void front_ring_init(struct front_ring *r, void *page, uint32_t slot)
{
    front_ring_init_pages(r, page, slot, 1);
}

/* The slot of free-running index i. */
static inline void *ring_slot(struct front_ring *r, uint32_t i)
{
    return (uint8_t *)r->sring + sizeof(struct sring_hdr) + (i & (r->size - 1)) * r->slot;
}

/* RING_FREE_REQUESTS: slots neither holding an unconsumed request nor an unread response. */
static inline uint32_t ring_free_requests(struct front_ring *r)
{
    return r->size - (r->req_prod_pvt - r->rsp_cons);
}

/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish, and say whether the backend
 * asked for an event for one of the requests just published. */
static inline int ring_push_requests(struct front_ring *r)
{
    uint32_t old = r->sring->req_prod, new = r->req_prod_pvt;
    __sync_synchronize();                 /* requests before the index */
    r->sring->req_prod = new;
    __sync_synchronize();                 /* the index before reading req_event */
    return (uint32_t)(new - r->sring->req_event) < (uint32_t)(new - old);
}

/* RING_HAS_UNCONSUMED_RESPONSES, with a read barrier before the slots are read. */
static inline uint32_t ring_unconsumed_responses(struct front_ring *r)
{
    uint32_t n = r->sring->rsp_prod - r->rsp_cons;
    __sync_synchronize();
    return n;
}

/* RING_FINAL_CHECK_FOR_RESPONSES: ask for an event at the next response, then
 * look again (a response published in between is not missed). */
static inline uint32_t ring_final_check_responses(struct front_ring *r)
{
    uint32_t n = ring_unconsumed_responses(r);
    if (n)
        return n;
    r->sring->rsp_event = r->rsp_cons + 1;
    __sync_synchronize();
    return ring_unconsumed_responses(r);
}

#endif
