/*
 * blk.c - a polled virtio-blk driver over virtio-mmio (virtio 1.x, MMIO
 * register layout version 2), and a disk test.
 *
 * Probes the 8 virtio-mmio slots of the virt board, takes the block device
 * (DeviceID 2), negotiates VIRTIO_F_VERSION_1 plus SEG_MAX/FLUSH/RO (spec
 * §3.1.1), sets up one split virtqueue (§2.7, §4.2.3.2), then writes a
 * sector pattern at the start and at the end of the disk, flushes, reads it
 * back in one batch of requests under a single notify, and checks it. A
 * read-only disk (VIRTIO_BLK_F_RO) must refuse the write with IOERR
 * instead. Finally a read past the end must give IOERR and an unknown
 * request type UNSUPP.
 *
 * Needs a disk of at least 64 sectors. The output does not depend on the
 * slot the device sits in (QEMU fills slots from the top, wasmvisor uses
 * slot 0), so the same image prints the same on both.
 *
 * The driver polls the used ring and sets VIRTQ_AVAIL_F_NO_INTERRUPT, so
 * each request costs one MMIO access (the QueueNotify write), and a batch
 * of requests costs one as well.
 */
#include "guest.h"

/* ---- virtio-mmio (§4.2.2) ------------------------------------------------ */
#define VIRTIO_MMIO_BASE   0x10001000UL
#define VIRTIO_MMIO_STRIDE 0x1000UL
#define VIRTIO_MMIO_SLOTS  8

#define REG_MAGIC          0x000
#define REG_VERSION        0x004
#define REG_DEVICE_ID      0x008
#define REG_VENDOR_ID      0x00c
#define REG_DEV_FEATURES   0x010
#define REG_DEV_FEAT_SEL   0x014
#define REG_DRV_FEATURES   0x020
#define REG_DRV_FEAT_SEL   0x024
#define REG_QUEUE_SEL      0x030
#define REG_QUEUE_NUM_MAX  0x034
#define REG_QUEUE_NUM      0x038
#define REG_QUEUE_READY    0x044
#define REG_QUEUE_NOTIFY   0x050
#define REG_STATUS         0x070
#define REG_QUEUE_DESC     0x080 /* low; high at +4 */
#define REG_QUEUE_DRIVER   0x090
#define REG_QUEUE_DEVICE   0x0a0
#define REG_CONFIG         0x100

#define MAGIC_VIRT         0x74726976u /* "virt" */
#define DEVICE_ID_BLOCK    2

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER      2
#define STATUS_DRIVER_OK   4
#define STATUS_FEATURES_OK 8

#define F_VERSION_1        (1ull << 32)
#define F_BLK_SEG_MAX      (1ull << 2)
#define F_BLK_RO           (1ull << 5)
#define F_BLK_FLUSH        (1ull << 9)

/* ---- virtio-blk (§5.2) --------------------------------------------------- */
#define BLK_T_IN     0
#define BLK_T_OUT    1
#define BLK_T_FLUSH  4
#define BLK_T_GET_ID 8
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2
#define SECTOR       512
#define CFG_CAPACITY 0x00 /* le64 */
#define CFG_SEG_MAX  0x0c /* le32 */

/* ---- the split virtqueue (§2.7) ------------------------------------------ */
#define QSIZE        16
#define DESC_F_NEXT  1
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[QSIZE];
    uint16_t used_event;
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[QSIZE];
    uint16_t avail_event;
};

struct blk_req_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

static struct virtq_desc desc[QSIZE] __attribute__((aligned(4096)));
static volatile struct virtq_avail avail __attribute__((aligned(4096)));
static volatile struct virtq_used used __attribute__((aligned(4096)));

/* Up to 4 requests in flight, each with its own header and status byte. */
#define MAX_BATCH 4
static struct blk_req_hdr hdr[MAX_BATCH];
static volatile uint8_t status[MAX_BATCH];

#define RUN_SECTORS 8
static uint8_t wbuf[3][RUN_SECTORS * SECTOR] __attribute__((aligned(512)));
static uint8_t rbuf[3][RUN_SECTORS * SECTOR] __attribute__((aligned(512)));
static uint8_t idbuf[20];

static uintptr_t dev;        /* base of the block device's slot */
static uint16_t next_desc;   /* descriptors are used from 0 per batch */
static uint16_t last_used;   /* used.idx the driver has consumed */

static uint32_t rd(unsigned off) { return mmio_read32(dev + off); }
static void wr(unsigned off, uint32_t v) { mmio_write32(dev + off, v); }

static uint32_t crc32(const uint8_t *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
    return ~crc;
}

/* The byte the test writes at offset i of disk sector s. */
static uint8_t pattern(uint64_t s, unsigned i)
{
    return (uint8_t)(s * 131 + i * 7 + (i >> 8) + 0x5a);
}

/* ---- probing and initialisation ------------------------------------------ */

static int probe(void)
{
    int blocks = 0, others = 0;
    for (int i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
        uintptr_t base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE;
        if (mmio_read32(base + REG_MAGIC) != MAGIC_VIRT)
            continue;
        uint32_t version = mmio_read32(base + REG_VERSION);
        uint32_t id = mmio_read32(base + REG_DEVICE_ID);
        if (id == 0)
            continue; /* an empty slot (§4.2.3.1.1) */
        if (id != DEVICE_ID_BLOCK) {
            others++;
            continue;
        }
        if (version != 2) {
            con_printf("virtio-blk: block device with legacy interface (version %u), need version 2\n", version);
            continue;
        }
        if (!dev)
            dev = base;
        blocks++;
    }
    con_printf("virtio-blk: %d slots probed: %d block device(s), %d other device(s)\n",
               VIRTIO_MMIO_SLOTS, blocks, others);
    return blocks > 0;
}

/* §3.1.1 steps 1-8 for one queue. Returns the accepted features, 0 on failure. */
static uint64_t init_device(void)
{
    wr(REG_STATUS, 0); /* reset */
    wr(REG_STATUS, STATUS_ACKNOWLEDGE);
    wr(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);

    wr(REG_DEV_FEAT_SEL, 0);
    uint64_t offered = rd(REG_DEV_FEATURES);
    wr(REG_DEV_FEAT_SEL, 1);
    offered |= (uint64_t)rd(REG_DEV_FEATURES) << 32;
    if (!(offered & F_VERSION_1)) {
        con_puts("virtio-blk: VIRTIO_F_VERSION_1 not offered\n");
        return 0;
    }
    uint64_t accepted = offered & (F_VERSION_1 | F_BLK_SEG_MAX | F_BLK_FLUSH | F_BLK_RO);
    wr(REG_DRV_FEAT_SEL, 0);
    wr(REG_DRV_FEATURES, (uint32_t)accepted);
    wr(REG_DRV_FEAT_SEL, 1);
    wr(REG_DRV_FEATURES, (uint32_t)(accepted >> 32));
    wr(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(rd(REG_STATUS) & STATUS_FEATURES_OK)) {
        con_puts("virtio-blk: device refused FEATURES_OK\n");
        return 0;
    }
    con_printf("virtio-blk: features accepted 0x%016lx\n", (unsigned long)accepted);

    wr(REG_QUEUE_SEL, 0);
    if (rd(REG_QUEUE_READY) != 0) {
        con_puts("virtio-blk: queue 0 already live\n");
        return 0;
    }
    uint32_t max = rd(REG_QUEUE_NUM_MAX);
    if (max < QSIZE) {
        con_printf("virtio-blk: QueueNumMax %u below %d\n", max, QSIZE);
        return 0;
    }
    wr(REG_QUEUE_NUM, QSIZE);
    avail.flags = AVAIL_F_NO_INTERRUPT; /* we poll the used ring */
    wr(REG_QUEUE_DESC, (uint32_t)(uintptr_t)desc);
    wr(REG_QUEUE_DESC + 4, (uint32_t)((uint64_t)(uintptr_t)desc >> 32));
    wr(REG_QUEUE_DRIVER, (uint32_t)(uintptr_t)&avail);
    wr(REG_QUEUE_DRIVER + 4, (uint32_t)((uint64_t)(uintptr_t)&avail >> 32));
    wr(REG_QUEUE_DEVICE, (uint32_t)(uintptr_t)&used);
    wr(REG_QUEUE_DEVICE + 4, (uint32_t)((uint64_t)(uintptr_t)&used >> 32));
    wr(REG_QUEUE_READY, 1);
    wr(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return accepted;
}

/* ---- requests ------------------------------------------------------------ */

static uint16_t put_desc(void *addr, uint32_t len, uint16_t flags)
{
    uint16_t i = next_desc++;
    desc[i].addr = (uint64_t)(uintptr_t)addr;
    desc[i].len = len;
    desc[i].flags = flags;
    desc[i].next = flags & DESC_F_NEXT ? (uint16_t)(i + 1) : 0;
    return i;
}

/*
 * Queue request `slot` (0..MAX_BATCH-1): header, then the data as `nseg`
 * equal pieces (device-writable for IN and GET_ID), then the status byte.
 * Published in the available ring; the device hears of it at kick().
 */
static void queue_request(int slot, uint32_t type, uint64_t sector, uint8_t *data, uint32_t len, int nseg)
{
    hdr[slot].type = type;
    hdr[slot].reserved = 0;
    hdr[slot].sector = sector;
    status[slot] = 0xff;
    uint16_t head = put_desc(&hdr[slot], sizeof hdr[slot], DESC_F_NEXT);
    uint16_t dflags = DESC_F_NEXT | (type == BLK_T_OUT ? 0 : DESC_F_WRITE);
    for (int k = 0; k < nseg && len; k++)
        put_desc(data + k * (len / nseg), len / nseg, dflags);
    put_desc((void *)&status[slot], 1, DESC_F_WRITE);
    avail.ring[avail.idx % QSIZE] = head;
    __sync_synchronize(); /* ring entry before the index (§2.7.13.2) */
    avail.idx++;
}

/* Notify the device and poll until `count` more buffers are used. */
static int kick(int count)
{
    __sync_synchronize(); /* avail.idx before the notify (§2.7.13.3) */
    wr(REG_QUEUE_NOTIFY, 0);
    uint16_t want = (uint16_t)(last_used + count);
    for (long spin = 0; used.idx != want; spin++) {
        if (spin > 200000000L) {
            con_printf("virtio-blk: timeout waiting for used idx %u (at %u)\n", want, used.idx);
            return 0;
        }
    }
    __sync_synchronize(); /* used.idx before the used elements and buffers */
    last_used = want;
    next_desc = 0;
    return 1;
}

/* One request, waited for. Returns its status byte (0xff when it never completed). */
static int request(uint32_t type, uint64_t sector, uint8_t *data, uint32_t len, int nseg)
{
    queue_request(0, type, sector, data, len, nseg);
    if (!kick(1))
        return 0xff;
    return status[0];
}

static const char *status_name(int s)
{
    switch (s) {
    case BLK_S_OK: return "OK";
    case BLK_S_IOERR: return "IOERR";
    case BLK_S_UNSUPP: return "UNSUPP";
    default: return "?";
    }
}

/* ---- the test ------------------------------------------------------------ */

int main(void)
{
    if (!probe()) {
        con_puts("virtio-blk: no block device (attach a disk)\n");
        return 2;
    }
    con_printf("virtio-blk: vendor 0x%08x\n", rd(REG_VENDOR_ID));
    uint64_t features = init_device();
    if (!features)
        return 3;

    uint64_t capacity = rd(REG_CONFIG + CFG_CAPACITY) | (uint64_t)rd(REG_CONFIG + CFG_CAPACITY + 4) << 32;
    con_printf("virtio-blk: capacity %lu sectors", (unsigned long)capacity);
    if (features & F_BLK_SEG_MAX)
        con_printf(", seg_max %u", rd(REG_CONFIG + CFG_SEG_MAX));
    con_printf("%s\n", features & F_BLK_RO ? ", read-only" : "");
    if (capacity < 64) {
        con_puts("virtio-blk: disk too small (need 64 sectors)\n");
        return 4;
    }

    memset(idbuf, 0xaa, sizeof idbuf);
    int s = request(BLK_T_GET_ID, 0, idbuf, sizeof idbuf, 1);
    CHECK_EQ("GET_ID status", s, BLK_S_OK);
    con_printf("virtio-blk: GET_ID %s, id \"", status_name(s));
    for (unsigned i = 0; i < sizeof idbuf && idbuf[i] && idbuf[i] != 0xaa; i++)
        con_putc(idbuf[i] >= 32 && idbuf[i] < 127 ? (char)idbuf[i] : '?');
    con_puts("\"\n");

    /* Three runs of 8 sectors: the start, the middle, the end of the disk. */
    uint64_t start[3] = { 0, capacity / 2, capacity - RUN_SECTORS };
    for (int r = 0; r < 3; r++)
        for (unsigned i = 0; i < sizeof wbuf[r]; i++)
            wbuf[r][i] = pattern(start[r] + i / SECTOR, i % SECTOR);

    if (features & F_BLK_RO) {
        s = request(BLK_T_OUT, start[0], wbuf[0], sizeof wbuf[0], 1);
        CHECK_EQ("write to read-only disk", s, BLK_S_IOERR);
        con_printf("virtio-blk: write to read-only disk: %s\n", status_name(s));
    } else {
        /* One request per run; the data in 1, 2 and 4 pieces (scatter-gather). */
        for (int r = 0; r < 3; r++) {
            s = request(BLK_T_OUT, start[r], wbuf[r], sizeof wbuf[r], 1 << r);
            CHECK_EQ("write status", s, BLK_S_OK);
        }
        s = (features & F_BLK_FLUSH) ? request(BLK_T_FLUSH, 0, 0, 0, 0) : BLK_S_OK;
        CHECK_EQ("flush status", s, BLK_S_OK);
        con_printf("virtio-blk: wrote 3 runs of %d sectors (sectors 0, %lu, %lu), flush %s\n",
                   RUN_SECTORS, (unsigned long)start[1], (unsigned long)start[2], status_name(s));

        /* Read the three runs back in one batch: three requests, one notify. */
        memset(rbuf, 0, sizeof rbuf);
        for (int r = 0; r < 3; r++)
            queue_request(r, BLK_T_IN, start[r], rbuf[r], sizeof rbuf[r], 1 << (2 - r));
        kick(3);
        uint32_t crc = 0;
        int bad = 0;
        for (int r = 0; r < 3; r++) {
            CHECK_EQ("read status", status[r], BLK_S_OK);
            for (unsigned i = 0; i < sizeof rbuf[r]; i++) {
                if (rbuf[r][i] != wbuf[r][i] && bad++ < 4)
                    con_printf("FAIL sector %lu byte %u: got 0x%02x want 0x%02x\n",
                               (unsigned long)(start[r] + i / SECTOR), i % SECTOR, rbuf[r][i], wbuf[r][i]);
            }
            crc = crc32(rbuf[r], sizeof rbuf[r], crc);
        }
        CHECK_EQ("mismatching bytes", bad, 0);
        con_printf("virtio-blk: read back 3 runs in one batch: %s, crc32 0x%08x\n",
                   bad ? "MISMATCH" : "pattern ok", crc);
    }

    s = request(BLK_T_IN, capacity, rbuf[0], SECTOR, 1);
    CHECK_EQ("read past the end", s, BLK_S_IOERR);
    con_printf("virtio-blk: read of sector %lu (past the end): %s\n", (unsigned long)capacity, status_name(s));
    s = request(0x7f, 0, rbuf[0], SECTOR, 1);
    CHECK_EQ("unknown request type", s, BLK_S_UNSUPP);
    con_printf("virtio-blk: request type 0x7f: %s\n", status_name(s));

    return check_report("virtio-blk");
}
