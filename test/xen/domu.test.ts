/**
 * The C DomU (guests/xen/domu.c) under the hypervisor: its console output must be exactly
 * guests/expected/xen/domu.txt, it must power itself off, and what it did must be visible from
 * Dom0 (XenStore, event channels, memory). Also the /hypervisor node of its device tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { XenHypervisor } from '../../host/xen/hypervisor';
import { oracle } from '../oracles';

const ROOT = join(__dirname, '../..');
const IMAGE = join(ROOT, 'guests/bin/xen/domu.elf');
const EXPECTED = join(ROOT, 'guests/expected/xen/domu.txt');

async function boot(deterministic: boolean) {
  const hv = new XenHypervisor();
  const out: number[] = [];
  const d = await hv.createDomain({
    name: 'domu', memSize: 16 << 20, kernel: loadImageFile(IMAGE, 0x80200000n), deterministic,
    onConsoleOutput: (b) => out.push(...b),
  });
  const r = await hv.run(d.domid, { timeoutMs: 10_000 });
  return { hv, d, r, text: Buffer.from(out).toString('latin1') };
}

describe('guests/xen/domu.elf', () => {
  it('prints exactly the expected text and powers off (deterministic time)', async () => {
    const { hv, d, r, text } = await boot(true);
    expect(text).toBe(readFileSync(EXPECTED, 'latin1'));
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(r.failure).toBeUndefined();
    expect(d.shutdownReason).toBe('poweroff');
    expect(hv.xs.read('/local/domain/1/data/greeting')).toBe('changed');
    expect(d.vm.balloonedPages).toBe(0);
    expect(hv.xenstore.stats.internalErrors).toBe(0);
  });

  it('passes with real time too (the timer is a host timer then)', async () => {
    const { r, text } = await boot(false);
    expect(text).toBe(readFileSync(EXPECTED, 'latin1'));
    expect(r.exitCode).toBe(0);
  });

  const dtc = oracle('dtc', 'test/xen/domu.test.ts');
  it.skipIf(!dtc)('the device tree has /hypervisor and the reserved range (dtc -I dtb)', async () => {
    const hv = new XenHypervisor();
    const d = await hv.createDomain({ name: 'dt', memSize: 16 << 20, kernel: loadImageFile(IMAGE, 0x80200000n), deterministic: true });
    const head = d.vm.readGuest(d.vm.dtbAddress, 8)!;
    const size = new DataView(head.buffer).getUint32(4);
    const dir = mkdtempSync(join(tmpdir(), 'xen-dt-'));
    try {
      writeFileSync(join(dir, 'd.dtb'), d.vm.readGuest(d.vm.dtbAddress, size)!);
      const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', join(dir, 'd.dtb')], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      const hvNode = r.stdout.slice(r.stdout.indexOf('\thypervisor {'));
      expect(hvNode.slice(0, hvNode.indexOf('};') + 2)).toBe([
        '\thypervisor {',
        '\t\tcompatible = "xen,xen-wasmvisor";',
        '\t\twasmvisor,hypercall-eid = <0x958454e>;',
        '\t\txen,domid = <0x01>;',
        '\t\txen,shared-info-gfn = <0x00 0x80fff>;',
        '\t\txen,grant-frames = <0x00 0x80ffb 0x00 0x80ffc 0x00 0x80ffd 0x00 0x80ffe>;',
        '\t\txen,xenstore-gfn = <0x00 0x80ffa>;',
        '\t\txen,xenstore-evtchn = <0x01>;',
        '\t\txen,console-gfn = <0x00 0x80ff9>;',
        '\t\txen,console-evtchn = <0x02>;',
        '\t};',
      ].join('\n'));
      expect(r.stdout).toContain('\treserved-memory {\n\t\t#address-cells = <0x02>;\n\t\t#size-cells = <0x02>;\n\t\tranges;\n\n\t\txen@80ff9000 {\n\t\t\treg = <0x00 0x80ff9000 0x00 0x7000>;\n\t\t\tno-map;\n\t\t};\n\t};');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('xl-style start info is in XenStore', async () => {
    const hv = new XenHypervisor();
    await hv.createDomain({ name: 'info', memSize: 16 << 20, kernel: loadImageFile(IMAGE, 0x80200000n), deterministic: true });
    const home = '/local/domain/1';
    const keys = ['name', 'domid', 'memory/static-max', 'memory/target', 'store/ring-ref', 'store/port', 'console/ring-ref', 'console/port', 'console/type'];
    expect(keys.map((k) => hv.xs.read(`${home}/${k}`))).toEqual(['info', '1', '16384', '16384', String(0x80ffa), '1', String(0x80ff9), '2', 'xenconsoled']);
    expect(hv.xenstore.isIntroduced(1)).toBe(true);
  });
});
