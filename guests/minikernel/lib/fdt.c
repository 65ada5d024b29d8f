/*
 * fdt.c - reads the two facts the kernel needs from the flattened device
 * tree (Devicetree Specification v0.4, chapter 5 "Flattened Devicetree
 * (DTB) Format"): /cpus/timebase-frequency and the first /memory node's reg.
 *
 * The structure block is a sequence of big-endian 32-bit tokens:
 * FDT_BEGIN_NODE + NUL-terminated name (padded to 4 bytes), FDT_END_NODE,
 * FDT_PROP + len + nameoff + value (padded), FDT_NOP, FDT_END. The memory
 * node's reg is read with #address-cells = #size-cells = 2, as on virt.
 */
#include "kernel.h"

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static uint32_t align4(uint32_t n) { return (n + 3) & ~3u; }

int fdt_read(const void *dtb, struct boot_info *bi)
{
    const uint8_t *h = dtb;
    bi->timebase = bi->mem_base = bi->mem_size = 0;
    if (!h || be32(h) != FDT_MAGIC)
        return -1;
    uint32_t total = be32(h + 4);
    const uint8_t *st = h + be32(h + 8);
    const char *strings = (const char *)h + be32(h + 12);
    uint32_t size = be32(h + 36); /* size_dt_struct */

    int depth = 0;
    const char *node1 = "";  /* name of the current node just below the root */
    uint32_t off = 0;
    while (off + 4 <= size && off < total) {
        uint32_t tok = be32(st + off);
        off += 4;
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)st + off;
            depth++;
            if (depth == 2)
                node1 = name;
            off += align4((uint32_t)strlen(name) + 1);
        } else if (tok == FDT_END_NODE) {
            depth--;
        } else if (tok == FDT_PROP) {
            uint32_t len = be32(st + off);
            const char *pname = strings + be32(st + off + 4);
            const uint8_t *val = st + off + 8;
            off += 8 + align4(len);
            if (depth != 2)
                continue;
            if (strcmp(node1, "cpus") == 0 && strcmp(pname, "timebase-frequency") == 0)
                bi->timebase = len == 8 ? be64(val) : be32(val);
            else if (strncmp(node1, "memory", 6) == 0 && (node1[6] == '@' || node1[6] == 0) &&
                     strcmp(pname, "reg") == 0 && len >= 16 && bi->mem_size == 0) {
                bi->mem_base = be64(val);
                bi->mem_size = be64(val + 8);
            }
        } else if (tok == FDT_NOP) {
            continue;
        } else {
            break; /* FDT_END or garbage */
        }
    }
    return 0;
}
