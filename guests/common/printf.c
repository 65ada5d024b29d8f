/*
 * printf.c - the small formatted printer behind con_printf.
 *
 * Conversions: %s %c %d %i %u %x %X %p %%; length modifiers h (ignored),
 * l, ll, z; flags '0' and '-'; a decimal field width or '*'. No precision,
 * no floating point.
 */
#include "guest.h"

/* Emits `len` bytes of `s` padded to `width` with `pad`, on the left unless `left`. */
static void emit_padded(const char *s, int len, int width, char pad, int left)
{
    int fill = width > len ? width - len : 0;
    if (!left) {
        /* Zero padding goes after a sign: "-0042", not "00-42". */
        if (pad == '0' && len > 0 && s[0] == '-') {
            con_putc('-');
            s++;
            len--;
        }
        while (fill-- > 0)
            con_putc(pad);
    }
    for (int i = 0; i < len; i++)
        con_putc(s[i]);
    if (left)
        while (fill-- > 0)
            con_putc(' ');
}

/* Formats `v` in base 10 or 16 into the end of buf; returns the first digit. */
static char *format_unsigned(char *end, uint64_t v, unsigned base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;
    do {
        *--p = digits[v % base];
        v /= base;
    } while (v);
    return p;
}

void con_vprintf(const char *fmt, va_list ap)
{
    char buf[24]; /* 20 decimal digits of 2^64-1 plus a sign fit */
    char *end = buf + sizeof buf;

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            con_putc(*fmt);
            continue;
        }
        fmt++;
        int left = 0;
        char pad = ' ';
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        int longs = 0; /* 0: int, 1: long, 2: long long (both 64-bit on lp64) */
        for (;; fmt++) {
            if (*fmt == 'l' || *fmt == 'z')
                longs++;
            else if (*fmt != 'h')
                break;
        }

        uint64_t u;
        char *p;
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : (int64_t)va_arg(ap, int);
            p = format_unsigned(end, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, 0);
            if (v < 0)
                *--p = '-';
            emit_padded(p, (int)(end - p), width, pad, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
            u = longs ? va_arg(ap, uint64_t) : (uint64_t)va_arg(ap, unsigned);
            p = format_unsigned(end, u, *fmt == 'u' ? 10 : 16, *fmt == 'X');
            emit_padded(p, (int)(end - p), width, pad, left);
            break;
        case 'p':
            u = (uint64_t)(uintptr_t)va_arg(ap, void *);
            con_puts("0x");
            p = format_unsigned(end, u, 16, 0);
            emit_padded(p, (int)(end - p), 16, '0', 0);
            break;
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            emit_padded(buf, 1, width, ' ', left);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            emit_padded(s, (int)strlen(s), width, ' ', left);
            break;
        }
        case '%':
            con_putc('%');
            break;
        case '\0':
            return; /* a lone '%' at the end */
        default:
            /* Unknown conversion: print it as written so the mistake shows. */
            con_putc('%');
            con_putc(*fmt);
            break;
        }
    }
}

void con_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    con_vprintf(fmt, ap);
    va_end(ap);
}
