/*
 * matmul: integer matrix multiply C = A x B of 96x96 32-bit matrices,
 * several times, each product feeding the next A.
 *
 * What it measures: multiply throughput (the M extension's mulw) and
 * strided loads: the inner loop walks a row of A and, through the
 * transposed copy of B, a row of Bt, so it is unit-stride on both. Arithmetic
 * wraps modulo 2^32 (unsigned), identical on every host.
 *
 * Output: "matmul: 0x<8 hex digits>", a hash of the last product.
 */
#include "guest.h"
#include "bench.h"

#define DIM 96
#define REPS 240

static uint32_t A[DIM][DIM] BENCH_PAGE_ALIGNED, B[DIM][DIM], Bt[DIM][DIM], C[DIM][DIM];

static void multiply(void) {
  for (int i = 0; i < DIM; i++) {
    for (int j = 0; j < DIM; j++) {
      uint32_t s = 0;
      for (int k = 0; k < DIM; k++) s += A[i][k] * Bt[j][k];
      C[i][j] = s;
    }
  }
}

int main(void) {
  uint64_t x = 0xDA942042E4DD58B5ull;
  for (int i = 0; i < DIM; i++) {
    for (int j = 0; j < DIM; j++) {
      A[i][j] = (uint32_t)(bench_lcg(&x) >> 40) & 0xFFF;
      B[i][j] = (uint32_t)(bench_lcg(&x) >> 40) & 0xFFF;
    }
  }
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) Bt[j][i] = B[i][j];

  for (int r = 0; r < REPS; r++) {
    multiply();
    /* Next A: the product, folded to keep values varied but not zeroed out
       by repeated wrapping multiplication. */
    for (int i = 0; i < DIM; i++)
      for (int j = 0; j < DIM; j++) A[i][j] = (C[i][j] ^ (C[i][j] >> 13)) & 0xFFFF;
  }

  uint32_t acc = 2166136261u;
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) acc = (acc ^ C[i][j]) * 16777619u;

  con_printf("matmul: 0x%08x\n", (unsigned)acc);
  guest_exit(0);
  return 0;
}
