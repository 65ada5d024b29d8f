/*
 * qsort: our own quicksort (median-of-three pivot, Hoare-style partition,
 * insertion sort for short ranges, recursion on the smaller half) over an
 * array of pseudo-random 32-bit keys from an LCG, several rounds.
 *
 * What it measures: data-dependent, hard-to-predict branches, loads and
 * stores walking the array from both ends, and calls. The 256 KiB array
 * stays mostly in cache; its 64 pages stay in the TLB.
 *
 * Output: "qsort: 0x<8 hex digits>", a position-weighted hash of every
 * sorted round.
 */
#include "guest.h"
#include "bench.h"

#define N 65536
#define ROUNDS 64
#define SMALL 16

static uint32_t a[N] BENCH_PAGE_ALIGNED;

static void insertion_sort(uint32_t *v, long lo, long hi) {
  for (long i = lo + 1; i <= hi; i++) {
    uint32_t key = v[i];
    long j = i - 1;
    while (j >= lo && v[j] > key) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = key;
  }
}

static inline void swap(uint32_t *v, long i, long j) {
  uint32_t t = v[i];
  v[i] = v[j];
  v[j] = t;
}

/* Sorts v[lo..hi] inclusive. Recursing only into the smaller part bounds
   the stack depth by log2(N). */
static void quicksort(uint32_t *v, long lo, long hi) {
  while (hi - lo >= SMALL) {
    long mid = lo + (hi - lo) / 2;
    /* Median of three: order v[lo], v[mid], v[hi], then use v[mid]. */
    if (v[mid] < v[lo]) swap(v, mid, lo);
    if (v[hi] < v[lo]) swap(v, hi, lo);
    if (v[hi] < v[mid]) swap(v, hi, mid);
    uint32_t pivot = v[mid];
    long i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (v[i] < pivot);
      do j--; while (v[j] > pivot);
      if (i >= j) break;
      swap(v, i, j);
    }
    /* Now v[lo..j] <= pivot <= v[j+1..hi]. */
    if (j - lo < hi - j) {
      quicksort(v, lo, j);
      lo = j + 1;
    } else {
      quicksort(v, j + 1, hi);
      hi = j;
    }
  }
  insertion_sort(v, lo, hi);
}

int main(void) {
  uint64_t x = 0x853C49E6748FEA9Bull;
  uint32_t acc = 0;
  for (int r = 0; r < ROUNDS; r++) {
    for (long i = 0; i < N; i++) {
      /* Every fourth round narrows the keys to 10 bits, so many are equal
         and the partition's handling of duplicates is exercised. */
      a[i] = (uint32_t)(bench_lcg(&x) >> 32) >> ((r & 3) == 3 ? 22 : 0);
    }
    quicksort(a, 0, N - 1);
    for (long i = 1; i < N; i++) {
      if (a[i - 1] > a[i]) {
        con_printf("qsort: NOT SORTED in round %d at index %d\n", r, (int)i);
        guest_exit(1);
      }
    }
    for (long i = 0; i < N; i += 7) acc = acc * 16777619u ^ (a[i] + (uint32_t)i);
  }

  con_printf("qsort: 0x%08x\n", (unsigned)acc);
  guest_exit(0);
  return 0;
}
