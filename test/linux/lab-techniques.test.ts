/**
 * Linux 6.1 + busybox under the shadow-paging techniques (issue 13): the interactive shell
 * session of shell.test.ts under --virt trap, --virt bt and --virt hw --paging shadow, and
 * `wasmvisor lab` on Linux (the initramfs's /etc/init.d/lab as init: a fixed workload, then
 * poweroff -f), whose console output must be identical under every combination, with the
 * per-technique facts that follow from how each technique works.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../host/cli/main';
import { COMBOS, isLinuxImage, notApplicable } from '../../host/lab/combos';
import { parseLabArgs, runCombo } from '../../host/lab/run';
import type { LabReport } from '../../host/lab/table';
import { loadImageFile } from '../../host/machine/loader';
import { KERNEL_RAW_BASE } from '../../host/vmm/vm';
import { BUILD, CPUINFO_WASMVISOR, EXPECTED, MOUNTS, RELEASE, SCRIPT } from './script';
import { BANNER, haveImages, IMAGE, INITRD, Session } from './session';

const TIMEOUT = 600_000;
/** The lab's kernel command line: quiet (no timestamped boot log), /etc/init.d/lab as init. */
const LAB_APPEND = 'console=ttyS0 quiet rdinit=/etc/init.d/lab';

const sessions: Session[] = [];
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-linux-lab-'));
afterAll(() => {
  sessions.forEach((s) => s.kill());
  rmSync(dir, { recursive: true, force: true });
});

/** A file's bytes out of a gzipped newc cpio archive (the initramfs). */
function cpioFile(archive: Uint8Array, path: string): Uint8Array {
  const a = gunzipSync(archive);
  const hex = (at: number) => parseInt(a.subarray(at, at + 8).toString('latin1'), 16);
  let p = 0;
  for (;;) {
    expect(a.subarray(p, p + 6).toString('latin1')).toBe('070701');
    const size = hex(p + 54), nameSize = hex(p + 94);
    const name = a.subarray(p + 110, p + 110 + nameSize - 1).toString('latin1');
    const data = (p + 110 + nameSize + 3) & ~3;
    if (name === path) return a.subarray(data, data + size);
    if (name === 'TRAILER!!!') throw new Error(`${path} is not in the initramfs`);
    p = (data + size + 3) & ~3;
  }
}

describe.skipIf(!haveImages())('Linux + busybox under trap, bt and hw+shadow: the shell session', () => {
  const techniques: [string, string[]][] = [
    ['trap', ['--virt', 'trap']],
    ['bt', ['--virt', 'bt']],
    ['hw+shadow', ['--virt', 'hw', '--paging', 'shadow']],
  ];
  for (const [name, args] of techniques) {
    it(`${name}: banner, prompt, the script's exact output, poweroff exits 0`, async () => {
      const s = new Session('vm', 'on', args);
      sessions.push(s);
      const bootMs = await s.boot(TIMEOUT / 2);
      console.log(`linux ${name}: prompt after ${(bootMs / 1000).toFixed(1)} s`);
      const t = new Map<string, string[]>();
      for (const cmd of SCRIPT) t.set(cmd, await s.run(cmd, 60_000));
      expect(s.out).toContain(`\n${BANNER}\n`);
      for (const [cmd, lines] of Object.entries(EXPECTED)) expect(t.get(cmd), cmd).toEqual(lines);
      expect(t.get('cat /proc/cpuinfo')).toEqual(CPUINFO_WASMVISOR);
      expect(t.get('mount')).toEqual(MOUNTS);
      expect(await s.poweroff(60_000)).toBe(0);
      expect(s.out).toContain('reboot: Power down');
      expect(s.out).not.toMatch(/Oops|Kernel panic|segfault|Illegal instruction/);
    }, TIMEOUT);
  }
});

describe.skipIf(!haveImages())('wasmvisor lab on Linux', () => {
  it('pv is not applicable to a Linux Image (no paravirtual RISC-V Linux); it is to minikernel', () => {
    const linux = loadImageFile(IMAGE, KERNEL_RAW_BASE);
    const mini = loadImageFile(join(__dirname, '../../guests/bin/minikernel/minikernel.elf'), KERNEL_RAW_BASE);
    expect([isLinuxImage(linux), isLinuxImage(mini)]).toEqual([true, false]);
    expect(COMBOS.map((c) => notApplicable(c, linux))).toEqual([undefined, undefined, undefined, undefined, 'no paravirtual RISC-V Linux exists']);
    expect(COMBOS.map((c) => notApplicable(c, mini))).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('the workload prints what it computes (hw+nested), and every technique prints the same bytes and powers off; each technique shows its mechanism', async () => {
    const lab = [IMAGE, '--initrd', INITRD, '--append', LAB_APPEND];
    // The console of one run, line for line: nothing in it depends on time (quiet, no pids).
    const o = parseLabArgs([...lab, '--jit', 'on']);
    const one = await runCombo(loadImageFile(IMAGE, KERNEL_RAW_BASE), COMBOS[0], o!);
    const busybox = cpioFile(readFileSync(INITRD), 'bin/busybox');
    expect(busybox.length).toBeGreaterThan(500_000);
    expect([one.outcome, Buffer.from(one.output).toString('latin1').replace(/\r\n/g, '\n').split('\n')]).toEqual(['exit 0', [
      expect.stringMatching(/^syscon-poweroff poweroff: pm_power_off already claimed for 0x[0-9a-f]{16}$/), // the SBI's came first
      `Linux wasmvisor ${RELEASE} ${BUILD} riscv64 GNU/Linux`,
      'bin   dev   etc   init  mnt   proc  root  sbin  sys   tmp   usr   var',
      LAB_APPEND,
      'exec x10',
      `${createHash('sha256').update(busybox).digest('hex')}  /bin/busybox`,
      'lab workload done',
      'reboot: Power down',
      '',
    ]]);

    // The lab itself, through the CLI.
    let stdout = '', stderr = '';
    const io: CliIo = {
      stdout: (b) => void (stdout += typeof b === 'string' ? b : Buffer.from(b).toString('latin1')),
      stderr: (t) => void (stderr += t),
      stdin: process.stdin,
      onStdoutClosed: () => {},
    };
    const json = join(dir, 'lab.json');
    const status = await runCli(['lab', ...lab, '--json', json], io);
    expect([status, stderr]).toEqual([0, '']);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as LabReport;
    const ids = ['hw+nested', 'hw+shadow', 'trap+shadow', 'bt+shadow'];
    expect(rep.rows.map((r) => r.combo)).toEqual(ids);
    expect(rep.notApplicable).toEqual({ 'pv+pvmmu': 'no paravirtual RISC-V Linux exists' });
    expect(rep.identical).toBe(true);
    expect(rep.outcomes).toEqual(Object.fromEntries(ids.map((id) => [id, 'exit 0'])));
    expect(stdout.split('\n').slice(1, 5).map((l) => l.split(/\s+/)[0])).toEqual(ids);
    expect(stdout).toContain('identical console output, ended: exit 0; pv+pvmmu: not applicable (no paravirtual RISC-V Linux exists)');
    console.log(stdout);

    const f = Object.fromEntries(rep.rows.map((r) => [r.combo, r.figures]));
    const [nested, hws, trap, bt] = ids.map((id) => f[id]);
    // Nested paging: every TLB miss is a 2D walk, no shadow, nothing emulated; the others walk
    // only the VMM's shadow tables, in one dimension.
    expect([nested.walks1d, nested.technique.shadowsBuilt, nested.technique.ptWriteFaults, nested.technique.emulated, nested.exitsByKind.privInsn])
      .toEqual([0, 0, 0, 0, 0]);
    expect(nested.walks2d).toBeGreaterThan(0);
    for (const s of [hws, trap, bt]) {
      expect(s.walks2d).toBe(0);
      expect(s.walks1d).toBeGreaterThan(0);
      // Linux forks and execs: one shadow per address space, and its page-table stores fault.
      expect(s.technique.shadowsBuilt).toBeGreaterThan(10);
      expect(s.technique.ptWriteFaults).toBeGreaterThan(100);
      expect(s.exitsByKind.pageFault).toBeGreaterThan(s.technique.ptWriteFaults);
    }
    // hw+shadow traps only satp and sfence.vma (VTVM); trap emulates every CSR access of the
    // kernel; bt runs those inline, so it exits far less than trap and emulates less.
    expect(trap.technique.emulated).toBeGreaterThan(10 * hws.technique.emulated);
    expect(bt.technique.btDynamic.inline).toBeGreaterThan(10_000);
    // What trap emulates, bt runs inline or calls out for: the same kernel CSR accesses (to 1 %:
    // the runs' interrupts fall at different instructions).
    const btSites = bt.technique.btDynamic.inline + bt.technique.btDynamic.callout;
    expect(Math.abs(btSites - trap.technique.emulated)).toBeLessThan(trap.technique.emulated / 100);
    expect(trap.technique.btDynamic.inline).toBe(0);
    expect(trap.exits).toBeGreaterThan(2 * bt.exits);
    expect(trap.technique.emulated).toBeGreaterThan(2 * bt.technique.emulated);
    expect(nested.exits).toBeLessThan(bt.exits);
  }, TIMEOUT);
});
