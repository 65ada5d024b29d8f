import { beforeEach, describe, expect, test } from 'vitest';
import { UART_HOST_QUEUE_LIMIT, Uart16550 } from '../../../host/devices/uart16550';

// Register offsets and values, written out so the tests check the datasheet, not the model.
const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

let out: number[];
let irqEvents: boolean[];
let irqLevel: boolean;
let uart: Uart16550;

const rd = (off: number) => Number(uart.read(off, 1));
const wr = (off: number, v: number) => uart.write(off, 1, BigInt(v));
const recv = (...b: number[]) => uart.receive(new Uint8Array(b));

beforeEach(() => {
  out = [];
  irqEvents = [];
  irqLevel = false;
  uart = new Uart16550(
    (b) => out.push(b),
    {
      set: (l) => {
        irqEvents.push(l);
        irqLevel = l;
      },
    },
  );
});

describe('reset state', () => {
  test('registers read their datasheet reset values', () => {
    expect(rd(IER)).toBe(0);
    expect(rd(IIR)).toBe(0x01); // no interrupt, FIFOs disabled
    expect(rd(LCR)).toBe(0);
    expect(rd(MCR)).toBe(0);
    expect(rd(LSR)).toBe(0x60); // THRE | TEMT
    expect(rd(MSR)).toBe(0xb0); // CTS | DSR | DCD, no deltas
    expect(rd(SCR)).toBe(0);
    expect(irqEvents).toEqual([]);
  });
  test('offsets past the eight registers read 0 and ignore writes', () => {
    wr(8, 0x41);
    wr(0xff, 0x41);
    expect(rd(8)).toBe(0);
    expect(rd(0xff)).toBe(0);
    expect(out).toEqual([]);
  });
});

describe('transmit', () => {
  test('THR writes call the output callback with each byte, in order', () => {
    wr(THR, 0x48);
    wr(THR, 0x69);
    uart.write(THR, 4, 0x1234_5600n | 0x0an); // only the low byte is the register
    expect(out).toEqual([0x48, 0x69, 0x0a]);
    expect(rd(LSR)).toBe(0x60);
  });
  test('SCR is a plain read/write byte', () => {
    wr(SCR, 0xa5);
    expect(rd(SCR)).toBe(0xa5);
  });
});

describe('DLAB', () => {
  test('DLL/DLM replace THR/IER while LCR.DLAB is set', () => {
    wr(LCR, 0x83);
    wr(DLL, 0x01);
    wr(DLM, 0x02);
    expect(out).toEqual([]); // the DLL write did not transmit
    expect(rd(DLL)).toBe(0x01);
    expect(rd(DLM)).toBe(0x02);
    wr(LCR, 0x03);
    expect(rd(LCR)).toBe(0x03);
    expect(rd(IER)).toBe(0); // IER untouched by the DLM write
    wr(THR, 0x41);
    expect(out).toEqual([0x41]);
    wr(LCR, 0x80);
    expect([rd(DLL), rd(DLM)]).toEqual([1, 2]);
  });
  test('with DLAB set, received data stays in the FIFO', () => {
    recv(0x61);
    wr(LCR, 0x80);
    expect(rd(0)).toBe(0); // DLL, not RBR
    wr(LCR, 0);
    expect(rd(RBR)).toBe(0x61);
  });
});

describe('receive', () => {
  test('LSR.DR follows the FIFO; bytes come out in order; empty RBR reads 0', () => {
    wr(FCR, 0x01);
    recv(1, 2, 3);
    expect(rd(LSR)).toBe(0x61);
    expect([rd(RBR), rd(RBR), rd(RBR)]).toEqual([1, 2, 3]);
    expect(rd(LSR)).toBe(0x60);
    expect(rd(RBR)).toBe(0);
  });
  test('input beyond the 16-byte FIFO waits in the host queue and is not lost', () => {
    wr(FCR, 0x01);
    const bytes = Array.from({ length: 40 }, (_, i) => i + 1);
    uart.receive(new Uint8Array(bytes));
    expect(uart.pendingInput()).toBe(40);
    expect(uart.snapshot().rx.length).toBe(16);
    const got: number[] = [];
    while (rd(LSR) & 1) got.push(rd(RBR));
    expect(got).toEqual(bytes);
    expect(rd(LSR) & 0x02).toBe(0); // never an overrun
  });
  test('with FIFOs disabled the receiver holds one byte, the rest queue behind it', () => {
    recv(7, 8);
    expect(uart.snapshot().rx).toEqual([7]);
    expect(rd(RBR)).toBe(7);
    expect(rd(RBR)).toBe(8);
    expect(rd(LSR)).toBe(0x60);
  });
  test('FCR RX reset empties the FIFO, then queued input flows in', () => {
    wr(FCR, 0x01);
    uart.receive(new Uint8Array(20).map((_, i) => i));
    wr(FCR, 0x03);
    expect(uart.snapshot().rx).toEqual([16, 17, 18, 19]);
    expect(rd(FCR)).toBe(0xc1); // IIR: FIFOs enabled, no interrupt
  });
  test('changing FCR.FIFOE clears the FIFO; FCR bits need FIFOE to be programmed', () => {
    wr(FCR, 0x01);
    recv(1, 2);
    wr(FCR, 0x00);
    expect(uart.snapshot().rx).toEqual([]);
    expect(uart.snapshot().fcr).toBe(0);
    wr(FCR, 0xc0); // trigger bits without FIFOE: ignored
    expect(uart.snapshot().fcr).toBe(0);
  });
  test('the host queue drops input past its limit and counts it', () => {
    uart.receive(new Uint8Array(UART_HOST_QUEUE_LIMIT + 2));
    expect(uart.pendingInput()).toBe(UART_HOST_QUEUE_LIMIT);
    expect(uart.droppedInput).toBe(2);
  });
});

describe('interrupts', () => {
  test('RDA: raised when data arrives with IER.ERBFI, dropped when drained', () => {
    wr(IER, 0x01);
    expect(irqLevel).toBe(false);
    recv(0x41);
    expect(irqEvents).toEqual([true]);
    expect(rd(IIR)).toBe(0x04);
    expect(rd(IIR)).toBe(0x04); // reading IIR does not clear RDA
    rd(RBR);
    expect(irqEvents).toEqual([true, false]);
    expect(rd(IIR)).toBe(0x01);
  });
  test('FIFO trigger level: RDA at or above it, character timeout (0xC) below it', () => {
    wr(FCR, 0x81); // FIFOE, trigger 8
    wr(IER, 0x01);
    recv(1, 2, 3);
    expect(rd(IIR)).toBe(0xcc);
    recv(4, 5, 6, 7, 8);
    expect(rd(IIR)).toBe(0xc4);
    rd(RBR);
    expect(rd(IIR)).toBe(0xcc);
  });
  test('THRE: raised when IER.ETBEI is set, cleared by reading IIR, re-armed by a THR write', () => {
    wr(IER, 0x02);
    expect(irqLevel).toBe(true);
    expect(rd(IIR)).toBe(0x02);
    expect(irqLevel).toBe(false);
    expect(rd(IIR)).toBe(0x01);
    wr(THR, 0x41);
    expect(irqLevel).toBe(true);
    expect(rd(IIR)).toBe(0x02);
    expect(rd(IIR)).toBe(0x01);
    expect(irqEvents).toEqual([true, false, true, false]);
  });
  // docs/board.md "UART: interrupts are requested per event" (as QEMU's serial_update_irq).
  test('with THRE pending, LSR and IER rewrites make no new request; THR writes and received data do', () => {
    wr(IER, 0x03);
    expect(irqEvents).toEqual([true]);
    expect(rd(LSR)).toBe(0x60);
    wr(IER, 0x03);
    expect(irqEvents).toEqual([true]);
    wr(THR, 0x41);
    expect(irqEvents).toEqual([true, true]);
    recv(0x42);
    expect(irqEvents).toEqual([true, true, true]);
    expect(rd(RBR)).toBe(0x42); // THRE still pending: the read is a new request
    expect(irqEvents).toEqual([true, true, true, true]);
    expect(rd(IIR)).toBe(0x02);
    expect(irqEvents).toEqual([true, true, true, true, false]);
  });
  test('clearing ETBEI drops a pending THRE interrupt (as QEMU)', () => {
    wr(IER, 0x02);
    wr(IER, 0x00);
    expect(irqLevel).toBe(false);
    wr(IER, 0x02);
    expect(rd(IIR)).toBe(0x02);
  });
  test('THRE is not raised again by rewriting IER with ETBEI already set', () => {
    wr(IER, 0x02);
    rd(IIR);
    wr(IER, 0x03);
    expect(rd(IIR)).toBe(0x01);
  });
  test('THR writes with ETBEI clear raise nothing; enabling ETBEI then raises THRE', () => {
    wr(THR, 0x41);
    expect(irqLevel).toBe(false);
    wr(IER, 0x02);
    expect(rd(IIR)).toBe(0x02);
  });
  test('priority: RDA is reported before THRE; THRE remains after the data is read', () => {
    wr(IER, 0x03);
    recv(0x41);
    expect(rd(IIR)).toBe(0x04);
    expect(rd(RBR)).toBe(0x41);
    expect(rd(IIR)).toBe(0x02);
    expect(rd(IIR)).toBe(0x01);
    expect(irqLevel).toBe(false);
  });
  test('reading IIR while RDA is reported leaves a pending THRE armed', () => {
    wr(IER, 0x03);
    recv(0x41);
    rd(IIR); // 0x04
    rd(RBR);
    expect(rd(IIR)).toBe(0x02);
  });
  test('modem status: loopback changes raise MSI; reading MSR clears the deltas', () => {
    wr(IER, 0x08);
    wr(MCR, 0x10); // loopback, all modem outputs off: CTS, DSR, DCD drop
    expect(rd(IIR)).toBe(0x00);
    expect(irqLevel).toBe(true);
    expect(rd(MSR)).toBe(0x0b); // DCTS | DDSR | DDCD, no lines
    expect(rd(IIR)).toBe(0x01);
    expect(irqLevel).toBe(false);
    wr(MCR, 0x1f); // DTR, RTS, OUT1, OUT2 on
    expect(rd(MSR)).toBe(0xfb);
    wr(MCR, 0x1b); // OUT1 off: RI falls -> TERI
    expect(rd(MSR)).toBe(0xb4);
  });
});

describe('loopback', () => {
  test('THR bytes come back on RBR and never reach the output; host input waits', () => {
    wr(FCR, 0x01);
    wr(MCR, 0x10);
    recv(0x7a);
    wr(THR, 0x55);
    expect(out).toEqual([]);
    expect(rd(RBR)).toBe(0x55);
    expect(rd(LSR) & 1).toBe(0);
    wr(MCR, 0x00);
    expect(rd(RBR)).toBe(0x7a);
  });
  test('loopback overrun sets LSR.OE and raises the line-status interrupt until LSR is read', () => {
    wr(MCR, 0x10); // FIFOs off: one byte of room
    wr(IER, 0x05);
    wr(THR, 1);
    wr(THR, 2);
    expect(rd(IIR)).toBe(0x06);
    expect(rd(LSR)).toBe(0x63);
    expect(rd(LSR)).toBe(0x61);
    expect(rd(IIR)).toBe(0x04);
    expect(rd(RBR)).toBe(1);
  });
});

describe('snapshot', () => {
  test('restore reproduces registers, FIFO, host queue and IRQ level', () => {
    wr(FCR, 0x41);
    wr(LCR, 0x03);
    wr(SCR, 0x5a);
    wr(IER, 0x01);
    uart.receive(new Uint8Array(18).map((_, i) => i));
    const snap = uart.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap); // plain data

    const events: boolean[] = [];
    const copy = new Uart16550(() => {}, { set: (l) => events.push(l) });
    copy.restore(snap);
    expect(events).toEqual([true]);
    expect(copy.snapshot()).toEqual(snap);
    expect(Number(copy.read(IIR, 1))).toBe(0xc4);
    expect(Number(copy.read(SCR, 1))).toBe(0x5a);
    const got: number[] = [];
    while (Number(copy.read(LSR, 1)) & 1) got.push(Number(copy.read(RBR, 1)));
    expect(got).toEqual([...Array(18).keys()]);
  });
});
