/**
 * --trace insn,int,mmu,io (docs/debug.md pins the format; so does this test): the first lines
 * of hello.elf's trace exactly, one insn line per retired instruction, the traps and page walks
 * of paging_sv39.elf, --trace-range, --trace-file and the errors of bad lists.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, requireBuild } from './session';
import { elfSymbols } from '../../host/machine/loader';

beforeAll(requireBuild);
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, 'run', ...args], { cwd: ROOT, encoding: 'latin1', timeout: 120_000 });
}

describe('--trace', () => {
  it('insn and io: hello.elf, exactly, one line per retired instruction', () => {
    const file = join(dir, 'hello.txt');
    const r = run(['--bare', 'guests/bin/demo/hello.elf', '--trace', 'insn,io', '--trace-file', file, '--stats']);
    expect(r.status).toBe(0);
    const lines = readFileSync(file, 'latin1').split('\n');
    expect(lines.slice(0, 8)).toEqual([
      'insn M 0000000080000000: 00002197  auipc gp, 0x2 | gp=0000000080002000',
      'insn M 0000000080000004: 80018193  addi gp, gp, -2048 | gp=0000000080001800',
      'insn M 0000000080000008: e139  c.bnez a0, 0x8000004e',
      'insn M 000000008000000a: 00011117  auipc sp, 0x11 | sp=000000008001100a',
      'insn M 000000008000000e: 42610113  addi sp, sp, 1062 | sp=0000000080011430',
      'insn M 0000000080000012: 00000297  auipc t0, 0x0 | t0=0000000080000012',
      'insn M 0000000080000016: 21628293  addi t0, t0, 534 | t0=0000000080000228',
      'insn M 000000008000001a: 30529073  csrrw zero, mtvec, t0',
    ]);
    const retired = /instructions retired +([\d,]+)/.exec(r.stderr)?.[1].replace(/,/g, '');
    expect(lines.filter((l) => l.startsWith('insn ')).length).toBe(Number(retired));
    // The UART: 16550 setup, then "Hello" byte by byte (THR at 0x10000000).
    const io = lines.filter((l) => l.startsWith('io '));
    expect(io.slice(0, 3)).toEqual([
      'io   store 0000000010000001 1 0000000000000000',
      'io   store 0000000010000003 1 0000000000000003',
      'io   load  0000000010000005 1 0000000000000060',
    ]);
    const thr = io.filter((l) => l.startsWith('io   store 0000000010000000 1 ')).map((l) => String.fromCharCode(parseInt(l.slice(-16), 16))).join('');
    expect(r.stdout.startsWith(thr)).toBe(true);
    expect(thr.length).toBeGreaterThan(5);
  }, 120_000);

  it('int and mmu: paging_sv39.elf, the S-mode ecall and the Sv39 walks', () => {
    const r = run(['--bare', 'guests/bin/priv/paging_sv39.elf', '--trace', 'int,mmu']);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('mmu  read va=0000000040000008 pa=0000000080004008 | satp L2 @0000000080014008=0000000020005801; satp L1 @0000000080016000=0000000020005c01; satp L0 @0000000080017000=00000000200010c7');
    expect(lines[1]).toBe('int  S->M cause 9 (ecall from HS) tval=0000000000000000 epc=0000000080001bf8 pc=0000000080001904');
    // every mmu line: a walk from satp, 3 levels (Sv39) or fewer (a superpage or a fault)
    for (const l of lines.filter((x) => x.startsWith('mmu '))) expect(l).toMatch(/^mmu  (read|write|fetch) va=[0-9a-f]{16} (pa=[0-9a-f]{16}|fault \d+ \([a-z -]+\)) \| satp L2 @/);
  }, 120_000);

  it('insn with traps: the ecall has no insn line, the handler\'s first instruction has one; one line per retired instruction', () => {
    const file = join(dir, 'sv39.txt');
    const r = run(['--bare', 'guests/bin/priv/paging_sv39.elf', '--trace', 'insn,int', '--trace-file', file, '--stats']);
    expect(r.status).toBe(0);
    const lines = readFileSync(file, 'latin1').split('\n');
    const i = lines.indexOf('int  S->M cause 9 (ecall from HS) tval=0000000000000000 epc=0000000080001bf8 pc=0000000080001904');
    expect(i).toBeGreaterThan(0);
    expect(lines[i - 1]).toBe('insn S 0000000080001bf4: 5e700893  addi a7, zero, 1511 | a7=00000000000005e7');
    expect(lines[i + 1]).toBe('insn M 0000000080001904: 34011173  csrrw sp, mscratch, sp | sp=0000000080025140');
    const retired = /instructions retired +([\d,]+)/.exec(r.stderr)?.[1].replace(/,/g, '');
    expect(lines.filter((l) => l.startsWith('insn ')).length).toBe(Number(retired));
  }, 120_000);

  it('a VM: sbi keeps the SBI exits, int shows the guest\'s own traps (its stvec, its scause)', () => {
    const r = run(['guests/bin/minikernel/minikernel.elf', '--trace', 'sbi,int', '--max-instructions', '3000000']);
    expect(r.status).toBe(125);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('exit ') || l.startsWith('int '));
    expect(lines[0]).toMatch(/^exit \d+: SBI ecall \(BASE probe_extension\) pc=0x8020[0-9a-f]{4} cause=10 tval=0x0 htval=0x0 insn: ecall$/);
    const trapEntry = elfSymbols(readFileSync(join(ROOT, 'guests/bin/minikernel/minikernel.elf')), ['trap_entry']).get('trap_entry')!;
    const at = trapEntry.toString(16).padStart(16, '0');
    for (const l of lines.filter((x) => x.startsWith('exit '))) expect(l).toMatch(/^exit \d+: SBI ecall /);
    // tasks' system calls and timer ticks, from U to the guest kernel's trap_entry
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^int  U->S cause 8 \\(ecall from U/VU\\) tval=0{16} epc=[0-9a-f]{16} pc=${at}$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^int  U->S cause irq 5 \\(supervisor timer\\) tval=0{16} epc=[0-9a-f]{16} pc=${at}$`)));
  }, 120_000);

  it('--trace-range keeps only pcs inside', () => {
    const r = run(['--bare', 'guests/bin/demo/hello.elf', '--trace', 'insn', '--trace-range', '80000000-8000000f']);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBe(5); // 0x80000000..0x8000000e, each once
    expect(lines[4]).toBe('insn M 000000008000000e: 42610113  addi sp, sp, 1062 | sp=0000000080011430');
  }, 120_000);

  it('refuses an unknown kind and a bad range in one line', () => {
    const a = run(['--bare', 'guests/bin/demo/hello.elf', '--trace', 'insn,bogus']);
    expect(a.status).toBe(2);
    expect(a.stderr).toBe("wasmvisor: --trace: unknown trace 'bogus' (expected a list of insn, int, mmu, exits, sbi, io)\n");
    const b = run(['--bare', 'guests/bin/demo/hello.elf', '--trace', 'insn', '--trace-range', '9-1']);
    expect(b.status).toBe(2);
    expect(b.stderr).toBe("wasmvisor: --trace-range: bad value '9-1' (expected LO-HI in hex, e.g. 80000000-80000fff)\n");
  });
});
