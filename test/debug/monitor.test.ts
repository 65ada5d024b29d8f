/**
 * The monitor over TCP (--monitor tcp::0), as a user's telnet would drive it: minikernel held
 * at its entry (-S), then let run, stopped, inspected, reset and quit.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { MONITOR_HELP } from '../../host/debug/monitor';
import { MONITOR_RUN_HELP } from '../../host/cli/monitor-run';
import { BIN, MINIKERNEL, ROOT, monitorCommand, requireBuild, startWasmvisor, TcpClient } from './session';

beforeAll(requireBuild);

const PROMPT = '(wasmvisor) ';

const command = monitorCommand;

describe('monitor (HMP style) over TCP', () => {
  it('help, info registers, xp/x, info mem/tlb, cont, stop, info exits, system_reset, quit', async () => {
    const w = startWasmvisor([MINIKERNEL, '-S', '--monitor', 'tcp::0']);
    const c = await TcpClient.open(await w.port('monitor'));
    await c.until(/^wasmvisor monitor - type 'help' for more information\r\n\(wasmvisor\) $/);
    expect(await command(c, 'help')).toBe(MONITOR_HELP + MONITOR_RUN_HELP);
    // Held at the entry (-S): pc, a1 = the DTB, VS-mode, the VMCS controls.
    const regs = await command(c, 'info registers');
    expect(regs.split('\n')[0]).toBe('pc       0000000080200000  priv VS (the guest\'s S)');
    expect(regs).toContain('x11/a1   0000000087e00000');
    expect(regs).toContain('satp       0000000000000000');
    expect(regs).toMatch(/hedeleg    000000000000b109  hideleg    0000000000000444\n/);
    expect(regs).toMatch(/hgatp      8[0-9a-f]{15}/);
    // Physical and virtual memory, words and instructions.
    expect(await command(c, 'xp/2xw 0x80200000')).toBe('0000000080200000: 0x10401073 0x14001073\n');
    expect(await command(c, 'x/2i 0x80200000')).toBe('0000000080200000:  csrrw zero, sie, zero\n0000000080200004:  csrrw zero, sscratch, zero\n');
    expect(await command(c, 'xp/1xg 0x10')).toBe('0000000000000010: not RAM (physical 0000000000000010)\n');
    expect(await command(c, 'info mem')).toBe('paging off (vsatp = 0000000000000000): virtual = physical\n');
    // Let it run in short bursts (cont, stop) until paging is on: minikernel's whole run is a
    // fraction of a second, so one long burst could end it.
    let mem = '';
    for (let i = 0; i < 2000; i++) {
      expect(await command(c, 'cont')).toBe('');
      expect(await command(c, 'stop')).toBe('');
      mem = await command(c, 'info mem');
      if (!mem.startsWith('paging off')) break;
    }
    expect(mem.split('\n')[0]).toBe('virtual address  physical address  size             attr');
    // the kernel's text, identity-mapped, global, read+execute
    expect(mem).toMatch(/\n0000000080200000 0000000080200000  0000000000[0-9a-f]{3}000 r-x-gad\n/);
    const tlb = await command(c, 'info tlb');
    expect(tlb).toContain('0000000080206000 0000000080206000        4K  r-x-gad\n');
    expect(await command(c, 'x/1xg 0x8020a000')).toBe('000000008020a000: 0x00000000000003fd\n'); // boot_free_pages = 1021
    expect(await command(c, 'x/1xg 0x10')).toBe('0000000000000010: no translation (page fault)\n');
    const exits = await command(c, 'info exits');
    expect(exits).toMatch(/^wasmvisor VM exits\n  reason +count +share/);
    expect(exits).toMatch(/SBI ecall \(DBCN console_write\) +[1-9]/);
    expect(await command(c, 'info nonsense')).toBe("info: expected registers, mem, tlb, exits, status, snapshots or migrate, got 'nonsense'\n");
    expect(await command(c, 'x/5000xw 0x80200000')).toBe('x: at most 4096 units at a time\n');
    expect(await command(c, 'x/4xw')).toBe('x: expected an address, e.g. x/4xw 0x80000000\n');
    expect(await command(c, 'frobnicate')).toBe("unknown command: 'frobnicate' (help lists them)\n");
    // A reset reboots the guest: its banner comes again.
    expect(await command(c, 'system_reset')).toBe('');
    expect(await command(c, 'cont')).toBe('');
    const banner = 'minikernel: S-mode on hart 0';
    for (let i = 0; i < 200 && w.stdout().split(banner).length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    expect(w.stdout().split(banner).length).toBe(3);
    c.send('quit\r\n');
    expect(await w.exit).toBe(0);
  }, 60_000);
});

describe('monitor on stdio (--monitor stdio)', () => {
  it('reads command lines from stdin on the bare machine: M-mode registers, then quit', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '--bare', 'guests/bin/demo/hello.elf', '-S', '--monitor', 'stdio'], {
      cwd: ROOT, input: 'info registers\nxp/1xw 0x80000000\nquit\n', encoding: 'latin1', timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(''); // held at the entry (-S) until quit: the guest printed nothing
    const out = r.stderr.replace(/\r\n/g, '\n');
    expect(out.startsWith('(wasmvisor) pc       0000000080000000  priv M\n')).toBe(true);
    expect(out).toMatch(/mstatus    0000000a00000000/); // UXL = SXL = 64 at reset
    expect(out).toMatch(/misa       80000000001411ad\n/); // RV64 A C D F H I M S U
    expect(out).toContain('(wasmvisor) 0000000080000000: 0x00002197\n(wasmvisor) ');
  }, 60_000);
});
