/*
 * hello.c - the default guest of `npm start`.
 *
 * Prints a banner, the boot arguments (hartid in a0, DTB address in a1,
 * both fixed by the board), the DTB magic read big-endian as the device
 * tree specification (section 5.2, "Header") defines it, then the first 20
 * primes and a small integer-only Mandelbrot set, and exits 0.
 */
#include "guest.h"

#define FDT_MAGIC 0xd00dfeedu

/* Reads a big-endian 32-bit word, as every FDT header field is stored. */
static uint32_t be32(const void *p)
{
    const volatile uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
           ((uint32_t)b[2] << 8) | b[3];
}

static void print_primes(int count)
{
    con_puts("first 20 primes:");
    int found = 0;
    for (unsigned n = 2; found < count; n++) {
        int prime = 1;
        for (unsigned d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                prime = 0;
                break;
            }
        }
        if (prime) {
            con_printf(" %u", n);
            found++;
        }
    }
    con_putc('\n');
}

/*
 * Mandelbrot in fixed point with 12 fraction bits: c = x + iy over
 * [-2.0, 0.5] x [-1.0, 1.0], z <- z^2 + c up to 32 iterations, escape when
 * |z|^2 > 4. Each cell prints a character by how fast it escaped.
 */
static void print_mandelbrot(void)
{
    const int FRAC = 12, ONE = 1 << FRAC;
    const int W = 48, H = 16, ITER = 32;
    const char *shade = " .:-=+*#%@";
    for (int row = 0; row < H; row++) {
        int ci = -ONE + (2 * ONE * row) / (H - 1);
        for (int col = 0; col < W; col++) {
            int cr = -2 * ONE + (5 * ONE / 2) * col / (W - 1);
            int zr = 0, zi = 0, i = 0;
            for (; i < ITER; i++) {
                int zr2 = (zr * zr) >> FRAC, zi2 = (zi * zi) >> FRAC;
                if (zr2 + zi2 > 4 * ONE)
                    break;
                zi = ((2 * zr * zi) >> FRAC) + ci;
                zr = zr2 - zi2 + cr;
            }
            con_putc(i == ITER ? '@' : shade[i * 9 / ITER]);
        }
        con_putc('\n');
    }
}

int main(long hartid, void *dtb)
{
    con_puts("wasmvisor demo guest: hello from RV64 M-mode\n");
    con_printf("hartid: %ld\n", hartid);
    con_printf("dtb: 0x%lx\n", (unsigned long)dtb);
    uint32_t magic = be32(dtb);
    con_printf("dtb magic: 0x%08x (%s)\n", magic,
               magic == FDT_MAGIC ? "ok" : "bad, expected 0xd00dfeed");
    print_primes(20);
    print_mandelbrot();
    con_puts("bye\n");
    return magic == FDT_MAGIC ? 0 : 1;
}
