/*
 * crc32: table-driven CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320)
 * over a generated buffer, several passes.
 *
 * What it measures: byte loads, a dependent table lookup per byte (load
 * address computed from the previous CRC), shifts and xors in a tight loop.
 * The buffer (64 KiB) and the table (1 KiB) stay in cache and in the TLB, so
 * this is close to pure instruction throughput of an emulator's memory path.
 *
 * Output: "crc32: 0x<8 hex digits>", a hash of every pass's CRC.
 */
#include "guest.h"
#include "bench.h"

#define BUF_SIZE (64 * 1024)
#define PASSES 1400

static uint8_t buf[BUF_SIZE] BENCH_PAGE_ALIGNED;
static uint32_t table[256];

/* Builds the byte-at-a-time table: table[n] is the CRC register after
   shifting byte n through eight rounds of the reflected polynomial. */
static void make_table(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
}

static uint32_t crc32(const uint8_t *p, size_t len) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int main(void) {
  make_table();

  /* The standard check value: CRC-32 of "123456789" is 0xCBF43926. */
  static const uint8_t check[] = "123456789";
  if (crc32(check, 9) != 0xCBF43926u) {
    con_printf("crc32: self-test FAILED\n");
    guest_exit(1);
  }

  /* Fill the buffer from a 64-bit LCG (Knuth's MMIX constants). */
  uint64_t x = 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < BUF_SIZE; i++) {
    buf[i] = (uint8_t)(bench_lcg(&x) >> 56);
  }

  uint32_t acc = 0;
  for (int pass = 0; pass < PASSES; pass++) {
    /* Change one byte per pass so no pass repeats the previous one. */
    buf[(pass * 7919u) % BUF_SIZE] ^= (uint8_t)(pass + 1);
    acc = acc * 31u + crc32(buf, BUF_SIZE);
  }

  con_printf("crc32: 0x%08x\n", (unsigned)acc);
  guest_exit(0);
  return 0;
}
