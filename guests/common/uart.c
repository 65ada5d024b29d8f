/*
 * uart.c - polled console on the 16550 UART of the virt board.
 *
 * Registers (reg-shift 0, one byte apart), from the 16550 data sheet:
 *   +0 RBR (read) / THR (write) / DLL (when LCR.DLAB=1)
 *   +1 IER / DLM (when LCR.DLAB=1)
 *   +2 FCR (write)
 *   +3 LCR
 *   +5 LSR: bit 0 DR = a received byte is waiting,
 *           bit 5 THRE = the transmit holding register is empty.
 */
#include "guest.h"

#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_LCR 3
#define UART_LSR 5

#define LSR_DR   0x01
#define LSR_THRE 0x20

void uart_init(void)
{
    mmio_write8(UART0_BASE + UART_IER, 0x00); /* no interrupts */
    mmio_write8(UART0_BASE + UART_LCR, 0x03); /* 8 data bits, no parity, 1 stop */
    /*
     * FCR is left alone on purpose: enabling or resetting the FIFOs flushes
     * bytes that may already have arrived (input piped in before boot).
     * Without FIFOs the receiver holds one byte and the sender waits for
     * LSR.DR to clear, so polling still loses nothing.
     */
}

static void uart_tx(char c)
{
    while (!(mmio_read8(UART0_BASE + UART_LSR) & LSR_THRE))
        ;
    mmio_write8(UART0_BASE + UART_THR, (uint8_t)c);
}

void con_putc(char c)
{
    if (c == '\n')
        uart_tx('\r');
    uart_tx(c);
}

void con_puts(const char *s)
{
    while (*s)
        con_putc(*s++);
}

int con_getc(void)
{
    if (!(mmio_read8(UART0_BASE + UART_LSR) & LSR_DR))
        return -1;
    return mmio_read8(UART0_BASE + UART_RBR);
}
