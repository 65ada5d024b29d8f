/*
 * guest.h - the tiny runtime shared by every wasmvisor guest image.
 *
 * The images are bare-metal RV64IMAC programs for a QEMU `virt` compatible
 * board; they start in M-mode from common/crt0.S, which calls
 *     int main(long hartid, void *dtb);
 * and passes the return value to guest_exit().
 *
 * Console: the 16550 UART at 0x10000000 (reg-shift 0), polled, no IRQs.
 * con_putc() turns '\n' into "\r\n" like a serial console driver does, so
 * the exact bytes a guest prints contain CR LF line ends.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- board addresses (QEMU virt) ---------------------------------------- */
#define UART0_BASE      0x10000000UL  /* ns16550a, reg-shift 0 */
#define TEST_BASE       0x00100000UL  /* sifive,test0 finisher / syscon */
#define CLINT_BASE      0x02000000UL
#define CLINT_MSIP      (CLINT_BASE + 0x0000)
#define CLINT_MTIMECMP  (CLINT_BASE + 0x4000)
#define CLINT_MTIME     (CLINT_BASE + 0xbff8)
#define PLIC_BASE       0x0c000000UL

/* ---- console ------------------------------------------------------------ */
/** Sets the UART to 8N1 with interrupts off; FIFOs untouched (crt0 calls it). */
void uart_init(void);
/** Writes one byte; '\n' is sent as "\r\n". Polls LSR.THRE (bit 5). */
void con_putc(char c);
/** Writes a NUL-terminated string through con_putc. */
void con_puts(const char *s);
/**
 * Small printf: %s %c %d %u %x %X %p %% with the length modifiers l, ll
 * and z, the flags '0' and '-', and a field width (e.g. %016lx, %08x, %-6s).
 * %p prints "0x" and 16 hex digits.
 */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Same as con_printf with a va_list. */
void con_vprintf(const char *fmt, va_list ap);
/** Returns the next received byte (0..255), or -1 if none (LSR.DR clear). */
int con_getc(void);

/* ---- exit --------------------------------------------------------------- */
/**
 * Ends the run through the test finisher at 0x100000: code 0 writes 0x5555
 * (pass, QEMU exits 0), any other code writes (code << 16) | 0x3333 (QEMU
 * exits with `code`). Never returns (spins in wfi if the write is ignored).
 */
void guest_exit(int code) __attribute__((noreturn));

/* ---- counters (Zicntr) -------------------------------------------------- */
uint64_t rdcycle64(void);
uint64_t rdinstret64(void);
uint64_t rdtime64(void);

/* ---- self-checking tests ------------------------------------------------ */
/** Number of failed CHECK_EQ since boot. */
extern int guest_failures;
/**
 * Compares two 64-bit values; on mismatch prints
 * "FAIL <name>: got 0x<16 hex> want 0x<16 hex>" and counts a failure.
 * Returns 1 when equal.
 */
int check_eq_u64(const char *name, uint64_t got, uint64_t want);
#define CHECK_EQ(name, got, want) \
    check_eq_u64((name), (uint64_t)(got), (uint64_t)(want))
/**
 * Prints "PASS <test>" or "FAIL <test> (<n> failures)" and returns the exit
 * code main() should return (0 or 1).
 */
int check_report(const char *test);

/* ---- traps -------------------------------------------------------------- */
/**
 * The default M-mode trap handler installed by crt0: prints
 * "unexpected trap: mcause=0x.. mepc=0x.. mtval=0x.." and exits with 99.
 */
void default_trap_entry(void);
/**
 * An optional handler for tests that expect traps (common/trap_record.S):
 * it stores mcause, mepc and mtval into the variables below, increments
 * trap_count, advances mepc past the trapping instruction (2 or 4 bytes,
 * from the low two bits of the instruction at mepc) and returns with mret.
 * It preserves every register; it uses 32 bytes below sp.
 * Interrupts (mcause bit 63 set) are recorded but mepc is not advanced.
 */
void trap_record_entry(void);
extern volatile uint64_t trap_count, trap_mcause, trap_mepc, trap_mtval;
/** Clears the trap_* variables. */
void trap_record_reset(void);

/** Writes mtvec (direct mode); the handler must be 4-byte aligned. */
static inline void set_mtvec(void (*handler)(void))
{
    __asm__ volatile("csrw mtvec, %0" : : "r"(handler));
}

/* ---- MMIO helpers ------------------------------------------------------- */
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t mmio_read64(uintptr_t a) { return *(volatile uint64_t *)a; }

/* ---- freestanding string functions (common/string.c) -------------------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/*
 * Every program defines main; crt0 calls it as
 *     int main(long hartid, void *dtb)
 * (a0, a1 as the board passed them). `int main(void)` works as well.
 * No prototype here, so either form compiles.
 */

#endif /* GUEST_H */
