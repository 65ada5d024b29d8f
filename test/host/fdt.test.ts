import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Fdt, fdtLoadAddress, virtBoardFdt } from '../../host/machine/fdt';
import { oracle } from '../oracles';

const ISA = 'rv64imac_zicsr_zifencei_zicntr';
const MiB = 1 << 20;

const HAVE_DTC = oracle('dtc', 'test/host/fdt.test.ts');
const HAVE_QEMU = oracle('qemu', 'test/host/fdt.test.ts');

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-fdt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Decompile a DTB with dtc; returns the dts text and dtc's diagnostics. */
function decompile(dtb: Uint8Array, file = 'board.dtb'): { dts: string; stderr: string } {
  const path = join(dir, file);
  writeFileSync(path, dtb);
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return { dts: r.stdout, stderr: r.stderr };
}

/** The dts text of one node (its own lines, without children), found by its name line. */
function nodeBody(dts: string, name: string): string[] {
  const lines = dts.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${name} {`);
  expect(start, `node ${name}`).toBeGreaterThanOrEqual(0);
  const depth = lines[start].match(/^\t*/)![0].length;
  const body: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const d = lines[i].match(/^\t*/)![0].length;
    if (lines[i].trim() === '};' && d === depth) break;
    const l = lines[i].trim();
    if (d === depth + 1 && l !== '' && l !== '};' && !l.endsWith('{')) body.push(l);
  }
  return body;
}

/** path -> { property -> value text } of a decompiled tree. */
function parseDts(dts: string): Map<string, Map<string, string>> {
  const nodes = new Map<string, Map<string, string>>();
  const stack: string[] = [];
  for (const raw of dts.split('\n')) {
    const l = raw.trim();
    const open = l.match(/^(\S+) \{$/);
    if (open) {
      stack.push(open[1] === '/' ? '' : open[1]);
      nodes.set(stack.join('/') || '/', new Map());
    } else if (l === '};') {
      stack.pop();
    } else if (l.endsWith(';') && stack.length > 0 && !l.startsWith('/dts-v1/')) {
      const m = l.match(/^([^=\s]+)(?: = (.*))?;$/)!;
      nodes.get(stack.join('/') || '/')!.set(m[1], m[2] ?? '');
    }
  }
  return nodes;
}

describe('Fdt builder', () => {
  test('header, reservation block, string dedup and token layout', () => {
    const fdt = new Fdt();
    fdt.root.u32('#address-cells', 2);
    fdt.node('/a@1').str('compatible', 'x').u32('#address-cells', 1);
    fdt.reserve(0x8000_0000n, 0x1000n);
    const b = fdt.build();
    const dv = new DataView(b.buffer);
    const h = [...Array(10).keys()].map((i) => dv.getUint32(i * 4));
    const [magic, total, offStruct, offStrings, offRsv, version, lastComp, boot, sizeStrings, sizeStruct] = h;
    expect(magic).toBe(0xd00dfeed);
    expect(total).toBe(b.length);
    expect([offRsv, version, lastComp, boot]).toEqual([0x28, 17, 16, 0]);
    expect(dv.getBigUint64(offRsv)).toBe(0x8000_0000n);
    expect(dv.getBigUint64(offRsv + 8)).toBe(0x1000n);
    expect(dv.getBigUint64(offRsv + 16)).toBe(0n); // terminator
    expect(offStruct).toBe(offRsv + 32);
    expect(offStrings).toBe(offStruct + sizeStruct);
    // "#address-cells" is stored once although two nodes use it.
    expect(new TextDecoder().decode(b.subarray(offStrings, offStrings + sizeStrings))).toBe(
      '#address-cells\0compatible\0',
    );
    // Root: BEGIN_NODE "" (4 bytes of name padding) then PROP len 4, nameoff 0, value 2.
    expect([0, 4, 8, 12, 16, 20].map((o) => dv.getUint32(offStruct + o))).toEqual([1, 0, 3, 4, 0, 2]);
    expect(dv.getUint32(offStruct + sizeStruct - 4)).toBe(9); // FDT_END
    expect(sizeStruct % 4).toBe(0);
  });

  test('phandles are allocated once, from 1, with a phandle property', () => {
    const fdt = new Fdt();
    const a = fdt.node('/a');
    const b = fdt.node('/b');
    expect(fdt.phandle(a)).toBe(1);
    expect(fdt.phandle(b)).toBe(2);
    expect(fdt.phandle(a)).toBe(1);
    expect([...a.props.get('phandle')!]).toEqual([0, 0, 0, 1]);
  });

  test.skipIf(!HAVE_DTC)('property kinds decompile as dtc writes them', () => {
    const fdt = new Fdt();
    fdt
      .node('/n')
      .u32('cells', 1, 0xffffffff)
      .u64('wide', 0x1_2345_6789n)
      .str('s', 'hello')
      .strs('list', 'a', 'bc')
      .bytes('raw', new Uint8Array([1, 2, 3]))
      .flag('empty');
    const { dts, stderr } = decompile(fdt.build(), 'kinds.dtb');
    expect(stderr).toBe('');
    expect(nodeBody(dts, 'n')).toEqual([
      'cells = <0x01 0xffffffff>;',
      'wide = <0x01 0x23456789>;',
      's = "hello";',
      'list = "a\\0bc";',
      'raw = [01 02 03];',
      'empty;',
    ]);
  });
});

describe.skipIf(!HAVE_DTC)('virtBoardFdt', () => {
  const { dts, stderr } = HAVE_DTC
    ? decompile(virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA, bootargs: 'console=ttyS0 earlycon' }))
    : { dts: '', stderr: '' };

  test('dtc decompiles it without errors or warnings', () => {
    expect(stderr).toBe('');
  });

  test('root, cpus and memory', () => {
    expect(nodeBody(dts, '/')).toEqual([
      '#address-cells = <0x02>;',
      '#size-cells = <0x02>;',
      'compatible = "riscv-virtio";',
      'model = "riscv-virtio,qemu";',
    ]);
    expect(nodeBody(dts, 'cpus')).toContain('timebase-frequency = <0x989680>;');
    expect(nodeBody(dts, 'cpu@0')).toEqual([
      'phandle = <0x01>;',
      'device_type = "cpu";',
      'reg = <0x00>;',
      'status = "okay";',
      'compatible = "riscv";',
      `riscv,isa = "${ISA}";`,
      'mmu-type = "riscv,sv48";',
    ]);
    expect(nodeBody(dts, 'interrupt-controller')).toEqual([
      '#address-cells = <0x00>;',
      '#interrupt-cells = <0x01>;',
      'interrupt-controller;',
      'compatible = "riscv,cpu-intc";',
      'phandle = <0x02>;',
    ]);
    expect(nodeBody(dts, 'core0')).toEqual(['cpu = <0x01>;']);
    expect(nodeBody(dts, 'memory@80000000')).toEqual([
      'device_type = "memory";',
      'reg = <0x00 0x80000000 0x00 0x8000000>;',
    ]);
  });

  test('clint, plic, serial, test', () => {
    expect(nodeBody(dts, 'clint@2000000')).toEqual([
      'compatible = "sifive,clint0\\0riscv,clint0";',
      'reg = <0x00 0x2000000 0x00 0x10000>;',
      'interrupts-extended = <0x02 0x03 0x02 0x07>;',
    ]);
    expect(nodeBody(dts, 'plic@c000000')).toEqual([
      'phandle = <0x03>;',
      '#interrupt-cells = <0x01>;',
      '#address-cells = <0x00>;',
      'compatible = "sifive,plic-1.0.0\\0riscv,plic0";',
      'interrupt-controller;',
      'interrupts-extended = <0x02 0x0b 0x02 0x09>;',
      'reg = <0x00 0xc000000 0x00 0x600000>;',
      'riscv,ndev = <0x5f>;',
    ]);
    expect(nodeBody(dts, 'serial@10000000')).toEqual([
      'compatible = "ns16550a";',
      'reg = <0x00 0x10000000 0x00 0x100>;',
      'clock-frequency = "\\08@";', // 0x00384000 = 3686400, which dtc shows as a string
      'interrupt-parent = <0x03>;',
      'interrupts = <0x0a>;',
    ]);
    expect(nodeBody(dts, 'test@100000')).toEqual([
      'phandle = <0x04>;',
      'compatible = "sifive,test1\\0sifive,test0\\0syscon";',
      'reg = <0x00 0x100000 0x00 0x1000>;',
    ]);
    expect(nodeBody(dts, 'poweroff')).toEqual([
      'compatible = "syscon-poweroff";',
      'regmap = <0x04>;',
      'offset = <0x00>;',
      'value = <0x5555>;',
    ]);
    expect(nodeBody(dts, 'reboot')).toContain('value = <0x7777>;');
  });

  test('eight virtio-mmio slots, IRQ 1..8', () => {
    for (let i = 0; i < 8; i++) {
      const base = (0x10001000 + i * 0x1000).toString(16);
      expect(nodeBody(dts, `virtio_mmio@${base}`)).toEqual([
        'compatible = "virtio,mmio";',
        `reg = <0x00 0x${base} 0x00 0x1000>;`,
        'interrupt-parent = <0x03>;',
        `interrupts = <0x0${i + 1}>;`,
      ]);
    }
    expect(dts.match(/virtio_mmio@/g)!.length).toBe(8);
  });

  test('chosen: stdout-path and bootargs; no bootargs when not given', () => {
    expect(nodeBody(dts, 'chosen')).toEqual([
      'stdout-path = "/soc/serial@10000000";',
      'bootargs = "console=ttyS0 earlycon";',
    ]);
    const bare = decompile(virtBoardFdt({ memSize: 256 * MiB, hartIsa: ISA }), 'bare.dtb').dts;
    expect(nodeBody(bare, 'chosen')).toEqual(['stdout-path = "/soc/serial@10000000";']);
    expect(nodeBody(bare, 'memory@80000000')).toContain('reg = <0x00 0x80000000 0x00 0x10000000>;');
  });

  test.skipIf(!HAVE_QEMU)('every node and property matches QEMU 7.2 -M virt, except the known differences', () => {
    const qdtb = join(dir, 'qemu.dtb');
    const q = spawnSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${qdtb}`, '-m', '128M', '-display', 'none'], {
      encoding: 'utf8',
    });
    expect(q.status).toBe(0);
    const qemu = parseDts(decompile(readFileSync(qdtb), 'qemu-copy.dtb').dts);
    const ours = parseDts(dts);
    // Differences on purpose: our ISA string and riscv,ndev (95 = sources 1..95; QEMU 7.2
    // says 96), #address-cells on the cpu intc (silences a dtc warning), bootargs given here.
    const allowed = new Set([
      '/cpus/cpu@0 riscv,isa',
      '/soc/plic@c000000 riscv,ndev',
      '/cpus/cpu@0/interrupt-controller #address-cells',
      '/chosen bootargs',
    ]);
    for (const [path, props] of ours) {
      expect(qemu.has(path), `QEMU has ${path}`).toBe(true);
      for (const [name, value] of props) {
        if (allowed.has(`${path} ${name}`)) continue;
        expect(`${path} ${name} = ${value}`).toBe(`${path} ${name} = ${qemu.get(path)!.get(name)}`);
      }
      for (const name of qemu.get(path)!.keys()) {
        if (path === '/chosen' && name === 'rng-seed') continue; // random per run in QEMU
        expect(props.has(name), `${path} ${name}`).toBe(true);
      }
    }
    // What QEMU has and we leave out: devices this board does not have.
    const missing = [...qemu.keys()].filter((p) => !ours.has(p));
    expect(missing.sort()).toEqual(
      [
        '/fw-cfg@10100000',
        '/flash@20000000',
        '/platform-bus@4000000',
        '/pmu',
        '/soc/pci@30000000',
        '/soc/rtc@101000',
      ].sort(),
    );
  });
});

describe('fdtLoadAddress', () => {
  test('2 MiB-aligned below the end of RAM, as QEMU puts it', () => {
    expect(fdtLoadAddress(0x8000_0000n, 128 * MiB, 0x1000)).toBe(0x87e0_0000n);
    expect(fdtLoadAddress(0x8000_0000n, 128 * MiB, 2 * MiB + 1)).toBe(0x87c0_0000n);
  });
  test('capped at 3 GiB for large RAM', () => {
    expect(fdtLoadAddress(0x8000_0000n, 2048 * MiB, 0x1000)).toBe(0xbfe0_0000n);
  });
});

describe.skipIf(!HAVE_DTC)('the tree of a virtual machine guest (virtualMachine: true)', () => {
  test('has no CLINT, and the PLIC is wired to the S-mode external interrupt only', () => {
    const { dts, stderr } = decompile(virtBoardFdt({ memSize: 128 * MiB, hartIsa: ISA, virtualMachine: true }), 'vm.dtb');
    expect(stderr).toBe('');
    expect(dts).not.toContain('clint@');
    expect(nodeBody(dts, 'plic@c000000')).toContain('interrupts-extended = <0x02 0x09>;');
    expect(dts).toContain('serial@10000000');
  });
});
