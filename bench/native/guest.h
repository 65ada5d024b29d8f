/*
 * Native shim for the benchmark workloads in guests/bench/.
 *
 * The harness (bench/run.ts) compiles each workload with the host gcc -O2 and
 * `-I bench/native`, so `#include "guest.h"` lands here instead of on
 * guests/common/guest.h. The guest console and exit map onto stdio and exit();
 * nothing else of the guest API is used by the workloads.
 */
#ifndef BENCH_NATIVE_GUEST_H
#define BENCH_NATIVE_GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Tells a workload it is built for the host: no privileged code, no MMIO. */
#define GUEST_NATIVE 1

#define con_putc(c) putchar(c)
#define con_puts(s) fputs((s), stdout)
#define con_printf printf
#define guest_exit(code) (fflush(stdout), exit(code))

#endif
