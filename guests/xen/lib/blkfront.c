/*
 * blkfront.c - the block frontend (io/blkif.h; the behaviour of Linux's
 * xen-blkfront).
 *
 * Handshake (io/xenbus.h), with the toolstack's directories already there:
 *   read <dir>/backend and backend-id; wait for the backend's InitWait;
 *   read sectors, info (VDISK_READONLY), feature-flush-cache, sector-size;
 *   grant the ring page, allocate an unbound port for the backend;
 *   write ring-ref and event-channel; Initialised; wait for Connected; Connected.
 *
 * Multi-page ring (want_ring_order, blkif.h "max-ring-page-order"): when the
 * backend offers at least that order, the ring spans 2^order pages, each granted,
 * and we write ring-page-order and ring-ref0..ring-ref{2^order - 1} instead of
 * ring-ref (Linux's xen-blkfront does the same).
 *
 * Indirect segments (want_indirect, blkif.h "feature-max-indirect-segments"):
 * when the backend offers more than 11, each request carries up to
 * min(offer, BLK_IND_SEGS) segments in an indirect page (BLKIF_OP_INDIRECT):
 * one page of descriptors per shadow slot, granted once at connect (writable
 * with persistent grants, so the backend keeps it mapped; else read-only) and
 * rewritten for each request that slot carries.
 *
 * I/O: each blk_io is cut into ring requests of at most 11 segments, one per
 * page touched (first_sect..last_sect inside it). Without persistent grants
 * every data page is granted for the request only (read-only when the backend
 * reads it, for a write) and the grant is ended when the response arrives.
 *
 * Persistent grants (blkif.h feature-persistent; opt in with want_persistent):
 * the grants stay for the whole connection and the backend keeps them mapped.
 * Unlike Linux's blkfront we do not copy through a pool of granted pages: the
 * grant follows the I/O buffer's frame. Slot gfn % BLK_PGRANTS holds one
 * writable grant; a page that hashes to a slot pointed elsewhere repoints the
 * grant (a 32-bit store of the entry's frame) once no request in flight uses
 * it, and the backend, which re-reads the entry before each use of a kept
 * mapping, remaps it. A request whose slot is busy with another frame waits
 * for the responses in flight. The grants are never ended while connected. As many requests as the ring
 * holds are published together and the backend is notified once per batch
 * (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY); responses are consumed until none is
 * left, then RING_FINAL_CHECK_FOR_RESPONSES and SCHEDOP_block until the
 * backend's event.
 */
#include "pv.h"

#define BLKIF_REQ_SLOT 112      /* sizeof(struct blkif_request): the ring's slot */
_Static_assert(sizeof(struct blkif_request_indirect) <= BLKIF_REQ_SLOT, "blkif_request_indirect fits a slot");
_Static_assert(__builtin_offsetof(struct blkif_request_indirect, indirect_grefs) == 28, "indirect_grefs at 28");
_Static_assert(sizeof(struct blkif_request) == BLKIF_REQ_SLOT, "blkif_request is 112 bytes");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response is 16 bytes");

static int read_key(const char *dir, const char *key, char *out, unsigned max)
{
    char p[160];
    path_join(p, sizeof p, dir, key);
    return xenbus_read(p, out, max);
}

static unsigned long read_ul(const char *dir, const char *key, unsigned long dflt)
{
    char p[160];
    path_join(p, sizeof p, dir, key);
    return xenbus_read_ul(p, dflt);
}

static int write_ul(const char *dir, const char *key, unsigned long v)
{
    char p[160];
    path_join(p, sizeof p, dir, key);
    return xenbus_write_ul(p, v);
}

int blkfront_init(struct blkfront *b, const char *dir)
{
    unsigned i;
    for (i = 0; dir[i] && i + 1 < sizeof b->dir; i++)
        b->dir[i] = dir[i];
    b->dir[i] = 0;
    if (read_key(b->dir, "backend", b->backend, sizeof b->backend) != 0)
        return -1;
    b->backend_id = (uint16_t)read_ul(b->dir, "backend-id", 0);
    if (xenbus_wait_state(b->backend, XenbusStateInitWait) != 0)
        return -2;
    b->sectors = read_ul(b->backend, "sectors", 0);
    b->info = (unsigned)read_ul(b->backend, "info", 0);
    b->read_only = (b->info & VDISK_READONLY) != 0;
    b->flush = read_ul(b->backend, "feature-flush-cache", 0) == 1;
    if (read_ul(b->backend, "sector-size", 512) != 512 || b->sectors == 0)
        return -3;
    b->persistent = b->want_persistent && read_ul(b->backend, "feature-persistent", 0) == 1;
    for (i = 0; i < BLK_PGRANTS; i++) {
        b->pg[i].ref = 0;
        b->pg[i].busy = 0;
    }
    if (b->persistent && write_ul(b->dir, "feature-persistent", 1) != 0)
        return -5;

    b->max_segs = BLKIF_MAX_SEGMENTS_PER_REQUEST;
    if (b->want_indirect) {
        unsigned long m = read_ul(b->backend, "feature-max-indirect-segments", 0);
        if (m > BLKIF_MAX_SEGMENTS_PER_REQUEST)
            b->max_segs = m < BLK_IND_SEGS ? (unsigned)m : BLK_IND_SEGS;
    }
    b->ring_pages = 1;
    if (b->want_ring_order > 0 && (1u << b->want_ring_order) <= BLK_RING_PAGES &&
        read_ul(b->backend, "max-ring-page-order", 0) >= (unsigned long)b->want_ring_order)
        b->ring_pages = 1u << b->want_ring_order;

    front_ring_init_pages(&b->ring, b->ring_page, BLKIF_REQ_SLOT, b->ring_pages);
    for (i = 0; i < BLK_RING_SLOTS; i++)
        b->shadow[i].io = 0;
    b->port = xen_alloc_unbound(b->backend_id);
    if (b->port == 0)
        return -4;
    for (i = 0; i < b->ring_pages; i++) {
        int ref = gnttab_grant(b->backend_id, ((uint64_t)b->ring_page >> 12) + i, 0);
        char key[16] = "ring-ref";
        if (ref < 0)
            return -4;
        if (i == 0)
            b->ring_ref = ref;
        if (b->ring_pages > 1) {
            key[8] = (char)('0' + i);   /* ring-ref%u, i < 10 */
            key[9] = 0;
        }
        if (write_ul(b->dir, key, (unsigned)ref) != 0)
            return -5;
    }
    if (b->ring_pages > 1 && write_ul(b->dir, "ring-page-order", (unsigned long)b->want_ring_order) != 0)
        return -5;
    if (b->max_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
        for (i = 0; i < b->ring.size; i++) {
            /* Writable with persistent grants, as Linux's blkfront grants them: the backend keeps
             * the mapping (it only reads it); read-only otherwise. */
            b->ind_ref[i] = gnttab_grant(b->backend_id, (uint64_t)b->ind[i] >> 12, !b->persistent);
            if (b->ind_ref[i] < 0)
                return -4;
        }
    }
    if (write_ul(b->dir, "event-channel", b->port) != 0)
        return -5;
    if (xenbus_switch_state(b->dir, XenbusStateInitialised) != 0)
        return -6;
    if (xenbus_wait_state(b->backend, XenbusStateConnected) != 0)
        return -7;
    return xenbus_switch_state(b->dir, XenbusStateConnected) == 0 ? 0 : -8;
}

#define GT ((volatile struct grant_entry_v1 *)(xen.grant_gfn[0] << 12))

/* Whether a persistent slot needed by the next request from io at *off is busy with another frame. */
static int pgrant_busy(struct blkfront *b, struct blk_io *io, uint32_t off)
{
    for (unsigned n = 0; n < b->max_segs && off < io->len; n++) {
        uint64_t addr = (uint64_t)io->buf + off;
        struct blk_pgrant *p = &b->pg[(addr >> 12) % BLK_PGRANTS];
        if (p->busy && p->gfn != addr >> 12)
            return 1;
        off += 4096 - (addr & 4095);
    }
    return 0;
}

/* The persistent grant for frame gfn (granting or repointing its slot); the slot, or -1. */
static int pgrant_get(struct blkfront *b, uint64_t gfn)
{
    unsigned s = gfn % BLK_PGRANTS;
    struct blk_pgrant *p = &b->pg[s];
    if (p->ref == 0) {
        int ref = gnttab_grant(b->backend_id, gfn, 0);
        if (ref < 0)
            return -1;
        p->ref = ref;
        p->gfn = gfn;
        b->pgrant_new++;
    } else if (p->gfn != gfn) {
        /* Not in flight (pgrant_busy): point the grant at the new frame. The backend sees the
         * frame change before it uses its mapping again and maps the entry afresh. */
        GT[p->ref].frame = (uint32_t)gfn;
        __sync_synchronize();
        p->gfn = gfn;
        b->pgrant_repoints++;
    }
    p->busy++;
    return (int)s;
}

/* Fill up to `max` segments `seg` from io at byte offset *off (advanced); how many, or -1. */
static int fill_segs(struct blkfront *b, struct blk_shadow *sh, struct blk_io *io, uint32_t *off,
                     volatile struct blkif_request_segment *seg, unsigned max)
{
    unsigned nr = 0;
    sh->nr_refs = 0;
    while (io->op != BLKIF_OP_FLUSH_DISKCACHE && nr < max && *off < io->len) {
        uint64_t addr = (uint64_t)io->buf + *off;
        uint32_t in_page = addr & 4095, chunk = 4096 - in_page;
        if (chunk > io->len - *off)
            chunk = io->len - *off;
        int ref, slot = -1;
        if (b->persistent) {
            slot = pgrant_get(b, addr >> 12);
            ref = slot < 0 ? -1 : b->pg[slot].ref;
        } else
            ref = gnttab_grant(b->backend_id, addr >> 12, io->op == BLKIF_OP_WRITE);
        if (ref < 0)
            return -1;
        volatile struct blkif_request_segment *s = &seg[nr++];
        s->gref = (uint32_t)ref;
        s->first_sect = (uint8_t)(in_page / 512);
        s->last_sect = (uint8_t)((in_page + chunk) / 512 - 1);
        sh->refs[sh->nr_refs++] = b->persistent ? slot : ref;
        *off += chunk;
    }
    b->segments += nr;
    return (int)nr;
}

/* Fill one ring request (indirect when negotiated) from io at byte offset *off; advances *off. */
static int fill(struct blkfront *b, struct blk_shadow *sh, uint64_t id, struct blk_io *io, uint32_t *off)
{
    void *rq = ring_slot(&b->ring, b->ring.req_prod_pvt);
    int nr;
    if (b->max_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST && io->op != BLKIF_OP_FLUSH_DISKCACHE) {
        struct blkif_request_indirect r;
        memset(&r, 0, sizeof r);
        r.operation = BLKIF_OP_INDIRECT;
        r.indirect_op = io->op;
        r.id = id;
        r.sector_number = io->sector + *off / 512;
        r.indirect_grefs[0] = (uint32_t)b->ind_ref[id];
        nr = fill_segs(b, sh, io, off, b->ind[id], b->max_segs);
        if (nr < 0)
            return -1;
        r.nr_segments = (uint16_t)nr;
        __sync_synchronize();           /* the descriptors before the request */
        memcpy(rq, &r, sizeof r);
    } else {
        struct blkif_request r;
        memset(&r, 0, sizeof r);
        r.operation = io->op;
        r.id = id;
        r.sector_number = io->sector + *off / 512;
        nr = fill_segs(b, sh, io, off, r.seg, BLKIF_MAX_SEGMENTS_PER_REQUEST);
        if (nr < 0)
            return -1;
        r.nr_segments = (uint8_t)nr;
        memcpy(rq, &r, sizeof r);
    }
    b->requests++;
    b->ring.req_prod_pvt++;
    return 0;
}

/* Consume every response on the ring; returns how many. */
static unsigned consume(struct blkfront *b)
{
    unsigned got = 0;
    while (ring_unconsumed_responses(&b->ring)) {
        struct blkif_response r;
        memcpy(&r, ring_slot(&b->ring, b->ring.rsp_cons), sizeof r);
        b->ring.rsp_cons++;
        got++;
        if (r.id >= BLK_RING_SLOTS || !b->shadow[r.id].io) {
            con_printf("FAIL: blkfront: response with unknown id %lu\n", (unsigned long)r.id);
            xen_shutdown(SHUTDOWN_crash);
        }
        struct blk_shadow *sh = &b->shadow[r.id];
        for (unsigned i = 0; i < sh->nr_refs; i++) {
            if (b->persistent)
                b->pg[sh->refs[i]].busy--;
            else if (gnttab_end(sh->refs[i]) != 0)
                b->grant_errors++;
        }
        if (r.status != BLKIF_RSP_OKAY && sh->io->status == 0)
            sh->io->status = r.status;
        sh->io->parts--;
        sh->io = 0;
    }
    return got;
}

int blkfront_io(struct blkfront *b, struct blk_io *ios, unsigned n)
{
    unsigned next = 0, inflight = 0;
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        ios[i].status = 0;
        ios[i].parts = 0;
        if ((ios[i].len | (uint64_t)ios[i].buf) & 511)
            ios[i].status = BLKIF_RSP_ERROR;   /* not sector-aligned: never sent */
    }
    for (;;) {
        unsigned queued = 0;
        while (next < n) {
            struct blk_io *io = &ios[next];
            if (io->status != 0 && io->parts == 0 && off == 0) {
                next++;
                continue;
            }
            if (ring_free_requests(&b->ring) == 0)
                break;
            unsigned id = 0;
            while (id < BLK_RING_SLOTS && b->shadow[id].io)
                id++;
            if (id == BLK_RING_SLOTS)
                break;
            if (b->persistent && pgrant_busy(b, io, off))
                break;                  /* wait for the requests in flight using the slot */
            b->shadow[id].io = io;
            if (fill(b, &b->shadow[id], id, io, &off) != 0) {
                con_printf("FAIL: blkfront: out of grant references\n");
                xen_shutdown(SHUTDOWN_crash);
            }
            io->parts++;
            inflight++;
            queued++;
            if (off >= io->len) {
                off = 0;
                next++;
            }
        }
        if (queued && ring_push_requests(&b->ring)) {
            b->notifies++;
            xen_notify(b->port);
        }
        inflight -= consume(b);
        if (next == n && inflight == 0)
            break;
        if (ring_final_check_responses(&b->ring) == 0) {
            b->waits++;
            xen_wait_port(b->port);
        }
    }
    int failed = 0;
    for (unsigned i = 0; i < n; i++)
        failed += ios[i].status != 0;
    return failed;
}
