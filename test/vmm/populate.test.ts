// In-core population (assembly/populate.ts, host/vmm/populate.ts): the first touch of a guest
// page in a 2 MiB region whose G-stage leaf table exists is mapped by the core from the VMM's
// pool, without an exit; the VMM learns each page from the log, counts it as the first-touch
// exit it replaces, and keeps the core out while some page must fault to it (post-copy's pages
// still on the source, ballooned-out pages).
import { describe, expect, it } from 'vitest';
import { touchGuest } from '../../bench/rss';
import { parseImage } from '../../host/machine/loader';
import { Vm, KERNEL_RAW_BASE } from '../../host/vmm/vm';
import * as A from '../../assembly/abi';

const PAGES = 300; // more than two pools (128 frames): the pool runs dry twice in one entry
const FIRST = 0x80400000n; // touchGuest's first page: a 2 MiB region with no leaf table yet

async function touch(prepare?: (vm: Vm) => void, onTraceExit?: (line: string) => void): Promise<{ vm: Vm; vmmPopulates: number; firstTouches: number; loaded: number }> {
  const vm = await Vm.create({ memSize: 16 << 20, kernel: parseImage(touchGuest(PAGES * 4096), 'touch.bin', KERNEL_RAW_BASE), deterministic: true, onTraceExit });
  const loaded = vm.populatedPages;
  prepare?.(vm);
  let vmmPopulates = 0;
  const populate = vm.populate.bind(vm);
  vm.populate = (gpa: bigint) => {
    vmmPopulates++;
    return populate(gpa);
  };
  const r = await vm.run({ timeoutMs: 60_000 });
  expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
  const firstTouches = vm.exits.rows().find((row) => row.reason === 'guest-page fault: first touch of RAM')?.count ?? 0;
  return { vm, vmmPopulates, firstTouches, loaded };
}

/** Every touched page: backed, holding what the guest stored (its countdown), mapped to the frame the VMM knows. */
function checkPages(vm: Vm): void {
  for (let k = 0; k < PAGES; k++) {
    const gpa = FIRST + BigInt(k) * 4096n;
    expect(vm.isPopulated(gpa), `page ${k}`).toBe(true);
    expect(vm.readGuest(gpa, 8)).toEqual(new Uint8Array(new BigUint64Array([BigInt(PAGES - k)]).buffer));
    expect(vm.gstage.lookup(gpa)).toEqual({ hpa: vm.gpaToHpa(gpa), perms: 14n });
  }
}

describe('in-core population of guest RAM', () => {
  it('maps first touches from the pool: the VMM sees one exit for the new leaf table and one each time the pool runs dry', async () => {
    const { vm, vmmPopulates, firstTouches, loaded } = await touch();
    // Page 0 needs a leaf table (an exit; the VMM refills the pool to 128), pages 1..128 come
    // from the pool, page 129 finds it empty (an exit, refilled), 130..257 from the pool, 258 an
    // exit, 259..299 from the pool.
    expect(vmmPopulates).toBe(3);
    expect(firstTouches).toBe(PAGES); // counted all the same
    expect(vm.populatedPages).toBe(loaded + PAGES);
    checkPages(vm);
    // The pool was topped up after the entry; its frames are in use besides pages and tables.
    expect(vm.pop.pooled).toBe(A.POP_MAX);
    expect(vm.pop.logged).toBe(0);
    const g = vm.gstage.counters();
    expect(g.pages).toBe(vm.populatedPages);
    expect(vm.frames.counters().inUse).toBe(vm.populatedPages + g.tables + 3 + A.POP_MAX); // (+ the root's 3 frames past the first)
  }, 60_000);

  it('stays out while post-copy has pages on the source: every first touch exits to the VMM', async () => {
    const { vm, vmmPopulates, firstTouches, loaded } = await touch((vm) => {
      vm.missingPages = { has: () => false, fetch: async () => {}, all: async () => {} };
    });
    expect(vm.pop.enabled).toBe(false);
    expect([vmmPopulates, firstTouches, vm.populatedPages - loaded]).toEqual([PAGES, PAGES, PAGES]);
    checkPages(vm);
    vm.missingPages = undefined;
    expect(vm.pop.enabled).toBe(true);
  }, 60_000);

  it('stays out while a page is ballooned out, and comes back when it is given back', async () => {
    const hole = 0x80f00000n;
    const { vm, vmmPopulates, firstTouches } = await touch((vm) => {
      expect(vm.balloonOut(hole)).toBe(true);
    });
    expect(vm.pop.enabled).toBe(false);
    expect([vmmPopulates, firstTouches]).toEqual([PAGES, PAGES]);
    checkPages(vm);
    expect(vm.balloonIn(hole)).toBe(true);
    expect(vm.pop.enabled).toBe(true);
  }, 60_000);

  it('stays out while exits are traced: every first touch exits, and has its trace line', async () => {
    const lines: string[] = [];
    const { vm, vmmPopulates, firstTouches } = await touch(undefined, (line) => lines.push(line));
    expect([vmmPopulates, firstTouches]).toEqual([PAGES, PAGES]);
    expect(lines.filter((l) => l.includes('first touch of RAM')).length).toBe(PAGES);
    checkPages(vm);
  }, 60_000);
});
