/**
 * The GDB stub's packets, from a raw TCP client (the parts a batch GDB session does not reach:
 * Ctrl-C, hardware breakpoints, access watchpoints, target XML, E14, detach, kill). Addresses
 * are minikernel's (guests/bin/minikernel/minikernel.elf): main 0x80200060, the store to
 * boot_free_pages (0x8020a000) at 0x80200146.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { framePacket } from '../../host/debug/rsp';
import { MINIKERNEL, requireBuild, startWasmvisor, TcpClient } from './session';

beforeAll(requireBuild);

/** Send one packet and wait for its reply's data. */
async function ask(c: TcpClient, data: string): Promise<string> {
  const from = c.text.length;
  c.send(framePacket(data));
  return (await c.until(/\$([^#]*)#[0-9a-f]{2}/, from))[1];
}

/** pc from a 'p20' reply (little-endian hex). */
const pcOf = (hex: string) => BigInt('0x' + (hex.match(/../g) ?? []).reverse().join(''));

describe('GDB stub packets (raw client)', () => {
  it('target XML, breakpoints, watchpoints, E14 and detach', async () => {
    const w = startWasmvisor([MINIKERNEL, '-S', '--gdb', 'tcp::0']);
    const c = await TcpClient.open(await w.port('gdb stub'));
    expect(await ask(c, 'qSupported:xmlRegisters=riscv')).toBe('PacketSize=4000;qXfer:features:read+;vContSupported+;QStartNoAckMode+');
    expect(await ask(c, '?')).toBe('T05thread:01;');
    const target = await ask(c, 'qXfer:features:read:target.xml:0,ffff');
    expect(target.startsWith('l<?xml')).toBe(true);
    expect(target).toContain('<xi:include href="riscv-64bit-csr.xml"/>');
    const csr = await ask(c, 'qXfer:features:read:riscv-64bit-csr.xml:0,ffff');
    expect(csr).toContain('<reg name="satp" bitsize="64" type="int" regnum="449" group="csr"/>'); // 65 + 0x180
    expect(await ask(c, 'p20')).toBe('0000208000000000'); // pc = the kernel's entry
    expect(await ask(c, 'm10,8')).toBe('E14'); // no RAM at guest-physical 0x10
    expect(await ask(c, 'm80200000,100000')).toBe('E22'); // more than a packet holds
    expect(await ask(c, 'mzz,4')).toBe('E22'); // not hex
    // A hardware breakpoint on main.
    expect(await ask(c, 'Z1,80200060,2')).toBe('OK');
    expect(await ask(c, 'c')).toBe('T05thread:01;');
    expect(pcOf(await ask(c, 'p20'))).toBe(0x80200060n);
    expect(await ask(c, 'z1,80200060,2')).toBe('OK');
    // An access watchpoint on boot_free_pages: its store, then (at the end) its load.
    expect(await ask(c, 'Z4,8020a000,8')).toBe('OK');
    expect(await ask(c, 'c')).toBe('T05awatch:8020a000;thread:01;');
    expect(pcOf(await ask(c, 'p20'))).toBe(0x80200146n); // stopped before the sd
    expect(await ask(c, 'c')).toBe('T05awatch:8020a000;thread:01;');
    const readPc = pcOf(await ask(c, 'p20'));
    expect(readPc).not.toBe(0x80200146n);
    expect(w.stdout()).toContain('minikernel: all foreground tasks have ended'); // the leak check reads it
    expect(await ask(c, 'z4,8020a000,8')).toBe('OK');
    // Detach: the breakpoints are gone and the guest runs to its end.
    expect(await ask(c, 'D')).toBe('OK');
    expect(await w.exit).toBe(0);
    expect(w.stdout()).toContain('minikernel: free pages 1021 at start, 1021 at end: no leak');
    c.close();
  }, 120_000);

  it('physical mode, register writes, single-step, Ctrl-C and kill', async () => {
    const w = startWasmvisor([MINIKERNEL, '-S', '--gdb', 'tcp::0']);
    const c = await TcpClient.open(await w.port('gdb stub'));
    expect(await ask(c, 'QStartNoAckMode')).toBe('OK');
    expect(await ask(c, 'qqemu.PhyMemMode')).toBe('0');
    expect(await ask(c, 'Qqemu.PhyMemMode:1')).toBe('OK');
    expect(await ask(c, 'm80200000,4')).toBe('73104010'); // csrw sie, zero
    expect(await ask(c, 'Qqemu.PhyMemMode:0')).toBe('OK');
    expect(await ask(c, 'Pa=efbeadde00000000')).toBe('OK'); // a0 (x10)
    expect(await ask(c, 'pa')).toBe('efbeadde00000000');
    expect(await ask(c, 's')).toBe('T05thread:01;');
    expect(pcOf(await ask(c, 'p20'))).toBe(0x80200004n);
    expect(await ask(c, 'vCont;s:1')).toBe('T05thread:01;');
    expect(pcOf(await ask(c, 'p20'))).toBe(0x80200008n);
    expect(await ask(c, 'p1041')).toBe('0100000000000000'); // priv = S
    // Ctrl-C while it runs (the kernel runs for seconds): stopped with SIGINT.
    const from = c.text.length;
    c.send(framePacket('c'));
    await new Promise((r) => setTimeout(r, 200));
    c.send('\x03');
    expect((await c.until(/\$([^#]*)#/, from))[1]).toBe('T02thread:01;');
    expect(pcOf(await ask(c, 'p20'))).not.toBe(0x80200008n); // it ran
    c.send(framePacket('k'));
    expect(await w.exit).toBe(0);
    expect(w.stdout()).not.toContain('minikernel: shutdown');
  }, 60_000);
});
