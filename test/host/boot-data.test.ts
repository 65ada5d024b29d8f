/**
 * Boot options (issue 12, part 2): --append, --initrd and --dtb as QEMU's virt hands them to a
 * kernel. The tree is decoded with dtc; the placement is compared with QEMU 7.2's dumpdtb.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkDtb, chosenExtra, initrdAddress, placeInitrd, userDtb, type BootOptions } from '../../host/machine/boot-data';
import { Fdt } from '../../host/machine/fdt';
import { virtBoardFdt } from '../../host/machine/fdt';
import { parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { Vm } from '../../host/vmm/vm';
import * as E from '../diff/encode';

const ISA = 'rv64imac_zicsr_zifencei_zicntr';
const MiB = 1 << 20;
const HAVE_DTC = spawnSync('dtc', ['--version'], { stdio: 'ignore' }).status === 0;
const HAVE_QEMU = spawnSync('qemu-system-riscv64', ['--version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-boot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The property lines of /chosen in dtc's decompiled text, sorted. */
function chosenOf(dtb: Uint8Array, file: string): string[] {
  const path = join(dir, file);
  writeFileSync(path, dtb);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const lines = r.stdout.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'chosen {');
  expect(start).toBeGreaterThanOrEqual(0);
  const out: string[] = [];
  for (let i = start + 1; lines[i].trim() !== '};'; i++) out.push(lines[i].trim());
  return out.sort();
}

const kernelAt = (entry: bigint) => ({ name: 'k', entry, segments: [{ paddr: entry, data: new Uint8Array(4096), memSize: 4096 }] }) as never;
const initrdBytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff);

describe('placement and /chosen', () => {
  test('the initrd goes at entry + min(RAM/2, 128 MiB), as QEMU 7.2', () => {
    expect(initrdAddress(0x80200000n, 128 * MiB)).toBe(0x84200000n);
    expect(initrdAddress(0x80200000n, 512 * MiB)).toBe(0x88200000n);
    expect(initrdAddress(0x80000000n, 16 * MiB)).toBe(0x80800000n);
  });

  test.skipIf(!HAVE_DTC)('bootargs and linux,initrd-start/end are in /chosen, one cell each', () => {
    const boot: BootOptions = { append: 'console=hvc0 root=/dev/ram', initrd: { name: 'i', data: initrdBytes } };
    const initrd = placeInitrd(boot, kernelAt(0x80200000n), 0x80000000n, 128 * MiB);
    expect(initrd).toMatchObject({ start: 0x84200000n, end: 0x842003e8n });
    const dtb = virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA, extra: chosenExtra(boot, initrd) });
    expect(chosenOf(dtb, 'a.dtb')).toEqual([
      'bootargs = "console=hvc0 root=/dev/ram";',
      'linux,initrd-end = <0x842003e8>;',
      'linux,initrd-start = <0x84200000>;',
      'stdout-path = "/soc/serial@10000000";',
    ]);
  });

  test.skipIf(!HAVE_DTC || !HAVE_QEMU)('/chosen matches QEMU virt dumpdtb for the same kernel, RAM, append and initrd', () => {
    const initrdPath = join(dir, 'initrd.bin');
    writeFileSync(initrdPath, initrdBytes);
    // A raw kernel: QEMU loads it at 0x80200000 behind its default OpenSBI.
    const kernelPath = join(dir, 'k.bin');
    writeFileSync(kernelPath, new Uint8Array(4096));
    const qdtb = join(dir, 'q.dtb');
    const r = spawnSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${qdtb}`, '-m', '256M', '-nographic', '-append', 'a b=c', '-initrd', initrdPath, '-kernel', kernelPath], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const q = chosenOf(readFileSync(qdtb), 'q2.dtb').filter((l) => !l.startsWith('rng-seed'));
    const boot: BootOptions = { append: 'a b=c', initrd: { name: 'i', data: initrdBytes } };
    const initrd = placeInitrd(boot, kernelAt(0x80200000n), 0x80000000n, 256 * MiB);
    expect(chosenOf(virtBoardFdt({ memSize: 256 * MiB, hartIsa: ISA, extra: chosenExtra(boot, initrd) }), 'o.dtb')).toEqual(q);
  }, 60_000);
});

describe('bad input', () => {
  const good = virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA });
  test('a DTB: bad magic, truncated, too short, too old', () => {
    expect(() => checkDtb({ name: 'z.dtb', data: new Uint8Array(100) })).toThrow(/^z\.dtb: not a device tree blob \(magic 0x00000000, expected 0xd00dfeed\)$/);
    expect(() => checkDtb({ name: 't.dtb', data: good.subarray(0, 200) })).toThrow(new RegExp(`^t\\.dtb: truncated device tree blob \\(totalsize ${good.length} bytes, file has 200\\)$`));
    expect(() => checkDtb({ name: 's.dtb', data: good.subarray(0, 39) })).toThrow(/^s\.dtb: not a device tree blob \(39 bytes, shorter than the 40-byte FDT header\)$/);
    const old = Uint8Array.from(good);
    new DataView(old.buffer).setUint32(20, 15);
    expect(() => checkDtb({ name: 'o.dtb', data: old })).toThrow(/^o\.dtb: device tree blob version 15 is too old \(need 16 or later\)$/);
    // A good blob with trailing bytes is accepted and cut to totalsize.
    const padded = new Uint8Array(good.length + 64);
    padded.set(good);
    expect(checkDtb({ name: 'g.dtb', data: padded })).toEqual(good);
  });

  test('an initrd that does not fit, or falls on the kernel', () => {
    expect(() => placeInitrd({ initrd: { name: 'big', data: new Uint8Array(8 * MiB) } }, kernelAt(0x80200000n), 0x80000000n, 16 * MiB))
      .toThrow(/^big: initrd of 8388608 bytes at 0x80a00000 does not fit in RAM 0x80000000-0x80ffffff; give the guest more memory \(--mem\)$/);
    const wide = { name: 'wide', entry: 0x80000000n, segments: [{ paddr: 0x80000000n, data: new Uint8Array(0), memSize: 12 * MiB }] } as never;
    expect(() => placeInitrd({ initrd: { name: 'r', data: new Uint8Array(16) } }, wide, 0x80000000n, 16 * MiB))
      .toThrow(/^r: initrd at 0x80800000-0x8080000f overlaps wide's segment at 0x80000000 \(size 0xc00000\)$/);
  });

});

/** dtc's text of a DTB with its lines sorted (property order inside a node aside). */
function sortedDts(dtb: Uint8Array, file: string): string[] {
  const path = join(dir, file);
  writeFileSync(path, dtb);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').sort();
}

describe.skipIf(!HAVE_DTC)('--dtb with --append and --initrd: /chosen is set in the user tree, as QEMU does', () => {
  const boot: BootOptions = { append: 'console=hvc0', initrd: { name: 'i', data: initrdBytes } };
  const initrd = placeInitrd(boot, kernelAt(0x80200000n), 0x80000000n, 128 * MiB);
  test('the patched tree equals the generated tree with the same options', () => {
    const plain = virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA });
    const patched = userDtb({ name: 'u.dtb', data: plain }, boot, initrd);
    expect(sortedDts(patched, 'p.dtb')).toEqual(sortedDts(virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA, extra: chosenExtra(boot, initrd) }), 'g.dtb'));
  });
  test('an old bootargs is replaced; a tree without /chosen gets one', () => {
    const old = virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA, bootargs: 'old words' });
    expect(chosenOf(userDtb({ name: 'u.dtb', data: old }, { append: 'new' }, undefined), 'r.dtb')).toEqual(['bootargs = "new";', 'stdout-path = "/soc/serial@10000000";']);
    const bare = new Fdt();
    bare.root.u32('#address-cells', 2).u32('#size-cells', 2).str('model', 'm');
    bare.node('/cpus').u32('#address-cells', 1);
    const patched = userDtb({ name: 'n.dtb', data: bare.build() }, boot, initrd);
    expect(chosenOf(patched, 'n.dtb')).toEqual(['bootargs = "console=hvc0";', 'linux,initrd-end = <0x842003e8>;', 'linux,initrd-start = <0x84200000>;']);
    expect(sortedDts(patched, 'n2.dtb')).toContain('\tmodel = "m";');
  });
  test('a user DTB whose structure block is broken gets one line', () => {
    const plain = virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA });
    const v = new DataView(plain.buffer, plain.byteOffset);
    const bad = Uint8Array.from(plain);
    new DataView(bad.buffer).setUint32(v.getUint32(8), 7); // the root's FDT_BEGIN_NODE becomes token 7
    expect(() => userDtb({ name: 'b.dtb', data: bad }, { append: 'x' }, undefined)).toThrow(new RegExp(`^b\\.dtb: bad device tree blob \\(unknown token 0x7 at offset ${v.getUint32(8)}\\)$`));
    const short = Uint8Array.from(plain);
    new DataView(short.buffer).setUint32(36, 64); // size_dt_struct cut to 64 bytes
    expect(() => userDtb({ name: 's.dtb', data: short }, { append: 'x' }, undefined)).toThrow(/^s\.dtb: bad device tree blob \(a property runs past the structure block\)$/);
  });
  test('without --append and --initrd the user DTB is untouched', () => {
    const plain = virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA });
    expect(userDtb({ name: 'u.dtb', data: plain }, {}, undefined)).toEqual(plain);
  });
});

/**
 * A guest that stores its a0 and a1 at its own address + 0x100/0x108, then writes 0x5555 to
 * the test finisher (exit 0): what the kernel is handed, read back from RAM after it halts.
 */
function reporter(): Uint8Array {
  const words = [
    E.auipc(5, 0), // t0 = entry
    E.store('sd', 10, 5, 0x100),
    E.store('sd', 11, 5, 0x108),
    E.lui(6, 0x100), // t1 = 0x100000 (test finisher)
    E.lui(7, 0x5),
    E.aluI('addi', 7, 7, 0x555),
    E.store('sw', 7, 6, 0),
    E.jal(0, 0),
  ];
  const out = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(out.buffer).setUint32(i * 4, w >>> 0, true));
  return out;
}

interface Booted {
  read(addr: bigint, len: number): Uint8Array;
  initrd: { start: bigint } | undefined;
  dtbAddress: bigint;
}

async function boot(mode: 'bare' | 'vm', opts: BootOptions): Promise<{ g: Booted; entry: bigint; exit: number | undefined }> {
  const entry = mode === 'bare' ? 0x80000000n : 0x80200000n;
  const kernel = parseImage(reporter(), 'reporter.bin', entry);
  if (mode === 'bare') {
    const m = await Machine.create({ memSize: 64 * MiB, kernel, boot: opts, deterministic: true });
    const r = await m.run({ maxInstructions: 10_000n });
    return { g: { read: (a, n) => m.memory.read(a, n), initrd: m.initrd, dtbAddress: m.dtbAddress }, entry, exit: r.exitCode };
  }
  const vm = await Vm.create({ memSize: 64 * MiB, kernel, boot: opts, deterministic: true });
  const r = await vm.run({ maxInstructions: 10_000n });
  return { g: { read: (a, n) => vm.readGuest(a, n)!, initrd: vm.initrd, dtbAddress: vm.dtbAddress }, entry, exit: r.exitCode };
}

describe.each(['bare', 'vm'] as const)('a guest booted with --append and --initrd (%s)', (mode) => {
  test.skipIf(!HAVE_DTC)('finds the initrd bytes at linux,initrd-start and the bootargs in the DTB at a1', async () => {
    const { g, entry, exit } = await boot(mode, { append: 'console=hvc0 quiet', initrd: { name: 'i', data: initrdBytes } });
    expect(exit).toBe(0);
    const dv = new DataView(g.read(entry + 0x100n, 16).slice().buffer);
    expect(dv.getBigUint64(0, true)).toBe(0n); // a0: hart 0
    const a1 = dv.getBigUint64(8, true);
    expect(a1).toBe(g.dtbAddress);
    const start = entry + 32n * BigInt(MiB);
    expect(g.initrd?.start).toBe(start);
    expect(g.read(start, initrdBytes.length)).toEqual(initrdBytes);
    const size = new DataView(g.read(a1, 8).slice().buffer).getUint32(4);
    const chosen = chosenOf(g.read(a1, size).slice(), `${mode}.dtb`);
    expect(chosen).toContain('bootargs = "console=hvc0 quiet";');
    expect(chosen).toContain(`linux,initrd-start = <0x${start.toString(16)}>;`);
    expect(chosen).toContain(`linux,initrd-end = <0x${(start + 1000n).toString(16)}>;`);
  }, 60_000);

  test('a user DTB is handed over byte for byte', async () => {
    const user = virtBoardFdt({ memSize: 64 * MiB, hartIsa: ISA, bootargs: 'from the user' });
    const { g, entry, exit } = await boot(mode, { dtb: { name: 'u.dtb', data: user } });
    expect(exit).toBe(0);
    const a1 = new DataView(g.read(entry + 0x108n, 8).slice().buffer).getBigUint64(0, true);
    expect(g.read(a1, user.length)).toEqual(user);
  }, 60_000);

  test.skipIf(!HAVE_DTC)('a user DTB with --append and --initrd carries them at a1', async () => {
    const user = virtBoardFdt({ memSize: 64 * MiB, hartIsa: ISA, bootargs: 'from the user' });
    const { g, entry, exit } = await boot(mode, { dtb: { name: 'u.dtb', data: user }, append: 'patched in', initrd: { name: 'i', data: initrdBytes } });
    expect(exit).toBe(0);
    const a1 = new DataView(g.read(entry + 0x108n, 8).slice().buffer).getBigUint64(0, true);
    const size = new DataView(g.read(a1, 8).slice().buffer).getUint32(4);
    const start = entry + 32n * BigInt(MiB);
    expect(chosenOf(g.read(a1, size).slice(), `u-${mode}.dtb`)).toEqual([
      'bootargs = "patched in";',
      `linux,initrd-end = <0x${(start + 1000n).toString(16)}>;`,
      `linux,initrd-start = <0x${start.toString(16)}>;`,
      'stdout-path = "/soc/serial@10000000";',
    ]);
    expect(g.read(start, initrdBytes.length)).toEqual(initrdBytes);
  }, 60_000);
});
