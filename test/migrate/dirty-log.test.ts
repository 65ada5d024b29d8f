/**
 * Dirty-page logging (host/migrate/dirty-log.ts, assembly/dirty.ts): the log holds exactly the
 * pages written since the last collect, whether the store ran in the interpreter or in compiled
 * code, was an AMO, or was the host's (device DMA); a page whose write TLB entry predates the
 * clear is logged again on its next store; off, nothing is logged. And on a real guest (minikernel
 * in a VM), every guest page whose contents changed in a round is in that round's log.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../diff/encode';
import { Asm } from '../vmm/asm';
import { loadImageFile, parseImage } from '../../host/machine/loader';
import { Machine } from '../../host/machine/machine';
import { Vm } from '../../host/vmm/vm';
import { DirtyLog } from '../../host/migrate/dirty-log';

const ROOT = join(__dirname, '../..');
const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');

const [T0, T1, S1, S2, S3, S4, S5] = [5, 6, 9, 18, 19, 20, 21];
// RAM page indices (from 0x80000000) the program touches.
const A = 0x100, B = 0x105, C = 0x107, D = 0x10a, FLAG = 0x109;
const page = (i: number) => 0x8000_0000n + BigInt(i) * 4096n;

/** Phases of stores, each followed by a wait until the host writes the phase number to FLAG. */
function program(): Uint8Array {
  const a = new Asm(0x8000_0000n);
  a.li64(S1, page(A)).li64(S2, page(B)).li64(S3, page(C)).li64(S4, page(D)).li64(S5, page(FLAG));
  const wait = (n: number) => {
    a.emit(E.aluI('addi', T1, 0, n)).label(`w${n}`).emit(E.load('ld', T0, S5, 0)).branch('bne', T0, T1, `w${n}`);
  };
  a.emit(E.store('sd', S1, S1, 8), E.store('sw', S1, S2, 0x7f8)); // phase 1: A, B
  wait(1);
  a.emit(E.store('sd', S2, S2, 16), E.store('sb', S2, S3, 0x7ff)); // phase 2: B again, C
  wait(2);
  wait(3); // phase 3: no stores
  a.emit(E.amo('amoadd', 'd', T0, S4, S1)); // phase 4: an AMO on D
  wait(4);
  a.emit(E.store('sd', S1, S1, 24)); // phase 5 (logging off): A
  a.label('end').jal(0, 'end');
  return a.finish(4096);
}

async function phases(jit: 'off' | 'on' | 'always'): Promise<void> {
  const m = await Machine.create({ memSize: 16 << 20, kernel: parseImage(program(), 'dirty.bin', 0x8000_0000n), deterministic: true, jit });
  const log = new DirtyLog(m);
  const flag = (n: number) => m.memory.write(page(FLAG), new Uint8Array(new BigUint64Array([BigInt(n)]).buffer));
  log.enable();
  const step = async () => expect((await m.run({ maxInstructions: 5000n })).reason).toBe('max-instructions');
  await step();
  expect(log.collect()).toEqual([A, B]);
  await step();
  expect(log.collect()).toEqual([]); // waiting: loads only
  flag(1); // the host's write (DMA) is logged too
  await step();
  expect(log.collect()).toEqual([B, C, FLAG]); // B's write TLB entry was emptied by the clear
  flag(2);
  await step();
  expect(log.collect()).toEqual([FLAG]);
  flag(3);
  await step();
  expect(log.collect()).toEqual([FLAG, D]);
  log.disable();
  flag(4);
  await step();
  expect(log.collect()).toEqual([]);
  expect(m.memory.read(page(A) + 24n, 8)).toEqual(new Uint8Array(new BigUint64Array([page(A)]).buffer)); // phase 5 ran
}

describe('dirty-page logging', () => {
  it('interpreter (--jit off): exactly the pages written in each round, stores, AMO and DMA', () => phases('off'), 30_000);
  it('compiled code (--jit always): the same', () => phases('always'), 30_000);
  it('--jit on (the wait loops get compiled): the same', () => phases('on'), 30_000);

  for (const jit of ['on', 'off'] as const) {
    it(`minikernel in a VM (--jit ${jit}): every guest page changed in a round is in its log`, async () => {
      const vm = await Vm.create({ memSize: 64 << 20, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, jit });
      const log = new DirtyLog(vm);
      log.enable();
      const contents = () => new Map(vm.populatedPfns().map((p) => [p, vm.readGuest(BigInt(p) << 12n, 4096)!]));
      let before = contents();
      let rounds = 0;
      let loggedTotal = 0;
      for (;;) {
        const r = await vm.run({ maxInstructions: 700_000n });
        const logged = new Set(log.guestPages(log.collect()));
        const after = contents();
        const changed = [...after].filter(([p, b]) => { const o = before.get(p); return o === undefined ? b.some((x) => x !== 0) : !o.every((x, i) => x === b[i]); }).map(([p]) => p);
        expect(changed.filter((p) => !logged.has(p))).toEqual([]);
        loggedTotal += logged.size;
        rounds++;
        before = after;
        if (r.reason !== 'max-instructions') break;
      }
      expect(rounds).toBeGreaterThan(5);
      expect(loggedTotal).toBeGreaterThan(100);
    }, 120_000);
  }
});
