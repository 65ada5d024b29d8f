/**
 * The C DomU (guests/xen/domu.c) under the hypervisor. The guest checks its own results (the
 * values Xen's headers, its device tree and its own writes determine) and crashes with a FAIL
 * line otherwise; the test asserts its verdict, every line against values known from outside
 * the guest (the configuration, the device tree dtc decodes below, Xen's allocation rules),
 * that it powered itself off, and what Dom0 sees (XenStore, memory). Also the /hypervisor node
 * of its device tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { XenHypervisor } from '../../host/xen/hypervisor';
import { oracle } from '../oracles';

const ROOT = join(__dirname, '../..');
const IMAGE = join(ROOT, 'guests/bin/xen/domu.elf');

/** The /hypervisor node of a 16 MiB DomU (asserted through dtc in the last test). */
const DT = { sharedInfo: 0x80fff, grantFrames: [0x80ffb, 0x80ffc, 0x80ffd, 0x80ffe], xenstore: 0x80ffa, xenstorePort: 1, console: 0x80ff9, consolePort: 2 };

/** The console lines domid 1 must print, each value from outside the guest; the upcall count is the guest's own. */
function expectLines(text: string, domid: number): void {
  const lines = text.split('\r\n'); // console_io: the hypervisor's console ends lines in CR LF
  expect(lines.pop()).toBe('');
  expect(lines.filter((l) => l.includes('FAIL'))).toEqual([]);
  const p = `(d${domid}) `;
  expect(lines.slice(0, -1)).toEqual([
    // docs/xen/hypercalls.md: XENVER_version 0x40013, features XENFEAT_auto_translated_physmap | hvm_callback_vector
    `${p}domu: Xen 4.19.0-wasmvisor, features 0x104, domid ${domid}`,
    `${p}domu: shared info gfn 0x${DT.sharedInfo.toString(16)}, xenstore gfn 0x${DT.xenstore.toString(16)} port ${DT.xenstorePort}, console gfn 0x${DT.console.toString(16)} port ${DT.consolePort}`,
    // a new table has 1 frame (Xen's default), up to the 4 the device tree lists; setup_table maps 2 at the first
    `${p}grant: table 1 of ${DT.grantFrames.length} frames, now 2 at gfn 0x${DT.grantFrames[0].toString(16)}`,
    `${p}grant: copy through ref 8 ok, write to read-only grant refused (-1)`, // GNTST_general_error
    // Xen allocates the lowest free port: 1 and 2 are XenStore's and the console's
    `${p}evtchn: loopback 3 <-> 4, event received on 3`,
    `${p}timer: VIRQ_TIMER on port 5 after set_timer_op(+2 ms)`,
    `${p}xenstore: name = domu`, // the name this test gave it
    `${p}xenstore: console/port = ${DT.consolePort} (DT says ${DT.consolePort})`,
    `${p}xenstore: data/greeting = hello from DomU`,
    `${p}xenstore: write to name refused: EACCES`,
    `${p}xenstore: watch event 2 for data/greeting`, // the initial event and the write's
    `${p}balloon: ${(16 << 20) / 4096} pages, 4 out -> ${(16 << 20) / 4096 - 4}, 4 back -> ${(16 << 20) / 4096}, back zeroed`,
  ]);
  expect(lines[lines.length - 1]).toMatch(new RegExp(`^\\(d${domid}\\) domu: all tests passed \\(\\d+ upcalls\\); powering off$`));
}

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
  it('passes its own checks, prints the lines known from outside it and powers off (deterministic time)', async () => {
    const { hv, d, r, text } = await boot(true);
    expectLines(text, d.domid);
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(r.failure).toBeUndefined();
    expect(d.shutdownReason).toBe('poweroff');
    expect(hv.xs.read('/local/domain/1/data/greeting')).toBe('changed');
    expect(d.vm.balloonedPages).toBe(0);
    expect(hv.xenstore.stats.internalErrors).toBe(0);
  });

  it('passes with real time too (the timer is a host timer then)', async () => {
    const { d, r, text } = await boot(false);
    expectLines(text, d.domid);
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
