/**
 * A hostile DomU: random hypercalls with wild arguments and random bytes in the structures they
 * point at. Whatever it passes, each call must return 0, a count, or a negated Xen errno (never
 * throw), and nothing outside the caller may change: a second domain's RAM stays byte for byte
 * the same, and so does its event-channel table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseImage } from '../../host/machine/loader';
import type { SbiVcpu } from '../../host/vmm/sbi';
import type { XenDomain } from '../../host/xen/domain';
import { errnoName } from '../../host/xen/errno';
import { XenHypervisor } from '../../host/xen/hypervisor';
import { XEN_SBI_EID } from '../../host/xen/ops-abi';
import { hc, runSteps, type Step } from './guest-asm';

const MEM = 8 << 20;
const RAM = 0x80000000n;
const LOOP = new Uint8Array([0x6f, 0, 0, 0]); // j .

/** Registers only: what the hypercall dispatcher reads and writes. */
class Regs implements SbiVcpu {
  r = new Array<bigint>(32).fill(0n);
  x(i: number) { return this.r[i]; }
  setX(i: number, v: bigint) { if (i) this.r[i] = BigInt.asUintN(64, v); }
  xNumber(i: number) { return Number(this.r[i]); }
  xLow32(i: number) { return Number(this.r[i] & 0xffff_ffffn); }
  setXNumber(i: number, n: number) { this.setX(i, BigInt(n)); }
  setTimer() {}
  raiseSoftwareInterrupt() {}
  flushTranslations() {}
  consoleWrite() {}
  consoleRead() { return new Uint8Array(0); }
  readGuest() { return undefined; }
  writeGuest() { return false; }
}

const HYPERCALLS = [12, 15, 17, 18, 20, 29, 32];

/** An argument: wild, inside the caller's RAM, at its edges, on its hypervisor frames, or small. */
function argument(d: XenDomain): fc.Arbitrary<bigint> {
  const xen = d.layout.firstGfn << 12n;
  return fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.integer({ min: 0, max: MEM - 1 }).map((o) => RAM + BigInt(o)),
    fc.integer({ min: -64, max: 64 }).map((o) => RAM + BigInt(MEM) + BigInt(o)),
    fc.integer({ min: 0, max: 7 * 4096 }).map((o) => xen + BigInt(o)),
    fc.integer({ min: 0, max: 0x7ff4 }).map(BigInt),
    fc.constantFrom(0n, 1n, 2n, 0x7ff0n, 0xffff_ffffn, (1n << 64n) - 1n, 1n << 63n),
  );
}

async function domains() {
  const hv = new XenHypervisor();
  const make = (name: string) => hv.createDomain({ name, memSize: MEM, kernel: parseImage(LOOP, `${name}.bin`, 0x80200000n), deterministic: true });
  const victim = await make('victim');
  const hostile = await make('hostile');
  return { hv, victim, hostile };
}

const ram = (d: XenDomain) => d.vm.readGuest(RAM, MEM)!;
const isResult = (rc: number) => Number.isInteger(rc) && (rc >= 0 || errnoName(rc) !== String(rc));

describe('a hostile DomU', () => {
  it('random hypercalls with wild pointers only ever get results or error codes; the other domain is untouched', async () => {
    const { hv, victim, hostile } = await domains();
    const before = ram(victim);
    const victimPorts = JSON.stringify(hv.evtchn.snapshot().domains.find((t) => t.domid === victim.domid));
    const ext = hostile.vm.sbiExtensions.get(XEN_SBI_EID)!;
    const regs = new Regs();
    const seen = new Set<number>();
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...HYPERCALLS), fc.integer({ min: 0, max: 63 })),
        fc.oneof(fc.integer({ min: 0, max: 12 }).map(BigInt), argument(hostile)),
        fc.array(argument(hostile), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: MEM - 64 }),
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        (nr, cmd, args, at, junk) => {
          hostile.vm.writeGuest(RAM + BigInt(at), junk); // random structure contents
          regs.r.fill(0n);
          [cmd, ...args].forEach((v, i) => regs.setX(10 + i, v));
          ext.handle(regs, nr);
          const rc = Number(BigInt.asIntN(64, regs.r[10]));
          seen.add(rc);
          expect(isResult(rc), `hypercall ${nr} returned ${rc}`).toBe(true);
          hostile.shutdownReason = undefined;
        },
      ),
      { numRuns: 3000, seed: 6 },
    );
    expect(Buffer.compare(ram(victim), before)).toBe(0); // (not toEqual: 8 MiB element by element is slow)
    expect(JSON.stringify(hv.evtchn.snapshot().domains.find((t) => t.domid === victim.domid))).toBe(victimPorts);
    // The cases reached successes and many different errors.
    expect([0, -14, -22, -38].every((rc) => seen.has(rc))).toBe(true);
    expect(JSON.parse(JSON.stringify(hv.snapshot())).domains).toHaveLength(2);
  }, 30_000);

  it('random hypercalls issued by a running guest end that guest at worst; the host and the other domain go on', async () => {
    const hv = new XenHypervisor();
    const victim = await hv.createDomain({ name: 'victim', memSize: MEM, kernel: parseImage(LOOP, 'victim.bin', 0x80200000n), deterministic: true });
    const before = ram(victim);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...HYPERCALLS), fc.integer({ min: 0, max: 8 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: MEM - 1 })), { minLength: 1, maxLength: 12 }),
        async (calls) => {
          const steps: Step[] = calls.map(([nr, cmd, wild, off]) => hc(nr, cmd, off % 2 ? wild : RAM + BigInt(off), wild & 0xffn));
          const r = await runSteps(steps, [], { memSize: MEM }, hv);
          expect(['exit', 'max-instructions']).toContain(r.reason);
          if (r.failure !== undefined) expect(r.failure).toMatch(/^guest\.bin: VM stopped: /);
          hv.destroyDomain(r.d.domid);
        },
      ),
      { numRuns: 40, seed: 7 },
    );
    expect(Buffer.compare(ram(victim), before)).toBe(0); // (not toEqual: 8 MiB element by element is slow)
    expect(hv.list().map((d) => d.name)).toEqual(['victim']);
  }, 30_000);
});
