/*
 * virtblkbench.c - the emulated-device half of issue 6's disk benchmark:
 * the workload of blkbench.c (the whole disk, 4 to 256 MiB, written then read back in 64 KiB I/Os,
 * 16 in flight per batch, a stamp in every sector checked) through a virtio-blk device on the
 * virtio-mmio transport (virtio 1.x: §4.2.2 registers, §2.7 split
 * virtqueue, §5.2 block device), in a plain VM (no Xen).
 *
 * The driver is polled, like guests/virtio-blk/blk.c: VIRTQ_AVAIL_F_NO_INTERRUPT,
 * one QueueNotify write per batch, then it spins on used.idx. Each request is
 * three descriptors: the header, the 64 KiB data buffer (one descriptor:
 * guest-physical memory is contiguous here), the status byte.
 *
 * Without a virtio-blk device it says so and shuts down cleanly (check-qemu).
 * Output (SBI console, since there is no hypervisor console):
 *   virtblkbench: write B bytes, N I/Os of 65536 (as blkbench.c): T us, R MB/s, N notifications
 * T is the time CSR, only indicative (see blkbench.c): the host harness
 * measures host time and exits. Then an SBI
 * system reset: shutdown with reason "none" on success, "system failure"
 * after printing FAIL.
 *
 * Run it: a Vm (host/vmm/vm.ts) with a VirtioMmio(new VirtioBlk(disk)) in any
 * of the eight virtio-mmio slots and a disk of at least 4 MiB (bench/xen.ts uses 64 MiB); the VM of
 * today's host/vmm maps empty slots only, so the bench harness has to plug
 * the device in (see the report of this change).
 */
#include "xen.h"
#include "diskbench.h"

#define MMIO_BASE 0x10001000UL
#define MMIO_STRIDE 0x1000UL
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0
#define R_CONFIG 0x100
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define F_VERSION_1 (1ull << 32)
#define F_BLK_RO (1ull << 5)
#define T_IN 0
#define T_OUT 1
#define D_NEXT 1
#define D_WRITE 2

/* Bytes written and read back: the whole disk, in whole batches (diskbench_total). */
static uint32_t total;
#define QSIZE 64                        /* >= 3 descriptors x BATCH */

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t avail_event; };
struct req_hdr { uint32_t type, reserved; uint64_t sector; };

static struct desc desc[QSIZE] __attribute__((aligned(4096)));
static volatile struct avail avail __attribute__((aligned(4096)));
static volatile struct used used __attribute__((aligned(4096)));
static struct req_hdr hdr[BATCH];
static volatile uint8_t status[BATCH];
static uint8_t buf[BATCH_BYTES] __attribute__((aligned(4096)));
static uintptr_t dev;
static uint16_t last_used;
static unsigned long notifies;

static uint32_t rd(unsigned off) { return *(volatile uint32_t *)(dev + off); }
static void wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(dev + off) = v; }

static void sbi_putc(char c)
{
    register unsigned long a0 __asm__("a0") = (unsigned char)c;
    register unsigned long a7 __asm__("a7") = 1;    /* legacy console_putchar */
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
}

static void sbi_console(const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sbi_putc(s[i]);
}

static void sbi_reset(unsigned long reason) __attribute__((noreturn));
static void sbi_reset(unsigned long reason)
{
    xen_console_flush();
    register unsigned long a0 __asm__("a0") = 0, a1 __asm__("a1") = reason;
    register unsigned long a6 __asm__("a6") = 0, a7 __asm__("a7") = 0x53525354; /* SRST system_reset(shutdown) */
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    for (;;)
        __asm__ volatile("wfi");
}

#define CHECK(cond, ...) do { if (!(cond)) { con_printf("FAIL: " __VA_ARGS__); con_printf("\n"); sbi_reset(1); } } while (0)

static int probe(void)
{
    for (int i = 0; i < 8; i++) {
        uintptr_t b = MMIO_BASE + i * MMIO_STRIDE;
        if (*(volatile uint32_t *)(b + R_MAGIC) == 0x74726976u && *(volatile uint32_t *)(b + R_VERSION) == 2 &&
            *(volatile uint32_t *)(b + R_DEVICE_ID) == 2) {
            dev = b;
            return 0;
        }
    }
    return -1;
}

/* §3.1.1: reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 only), FEATURES_OK, queue 0, DRIVER_OK. */
static uint64_t init(void)
{
    wr(R_STATUS, 0);
    wr(R_STATUS, S_ACK);
    wr(R_STATUS, S_ACK | S_DRIVER);
    wr(R_DEV_FEAT_SEL, 0);
    uint64_t offered = rd(R_DEV_FEATURES);
    wr(R_DEV_FEAT_SEL, 1);
    offered |= (uint64_t)rd(R_DEV_FEATURES) << 32;
    CHECK(offered & F_VERSION_1, "VIRTIO_F_VERSION_1 not offered");
    wr(R_DRV_FEAT_SEL, 0);
    wr(R_DRV_FEATURES, 0);
    wr(R_DRV_FEAT_SEL, 1);
    wr(R_DRV_FEATURES, 1);
    wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(rd(R_STATUS) & S_FEATURES_OK, "FEATURES_OK refused");
    wr(R_QUEUE_SEL, 0);
    CHECK(rd(R_QUEUE_NUM_MAX) >= QSIZE, "QueueNumMax %u < %d", rd(R_QUEUE_NUM_MAX), QSIZE);
    wr(R_QUEUE_NUM, QSIZE);
    avail.flags = 1;                    /* VIRTQ_AVAIL_F_NO_INTERRUPT: we poll */
    wr(R_QUEUE_DESC, (uint32_t)(uintptr_t)desc);
    wr(R_QUEUE_DESC + 4, (uint32_t)((uint64_t)(uintptr_t)desc >> 32));
    wr(R_QUEUE_DRIVER, (uint32_t)(uintptr_t)&avail);
    wr(R_QUEUE_DRIVER + 4, (uint32_t)((uint64_t)(uintptr_t)&avail >> 32));
    wr(R_QUEUE_DEVICE, (uint32_t)(uintptr_t)&used);
    wr(R_QUEUE_DEVICE + 4, (uint32_t)((uint64_t)(uintptr_t)&used >> 32));
    wr(R_QUEUE_READY, 1);
    wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    return offered;
}

/* BATCH requests of IO_BYTES from buf at byte offset `off`, one notify, poll until all are used. */
static void batch(uint32_t type, uint32_t off)
{
    for (unsigned i = 0; i < BATCH; i++) {
        unsigned d = 3 * i;
        hdr[i].type = type;
        hdr[i].reserved = 0;
        hdr[i].sector = (off + i * IO_BYTES) / 512;
        status[i] = 0xff;
        desc[d] = (struct desc){ (uint64_t)(uintptr_t)&hdr[i], sizeof hdr[i], D_NEXT, (uint16_t)(d + 1) };
        desc[d + 1] = (struct desc){ (uint64_t)(uintptr_t)(buf + i * IO_BYTES), IO_BYTES, (uint16_t)(D_NEXT | (type == T_IN ? D_WRITE : 0)), (uint16_t)(d + 2) };
        desc[d + 2] = (struct desc){ (uint64_t)(uintptr_t)&status[i], 1, D_WRITE, 0 };
        avail.ring[(uint16_t)(avail.idx + i) % QSIZE] = (uint16_t)d;
    }
    __sync_synchronize();               /* ring entries before the index (§2.7.13.2) */
    avail.idx += BATCH;
    __sync_synchronize();               /* the index before the notify (§2.7.13.3) */
    wr(R_QUEUE_NOTIFY, 0);
    notifies++;
    uint16_t want = (uint16_t)(last_used + BATCH);
    for (long spin = 0; used.idx != want; spin++)
        CHECK(spin < 100000000L, "timeout waiting for used idx %u (at %u)", want, used.idx);
    __sync_synchronize();
    last_used = want;
    for (unsigned i = 0; i < BATCH; i++)
        CHECK(status[i] == 0, "request %u at %u: status %u", i, off, status[i]);
}

static void phase(uint32_t type)
{
    unsigned long n0 = notifies;
    uint64_t t0 = xen_now_ns();
    for (uint32_t off = 0; off < total; off += BATCH_BYTES) {
        diskbench_stamp(buf, off, type == T_IN);
        batch(type, off);
        if (type == T_IN)
            CHECK(diskbench_stamped(buf, off), "read-back differs at %u", off);
    }
    uint64_t us = (xen_now_ns() - t0) / 1000;
    if (!us)
        us = 1;
    uint64_t tenths = (uint64_t)total * 10 / us;
    con_printf("virtblkbench: %s %u bytes, %u I/Os of %u: %lu us, %lu.%lu MB/s, %lu notifications\n",
               type == T_OUT ? "write" : "read", total, total / IO_BYTES, IO_BYTES, (unsigned long)us,
               (unsigned long)(tenths / 10), (unsigned long)(tenths % 10), notifies - n0);
}

int main(void)
{
    xen_console_sink = sbi_console;
    if (probe() != 0) {
        con_printf("virtblkbench: no virtio-blk device (modern virtio-mmio) in slots 0..7; nothing to measure\n");
        sbi_reset(0);
    }
    uint64_t offered = init();
    uint64_t capacity = rd(R_CONFIG) | (uint64_t)rd(R_CONFIG + 4) << 32;
    total = diskbench_total(capacity);
    CHECK(!(offered & F_BLK_RO) && total != 0, "need a writable disk of 4 MiB (%lu sectors)", (unsigned long)capacity);
    diskbench_fill(buf);
    phase(T_OUT);
    phase(T_IN);
    con_printf("virtblkbench: ok; powering off\n");
    sbi_reset(0);
}
