/**
 * Host-side audits of one VM for the isolation tests: what its G-stage table maps (walked
 * independently of GStage, straight from host RAM), and a canary over every host frame the
 * VM's frame allocator has not handed out.
 */
import { FRAME_SIZE } from '../../host/vmm/frames';
import { read64 } from '../../host/vmm/gstage';
import type { Vm } from '../../host/vmm/vm';

/** Everything a G-stage table reaches. */
export interface GStageMap {
  /** Guest page -> host frame, for every valid leaf. */
  leaves: Map<bigint, bigint>;
  /** Leaf PTEs by guest page (to check their bits). */
  leafPtes: Map<bigint, bigint>;
  /** Host frames holding the tables (the 16 KiB root as its 4 frames). */
  tables: Set<bigint>;
  /** Problems found while walking (a non-leaf PTE with R/W/X, a superpage, ...). */
  oddities: string[];
}

const PPN = (pte: bigint) => ((pte >> 10n) & ((1n << 44n) - 1n)) << 12n;

/** Walk the VM's whole G-stage table (Sv39x4 or Sv48x4) from hgatp in host RAM. */
export function walkGStage(vm: Vm): GStageMap {
  const ram = vm.hostRam;
  const levels = vm.gstage.levels;
  const root = (vm.vmcs.hgatp & ((1n << 44n) - 1n) & ~3n) << 12n;
  const m: GStageMap = { leaves: new Map(), leafPtes: new Map(), tables: new Set(), oddities: [] };
  const inRam = (hpa: bigint) => hpa >= ram.base && hpa + FRAME_SIZE <= ram.base + BigInt(ram.size);
  const visit = (table: bigint, level: number, gpaBase: bigint, entries: number) => {
    for (let f = 0n; f < BigInt(entries * 8); f += FRAME_SIZE) m.tables.add(table + f);
    for (let i = 0; i < entries; i++) {
      const pte = read64(ram, table + BigInt(i * 8));
      if ((pte & 1n) === 0n) {
        if (pte !== 0n) m.oddities.push(`invalid PTE with bits 0x${pte.toString(16)} at level ${level}`);
        continue;
      }
      const gpa = gpaBase | (BigInt(i) << BigInt(12 + 9 * level));
      const target = PPN(pte);
      if (!inRam(target)) {
        m.oddities.push(`PTE for GPA 0x${gpa.toString(16)} points outside host RAM: 0x${target.toString(16)}`);
        continue;
      }
      if ((pte & 0xen) === 0n) {
        if (level === 0) m.oddities.push(`non-leaf PTE at level 0 for GPA 0x${gpa.toString(16)}`);
        else visit(target, level - 1, gpa, 512);
      } else {
        if (level !== 0) m.oddities.push(`superpage leaf at level ${level} for GPA 0x${gpa.toString(16)}`);
        m.leaves.set(gpa, target);
        m.leafPtes.set(gpa, pte);
      }
    }
  };
  visit(root, levels - 1, 0n, 2048);
  return m;
}

/** The pattern canary frames are filled with. */
export const CANARY_BYTE = 0xa5;

/** Frames of the VM's host RAM that its allocator does not own right now. */
export function unownedFrames(vm: Vm): bigint[] {
  const out: bigint[] = [];
  const ram = vm.hostRam;
  for (let f = ram.base; f + FRAME_SIZE <= ram.base + BigInt(ram.size); f += FRAME_SIZE) {
    if (!vm.frames.owns(f)) out.push(f);
  }
  return out;
}

/** Fill every unowned host frame with the canary; returns the frames filled. */
export function plantCanary(vm: Vm): Set<bigint> {
  // Fresh frames are no longer zero as they are: the allocator must zero each it hands out.
  vm.frames.zeroFreshFrames();
  const frames = unownedFrames(vm);
  for (const f of frames) vm.hostRam.fill(f, Number(FRAME_SIZE), CANARY_BYTE);
  return new Set(frames);
}

/**
 * Frames from `planted` that are still unowned and no longer hold the canary (each as
 * "0xHPA: first changed byte at +OFF"). Frames the allocator handed out since were zeroed by
 * it and are checked by `walkGStage` instead.
 */
export function damagedCanary(vm: Vm, planted: Set<bigint>): string[] {
  const bad: string[] = [];
  for (const f of planted) {
    if (vm.frames.owns(f)) continue;
    const b = vm.hostRam.read(f, Number(FRAME_SIZE));
    const i = b.findIndex((x) => x !== CANARY_BYTE);
    if (i >= 0) bad.push(`0x${f.toString(16)}: first changed byte at +0x${i.toString(16)} (0x${b[i].toString(16)})`);
  }
  return bad;
}

/**
 * The frames waiting in the VM's in-core populate pool (host/vmm/populate.ts), each checked:
 * owned by the VM, neither a G-stage table nor a guest page, and zero. Returns the problems.
 */
export function poolProblems(vm: Vm, g: { leaves: Map<bigint, bigint>; tables: Set<bigint> }): string[] {
  const bad: string[] = [];
  const leaves = new Set(g.leaves.values());
  for (const f of vm.pop.poolFrames()) {
    const at = `pool frame 0x${f.toString(16)}`;
    if (!vm.frames.owns(f)) bad.push(`${at}: not owned`);
    if (leaves.has(f) || g.tables.has(f)) bad.push(`${at}: mapped`);
    if (vm.hostRam.read(f, Number(FRAME_SIZE)).some((b) => b !== 0)) bad.push(`${at}: not zero`);
  }
  return bad;
}
