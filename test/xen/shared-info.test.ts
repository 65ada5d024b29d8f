import { describe, expect, it } from 'vitest';
import { domainMemoryOf, rangeInDomain } from '../../host/xen/domain-memory';
import {
  SHARED_INFO_EVTCHN_MASK, SHARED_INFO_EVTCHN_PENDING, SHARED_INFO_WC_NSEC, SHARED_INFO_WC_SEC, SHARED_INFO_WC_SEC_HI,
  SHARED_INFO_WC_VERSION, SharedInfoPage, VCPU_INFO_PENDING_SEL, VCPU_INFO_SIZE, VCPU_INFO_UPCALL_MASK, VCPU_INFO_UPCALL_PENDING,
} from '../../host/xen/shared-info';
import { RAM_GFN, TestMemory } from './memory';

const SI = RAM_GFN + 3n;

function page(vcpus = 2) {
  const mem = new TestMemory(1, 4);
  return { mem, si: new SharedInfoPage(mem, SI, vcpus) };
}

describe('shared-info layout (xen.h, 64-bit)', () => {
  it('places the fields where a 64-bit Xen guest expects them', () => {
    expect(VCPU_INFO_SIZE).toBe(64);
    expect(VCPU_INFO_UPCALL_PENDING).toBe(0);
    expect(VCPU_INFO_UPCALL_MASK).toBe(1);
    expect(VCPU_INFO_PENDING_SEL).toBe(8);
    expect(SHARED_INFO_EVTCHN_PENDING).toBe(0x800);
    expect(SHARED_INFO_EVTCHN_MASK).toBe(0xa00);
    expect(SHARED_INFO_WC_VERSION).toBe(0xc00);
    expect(SHARED_INFO_WC_SEC).toBe(0xc04);
    expect(SHARED_INFO_WC_NSEC).toBe(0xc08);
    expect(SHARED_INFO_WC_SEC_HI).toBe(0xc0c);
  });

  it('rejects a vCPU count outside 1..32', () => {
    const mem = new TestMemory(1, 1);
    expect(() => new SharedInfoPage(mem, RAM_GFN, 0)).toThrow(RangeError);
    expect(() => new SharedInfoPage(mem, RAM_GFN, 33)).toThrow(RangeError);
  });
});

describe('2-level set_pending', () => {
  it('sets pending bit, selector bit and upcall_pending, and reports the 0 -> 1 edge once', () => {
    const { mem, si } = page();
    expect(si.setPending(70, 1)).toBe(true); // word 1, bit 6
    expect([...mem.peek(SI, 0x800 + 8, 1)]).toEqual([0x40]);
    expect([...mem.peek(SI, 64 + 8, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 0]); // vcpu 1 selector bit 1
    expect(mem.peek(SI, 64, 1)[0]).toBe(1);
    expect(mem.peek(SI, 0, 1)[0]).toBe(0); // vcpu 0 untouched
    expect(si.pendingSel(1)).toBe(2n);
    // already pending: nothing more
    expect(si.setPending(70, 1)).toBe(false);
    // another port in the same word: selector already set, no new upcall
    expect(si.setPending(71, 1)).toBe(false);
    expect(mem.peek(SI, 0x808, 1)[0]).toBe(0xc0);
  });

  it('a masked port becomes pending but raises nothing; unmask delivers it', () => {
    const { mem, si } = page();
    si.setMasked(5, true);
    expect(mem.peek(SI, 0xa00, 1)[0]).toBe(0x20);
    expect(si.setPending(5, 0)).toBe(false);
    expect(si.isPending(5)).toBe(true);
    expect(si.pendingSel(0)).toBe(0n);
    expect(si.upcallPending(0)).toBe(false);
    expect(si.unmask(5, 0)).toBe(true);
    expect(si.isMasked(5)).toBe(false);
    expect(si.pendingSel(0)).toBe(1n);
    expect(si.upcallPending(0)).toBe(true);
    // unmasking an unmasked port does nothing
    expect(si.unmask(5, 0)).toBe(false);
  });

  it('unmask of a masked port that is not pending only clears the mask', () => {
    const { mem, si } = page();
    si.setMasked(4095, true);
    expect(mem.peek(SI, 0xa00 + 511, 1)[0]).toBe(0x80);
    expect(si.unmask(4095, 0)).toBe(false);
    expect(mem.peek(SI, 0xa00 + 511, 1)[0]).toBe(0);
    expect(si.pendingSel(0)).toBe(0n);
  });

  it('no upcall edge while the guest has not cleared upcall_pending', () => {
    const { mem, si } = page();
    mem.poke(SI, 0, [1]);
    expect(si.setPending(1, 0)).toBe(false);
    expect(si.pendingSel(0)).toBe(1n);
  });

  it('clearPending clears only that bit', () => {
    const { mem, si } = page();
    si.setPending(8, 0);
    si.setPending(9, 0);
    si.clearPending(8);
    expect(mem.peek(SI, 0x801, 1)[0]).toBe(0x02);
  });

  it('upcall mask is read from the page', () => {
    const { mem, si } = page();
    expect(si.upcallMask(1)).toBe(false);
    mem.poke(SI, 64 + 1, [1]);
    expect(si.upcallMask(1)).toBe(true);
  });

  it('a page that is no longer RAM reads as zero and drops writes', () => {
    const { mem, si } = page();
    mem.drop(SI);
    expect(si.present).toBe(false);
    expect(si.setPending(1, 0)).toBe(false);
    expect(si.isPending(1)).toBe(false);
    expect(si.pendingSel(0)).toBe(0n);
    si.setWallclock(1n, 2);
    si.clear();
    expect(si.wallclock()).toEqual({ version: 0, sec: 0n, nsec: 0 });
  });
});

describe('wallclock', () => {
  it('writes sec (lo, hi) and nsec with an even version after each update', () => {
    const { mem, si } = page();
    si.setWallclock(0x1_2345_6789n, 999_999_999);
    expect([...mem.peek(SI, 0xc00, 16)]).toEqual([
      2, 0, 0, 0, 0x89, 0x67, 0x45, 0x23, 0xff, 0xc9, 0x9a, 0x3b, 0x01, 0, 0, 0,
    ]);
    expect(si.wallclock()).toEqual({ version: 2, sec: 0x1_2345_6789n, nsec: 999_999_999 });
    si.setWallclock(5n, 0);
    expect(si.wallclock().version).toBe(4);
    mem.poke(SI, 0xc00, [7, 0, 0, 0]); // a guest scribbled an odd version
    si.setWallclock(5n, 0);
    expect(si.wallclock().version).toBe(8);
  });

  it('clear zeroes the page', () => {
    const { mem, si } = page();
    mem.poke(SI, 100, [1, 2, 3]);
    si.clear();
    expect(mem.peek(SI, 0, 4096).every((b) => b === 0)).toBe(true);
  });
});

describe('domainMemoryOf / rangeInDomain', () => {
  it('adapts a GuestMemory: frames inside RAM, minus excluded ones', () => {
    const bytes = new Uint8Array(0x3000);
    const gm = {
      base: 0x80000000n, size: 0x3000,
      read: (a: bigint, n: number) => bytes.slice(Number(a - 0x80000000n), Number(a - 0x80000000n) + n),
      write: (a: bigint, b: Uint8Array) => bytes.set(b, Number(a - 0x80000000n)),
    };
    const dm = domainMemoryOf(3, gm, (g) => g === 0x80001n);
    expect(dm.domid).toBe(3);
    expect(dm.hasFrame(0x7ffffn)).toBe(false);
    expect(dm.hasFrame(0x80000n)).toBe(true);
    expect(dm.hasFrame(0x80001n)).toBe(false);
    expect(dm.hasFrame(0x80002n)).toBe(true);
    expect(dm.hasFrame(0x80003n)).toBe(false);
    dm.write(0x80002010n, Uint8Array.of(9));
    expect(bytes[0x2010]).toBe(9);
    expect([...dm.read(0x80002010n, 1)]).toEqual([9]);
    expect(rangeInDomain(dm, 0x80000ff8n, 8)).toBe(true);
    expect(rangeInDomain(dm, 0x80000ffcn, 8)).toBe(false); // spills into the excluded frame
    expect(rangeInDomain(dm, 0x80002ffcn, 8)).toBe(false); // spills past RAM
    expect(rangeInDomain(dm, 0x80000000n, 0)).toBe(true);
    expect(rangeInDomain(dm, -8n, 8)).toBe(false);
    expect(rangeInDomain(dm, 0x80000000n, 2 << 20)).toBe(false);
  });
});
