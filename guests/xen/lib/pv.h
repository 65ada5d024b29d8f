/*
 * pv.h - wasmvisor's PV frontends (docs/xen/frontends.md): the PV console
 * (pvcons.c), blkfront (blkfront.c), netfront (netfront.c) and a tiny
 * ARP + ICMP echo stack over netfront (ping.c), and the test program that
 * uses them all (pvprog.c). Layouts are those of
 * xen/include/public/io/{console,blkif,netif}.h, 64-bit.
 */
#ifndef XEN_PV_H
#define XEN_PV_H

#include "xen.h"
#include "ring.h"

/* ---- PV console ---- */
/** Sends console output (con_printf) to the PV console ring from now on. */
void pvcons_init(void);
/** The next byte typed into the console, or -1. */
int pvcons_getc(void);

/* ---- blkif (io/blkif.h) ---- */
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_INDIRECT 6
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define BLKIF_RSP_OKAY 0
#define BLKIF_RSP_ERROR (-1)
#define BLKIF_RSP_EOPNOTSUPP (-2)
#define VDISK_READONLY 4

struct blkif_request_segment {
    uint32_t gref;              /* grant of the data page */
    uint8_t first_sect;         /* first 512-byte sector of the page used */
    uint8_t last_sect;          /* last one (<= 7) */
    uint16_t pad;
};
struct blkif_request {
    uint8_t operation;          /* BLKIF_OP_* */
    uint8_t nr_segments;        /* 1..11 (0 for a flush) */
    uint16_t handle;
    uint64_t id;                /* echoed in the response */
    uint64_t sector_number;     /* start on the disk */
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
/* BLKIF_OP_INDIRECT: the segments are in the pages indirect_grefs name (512 per page). */
struct blkif_request_indirect {
    uint8_t operation;          /* BLKIF_OP_INDIRECT */
    uint8_t indirect_op;        /* BLKIF_OP_READ or BLKIF_OP_WRITE */
    uint16_t nr_segments;       /* up to the backend's feature-max-indirect-segments */
    uint64_t id;
    uint64_t sector_number;
    uint16_t handle;
    uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};
struct blkif_response {
    uint64_t id;
    uint8_t operation;
    int16_t status;             /* BLKIF_RSP_* */
};

/** One I/O: `len` bytes (a multiple of 512, buf 512-aligned) at `sector`; a flush has len 0. */
struct blk_io {
    uint8_t op;
    uint64_t sector;
    void *buf;
    uint32_t len;
    int16_t status;             /* set by blkfront_io: 0, or the first failing BLKIF_RSP_* */
    uint16_t parts;             /* ring requests still outstanding (internal) */
};

/* Ring pages we may negotiate (ring-page-order <= 1) and the slots that gives (64 x 112 bytes). */
#define BLK_RING_PAGES 2
#define BLK_RING_SLOTS 64
/* Segments we put in one indirect request (one indirect page; the backend may offer more). */
#define BLK_IND_SEGS 32
struct blk_shadow {
    struct blk_io *io;          /* NULL: slot free */
    uint8_t nr_refs;
    int refs[BLK_IND_SEGS];     /* grant refs, or pgrant slots when persistent */
};

/* Persistent grants (blkif.h feature-persistent): one grant per slot, slot = gfn % BLK_PGRANTS,
 * kept for the whole connection and pointed at another frame when the slot is reused. */
#define BLK_PGRANTS 256
struct blk_pgrant {
    uint64_t gfn;               /* the frame the grant points at */
    int ref;                    /* 0: not granted yet */
    uint16_t busy;              /* segments in flight through it */
};

struct blkfront {
    uint8_t ring_page[4096 * BLK_RING_PAGES] __attribute__((aligned(4096)));
    /* One page of segment descriptors per shadow slot (indirect requests), granted read-only once. */
    struct blkif_request_segment ind[BLK_RING_SLOTS][512] __attribute__((aligned(4096)));
    int ind_ref[BLK_RING_SLOTS];
    struct front_ring ring;
    struct blk_shadow shadow[BLK_RING_SLOTS];
    char dir[48];               /* device/vbd/<devid> */
    char backend[96];
    uint16_t backend_id;
    uint64_t sectors;
    unsigned info;              /* VDISK_* */
    int read_only, flush;
    uint32_t port;
    int ring_ref;               /* the first ring page's grant */
    unsigned ring_pages;        /* 1, or 2^ring-page-order negotiated */
    unsigned max_segs;          /* segments per request: 11, or up to BLK_IND_SEGS with indirect */
    int want_persistent;        /* set before blkfront_init to offer feature-persistent */
    int want_indirect;          /* set before blkfront_init to use feature-max-indirect-segments */
    int want_ring_order;        /* set before blkfront_init: ring-page-order wanted (0 or 1) */
    int persistent;             /* negotiated: both ends wrote feature-persistent = 1 */
    struct blk_pgrant pg[BLK_PGRANTS];
    /* counters */
    unsigned long requests, segments, notifies, waits, grant_errors, pgrant_new, pgrant_repoints;
};

/** Connect to the vbd at `dir` ("device/vbd/51712"); 0, or a negative step number (printed by the caller). */
int blkfront_init(struct blkfront *b, const char *dir);
/** Runs `n` I/Os (split into ring requests of <= 11 segments, many in flight, one notify per batch) and waits for all; the number that failed. */
int blkfront_io(struct blkfront *b, struct blk_io *ios, unsigned n);

/* ---- netif (io/netif.h) ---- */
#define NET_RX_BUFS 32
#define NET_TX_BUFS 16
struct netif_tx_request { uint32_t gref; uint16_t offset, flags, id, size; };
struct netif_tx_response { uint16_t id; int16_t status; };
struct netif_rx_request { uint16_t id, pad; uint32_t gref; };
struct netif_rx_response { uint16_t id, offset, flags; int16_t status; };

struct netfront {
    uint8_t tx_page[4096] __attribute__((aligned(4096)));
    uint8_t rx_page[4096] __attribute__((aligned(4096)));
    uint8_t rxbuf[NET_RX_BUFS][4096] __attribute__((aligned(4096)));
    uint8_t txbuf[NET_TX_BUFS][4096] __attribute__((aligned(4096)));
    int rx_ref[NET_RX_BUFS], tx_ref[NET_TX_BUFS];
    uint8_t tx_busy[NET_TX_BUFS];
    struct front_ring tx, rx;
    char dir[48], backend[96];
    uint16_t backend_id;
    uint8_t mac[6];
    uint32_t port;
    unsigned long tx_packets, rx_packets, tx_errors, rx_errors, notifies;
};

/** Connect to the vif at `dir` ("device/vif/0"); 0, or a negative step number. */
int netfront_init(struct netfront *n, const char *dir);
/** Sends one frame (<= 4096 bytes); 0, or -1 if no tx buffer is free. */
int netfront_send(struct netfront *n, const void *frame, unsigned len);
/** Copies the next received frame into `buf`; its length, or 0 if none is waiting. */
unsigned netfront_recv(struct netfront *n, void *buf, unsigned max);
/** Whether a received frame is waiting; if not, asks the backend for an event at the next one. */
int netfront_rx_ready(struct netfront *n);

/* ---- ping.c ---- */
/** What ping_run saw. */
struct ping_result {
    unsigned arp_sent, echo_sent, echo_replies, arp_answered, echo_answered, timeouts;
    uint8_t peer_mac[6];
};
/**
 * Pings `peer` from `self` (IPv4, host order) over `n`: ARP, then ICMP echo
 * requests until one is answered, retransmitting every 10 ms of Xen time;
 * meanwhile answers ARP requests and echo requests for `self`. Returns 0 once
 * our echo was answered and we answered one echo from the peer (so the peer is
 * done with us too), -1 after 6000 timer expiries (60 s of Xen time).
 */
int ping_run(struct netfront *n, uint32_t self, uint32_t peer, struct ping_result *r);
/** A dotted-quad IPv4 address ("10.0.0.1"), host order; 0 if `s` is not exactly one. */
uint32_t inet_parse_ip(const char *s);
/** Prints `label` then `ip` as a dotted quad (con_printf). */
void inet_print_ip(const char *label, uint32_t ip);
/** Prints `label` then MAC `m` as xx:xx:xx:xx:xx:xx (con_printf). */
void inet_print_mac(const char *label, const uint8_t *m);
/**
 * Builds into `f` an Ethernet frame with an ARP (RFC 826) request (op 1, broadcast) or reply
 * (op 2, to `tmac`) from `smac`/`sip` for `tip`; returns its length (42, unpadded).
 */
unsigned inet_arp(uint8_t *f, const uint8_t *smac, uint32_t sip, uint16_t op, const uint8_t *tmac, uint32_t tip);
/**
 * Builds into `f` an Ethernet frame with an IPv4 (no options, DF, TTL 64) ICMP echo request
 * (type 8) or reply (type 0) carrying `data`; returns its length (42 + dlen, unpadded).
 */
unsigned inet_icmp_echo(uint8_t *f, const uint8_t *smac, const uint8_t *dmac, uint32_t src, uint32_t dst, uint8_t type,
                        uint16_t id, uint16_t seq, const uint8_t *data, unsigned dlen);

/* ---- pvprog.c: the PV test program (pvtest.c; minikernel as a DomU) ---- */
#define PVPROG_PATTERN_SECTOR 64
#define PVPROG_PATTERN_BYTES (128 * 1024)
/** The program's state: the frontends and the disk buffers (about 550 KiB: give it static storage). */
struct pvprog {
    struct blkfront blk;
    struct netfront net;
    uint8_t wbuf[PVPROG_PATTERN_BYTES + 4096] __attribute__((aligned(4096)));
    uint8_t rbuf[PVPROG_PATTERN_BYTES] __attribute__((aligned(4096)));
    const char *name;           /* the prefix of its lines ("pvtest") */
};
/**
 * Runs the PV test program (docs/xen/frontends.md) as `name`, once xen_parse_dt found the
 * /hypervisor node: events and the PV console, grant frame 0, the disk pattern of the first
 * vbd, a ping of the peer over the first vif. Ends the domain: SHUTDOWN_poweroff after
 * "<name>: all tests passed; powering off", SHUTDOWN_crash after a "FAIL: ..." line.
 */
void pvprog_run(struct pvprog *p, const char *name) __attribute__((noreturn));

/** FNV-1a, 32 bits. */
uint32_t fnv1a(const void *p, unsigned long n, uint32_t h);
#define FNV1A_INIT 0x811c9dc5u

#endif
