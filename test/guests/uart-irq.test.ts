/**
 * A bare-metal M-mode guest that drives the UART the way xv6-riscv does (docs/board.md, "UART:
 * interrupts are requested per event"): it enables the 16550's receive and THR-empty
 * interrupts (IER = 0x03) and PLIC source 10 for context 0, then prints a message one byte per
 * interrupt from the handler, which claims, reads LSR (never IIR), writes THR while there is
 * text left, and completes. Afterwards it prints how many interrupts it took (two hex digits,
 * polled) and passes through the test finisher.
 *
 * On QEMU's virt each THR write is a new interrupt request, so the guest takes one interrupt per
 * byte plus a last one that finds nothing to send: len + 1. A board that re-pends the still-high
 * THRE level on every completion storms forever; the handler then gives up after 1000
 * interrupts and fails with finisher code 1.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../host/machine/machine';
import { loadImageFile } from '../../host/machine/loader';
import { runQemu } from '../diff/qemu';
import { oracle } from '../oracles';
import * as E from '../diff/encode';
import { buildElf } from '../host/elf-writer';
import { Asm } from '../vmm/asm';

const BASE = 0x8000_0000n;
const MSG = 'hello from the UART interrupt handler\n';
const MSG_AT = BASE + 0x800n;
const TAIL_AT = BASE + 0x900n;
const HEX_AT = BASE + 0xa00n;
const TAIL = 'interrupts: ';
const FINISHER = 0x10_0000n;

// Registers: main code uses t0-t2 (5-7), a0/a1 (10/11), ra (1); the handler only a6/a7 and t3/t4.
const ra = 1, t0 = 5, t1 = 6, t2 = 7, s0 = 8, s1 = 9, a0 = 10, a1 = 11, a6 = 16, a7 = 17, s2 = 18, s3 = 19, t3 = 28, t4 = 29;
const csrrw = (rd: number, csr: number, rs1: number) => E.iType(0x73, 1, rd, rs1, csr);
const csrrs = (rd: number, csr: number, rs1: number) => E.iType(0x73, 2, rd, rs1, csr);
const csrrc = (rd: number, csr: number, rs1: number) => E.iType(0x73, 3, rd, rs1, csr);
const MSTATUS = 0x300, MIE = 0x304, MTVEC = 0x305;
const MRET = 0x30200073;
const bytes = (s: string) => Uint8Array.from(Buffer.from(`${s}\0`, 'latin1'));

function guestImage(): Uint8Array {
  const a = new Asm(BASE);
  a.la(t0, 'trap').emit(csrrw(0, MTVEC, t0));
  a.li64(s0, 0x1000_0000n); // UART
  a.li64(s1, MSG_AT); // next byte to send
  a.li64(s2, 0x0c20_0004n); // PLIC context 0 claim/complete
  a.emit(E.aluI('addi', s3, 0, 0)); // interrupts taken
  a.li64(t0, 0x0c00_0028n).emit(E.aluI('addi', t1, 0, 1), E.store('sw', t1, t0, 0)); // priority[10] = 1
  a.li64(t0, 0x0c00_2000n).emit(E.aluI('addi', t1, 0, 1 << 10), E.store('sw', t1, t0, 0)); // enable 10, ctx 0
  a.li64(t0, 0x0c20_0000n).emit(E.store('sw', 0, t0, 0)); // threshold 0
  a.emit(E.aluI('addi', t1, 0, 0x03), E.store('sb', t1, s0, 1)); // IER = ERBFI | ETBEI
  a.li64(t0, 0x800n).emit(csrrs(0, MIE, t0)); // mie.MEIE
  a.emit(E.aluI('addi', t0, 0, 8), csrrs(0, MSTATUS, t0)); // mstatus.MIE
  a.label('wait').emit(E.load('lbu', t0, s1, 0)).branch('bne', t0, 0, 'wait');
  // The message is out: give a storm time to show, then report with interrupts off.
  a.li64(t1, 20000n).label('delay').emit(E.aluI('addi', t1, t1, -1)).branch('bne', t1, 0, 'delay');
  a.emit(E.aluI('addi', t0, 0, 8), csrrc(0, MSTATUS, t0));
  a.li64(a0, TAIL_AT);
  a.label('tail').emit(E.load('lbu', a1, a0, 0)).branch('beq', a1, 0, 'digits');
  a.jal(ra, 'putc').emit(E.aluI('addi', a0, a0, 1)).jal(0, 'tail');
  a.label('digits').li64(t1, HEX_AT);
  a.emit(E.shiftI('srli', t0, s3, 4), E.aluI('andi', t0, t0, 15), E.aluR('add', t0, t0, t1), E.load('lbu', a1, t0, 0));
  a.jal(ra, 'putc');
  a.emit(E.aluI('andi', t0, s3, 15), E.aluR('add', t0, t0, t1), E.load('lbu', a1, t0, 0));
  a.jal(ra, 'putc');
  a.emit(E.aluI('addi', a1, 0, 10)).jal(ra, 'putc');
  // Let the last byte leave the host's UART before the finisher ends the run.
  a.li64(t1, 200000n).label('drain').emit(E.aluI('addi', t1, t1, -1)).branch('bne', t1, 0, 'drain');
  a.li64(t0, FINISHER).li64(t1, 0x5555n).emit(E.store('sw', t1, t0, 0));
  a.label('hang').jal(0, 'hang');
  // putc(a1): poll LSR.THRE, write THR.
  a.label('putc').emit(E.load('lbu', t2, s0, 5), E.aluI('andi', t2, t2, 0x20)).branch('beq', t2, 0, 'putc');
  a.emit(E.store('sb', a1, s0, 0), E.jalr(0, ra, 0));
  // The handler: claim, LSR (never IIR), drain RBR if data, send one byte if THR is empty, complete.
  a.label('trap').emit(E.load('lwu', a6, s2, 0), E.aluI('addi', t3, 0, 10)).branch('bne', a6, t3, 'bad');
  a.emit(E.load('lbu', a7, s0, 5), E.aluI('andi', t3, a7, 0x01)).branch('beq', t3, 0, 'nodata');
  a.emit(E.load('lbu', t3, s0, 0));
  a.label('nodata').emit(E.aluI('andi', t3, a7, 0x20)).branch('beq', t3, 0, 'done');
  a.emit(E.load('lbu', t3, s1, 0)).branch('beq', t3, 0, 'done');
  a.emit(E.store('sb', t3, s0, 0), E.aluI('addi', s1, s1, 1));
  a.label('done').emit(E.aluI('addi', s3, s3, 1), E.store('sw', a6, s2, 0));
  a.emit(E.aluI('addi', t3, 0, 1000)).branch('bge', s3, t3, 'storm');
  a.emit(MRET);
  a.label('storm').li64(t3, FINISHER).li64(t4, 0x1_3333n).emit(E.store('sw', t4, t3, 0)); // FAIL, code 1
  a.jal(0, 'hang');
  a.label('bad').li64(t3, FINISHER).li64(t4, 0x2_3333n).emit(E.store('sw', t4, t3, 0)); // FAIL, code 2
  a.jal(0, 'hang');
  a.place(MSG_AT, bytes(MSG)).place(TAIL_AT, bytes(TAIL)).place(HEX_AT, bytes('0123456789abcdef'));
  return a.finish(0x1000);
}

function writeGuest(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wasmvisor-uart-irq-')), 'uart-irq.elf');
  const elf = buildElf({ entry: BASE, segments: [{ paddr: BASE, data: guestImage(), flags: 7 }] });
  writeFileSync(path, elf.bytes);
  return path;
}

async function runOurs(image: string): Promise<{ text: string; exitCode: number; reason: string }> {
  const chunks: Uint8Array[] = [];
  const m = await Machine.create({
    memSize: 128 << 20,
    kernel: loadImageFile(image, BASE),
    deterministic: true,
    onConsoleOutput: (b) => chunks.push(Uint8Array.from(b)),
  });
  const r = await m.run({ timeoutMs: 30_000 });
  return { text: Buffer.concat(chunks).toString('latin1'), exitCode: r.exitCode, reason: r.reason };
}

/** One interrupt per byte of the message, and one more that finds nothing left to send. */
const EXPECTED = `${MSG}${TAIL}${(MSG.length + 1).toString(16).padStart(2, '0')}\n`;

describe('a guest that claims the UART, reads LSR but never IIR, and completes (xv6 style)', () => {
  const image = writeGuest();
  it('prints its message from the handler, one interrupt per byte, and passes', async () => {
    const r = await runOurs(image);
    expect(r.reason).toBe('exit');
    expect(r.text).toBe(EXPECTED);
    expect(r.exitCode).toBe(0);
  }, 60_000);
  it.skipIf(!oracle('qemu', 'test/guests/uart-irq.test.ts'))('prints the same console text as qemu-system-riscv64 -M virt -bios none', async () => {
    const [ours, qemu] = await Promise.all([runOurs(image), runQemu(image, { timeoutMs: 30_000 })]);
    expect(qemu.timedOut).toBe(false);
    expect(qemu.exitCode).toBe(0);
    expect(ours.text).toBe(qemu.stdout);
    expect(ours.exitCode).toBe(qemu.exitCode);
  }, 90_000);
});
