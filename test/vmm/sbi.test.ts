import { describe, expect, it } from 'vitest';
import { EID, handleSbi, hartSet, sbiCallName, type SbiVcpu } from '../../host/vmm/sbi';

const A0 = 10, A1 = 11, A6 = 16, A7 = 17;
const NEG = (v: bigint) => BigInt.asUintN(64, v);

/** A fake vCPU: registers, a timer, an IPI flag, a console and 64 KiB of RAM at 0x80000000. */
class FakeVcpu implements SbiVcpu {
  regs = new Array<bigint>(32).fill(0n);
  timer: bigint | undefined;
  ssip = false;
  flushes = 0;
  out: number[] = [];
  input: number[] = [];
  ram = new Uint8Array(0x10000);
  x(i: number) { return this.regs[i]; }
  setX(i: number, v: bigint) { if (i) this.regs[i] = BigInt.asUintN(64, v); }
  xNumber(i: number) { return Number(this.regs[i]); }
  xLow32(i: number) { return Number(this.regs[i] & 0xffff_ffffn); }
  setXNumber(i: number, n: number) { this.setX(i, BigInt(n)); }
  setTimer(t: bigint) { this.timer = t; }
  raiseSoftwareInterrupt() { this.ssip = true; }
  flushTranslations() { this.flushes++; }
  consoleWrite(b: Uint8Array) { this.out.push(...b); }
  consoleRead(max: number) { return Uint8Array.from(this.input.splice(0, max)); }
  private inRam(gpa: bigint, len: number) { return gpa >= 0x80000000n && gpa + BigInt(len) <= 0x80010000n; }
  readGuest(gpa: bigint, len: number) { return this.inRam(gpa, len) ? this.ram.slice(Number(gpa - 0x80000000n), Number(gpa - 0x80000000n) + len) : undefined; }
  writeGuest(gpa: bigint, b: Uint8Array) { if (!this.inRam(gpa, b.length)) return false; this.ram.set(b, Number(gpa - 0x80000000n)); return true; }

  /** Make a call: a7 = eid, a6 = fid, a0.. = args; a1 preset to a marker to see whether it is written. */
  call(eid: bigint, fid: bigint, ...args: bigint[]) {
    this.regs.fill(0n);
    this.regs[A7] = eid;
    this.regs[A6] = fid;
    this.regs[A1] = 0xdeadn;
    args.forEach((a, i) => (this.regs[A0 + i] = BigInt.asUintN(64, a)));
    const r = handleSbi(this);
    return { ...r, a0: this.regs[A0], a1: this.regs[A1] };
  }
}

const ok = (value: bigint) => ({ a0: 0n, a1: value, outcome: { kind: 'continue' } });
const err = (code: bigint, a1 = 0n) => ({ a0: NEG(code), a1, outcome: { kind: 'continue' } });

describe('SBI BASE', () => {
  it('reports version 2.0, our impl id and version, zero machine ids', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.BASE, 0n)).toMatchObject({ ...ok(0x02000000n), name: 'BASE get_spec_version' });
    expect(v.call(EID.BASE, 1n)).toMatchObject(ok(0x7761736dn));
    expect(v.call(EID.BASE, 2n)).toMatchObject(ok(1n));
    for (const fid of [4n, 5n, 6n]) expect(v.call(EID.BASE, fid)).toMatchObject(ok(0n));
    expect(v.call(EID.BASE, 7n)).toMatchObject(err(-2n, 0xdeadn));
  });
  it('probe_extension: 1 for every implemented extension, 0 otherwise', () => {
    const v = new FakeVcpu();
    for (const e of [EID.BASE, EID.TIME, EID.IPI, EID.RFENCE, EID.HSM, EID.SRST, EID.DBCN, 0n, 1n, 2n, 8n]) {
      expect(v.call(EID.BASE, 3n, e)).toMatchObject(ok(1n));
    }
    for (const e of [3n, 4n, 5n, 6n, 7n, 0x504d55n /* PMU */, 0x535553n /* SUSP */, 0x12345678n]) {
      expect(v.call(EID.BASE, 3n, e)).toMatchObject(ok(0n));
    }
  });
});

describe('SBI TIME, IPI, RFENCE', () => {
  it('set_timer programs the timer', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.TIME, 0n, 0x1234_5678_9n)).toMatchObject({ ...ok(0n), name: 'TIME set_timer' });
    expect(v.timer).toBe(0x1234_5678_9n);
    expect(v.call(EID.TIME, 1n)).toMatchObject(err(-2n, 0xdeadn));
  });
  it('send_ipi to hart 0 raises the software interrupt; other harts are invalid', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.IPI, 0n, 0n, 0n)).toMatchObject(ok(0n));
    expect(v.ssip).toBe(false);
    expect(v.call(EID.IPI, 0n, 1n, 0n)).toMatchObject({ ...ok(0n), name: 'IPI send_ipi' });
    expect(v.ssip).toBe(true);
    v.ssip = false;
    expect(v.call(EID.IPI, 0n, 0n, -1n)).toMatchObject(ok(0n)); // base -1: all harts
    expect(v.ssip).toBe(true);
    v.ssip = false;
    expect(v.call(EID.IPI, 0n, 2n, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.IPI, 0n, 1n, 1n)).toMatchObject(err(-3n));
    expect(v.ssip).toBe(false);
  });
  it('remote fences flush; the hfence variants are not supported', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.RFENCE, 0n, 1n, 0n)).toMatchObject({ ...ok(0n), name: 'RFENCE remote_fence_i' });
    expect(v.call(EID.RFENCE, 1n, 1n, 0n, 0x1000n, 0x1000n)).toMatchObject(ok(0n));
    expect(v.call(EID.RFENCE, 2n, 0n, -1n, 0n, -1n, 5n)).toMatchObject({ ...ok(0n), name: 'RFENCE remote_sfence_vma_asid' });
    expect(v.flushes).toBe(3);
    expect(v.call(EID.RFENCE, 1n, 4n, 0n)).toMatchObject(err(-3n));
    for (const fid of [3n, 4n, 5n, 6n, 7n]) expect(v.call(EID.RFENCE, fid, 1n, 7n)).toMatchObject(err(-2n, 7n)); // a1 untouched
    expect(v.flushes).toBe(3);
  });
  it('hartSet', () => {
    expect(hartSet(0n, 0n)).toBe('none');
    expect(hartSet(1n, 0n)).toBe('hart0');
    expect(hartSet(0n, (1n << 64n) - 1n)).toBe('hart0');
    expect(hartSet(3n, 0n)).toBe('invalid');
    expect(hartSet(1n, 1n)).toBe('invalid');
  });
});

describe('SBI HSM', () => {
  it('hart_start, hart_get_status, hart_stop for the one hart', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.HSM, 0n, 0n, 0x80200000n, 0n)).toMatchObject(err(-6n));
    expect(v.call(EID.HSM, 0n, 1n, 0x80200000n, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.HSM, 2n, 0n)).toMatchObject({ ...ok(0n), name: 'HSM hart_get_status' });
    expect(v.call(EID.HSM, 2n, 1n)).toMatchObject(err(-3n));
    expect(v.call(EID.HSM, 1n)).toMatchObject({ name: 'HSM hart_stop', outcome: { kind: 'hart-stop' } });
    expect(v.call(EID.HSM, 9n)).toMatchObject(err(-2n, 0xdeadn));
  });
  it('hart_suspend: retentive and non-retentive (resume address must be RAM); other types invalid', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.HSM, 3n, 0n, 0n, 0n)).toMatchObject({ a0: 0n, a1: 0n, outcome: { kind: 'suspend', retentive: true } });
    expect(v.call(EID.HSM, 3n, 0x80000000n, 0x80001000n, 42n)).toMatchObject({
      a0: 0n, outcome: { kind: 'suspend', retentive: false, resumeAddr: 0x80001000n, opaque: 42n },
    });
    expect(v.call(EID.HSM, 3n, 0x80000000n, 0x1000n, 0n)).toMatchObject(err(-5n));
    expect(v.call(EID.HSM, 3n, 1n, 0n, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.HSM, 3n, 0x10000000n, 0n, 0n)).toMatchObject(err(-3n));
  });
});

describe('SBI SRST', () => {
  it('shutdown exits 0, shutdown for a system failure exits 1, reboots reboot', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.SRST, 0n, 0n, 0n)).toMatchObject({ name: 'SRST system_reset', outcome: { kind: 'shutdown', code: 0 } });
    expect(v.call(EID.SRST, 0n, 0n, 1n)).toMatchObject({ outcome: { kind: 'shutdown', code: 1 } });
    expect(v.call(EID.SRST, 0n, 1n, 0n)).toMatchObject({ outcome: { kind: 'reboot' } });
    expect(v.call(EID.SRST, 0n, 2n, 1n)).toMatchObject({ outcome: { kind: 'reboot' } });
  });
  it('reserved types and reasons are INVALID_PARAM; other functions NOT_SUPPORTED', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.SRST, 0n, 3n, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.SRST, 0n, 0xf0000000n, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.SRST, 0n, 0n, 2n)).toMatchObject(err(-3n));
    expect(v.call(EID.SRST, 0n, 0n, 0xe0000000n)).toMatchObject(err(-3n));
    expect(v.call(EID.SRST, 1n, 0n, 5n)).toMatchObject(err(-2n, 5n)); // a1 untouched
  });
});

describe('SBI DBCN', () => {
  it('console_write copies guest memory to the console and returns the count', () => {
    const v = new FakeVcpu();
    v.ram.set(new TextEncoder().encode('hello'), 0x100);
    expect(v.call(EID.DBCN, 0n, 5n, 0x80000100n, 0n)).toMatchObject({ ...ok(5n), name: 'DBCN console_write' });
    expect(String.fromCharCode(...v.out)).toBe('hello');
  });
  it('console_write outside RAM or with a high address half is INVALID_PARAM; huge writes are cut to 4096', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.DBCN, 0n, 5n, 0x1000n, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.DBCN, 0n, 5n, 0x8000fffen, 0n)).toMatchObject(err(-3n));
    expect(v.call(EID.DBCN, 0n, 5n, 0x80000000n, 1n)).toMatchObject(err(-3n));
    expect(v.call(EID.DBCN, 0n, 1n << 40n, 0x80000000n, 0n)).toMatchObject(ok(4096n));
    expect(v.out.length).toBe(4096);
  });
  it('console_read moves waiting input into guest memory; 0 when there is none', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.DBCN, 1n, 8n, 0x80000200n, 0n)).toMatchObject({ ...ok(0n), name: 'DBCN console_read' });
    v.input = [0x61, 0x62, 0x63];
    expect(v.call(EID.DBCN, 1n, 2n, 0x80000200n, 0n)).toMatchObject(ok(2n));
    expect([...v.ram.subarray(0x200, 0x203)]).toEqual([0x61, 0x62, 0]);
    expect(v.input).toEqual([0x63]);
    expect(v.call(EID.DBCN, 1n, 2n, 0x2000n, 0n)).toMatchObject(err(-3n));
    expect(v.input).toEqual([0x63]); // nothing consumed by a failed read
  });
  it('console_write_byte writes the low byte', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.DBCN, 2n, 0x141n)).toMatchObject({ ...ok(0n), name: 'DBCN console_write_byte' });
    expect(v.out).toEqual([0x41]);
    expect(v.call(EID.DBCN, 3n)).toMatchObject(err(-2n, 0xdeadn));
  });
});

describe('SBI legacy extensions', () => {
  it('set_timer, console_putchar, console_getchar return in a0 only', () => {
    const v = new FakeVcpu();
    expect(v.call(0n, 0n, 12345n)).toMatchObject({ a0: 0n, a1: 0xdeadn, name: 'legacy set_timer' });
    expect(v.timer).toBe(12345n);
    expect(v.call(1n, 0n, 0x21n)).toMatchObject({ a0: 0n, a1: 0xdeadn, name: 'legacy console_putchar' });
    expect(v.out).toEqual([0x21]);
    expect(v.call(2n, 0n)).toMatchObject({ a0: NEG(-1n), a1: 0xdeadn, name: 'legacy console_getchar' });
    v.input = [0x7a];
    expect(v.call(2n, 0n)).toMatchObject({ a0: 0x7an, a1: 0xdeadn });
  });
  it('shutdown ends the VM with 0; unimplemented legacy calls are NOT_SUPPORTED in a0', () => {
    const v = new FakeVcpu();
    expect(v.call(8n, 0n)).toMatchObject({ name: 'legacy shutdown', outcome: { kind: 'shutdown', code: 0 } });
    expect(v.call(4n, 0n)).toMatchObject({ a0: NEG(-2n), a1: 0xdeadn, name: 'legacy EID 0x4' });
  });
  it('unknown extensions are NOT_SUPPORTED', () => {
    const v = new FakeVcpu();
    expect(v.call(0x0a000000n, 3n)).toMatchObject({ a0: NEG(-2n), a1: 0xdeadn, name: 'unknown EID' });
    expect(sbiCallName(EID.HSM, 7n)).toBe('HSM unknown fid');
  });
  it('ids and arguments wider than 32 bits are compared and named exactly', () => {
    const v = new FakeVcpu();
    expect(v.call(EID.BASE | (1n << 32n), 0n)).toMatchObject({ a0: NEG(-2n), a1: 0xdeadn, name: 'unknown EID' });
    expect(v.call(EID.BASE, 1n << 32n)).toMatchObject({ a0: NEG(-2n), a1: 0xdeadn, name: 'BASE unknown fid' });
    expect(v.call(NEG(-1n), 0n)).toMatchObject({ a0: NEG(-2n), name: 'unknown EID' });
    expect(v.call(NEG(-2n), 0n)).toMatchObject({ a0: NEG(-2n), name: 'unknown EID' });
    expect(v.call(EID.RFENCE, NEG(-1n), 1n, 7n)).toMatchObject(err(-2n, 7n)); // a1 untouched
    expect(v.call(EID.BASE, 3n, EID.TIME | (1n << 63n))).toMatchObject(ok(0n)); // probe: not TIME
    expect(v.call(EID.HSM, 2n, 1n << 40n)).toMatchObject(err(-3n));
    expect(v.call(1n, 0n, 0xffff_ffff_ffff_ff41n)).toMatchObject({ a0: 0n });
    expect(v.call(EID.DBCN, 2n, -0xbfn)).toMatchObject(ok(0n));
    expect(v.out).toEqual([0x41, 0x41]);
  });
});
