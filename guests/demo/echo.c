/*
 * echo.c - console input test: reads lines from the UART and prints each
 * one back in upper case, until a line reads "quit".
 *
 * Typed characters are echoed as they arrive (a terminal in raw mode shows
 * nothing otherwise), so for the input "abc\n" the console shows
 *     > abc
 *     ABC
 * CR, LF and CR LF all end a line; backspace (0x08) and DEL (0x7f) erase.
 * Lines longer than 79 bytes are cut at 79.
 */
#include "guest.h"

#define LINE_MAX 80

/* Waits for the next input byte (polling; there is nothing else to do). */
static char getc_wait(void)
{
    int c;
    while ((c = con_getc()) < 0)
        ;
    return (char)c;
}

/* Reads one line into buf (NUL-terminated, without the line end). */
static void read_line(char *buf)
{
    static int last_was_cr; /* a CR LF pair ends one line, not two */
    int n = 0;
    for (;;) {
        char c = getc_wait();
        if (c == '\n' && last_was_cr) {
            last_was_cr = 0;
            continue;
        }
        last_was_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            con_putc('\n');
            break;
        }
        if (c == 0x08 || c == 0x7f) {
            if (n > 0) {
                n--;
                con_puts("\b \b");
            }
            continue;
        }
        if (n < LINE_MAX - 1) {
            buf[n++] = c;
            con_putc(c);
        }
    }
    buf[n] = '\0';
}

int main(void)
{
    char line[LINE_MAX];
    con_puts("wasmvisor echo: type a line, \"quit\" to stop\n");
    for (;;) {
        con_puts("> ");
        read_line(line);
        if (strcmp(line, "quit") == 0)
            break;
        for (char *p = line; *p; p++)
            con_putc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        con_putc('\n');
    }
    con_puts("bye\n");
    return 0;
}
