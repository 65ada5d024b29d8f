/**
 * The GDB stub against a real client: Debian's gdb-multiarch in batch mode drives minikernel
 * (built with -g) through `wasmvisor run -S --gdb tcp::0`, as a VM's guest and on the bare
 * machine under OpenSBI, with the JIT compiling every block on its first run (--jit always), so
 * the breakpoint on con_printf lands on code that already ran compiled.
 */
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPENSBI, GDB, oracle } from '../oracles';
import { MINIKERNEL, ROOT, requireBuild, startWasmvisor } from './session';

const haveGdb = oracle('gdb', 'test/debug/gdb.test.ts');
const haveOpensbi = oracle('opensbi', 'test/debug/gdb.test.ts');

beforeAll(requireBuild);

/** Run gdb-multiarch -batch with one -ex per command; resolves with its output. */
function gdbBatch(commands: string[]): Promise<{ code: number | null; out: string }> {
  const args = ['-batch', '-nx', ...commands.flatMap((c) => ['-ex', c]), MINIKERNEL];
  const child = spawn(GDB, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return new Promise((r) => child.on('exit', (code) => r({ code, out })));
}

const MODES = [
  // entry: the kernel's, or OpenSBI's (M-mode, RAM base) on the bare machine
  { name: 'VM mode (the guest\'s view: VS-mode, vsatp)', args: [MINIKERNEL], entry: '0x80200000' },
  { name: 'bare machine under OpenSBI (S-mode, satp)', args: ['--bare', '--bios', OPENSBI, MINIKERNEL], entry: '0x80000000', needs: () => haveOpensbi },
];

describe.skipIf(!haveGdb)('gdb-multiarch drives minikernel through the stub', () => {
  for (const mode of MODES) {
    it.skipIf(mode.needs !== undefined && !mode.needs())(mode.name, async () => {
      const w = startWasmvisor([...mode.args, '-S', '--gdb', 'tcp::0', '--jit', 'always', '--stats']);
      const port = await w.port('gdb stub');
      const { code, out } = await gdbBatch([
        'set architecture riscv:rv64', 'set pagination off', 'set confirm off', 'directory guests',
        `target remote :${port}`,
        // -S: stopped at the entry, before the first instruction
        'print/x $pc',
        'break main', 'continue',
        'next', 'next', 'next', 'next',
        'print bi', // a local (DWARF: a stack slot, read through the current translation)
        // con_printf already ran (compiled: --jit always); the breakpoint must still stop it
        'break con_printf', 'continue', 'bt 2', 'delete',
        'watch boot_free_pages', 'continue', 'delete',
        'print/x $satp', 'print $priv',
        'x/gx 0x10', // unmapped under Sv39: the stub answers E14
        'stepi', 'print/x $pc',
        'maintenance packet Qqemu.PhyMemMode:1', 'x/2wx 0x80200000', 'maintenance packet Qqemu.PhyMemMode:0',
        'monitor xp/1xw 0x80200000', // GDB's monitor command reaches the monitor (qRcmd)
        'continue',
      ]);
      const exit = await w.exit;
      // (A fresh clone can give the C source a newer mtime than the committed ELF; gdb then
      // warns once, which is about the checkout, not about the stub.)
      const lines = out.split('\n').filter((l) => l !== 'warning: Source file is more recent than executable.');
      const after = (head: string, n = 1) => lines.slice(lines.lastIndexOf(head) + 1, lines.lastIndexOf(head) + 1 + n);
      expect(lines).toContain(`$1 = ${mode.entry}`);
      expect(lines).toContain('Breakpoint 1, main (hartid=0, dtb=0x87e00000) at minikernel/minikernel.c:34');
      // four `next`s: one source line each
      const b1 = lines.indexOf('Breakpoint 1, main (hartid=0, dtb=0x87e00000) at minikernel/minikernel.c:34');
      expect(lines.slice(b1 + 2, b1 + 6).map((l) => l.split('\t')[0])).toEqual(['35', '36', '39', '41']);
      expect(lines).toContain('$2 = {timebase = 10000000, mem_base = 2147483648, mem_size = 134217728}');
      expect(lines).toContain('Breakpoint 2, con_printf (fmt=fmt@entry=0x80207058 "minikernel: RAM %lu MiB at 0x%lx, timebase %lu Hz\\n") at common/printf.c:133');
      expect(lines).toContain('#1  0x00000000802000d6 in main (hartid=0, dtb=0x87e00000) at minikernel/minikernel.c:47');
      expect(after('Hardware watchpoint 3: boot_free_pages', 4)).toEqual(['', 'Old value = 0', 'New value = 1021', 'main (hartid=0, dtb=<optimized out>) at minikernel/minikernel.c:60']);
      // the kernel's Sv39 root, and S-mode (VS-mode is the guest's S-mode)
      expect(lines).toContainEqual(expect.stringMatching(/^\$3 = 0x80000000000[0-9a-f]{5}$/));
      expect(lines).toContain('$4 = 1');
      expect(out).toContain('Cannot access memory at address 0x10');
      // the store (sd at 0x80200146) ran; GDB stepped over it; stepi runs the auipc at 0x8020014a
      expect(lines).toContain('$5 = 0x8020014e');
      expect(lines).toContain('0x80200000 <_start>:\t0x10401073\t0x14001073');
      expect(lines).toContain('0000000080200000: 0x10401073');
      expect(lines).toContain('[Inferior 1 (Remote target) exited normally]');
      expect(code).toBe(0);
      expect(exit).toBe(0);
      expect(w.stdout()).toContain('minikernel: shutdown');
      // The JIT did run (and breakpoints did not need it switched off for the whole run).
      expect(w.stderr()).toMatch(/compiled code +[1-9][0-9.]* % of instructions/);
    }, 120_000);
  }
});
