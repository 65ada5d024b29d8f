/**
 * The folding behind the SBI-flood bound (issue 11, defect 2), in process and exact: the call
 * names of sbi.ts are a fixed set, ExitStats keeps at most MAX_EXIT_REASONS reasons, and a Xen
 * domain counts unknown hypercall numbers under one key. The flood guest runs a fixed number
 * of rounds here, so every count is known.
 */
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import { EID, sbiCallIdName, sbiCallIds, sbiCallName, SBI_UNKNOWN_EID } from '../../host/vmm/sbi';
import { ExitStats, MAX_EXIT_REASONS, OTHER_REASON } from '../../host/vmm/stats';
import { Vm } from '../../host/vmm/vm';
import { XenHypervisor } from '../../host/xen/hypervisor';
import { HYPERCALL_OTHER } from '../../host/xen/ops-abi';
import { FLOOD_BASE, PROGRESS_EVERY, sbiFloodGuest } from './sbi-flood-guest';

const ROUNDS = 3 * PROGRESS_EVERY + 5; // 196,613 rounds: 589,839 distinct (EID, FID) pairs

describe('SBI call names are a fixed set', () => {
  it('unknown EIDs fold into one name, unknown FIDs of a known extension into one per extension; no id is made', () => {
    const before = sbiCallIds();
    const names = new Set<string>();
    for (let i = 0n; i < 100_000n; i++) {
      names.add(sbiCallName(0x0a000000n + i, i));
      names.add(sbiCallName(EID.TIME, 1n + i));
      names.add(sbiCallName((1n << 63n) | i, 0n));
      names.add(sbiCallName(EID.BASE, (1n << 40n) + i));
    }
    expect([...names].sort()).toEqual(['BASE unknown fid', 'TIME unknown fid', SBI_UNKNOWN_EID].sort());
    expect(sbiCallIds()).toBe(before);
    // The known names stay: every function of every extension, and the legacy EIDs.
    expect(sbiCallName(EID.DBCN, 2n)).toBe('DBCN console_write_byte');
    expect(sbiCallName(EID.LEGACY_PUTCHAR, 0x1234_5678n)).toBe('legacy console_putchar'); // legacy calls ignore a6
    expect(sbiCallName(0xfn, 0n)).toBe('legacy EID 0xf');
    expect(Array.from({ length: before }, (_, i) => sbiCallIdName(i))).toContain(SBI_UNKNOWN_EID);
  });
});

describe('ExitStats is bounded', () => {
  it(`keeps MAX_EXIT_REASONS (${MAX_EXIT_REASONS}) reasons; later new ones count under "${OTHER_REASON}"`, () => {
    const s = new ExitStats();
    const extra = 45;
    for (let i = 0; i < MAX_EXIT_REASONS - 1 + extra; i++) s.count(s.id(`reason ${i}`));
    s.count(s.id('reason 3')); // an old reason keeps its own id
    const rows = s.rows();
    expect(rows).toHaveLength(MAX_EXIT_REASONS);
    expect(rows[0]).toMatchObject({ reason: OTHER_REASON, count: extra });
    expect(rows[1]).toMatchObject({ reason: 'reason 3', count: 2 });
    expect(rows.filter((r) => r.count === 1)).toHaveLength(MAX_EXIT_REASONS - 2);
    expect(s.exits).toBe(MAX_EXIT_REASONS - 1 + extra + 1);
    expect(s.id('yet another')).toBe(s.id(OTHER_REASON));
    expect(s.reason(s.id('yet another'))).toBe(OTHER_REASON);
  });
});

describe('the flood guest, in process', () => {
  it(`VM: ${ROUNDS} rounds are four exit reasons with exact counts, and the table of call ids does not grow`, async () => {
    const before = sbiCallIds();
    let out = '';
    const vm = await Vm.create({
      memSize: 16 << 20, kernel: parseImage(sbiFloodGuest(ROUNDS), 'flood.bin', FLOOD_BASE), deterministic: true,
      onConsoleOutput: (b) => (out += String.fromCharCode(...b)),
    });
    const r = await vm.run({ maxInstructions: 100_000_000n, timeoutMs: 50_000 });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(out).toBe('...');
    expect(Object.fromEntries(vm.exits.rows().map((x) => [x.reason, x.count]))).toEqual({
      'SBI ecall (unknown EID)': ROUNDS,
      'SBI ecall (BASE unknown fid)': ROUNDS,
      'SBI ecall (XEN unknown fid)': ROUNDS, // no Xen here: NOT_SUPPORTED, named after the vendor EID
      'SBI ecall (legacy console_putchar)': 3,
      'SBI ecall (SRST system_reset)': 1,
    });
    expect(sbiCallIds()).toBe(before);
  }, 60_000);

  it(`DomU: the unknown hypercalls are -ENOSYS and one HYPERCALL_OTHER count, not ${ROUNDS} map entries`, async () => {
    const hv = new XenHypervisor();
    let out = '';
    const d = await hv.createDomain({
      name: 'flood', memSize: 16 << 20, kernel: parseImage(sbiFloodGuest(ROUNDS), 'flood.bin', FLOOD_BASE), deterministic: true,
      onConsoleOutput: (b) => (out += String.fromCharCode(...b)),
    });
    const r = await hv.run(d.domid, { maxInstructions: 100_000_000n, timeoutMs: 50_000 });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(out).toBe('...');
    expect([...d.hypercalls]).toEqual([[HYPERCALL_OTHER, ROUNDS]]);
    expect(Object.fromEntries(d.vm.exits.rows().map((x) => [x.reason, x.count]))).toEqual({
      'SBI ecall (unknown EID)': ROUNDS,
      'SBI ecall (BASE unknown fid)': ROUNDS,
      'SBI ecall (XEN unknown fid)': ROUNDS,
      'SBI ecall (legacy console_putchar)': 3,
      'SBI ecall (SRST system_reset)': 1,
    });
  }, 60_000);

  it('--trace exits keeps a7 and a6 of a folded call (the name no longer carries them); named calls are traced as before', async () => {
    const trace: string[] = [];
    const vm = await Vm.create({
      memSize: 16 << 20, kernel: parseImage(sbiFloodGuest(2), 'flood.bin', FLOOD_BASE), deterministic: true, onTraceExit: (l) => trace.push(l),
    });
    expect(await vm.run({ maxInstructions: 1_000_000n })).toMatchObject({ reason: 'exit', exitCode: 0 });
    const tail = (l: string) => l.replace(/ pc=0x[0-9a-f]+ cause=10 tval=0x0 htval=0x0 insn: ecall/, ' ... ecall');
    expect(trace.map(tail)).toEqual([
      'exit 1: SBI ecall (unknown EID) ... ecall (a7=0xa000001, a6=0x1)',
      'exit 2: SBI ecall (BASE unknown fid) ... ecall (a7=0x10, a6=0x8)',
      'exit 3: SBI ecall (XEN unknown fid) ... ecall (a7=0x958454e, a6=0x41)',
      'exit 4: SBI ecall (unknown EID) ... ecall (a7=0xa000002, a6=0x2)',
      'exit 5: SBI ecall (BASE unknown fid) ... ecall (a7=0x10, a6=0x9)',
      'exit 6: SBI ecall (XEN unknown fid) ... ecall (a7=0x958454e, a6=0x42)',
      'exit 7: SBI ecall (SRST system_reset) ... ecall',
    ]);
  });
});
