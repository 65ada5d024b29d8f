/*
 * sha256: SHA-256 (FIPS 180-4) over a generated buffer, repeated with each
 * digest fed back into the data.
 *
 * What it measures: 32-bit rotates, adds and logic on a 64-entry message
 * schedule, i.e. ALU throughput with many live registers. RV64IMAC has no
 * rotate instruction, so each rotate is two shifts and an or; the word
 * arithmetic on RV64 needs the *w forms or explicit zero-extension.
 *
 * Output: "sha256: 0x<64 hex digits>", the final digest.
 */
#include "guest.h"
#include "bench.h"

#define DATA_SIZE (16 * 1024)
#define ROUNDS 2000

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
   the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

typedef struct {
  uint32_t h[8];
  uint8_t block[64];
  uint32_t used;   /* bytes waiting in block */
  uint64_t total;  /* message length in bytes so far */
} sha256_ctx;

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* One application of the compression function (section 6.2.2). */
static void compress(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++)
    w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_init(sha256_ctx *c) {
  /* Section 5.3.3: fractional parts of the square roots of the first 8 primes. */
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  for (int i = 0; i < 8; i++) c->h[i] = iv[i];
  c->used = 0;
  c->total = 0;
}

static void sha256_update(sha256_ctx *c, const uint8_t *p, size_t len) {
  c->total += len;
  while (len > 0) {
    if (c->used == 0 && len >= 64) {
      compress(c->h, p);
      p += 64;
      len -= 64;
      continue;
    }
    c->block[c->used++] = *p++;
    len--;
    if (c->used == 64) {
      compress(c->h, c->block);
      c->used = 0;
    }
  }
}

/* Padding (section 5.1.1): a 1 bit, zeros, then the bit length big-endian. */
static void sha256_final(sha256_ctx *c, uint8_t out[32]) {
  uint64_t bits = c->total * 8;
  uint8_t pad = 0x80;
  sha256_update(c, &pad, 1);
  uint8_t zero = 0;
  while (c->used != 56) sha256_update(c, &zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(c, len, 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

static void sha256(const uint8_t *p, size_t len, uint8_t out[32]) {
  sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, p, len);
  sha256_final(&c, out);
}

static uint8_t data[DATA_SIZE] BENCH_PAGE_ALIGNED;

int main(void) {
  /* FIPS 180-4 example: SHA-256("abc") begins ba7816bf 8f01cfea. */
  uint8_t d[32];
  sha256((const uint8_t *)"abc", 3, d);
  if (d[0] != 0xba || d[1] != 0x78 || d[2] != 0x16 || d[3] != 0xbf || d[31] != 0xad) {
    con_printf("sha256: self-test FAILED\n");
    guest_exit(1);
  }

  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < DATA_SIZE; i++) {
    data[i] = (uint8_t)(bench_lcg(&x) >> 56);
  }

  /* Each round hashes the buffer, then writes the digest over its first 32
     bytes, so every round depends on the one before. */
  for (int r = 0; r < ROUNDS; r++) {
    sha256(data, DATA_SIZE, d);
    for (int i = 0; i < 32; i++) data[i] = d[i];
  }

  char hex[65];
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
    hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
  }
  hex[64] = 0;
  con_printf("sha256: 0x%s\n", hex);
  guest_exit(0);
  return 0;
}
