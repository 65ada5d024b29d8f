/**
 * Save and restore a whole machine or VM (docs/snapshot.md):
 *
 *   saveSnapshot(target): Uint8Array          between run() calls (the target is not running)
 *   restoreSnapshot(target, bytes, file?)     into a target built from the same command line
 *
 * Sections, in file order: CONF (what the restore checks against its command line), HART (the
 * state and VMCS regions, hart.ts), CLCK (mtime), MACH (bare machine: finisher and reset flags)
 * or VMM (VM: external-interrupt sources, balloon holes, HSM suspend), one DEVC section per bus
 * device (named NAME@BASE, written by the device's Snapshotable.saveState), RAM (sparse pages).
 */
import { UserError } from '../errors';
import type { MmioDevice } from '../devices/device';
import type { Machine, MachineInternals } from '../machine/machine';
import type { HartState } from '../machine/hart';
import type { GuestClock } from '../machine/guest-clock';
import type { CoreExports } from '../machine/core';
import type { JitConfig, LoadedImage } from '../machine/types';
import { Vm, type VmmState } from '../vmm/vm';
import { TrapTechnique } from '../vmm/virt/trap';
import type { SuspendWake } from '../vmm/sbi';
import { crc32, decodeSnapshot, encodeSnapshot, sectionKey, SectionReader, SectionWriter, SnapshotError, type Section } from './format';
import { HART_VERSION, loadHart, saveHart } from './hart';
import { isSnapshotable, whyNotSnapshotable, type Snapshotable } from './snapshotable';
import { bareRamPages, loadRam, RAM_VERSION, saveRam, type RamPages } from './ram';

/** What a restore checks against its own command line (the CONF section). */
export interface SnapshotConfig {
  /** 'xen': a Xen DomU's VM (host/snapshot/xen.ts), so that a build without Xen saves refuses it. */
  mode: 'bare' | 'vm' | 'xen';
  /** --virt technique (VM mode). */
  virt: string | null;
  memSize: number;
  /** CRC-32 of the kernel's loaded segments (and of --bios's): the same image. */
  kernel: string;
  bios: string | null;
  /** Bus devices, NAME@BASE in mapping order. */
  devices: string[];
  /** Where the device tree is (moves with --mem, --append, --initrd, --dtb). */
  dtbAddress: string;
  /** Size of the --disk image (its contents are not in the snapshot). */
  diskBytes: number | null;
  deterministic: boolean;
}

/** Return `target`'s RAM to its state at creation (nothing populated, all zero): a migration's target fills it in. */
export function clearRam(target: Machine | Vm): void {
  const p = partsOf(target);
  p.beforeRam();
  p.ram.clear();
}

/** A machine or a VM as snapshots see it. */
interface Parts {
  config: SnapshotConfig;
  memory: WebAssembly.Memory;
  core: CoreExports;
  hart: HartState;
  clock: GuestClock;
  jit: JitConfig;
  devices: { key: string; device: MmioDevice }[];
  ram: RamPages;
  /** Finish what the core has outstanding (bare: an MMIO access). */
  quiesce(): void;
  /** MACH or VMM: the target's own flags. */
  own: { tag: string; save(): unknown; load(v: unknown): void };
  /** Why this target cannot be saved at all, or undefined. */
  blocker: string | undefined;
  /** Before RAM is replaced (VM, --virt trap: drop the shadows, which point at its frames). */
  beforeRam(): void;
  /** After the hart regions are loaded (VM: hgatp names this VM's G-stage root). */
  afterHart(): void;
}

const hex = (v: bigint) => '0x' + v.toString(16);

/** Digests of loaded images: a kernel is tens of MB and a migration's stop-and-copy asks twice. */
const digests = new WeakMap<LoadedImage, string>();

function imageDigest(image: LoadedImage): string {
  const known = digests.get(image);
  if (known !== undefined) return known;
  const d = computeDigest(image);
  digests.set(image, d);
  return d;
}

function computeDigest(image: LoadedImage): string {
  let c = crc32(new TextEncoder().encode(`${image.entry}`));
  for (const s of image.segments) c = crc32(s.data, crc32(new TextEncoder().encode(`${s.paddr}:${s.memSize}`), c));
  return c.toString(16).padStart(8, '0');
}

function busKeys(list: readonly { base: bigint; device: MmioDevice }[]): { key: string; device: MmioDevice }[] {
  return list.map((w) => {
    const at = `@${w.base.toString(16)}`;
    return { key: w.device.name.endsWith(at) ? w.device.name : `${w.device.name}${at}`, device: w.device };
  });
}

function bareParts(m: MachineInternals): Parts {
  const { cfg, core, hart, clock, ram } = m;
  const devices = busKeys(m.bus.list());
  return {
    config: {
      mode: 'bare', virt: null, memSize: cfg.memSize, kernel: imageDigest(cfg.kernel), bios: cfg.bios ? imageDigest(cfg.bios) : null,
      devices: devices.map((d) => d.key), dtbAddress: hex(m.dtbAddress), diskBytes: cfg.disk?.size ?? null, deterministic: cfg.deterministic === true,
    },
    memory: ram.memory, core, hart, clock, jit: cfg, devices,
    ram: bareRamPages(ram, core),
    quiesce: () => m.quiesce(),
    own: { tag: 'MACH', save: () => m.flags(), load: (v) => m.setFlags(v as ReturnType<MachineInternals['flags']>) },
    blocker: undefined,
    beforeRam: () => {},
    afterHart: () => {},
  };
}

/** A Xen DomU's VM (host/snapshot/xen.ts saves the Xen state around it). */
export interface XenVmOptions {
  /** What ends the vCPU's SCHEDOP_poll, re-armed by the restore (undefined: not polling). */
  wake?: SuspendWake;
}

function vmParts(vm: Vm, xen?: XenVmOptions): Parts {
  const cfg = vm.cfg;
  const devices = busKeys(vm.bus.list());
  const virt = cfg.virt ?? 'hw';
  const trap = vm.vcpu.technique instanceof TrapTechnique ? vm.vcpu.technique : undefined;
  return {
    config: {
      mode: xen ? 'xen' : 'vm', virt, memSize: cfg.memSize, kernel: imageDigest(cfg.kernel), bios: null,
      devices: devices.map((d) => d.key), dtbAddress: hex(vm.dtbAddress), diskBytes: cfg.disk?.size ?? null, deterministic: cfg.deterministic === true,
    },
    memory: vm.memory, core: vm.core, hart: vm.hart, clock: vm.vcpu.clock, jit: cfg, devices,
    ram: vmRamPages(vm),
    quiesce: () => {},
    own: {
      tag: 'VMM ',
      // --virt trap: the emulated S-mode CSRs the VMCS does not hold (the rest of its state,
      // the shadow tables, is derived: dropped on restore and rebuilt on demand).
      save: () => ({ ...vm.vmmState(xen !== undefined), trapCsrs: trap ? { scounteren: trap.csrs.scounteren.toString(), senvcfg: trap.csrs.senvcfg.toString() } : null }),
      load: (v) => {
        const s = v as VmmState & { trapCsrs: { scounteren: string; senvcfg: string } | null };
        vm.loadVmmState(s, xen?.wake);
        if (trap && s.trapCsrs) {
          trap.csrs.scounteren = BigInt(s.trapCsrs.scounteren);
          trap.csrs.senvcfg = BigInt(s.trapCsrs.senvcfg);
        }
      },
    },
    blocker: virt !== 'hw' && virt !== 'trap' ? `snapshots of --virt ${virt} are not supported yet (only --virt hw and trap)`
      // The guest's own satp lives in the technique (HwShadowTechnique.guestSatp), not the VMCS.
      : cfg.paging === 'shadow' && virt === 'hw' ? 'snapshots of --virt hw --paging shadow are not supported yet (only nested paging under --virt hw)'
      : vm.sbiExtensions.size !== 0 && xen === undefined ? 'snapshots of Xen domains are not supported yet' : undefined,
    beforeRam: () => trap?.shadow.clear(),
    afterHart: () => { vm.vmcs.hgatp = vm.gstage.hgatp; },
  };
}

/** Guest RAM of a VM as pages: the populated ones, in guest-physical order. */
function vmRamPages(vm: Vm): RamPages {
  const base = 0x80000000n;
  return {
    pageCount: vm.cfg.memSize / 4096,
    *saved() {
      for (const pfn of vm.populatedPfns()) {
        const index = pfn - Number(base >> 12n);
        yield { index, data: vm.readGuest(BigInt(pfn) << 12n, 4096) as Uint8Array, populated: true };
      }
    },
    clear: () => vm.releaseGuestRam(),
    put: (index, data) => {
      const gpa = base + (BigInt(index) << 12n);
      vm.populate(gpa);
      if (data) vm.writeGuest(gpa, data);
    },
  };
}

function partsOf(target: Machine | Vm, xen?: XenVmOptions): Parts {
  return target instanceof Vm ? vmParts(target, xen) : bareParts(target.snapshotInternals());
}

/** What a restore into `target` checks (the CONF section); live migration sends it first. */
export function snapshotConfig(target: Machine | Vm): SnapshotConfig {
  return partsOf(target).config;
}

/** Why `target` cannot be saved (one line), or undefined: a migration checks before it starts. */
export function whyNotSaveable(target: Machine | Vm): string | undefined {
  const p = partsOf(target);
  if (p.blocker) return p.blocker;
  for (const d of p.devices) {
    const why = whyNotSnapshotable(d.device, d.key);
    if (why) return why;
  }
  return undefined;
}

/**
 * Save `target` (not running: between run() calls). Throws a one-line UserError when it cannot be saved.
 * `withoutRam`: leave the RAM section out (live migration sends RAM as pages, host/migrate/).
 */
export function saveSnapshot(target: Machine | Vm, opts: { withoutRam?: boolean } = {}): Uint8Array {
  return encodeSnapshot(snapshotSections(target, opts));
}

/** The sections saveSnapshot writes (a Xen save adds its own: host/snapshot/xen.ts). */
export function snapshotSections(target: Machine | Vm, opts: { withoutRam?: boolean; xen?: XenVmOptions } = {}): Section[] {
  const p = partsOf(target, opts.xen);
  if (p.blocker) throw new UserError(`wasmvisor: cannot save: ${p.blocker}`);
  for (const d of p.devices) {
    const why = whyNotSnapshotable(d.device, d.key);
    if (why) throw new UserError(`wasmvisor: cannot save: ${why}`);
  }
  p.quiesce();
  for (const d of p.devices) if (isSnapshotable(d.device)) d.device.quiesceState?.();
  const sections: Section[] = [];
  const add = (tag: string, name: string, version: number, fill: (w: SectionWriter) => void) => {
    const w = new SectionWriter();
    fill(w);
    sections.push({ tag, name, version, payload: w.result() });
  };
  add('CONF', '', 1, (w) => w.json(p.config));
  add('HART', '', HART_VERSION, (w) => saveHart(w, p.memory));
  add('CLCK', '', 1, (w) => {
    w.u64(p.clock.mtime());
    w.u8(p.clock.deterministic ? 1 : 0);
  });
  add(p.own.tag, '', 1, (w) => w.json(p.own.save()));
  for (const d of p.devices) {
    const dev = d.device as MmioDevice & Snapshotable;
    add('DEVC', d.key, dev.stateVersion ?? 1, (w) => dev.saveState(w));
  }
  if (!opts.withoutRam) add('RAM ', '', RAM_VERSION, (w) => saveRam(w, p.ram));
  return sections;
}

/**
 * Restore `bytes` (read from `file`, for messages) into `target`, which was built from the same
 * command line. Everything is checked before anything is changed: a mismatch or a corrupt file
 * is a one-line SnapshotError (exit 2) and leaves the target as it was.
 */
export function restoreSnapshot(target: Machine | Vm, bytes: Uint8Array, file = 'snapshot', opts: { ramInPlace?: boolean } = {}): void {
  const sections = decodeSnapshot(file, bytes);
  if (sections.has('XDOM')) throw new SnapshotError(file, 'this is a Xen domain\'s save file (restore it with wasmvisor xl restore)');
  restoreSections(target, sections, file, opts);
}

/**
 * restoreSnapshot's work on decoded sections. A Xen restore (host/snapshot/xen.ts) first checks
 * its own sections, then calls this; `check` runs after the VM's sections passed and before
 * anything changes (the Xen sections' checks).
 */
export function restoreSections(target: Machine | Vm, sections: Map<string, Section>, file: string,
  opts: { ramInPlace?: boolean; xen?: XenVmOptions; check?: () => void } = {}): void {
  const p = partsOf(target, opts.xen);
  const need = (tag: string, name = ''): Section => {
    const s = sections.get(sectionKey(tag, name));
    if (!s) throw new SnapshotError(file, `section ${sectionKey(tag, name)} is missing`);
    return s;
  };
  const reader = (s: Section) => new SectionReader(file, sectionKey(s.tag, s.name), s.payload);
  const conf = reader(need('CONF')).json<SnapshotConfig>();
  checkConfig(file, conf, p.config);
  for (const d of p.devices) {
    if (!isSnapshotable(d.device)) throw new SnapshotError(file, `${d.key} does not support snapshots`);
    need('DEVC', d.key);
  }
  const hart = need('HART');
  const clck = reader(need('CLCK'));
  const mtime = clck.u64();
  clck.u8();
  clck.end();
  const own = reader(need(p.own.tag)).json<unknown>();
  // ramInPlace: live migration (host/migrate/incoming.ts) has already written RAM; there is no RAM section.
  const ram = opts.ramInPlace ? undefined : need('RAM ');
  if (ram && ram.version !== RAM_VERSION) throw new SnapshotError(file, `RAM section version ${ram.version}, this wasmvisor reads ${RAM_VERSION}`);
  opts.check?.();
  // Checked: now change the target. (In place, as the monitor's loadvm does, the core may hold an
  // MMIO access it exited for: finish it first, or the next entry would complete it on the new state.)
  p.quiesce();
  p.beforeRam();
  if (ram) loadRam(reader(ram), p.ram);
  loadHart(reader(hart), p.memory, p.hart, p.jit);
  p.afterHart();
  // Guest time goes on from the saved mtime, in the target's own time mode (guest-clock.ts).
  p.clock.reset();
  p.clock.set(mtime);
  p.own.load(own);
  for (const d of p.devices) {
    const s = need('DEVC', d.key);
    const r = reader(s);
    (d.device as MmioDevice & Snapshotable).loadState(r, s.version);
    r.end();
  }
  p.core.flushAll(); // TLBs, page-walk cache, BT cache and JIT regions: rebuilt on demand
}

/** The CONF section against the target's own: the first difference is one line. */
export function checkConfig(file: string, saved: SnapshotConfig, mine: SnapshotConfig): void {
  const mib = (n: number) => (n % 2 ** 20 === 0 ? `${n / 2 ** 20}M` : `${n} bytes`);
  const bad = (what: string) => new SnapshotError(file, `snapshot does not match the command line: ${what}`);
  const kind = (m: SnapshotConfig['mode'], flag: string) => (m === 'bare' ? `bare machine${flag}` : m === 'xen' ? 'Xen domain' : 'VM');
  if (saved.mode !== mine.mode) throw bad(`it is of a ${kind(saved.mode, ' (--bare)')}, not a ${kind(mine.mode, '')}`);
  if (saved.virt !== mine.virt) throw bad(`--virt ${saved.virt} in the snapshot, --virt ${mine.virt} here`);
  if (saved.memSize !== mine.memSize) throw bad(`--mem ${mib(saved.memSize)} in the snapshot, --mem ${mib(mine.memSize)} here`);
  if (saved.kernel !== mine.kernel) throw bad(`a different image (checksum ${saved.kernel}, this one's is ${mine.kernel})`);
  if (saved.bios !== mine.bios) throw bad(`a different --bios (${saved.bios ?? 'none'} in the snapshot, ${mine.bios ?? 'none'} here)`);
  const devs = (l: string[]) => l.join(', ');
  if (devs(saved.devices) !== devs(mine.devices)) {
    const missing = saved.devices.find((d) => !mine.devices.includes(d));
    const extra = mine.devices.find((d) => !saved.devices.includes(d));
    throw bad(missing ? `device ${missing} is not on this machine` : extra ? `device ${extra} is not in the snapshot` : 'devices in another order');
  }
  if (saved.diskBytes !== mine.diskBytes) throw bad(`a disk of ${saved.diskBytes ?? 'no'} bytes in the snapshot, ${mine.diskBytes ?? 'no'} here`);
  if (saved.dtbAddress !== mine.dtbAddress) throw bad(`device tree at ${saved.dtbAddress} in the snapshot, at ${mine.dtbAddress} here (--append, --initrd or --dtb differ)`);
}
