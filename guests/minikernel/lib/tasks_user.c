/*
 * tasks_user.c - the U-mode programs minikernel runs.
 *
 * Everything in this object (code, string literals, jump tables) goes to the
 * .user section of common/link-s.ld, which the kernel maps user-executable
 * in every address space at its link address. So these functions must not
 * call anything outside this file (no memset/memcpy: GCC would call the
 * kernel's copies, which U-mode cannot execute) and must not use globals
 * (the kernel's .data is not mapped for U-mode): all state is on the stack
 * or in the task's own heap.
 *
 * Each program prints through write(), which the kernel buffers per task;
 * what it prints depends only on what it computes.
 */
#include <stddef.h>
#include <stdint.h>
#include "syscall.h"

/* ---- system call stubs ---- */
static inline long sc(long n, long a0, long a1)
{
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r7) : "memory");
    return r0;
}

static long u_write(const void *buf, unsigned long len) { return sc(SYS_WRITE, (long)buf, (long)len); }
static long u_getpid(void) { return sc(SYS_GETPID, 0, 0); }
static void u_yield(void) { sc(SYS_YIELD, 0, 0); }
static void u_sleep(long ticks) { sc(SYS_SLEEP, ticks, 0); }
static void *u_sbrk(long inc) { return (void *)sc(SYS_SBRK, inc, 0); }
static long u_fork(void) { return sc(SYS_FORK, 0, 0); }
static long u_wait(long pid, int *status) { return sc(SYS_WAIT, pid, (long)status); }

static void __attribute__((noreturn)) u_exit(long code)
{
    sc(SYS_EXIT, code, 0);
    for (;;)
        ;
}

/* ---- one output line, built on the stack ---- */
struct line {
    char buf[120];
    unsigned n;
};

static void l_str(struct line *l, const char *s)
{
    while (*s && l->n < sizeof l->buf)
        l->buf[l->n++] = *s++;
}

static void l_num(struct line *l, long v)
{
    char tmp[24];
    int i = 0;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    do {
        tmp[i++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[i++] = '-';
    while (i > 0 && l->n < sizeof l->buf)
        l->buf[l->n++] = tmp[--i];
}

static void l_hex(struct line *l, unsigned long v)
{
    l_str(l, "0x");
    int started = 0;
    for (int shift = 60; shift >= 0; shift -= 4) {
        unsigned d = (v >> shift) & 15;
        if (d || started || shift == 0) {
            started = 1;
            if (l->n < sizeof l->buf)
                l->buf[l->n++] = "0123456789abcdef"[d];
        }
    }
}

/* Writes the line followed by '\n' and empties it. */
static void l_end(struct line *l)
{
    if (l->n < sizeof l->buf)
        l->buf[l->n++] = '\n';
    u_write(l->buf, l->n);
    l->n = 0;
}

static void say(const char *s)
{
    struct line l;
    l.n = 0;
    l_str(&l, s);
    l_end(&l);
}

/* ---- spinner: runs forever without system calls ---- */
void __attribute__((noreturn)) user_spinner(void)
{
    say("spinner: computing forever; only the timer takes the CPU away");
    uint64_t x = 1;
    for (;;) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        __asm__ volatile("" : "+r"(x));
    }
}

/* ---- primes: trial division, yielding now and then ---- */
void __attribute__((noreturn)) user_primes(void)
{
    struct line l;
    l.n = 0;
    long count = 0, largest = 0, yields = 0;
    for (long n = 2; n < 50000; n++) {
        int prime = 1;
        for (long d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                prime = 0;
                break;
            }
        }
        if (prime) {
            count++;
            largest = n;
        }
        if (n % 5000 == 0) {
            u_yield();
            yields++;
        }
    }
    u_sleep(3);
    l_str(&l, "primes: pid ");
    l_num(&l, u_getpid());
    l_str(&l, ": ");
    l_num(&l, count);
    l_str(&l, " primes below 50000, the largest ");
    l_num(&l, largest);
    l_str(&l, "; yielded ");
    l_num(&l, yields);
    l_str(&l, " times, slept once");
    l_end(&l);
    u_exit(0);
}

/* FNV-1a, 32 bits, over n bytes. */
static uint32_t fnv1a(const uint8_t *p, unsigned long n)
{
    uint32_t h = 2166136261u;
    for (unsigned long i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* ---- heap: demand paging, shrinking and the limit ---- */
void __attribute__((noreturn)) user_heap(void)
{
    struct line l;
    l.n = 0;
    const unsigned long size = 10 * 4096;
    uint8_t *base = u_sbrk(0);
    uint8_t *p = u_sbrk((long)size);
    for (unsigned long i = 0; i < size; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    l_str(&l, "heap: break ");
    l_hex(&l, (unsigned long)base);
    l_str(&l, " -> ");
    l_hex(&l, (unsigned long)u_sbrk(0));
    l_str(&l, ", fnv1a of 10 pages ");
    l_hex(&l, fnv1a(p, size));
    l_end(&l);

    /* Give two pages back, take them again: they must come back zeroed. */
    u_sbrk(-8192);
    u_sleep(1);
    u_sbrk(8192);
    int zero = 1;
    for (unsigned long i = size - 8192; i < size; i++)
        if (p[i] != 0)
            zero = 0;
    l_str(&l, "heap: pages given back and taken again read as zero: ");
    l_str(&l, zero ? "yes" : "NO");
    l_end(&l);
    l_str(&l, "heap: fnv1a of the first 8 pages still ");
    l_hex(&l, fnv1a(p, size - 8192));
    l_end(&l);

    /* write() from a heap buffer. */
    const char *msg = "heap: this line was written from the heap\n";
    unsigned long n = 0;
    while (msg[n]) {
        p[n] = (uint8_t)msg[n];
        n++;
    }
    u_write(p, n);

    long r = (long)u_sbrk(2L << 20);
    l_str(&l, "heap: sbrk past the 1 MiB limit returns ");
    l_num(&l, r);
    l_end(&l);
    u_exit(0);
}

/* ---- forker: fork, separate address spaces, wait ---- */
static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

void __attribute__((noreturn)) user_forker(void)
{
    struct line l;
    l.n = 0;
    long *shared = u_sbrk(4096);
    shared[0] = 1234;

    long c1 = u_fork();
    if (c1 == 0) {
        long f = fib(22);
        l_str(&l, "child ");
        l_num(&l, u_getpid());
        l_str(&l, ": fib(22) = ");
        l_num(&l, f);
        l_end(&l);
        u_exit(f % 1000);
    }
    long c2 = u_fork();
    if (c2 == 0) {
        l_str(&l, "child ");
        l_num(&l, u_getpid());
        l_str(&l, ": my copy of the parent's heap holds ");
        l_num(&l, shared[0]);
        l_end(&l);
        shared[0] = 5678;
        long *more = u_sbrk(3 * 4096);
        long sum = 0;
        for (int i = 0; i < 3 * 512; i++)
            more[i] = i;
        for (int i = 0; i < 3 * 512; i++)
            sum += more[i];
        u_exit(shared[0] + sum % 100);
    }
    int status = 0;
    long w = u_wait(c2, &status);
    l_str(&l, "forker: wait(");
    l_num(&l, c2);
    l_str(&l, ") = ");
    l_num(&l, w);
    l_str(&l, ", exit code ");
    l_num(&l, status);
    l_end(&l);
    w = u_wait(c1, &status);
    l_str(&l, "forker: wait(");
    l_num(&l, c1);
    l_str(&l, ") = ");
    l_num(&l, w);
    l_str(&l, ", exit code ");
    l_num(&l, status);
    l_end(&l);
    l_str(&l, "forker: my heap still holds ");
    l_num(&l, shared[0]);
    l_str(&l, "; a second wait(");
    l_num(&l, c1);
    l_str(&l, ") returns ");
    l_num(&l, u_wait(c1, &status));
    l_end(&l);
    u_exit(0);
}

/* ---- faulter: a store past the break ---- */
void __attribute__((noreturn)) user_faulter(void)
{
    volatile uint8_t *p = u_sbrk(4096);
    p[0] = 1;
    say("faulter: one heap page works; now a store two pages past the break");
    p[2 * 4096] = 1;
    say("faulter: still alive (wrong)");
    u_exit(1);
}

/* ---- snoop: a load from the kernel's pages ---- */
void __attribute__((noreturn)) user_snoop(void)
{
    say("snoop: reading the kernel's first word at 0x80200000");
    volatile uint64_t *k = (volatile uint64_t *)0x80200000UL;
    uint64_t v = *k;
    struct line l;
    l.n = 0;
    l_str(&l, "snoop: read ");
    l_hex(&l, v);
    l_str(&l, " (wrong)");
    l_end(&l);
    u_exit(1);
}

/* ---- sleeper: started last, alone, so the kernel idles while it sleeps ---- */
void __attribute__((noreturn)) user_sleeper(void)
{
    struct line l;
    l.n = 0;
    for (int i = 0; i < 3; i++)
        u_sleep(2);
    l_str(&l, "sleeper: pid ");
    l_num(&l, u_getpid());
    l_str(&l, " ran alone and slept 3 times for 2 ticks");
    l_end(&l);
    u_exit(0);
}
