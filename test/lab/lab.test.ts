/**
 * `wasmvisor lab` (issue 13, part 5): the registry of technique combinations, the lab on
 * minikernel (one row per supported combination, exact deterministic counts for the ones this
 * branch knows, identical console output), its JSON and SVG, and its one-line refusals.
 *
 * The "identical behaviour" test iterates the registry: a technique whose branch teaches the
 * run parser its mode (bt, pv, hw with shadow paging) joins it with no edit here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../host/cli/args';
import { runCli, type CliIo } from '../../host/cli/main';
import { COMBOS, isSupported, supportedCombos } from '../../host/lab/combos';
import { EXIT_KINDS, exitKind } from '../../host/lab/figures';
import { compareRuns, parseLabArgs, runCombo, type LabRun } from '../../host/lab/run';
import { COLUMNS, type LabReport } from '../../host/lab/table';
import { loadImageFile } from '../../host/machine/loader';
import { zeroCounters } from '../../host/vmm/virt/technique';
import * as E from '../diff/encode';
import { sbiHelloPayload } from '../cli/guests';
import { parseXml } from './xml';

const ROOT = join(__dirname, '../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const EXPECTED = readFileSync(join(ROOT, 'guests/expected/minikernel/minikernel.txt'), 'latin1');
const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-lab-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** runCli in this process, stdout and stderr captured. */
async function lab(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const io: CliIo = {
    stdout: (b) => void (stdout += typeof b === 'string' ? b : Buffer.from(b).toString('latin1')),
    stderr: (t) => void (stderr += t),
    stdin: process.stdin,
    onStdoutClosed: () => {},
  };
  const status = await runCli(['lab', ...args], io);
  return { status, stdout, stderr };
}

/**
 * minikernel with --deterministic --jit off --mem 128M: every count is a function of the guest,
 * the technique and the memory size (checked over repeated runs). Rows of combinations this branch does not have are
 * checked for consistency only.
 */
const EXACT: Record<string, { instructions: number; exits: number; kinds: Record<string, number>; walks1d: number; walks2d: number; technique: Partial<ReturnType<typeof zeroCounters>> }> = {
  'hw+nested': {
    // other: budget exits; the SBI calls the core answers (in-core SBI) do not end the slice.
    // pageFault: 1235 first touches of RAM, 1225 of them handled in the core (host/vmm/populate.ts),
    // counted all the same: each of those is one 2D walk that completes, where an exit cost a walk
    // that faulted and the retried instruction's walk (5631 walks before, 5631 - 1225 = 4406).
    instructions: 14_464_392, exits: 1464, walks1d: 0, walks2d: 4406,
    kinds: { sbi: 210, mmio: 0, pageFault: 1235, privInsn: 0, interrupt: 0, other: 19 },
    technique: { emulated: 0, ptWriteFaults: 0, shadowsBuilt: 0, shadowsReused: 0, tlbFlushes: 0, hypercalls: 0, mmuUpdates: 0 },
  },
  'hw+shadow': {
    instructions: 14_464_119, exits: 2200, walks1d: 6403, walks2d: 0,
    kinds: { sbi: 210, mmio: 0, pageFault: 1709, privInsn: 275, interrupt: 0, other: 6 },
    technique: { emulated: 275, ptWriteFaults: 148, shadowsBuilt: 12, shadowsReused: 178, tlbFlushes: 67, hypercalls: 0, mmuUpdates: 0 },
  },
  'trap+shadow': {
    instructions: 14_462_737, exits: 5163, walks1d: 6096, walks2d: 0,
    kinds: { sbi: 210, mmio: 0, pageFault: 1709, privInsn: 3034, interrupt: 157, other: 53 },
    technique: { emulated: 3034, ptWriteFaults: 148, shadowsBuilt: 21, shadowsReused: 627, tlbFlushes: 72, hypercalls: 0, mmuUpdates: 0 },
  },
  'bt+shadow': {
    instructions: 14_464_031, exits: 2588, walks1d: 6403, walks2d: 0,
    kinds: { sbi: 210, mmio: 0, pageFault: 1709, privInsn: 459, interrupt: 157, other: 53 },
    technique: { emulated: 459, ptWriteFaults: 148, shadowsBuilt: 21, shadowsReused: 627, tlbFlushes: 72, hypercalls: 0, mmuUpdates: 0, btDynamic: { ident: 2_110_016, inline: 2575, callout: 459 } },
  },
  'pv+pvmmu': {
    instructions: 14_478_094, exits: 2757, walks1d: 5817, walks2d: 0,
    kinds: { sbi: 967, mmio: 0, pageFault: 1571, privInsn: 9, interrupt: 157, other: 53 },
    technique: { emulated: 9, ptWriteFaults: 0, shadowsBuilt: 21, shadowsReused: 627, tlbFlushes: 85, hypercalls: 757, mmuUpdates: 665 },
  },
};

describe('the registry of combinations', () => {
  it('lists the five combinations in table order; this build runs all five (a combination a build lacks, the run parser refuses in one line)', () => {
    expect(COMBOS.map((c) => c.id)).toEqual(['hw+nested', 'hw+shadow', 'trap+shadow', 'bt+shadow', 'pv+pvmmu']);
    const ids = supportedCombos().map((c) => c.id);
    expect(ids).toEqual(COMBOS.map((c) => c.id));
    for (const c of COMBOS) {
      if (isSupported(c)) continue;
      expect(() => parseArgs(['run', ...c.args, 'k.elf'])).toThrow(/^wasmvisor: --(virt|paging)[^\n]*$/);
    }
    // pv's paging is its own MMU: selected by --virt alone, never as --paging shadow or nested.
    const pv = COMBOS.find((c) => c.virt === 'pv')!;
    expect(pv.paging).toBe('pv');
    expect(pv.args).toEqual(['--virt', 'pv']);
  });

  it('exit reasons group into the table kinds', () => {
    const cases: [string, string][] = [
      ['SBI ecall (TIME set_timer)', 'sbi'], ['MMIO store (uart0)', 'mmio'], ['MMIO load to no device (access fault to the guest)', 'mmio'],
      ['guest-page fault: first touch of RAM', 'pageFault'], ['page fault: shadow fill (write)', 'pageFault'],
      ['page fault: guest page-table write (emulated)', 'pageFault'], ['page fault (to the guest)', 'pageFault'],
      ['csr read sepc (emulated)', 'privInsn'], ['sret to virtual U (emulated)', 'privInsn'], ['wfi (emulated)', 'privInsn'],
      ['illegal instruction (redirected to the guest)', 'privInsn'], ['interrupt: virtual timer', 'interrupt'],
      ['time slice ends (budget)', 'other'], ['WFI (vCPU halts)', 'other'], ['exception 3 (to the guest)', 'other'],
    ];
    expect(cases.map(([r]) => [r, exitKind(r)])).toEqual(cases);
  });
});

describe('wasmvisor lab on minikernel', () => {
  const json = join(dir, 'lab.json');
  const svg = join(dir, 'lab.svg');
  let r: Awaited<ReturnType<typeof lab>>;
  let report: LabReport;
  const ids = supportedCombos().map((c) => c.id);
  beforeAll(async () => {
    r = await lab([KERNEL, '--jit', 'off', '--json', json, '--svg', svg, '--mem', '128M']);
    report = JSON.parse(readFileSync(json, 'utf8')) as LabReport;
  }, 240_000);

  it('exits 0 and prints one table: a header, one row per supported combination in registry order, the note', () => {
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['technique', ...COLUMNS.map((c) => c.head)]);
    expect(lines.slice(1, 1 + ids.length).map((l) => l.split(/\s+/)[0])).toEqual(ids);
    const unsupported = COMBOS.filter((c) => !isSupported(c)).map((c) => c.id);
    expect(lines[1 + ids.length]).toBe(
      `(deterministic guest time, --jit off, best of 1 run; ${ids.length} techniques, identical console output, ended: exit 0` +
      (unsupported.length > 0 ? `; not in this build: ${unsupported.join(', ')}` : '') + ')');
    expect(lines.length).toBe(ids.length + 3); // and the final newline
  });

  it('the JSON has the options, the registry split, identical outputs, the outcomes and one row per combination', () => {
    expect(report.image).toBe(KERNEL);
    expect(report.options).toEqual({ runs: 1, jit: 'off', deterministic: true, memSize: 128 << 20, timeoutS: 300 });
    expect(report.supported).toEqual(ids);
    expect([...report.supported, ...report.unsupported].sort()).toEqual(COMBOS.map((c) => c.id).sort());
    expect(report.identical).toBe(true);
    expect(report.outcomes).toEqual(Object.fromEntries(ids.map((id) => [id, 'exit 0'])));
    expect(report.rows.map((x) => x.combo)).toEqual(ids);
    for (const row of report.rows) {
      const f = row.figures;
      expect(Object.keys(f).sort()).toEqual(['exits', 'exitsByKind', 'instructions', 'meanExitNs', 'technique', 'topExits', 'walks1d', 'walks2d', 'wallMs']);
      expect(Object.keys(f.exitsByKind)).toEqual([...EXIT_KINDS]);
      expect(Object.keys(f.technique).sort()).toEqual(Object.keys(zeroCounters()).sort());
      expect(Object.values(f.exitsByKind).reduce((a, b) => a + b, 0)).toBe(f.exits);
      expect(f.wallMs).toBeGreaterThan(0);
      expect(f.meanExitNs).toBeGreaterThan(0);
      expect(f.topExits.length).toBeLessThanOrEqual(5);
      for (let i = 1; i < f.topExits.length; i++) expect(f.topExits[i - 1].count).toBeGreaterThanOrEqual(f.topExits[i].count);
      const want = EXACT[row.combo];
      if (want === undefined) continue; // a technique from another branch: consistency only
      expect({ instructions: f.instructions, exits: f.exits, kinds: f.exitsByKind, walks1d: f.walks1d, walks2d: f.walks2d }, row.combo)
        .toEqual({ instructions: want.instructions, exits: want.exits, kinds: want.kinds, walks1d: want.walks1d, walks2d: want.walks2d });
      expect(f.technique, row.combo).toMatchObject(want.technique);
    }
    // Trap-and-emulate: every privileged-instruction exit is one emulation (none went to the guest).
    const trap = report.rows.find((x) => x.combo === 'trap+shadow')!.figures;
    expect(trap.technique.emulated).toBe(trap.exitsByKind.privInsn);
  });

  it('the SVG is well-formed, with one bar per row in each panel (wall time, exits) carrying its value, and axes', () => {
    const els = parseXml(readFileSync(svg, 'utf8'));
    expect(els[0].name).toBe('svg');
    const panels = els.filter((e) => e.name === 'g' && e.attrs.class === 'panel');
    expect(panels.map((p) => p.attrs.id)).toEqual(['wall', 'exits']);
    for (const p of panels) {
      const bars = els.filter((e) => e.parent === p && e.name === 'rect' && e.attrs.class === 'bar');
      expect(bars.map((b) => b.attrs['data-combo'])).toEqual(ids);
      const values = bars.map((b) => Number(b.attrs['data-value']));
      expect(values).toEqual(report.rows.map((x) => (p.attrs.id === 'wall' ? x.figures.wallMs : x.figures.exits)));
      // Bar widths are proportional to the values.
      const widths = bars.map((b) => Number(b.attrs.width));
      for (let i = 1; i < bars.length; i++) expect(widths[i] / widths[0]).toBeCloseTo(values[i] / values[0], 2);
      expect(els.filter((e) => e.parent === p && e.name === 'line' && e.attrs.class === 'axis').length).toBe(2);
      expect(els.filter((e) => e.parent === p && e.name === 'text' && e.attrs.class === 'tick').length).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('identical behaviour: minikernel under every supported combination (issue 13, part 5)', () => {
  for (const combo of supportedCombos()) {
    it(`${combo.id}: prints exactly the expected console text (QEMU's) and ends with exit 0`, async () => {
      const o = parseLabArgs([KERNEL])!;
      const run = await runCombo(loadImageFile(KERNEL, 0x80200000n), combo, o);
      expect(run.outcome).toBe('exit 0');
      expect(run.outputDropped).toBe(0);
      expect(Buffer.from(run.output).toString('latin1')).toBe(EXPECTED);
    }, 120_000);
  }
});

describe('wasmvisor lab: a difference between techniques', () => {
  const run = (id: string, text: string, outcome = 'exit 0', outputDropped = 0): LabRun =>
    ({ combo: COMBOS.find((c) => c.id === id)!, outcome, output: Buffer.from(text, 'latin1'), outputDropped, figures: undefined as never });
  it('is one line naming both combinations: the outcome, or the first differing byte with its line and the text from there', () => {
    const a = run('hw+nested', 'boot\ntask 1\ndone\n');
    expect(compareRuns('k.elf', a, run('trap+shadow', 'boot\ntask 1\ndone\n'))).toBeUndefined();
    expect(compareRuns('k.elf', a, run('trap+shadow', 'boot\ntask 1\ndone\n', 'timeout')))
      .toBe('wasmvisor: lab: k.elf: trap+shadow differs from hw+nested: it ended with timeout, not exit 0');
    expect(compareRuns('k.elf', a, run('trap+shadow', 'boot\ntask 2\ndone\n')))
      .toBe('wasmvisor: lab: k.elf: trap+shadow differs from hw+nested: console output differs at byte 10 (line 2): "2\\ndone\\n" instead of "1\\ndone\\n"');
    expect(compareRuns('k.elf', a, run('bt+shadow', 'boot\n')))
      .toBe('wasmvisor: lab: k.elf: bt+shadow differs from hw+nested: console output differs at byte 5 (line 2): the end of output instead of "task 1\\ndone\\n"');
    // A guest the VMM stopped: the reports may differ (they name the technique's cause), the end may not.
    expect(compareRuns('k.elf', run('hw+nested', 'x', 'failed: k.elf: VM stopped: a'), run('trap+shadow', 'x', 'failed: k.elf: VM stopped: b'))).toBeUndefined();
    expect(compareRuns('k.elf', run('hw+nested', 'x', 'failed: k.elf: VM stopped: a'), run('trap+shadow', 'x', 'exit 1')))
      .toBe('wasmvisor: lab: k.elf: trap+shadow differs from hw+nested: it ended with exit 1, not failed: k.elf: VM stopped: a');
    expect(compareRuns('k.elf', a, run('trap+shadow', 'boot\ntask 1\ndone\n', 'exit 0', 7)))
      .toBe('wasmvisor: lab: k.elf: trap+shadow differs from hw+nested: console output of 24 bytes, not 17');
  });
});

describe('lab options', () => {
  it('deterministic unless --realtime; --timeout per run, 300 s by default; VM options and IMAGE (also after --) go to the run parser', () => {
    const d = parseLabArgs([KERNEL])!;
    expect({ image: d.image, det: d.base.deterministic, timeout: d.base.timeout, runs: d.runs }).toEqual({ image: KERNEL, det: true, timeout: '300', runs: 1 });
    const r = parseLabArgs(['--realtime', '--timeout=5', '-m', '64M', '--jit', 'off', '--runs', '3', '--', KERNEL])!;
    expect({ image: r.image, det: r.base.deterministic, timeout: r.base.timeout, mem: r.base.memSize, jit: r.base.jit, runs: r.runs })
      .toEqual({ image: KERNEL, det: false, timeout: '5', mem: 64 << 20, jit: 'off', runs: 3 });
    expect(parseLabArgs(['-h'])).toBeUndefined();
  });
});

describe('wasmvisor lab --json -', () => {
  it('writes the JSON to stdout and the table to stderr; a raw kernel that prints and shuts down ends the same under every combination', async () => {
    const image = join(dir, 'hello.bin');
    writeFileSync(image, sbiHelloPayload('hello, lab\n'));
    const x = await lab([image, '--json', '-', '--mem', '16M', '--runs', '2']);
    expect(x.status).toBe(0);
    const rep = JSON.parse(x.stdout) as LabReport;
    const ids = supportedCombos().map((c) => c.id);
    expect(rep.rows.map((r) => r.combo)).toEqual(ids);
    expect(rep.options.runs).toBe(2);
    expect(rep.outcomes).toEqual(Object.fromEntries(ids.map((id) => [id, 'exit 0'])));
    // One SBI call per byte (DBCN legacy putchar) and the shutdown, whatever the technique.
    for (const r of rep.rows) expect(r.figures.exitsByKind.sbi, r.combo).toBe('hello, lab\n'.length + 1);
    const lines = x.stderr.split('\n');
    expect(lines[0]).toMatch(/^technique\s+wall ms\s+guest insns/);
    expect(lines.slice(1, 1 + ids.length).map((l) => l.split(/\s+/)[0])).toEqual(ids);
    expect(lines[1 + ids.length]).toMatch(/^\(deterministic guest time, --jit on, best of 2 runs; \d techniques, identical console output, ended: exit 0/);
  });
});

describe('wasmvisor lab on a Linux Image', () => {
  it('leaves pv out, as not applicable (no paravirtual RISC-V Linux): a kernel with the RISC-V Image header (magic2 "RSC\\x05" at byte 56) runs under the others', async () => {
    // The boot image header's first word jumps over the 64-byte header, as Linux's does.
    const header = Buffer.alloc(64);
    header.writeUInt32LE(E.jal(0, 64), 0);
    header.write('RSC\x05', 56, 'latin1');
    const image = join(dir, 'linux-like.bin');
    writeFileSync(image, Buffer.concat([header, sbiHelloPayload('hello, Image\n')]));
    const x = await lab([image, '--json', '-', '--mem', '16M']);
    expect(x.status).toBe(0);
    const rep = JSON.parse(x.stdout) as LabReport;
    const ids = supportedCombos().map((c) => c.id).filter((id) => id !== 'pv+pvmmu');
    expect(rep.rows.map((r) => r.combo)).toEqual(ids);
    expect(rep.notApplicable).toEqual(supportedCombos().some((c) => c.id === 'pv+pvmmu') ? { 'pv+pvmmu': 'no paravirtual RISC-V Linux exists' } : {});
    expect(rep.outcomes).toEqual(Object.fromEntries(ids.map((id) => [id, 'exit 0'])));
    for (const r of rep.rows) expect(r.figures.exitsByKind.sbi, r.combo).toBe('hello, Image\n'.length + 1);
    expect(x.stderr).toContain('; pv+pvmmu: not applicable (no paravirtual RISC-V Linux exists))\n');
    // Without the magic, the same code is run under pv too.
    writeFileSync(join(dir, 'plain.bin'), sbiHelloPayload('hello, Image\n'));
    const plain = await lab([join(dir, 'plain.bin'), '--json', '-', '--mem', '16M']);
    expect((JSON.parse(plain.stdout) as LabReport).notApplicable).toEqual({});
  });
});

describe('wasmvisor lab: refusals and help', () => {
  it('a missing IMAGE, a bad image, a wrong option: one line, exit 2, no table', async () => {
    // An ELF64 header for x86-64 (e_machine 62), no segments.
    const x86 = Buffer.alloc(128);
    x86.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
    x86.writeUInt16LE(2, 16);
    x86.writeUInt16LE(62, 18);
    x86.writeUInt32LE(1, 20);
    x86.writeUInt16LE(64, 52);
    x86.writeUInt16LE(56, 54);
    writeFileSync(join(dir, 'x86.elf'), x86);
    const cases: [string[], string][] = [
      [[join(dir, 'x86.elf')], `${join(dir, 'x86.elf')}: ELF machine is x86-64 (62), expected RISC-V (243)`],
      [[dir], `${dir}: is a directory, expected an image file`],
      [[KERNEL, '--initrd', join(dir, 'none.cpio')], `${join(dir, 'none.cpio')}: no such file`],
      [[join(dir, 'nope.elf')], `${join(dir, 'nope.elf')}: no such file`],
      [[], 'wasmvisor: lab: missing IMAGE (usage: wasmvisor lab IMAGE [options]; see wasmvisor lab --help)'],
      [[KERNEL, '--virt', 'trap'], 'wasmvisor: lab: --virt is not an option of lab (it runs every --virt/--paging combination itself; see wasmvisor lab --help)'],
      [[KERNEL, '--runs', '0'], "wasmvisor: lab: --runs: bad value '0' (expected 1..100)"],
      [[KERNEL, '--mem', '3X'], "wasmvisor: --mem: bad size '3X' (expected e.g. 128M, 1G)"],
      [[KERNEL, 'other.elf'], "wasmvisor: lab: unexpected argument 'other.elf' (one IMAGE only; options start with --)"],
    ];
    for (const [args, message] of cases) {
      const x = await lab(args);
      expect({ args, ...x }).toEqual({ args, status: 2, stdout: '', stderr: message + '\n' });
    }
  });

  it('lab --help and help lab print the lab usage', async () => {
    const a = await lab(['--help']);
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/^usage: wasmvisor lab IMAGE /);
    expect(a.stdout).toContain(COMBOS.map((c) => c.id).join(', '));
    let out = '';
    const status = await runCli(['help', 'lab'], { stdout: (b) => void (out += String(b)), stderr: () => {}, stdin: process.stdin, onStdoutClosed: () => {} });
    expect(status).toBe(0);
    expect(out).toBe(a.stdout);
  });
});
