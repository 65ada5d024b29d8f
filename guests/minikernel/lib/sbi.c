/*
 * sbi.c - the kernel's only way to the machine: SBI calls to the firmware.
 *
 * Extensions used (RISC-V SBI spec v2.0):
 *   Base (0x10)        probe_extension (FID 3) to find the others;
 *   DBCN (0x4442434E)  console_write (FID 0) of a whole line, when present;
 *   legacy 0x01        console_putchar, the fallback (e.g. OpenSBI < 1.3);
 *   TIME (0x54494D45)  set_timer (FID 0), else legacy 0x00;
 *   SRST (0x53525354)  system_reset (FID 0) with type 0 = shutdown, else
 *                      legacy 0x08 shutdown.
 * The console keeps one line in a buffer and sends it on '\n' or when the
 * buffer is full. Line ends are sent as a bare '\n': OpenSBI's console
 * turns it into "\r\n" (sbi_putc, used by legacy console_putchar and, for
 * a console device without a puts method such as its uart8250, by DBCN
 * writes too), so the wire carries CR LF like the M-mode guests' UART
 * driver; sending "\r\n" here would give "\r\r\n".
 * As a Xen DomU (domu.c) the kernel sets con_redirect, and every byte goes
 * to the Xen console instead.
 */
#include "kernel.h"

#define SBI_EXT_LEGACY_SET_TIMER  0x00
#define SBI_EXT_LEGACY_PUTCHAR    0x01
#define SBI_EXT_LEGACY_SHUTDOWN   0x08
#define SBI_EXT_BASE              0x10
#define SBI_BASE_PROBE_EXTENSION  3
#define SBI_EXT_TIME              0x54494D45
#define SBI_EXT_SRST              0x53525354
#define SBI_EXT_DBCN              0x4442434E
#define SBI_SRST_SHUTDOWN         0
#define SBI_SRST_REASON_NONE      0

static int has_dbcn, has_time, has_srst;
static char line[128];
static unsigned line_len;

struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2)
{
    register long r0 __asm__("a0") = a0;
    register long r1 __asm__("a1") = a1;
    register long r2 __asm__("a2") = a2;
    register long r6 __asm__("a6") = fid;
    register long r7 __asm__("a7") = ext;
    __asm__ volatile("ecall"
                     : "+r"(r0), "+r"(r1)
                     : "r"(r2), "r"(r6), "r"(r7)
                     : "memory");
    return (struct sbiret){ r0, r1 };
}

static int probe(long ext)
{
    struct sbiret r = sbi_call(SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, ext, 0, 0);
    return r.error == 0 && r.value != 0;
}

void sbi_init(void)
{
    has_dbcn = probe(SBI_EXT_DBCN);
    has_time = probe(SBI_EXT_TIME);
    has_srst = probe(SBI_EXT_SRST);
    pv_init();
}

void sbi_set_timer(uint64_t stime)
{
    if (has_time)
        sbi_call(SBI_EXT_TIME, 0, (long)stime, 0, 0);
    else
        sbi_call(SBI_EXT_LEGACY_SET_TIMER, 0, (long)stime, 0, 0);
}

void con_flush(void)
{
    unsigned done = 0;
    /* The kernel's data is identity mapped, so its virtual address is the
     * physical address DBCN wants. A short write sends the rest again. */
    while (has_dbcn && done < line_len) {
        uintptr_t pa = (uintptr_t)(line + done);
        struct sbiret r = sbi_call(SBI_EXT_DBCN, 0, line_len - done, (long)pa, 0);
        if (r.error != 0)
            break;
        done += (unsigned)r.value;
    }
    for (; done < line_len; done++)
        sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, line[done], 0, 0);
    line_len = 0;
}

static void con_put_raw(char c)
{
    if (line_len == sizeof line)
        con_flush();
    line[line_len++] = c;
}

void (*con_redirect)(char c);

void con_putc(char c)
{
    if (con_redirect) {
        con_redirect(c);
        return;
    }
    con_put_raw(c);
    if (c == '\n')
        con_flush();
}

void con_puts(const char *s)
{
    while (*s)
        con_putc(*s++);
}

void sbi_shutdown(void)
{
    con_flush();
    if (has_srst)
        sbi_call(SBI_EXT_SRST, 0, SBI_SRST_SHUTDOWN, SBI_SRST_REASON_NONE, 0);
    sbi_call(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}
