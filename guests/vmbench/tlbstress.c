/* The TLB-stress workload of guests/bench, built to start in S-mode at 0x80200000 (see the
   GUEST_SMODE part of bench/tlbstress.c): the same work as a virtual machine's kernel, so
   `npm run bench` can compare one-dimensional walks (bare) with two-dimensional ones (VM). */
#define GUEST_SMODE 1
#include "../bench/tlbstress.c"
