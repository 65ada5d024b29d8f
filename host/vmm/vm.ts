/**
 * A virtual machine: guest-physical memory backed by host frames through a G-stage table, the
 * virt board's devices as the VMM's own models, and one vCPU (vcpu.ts) that runs the guest in
 * VS/VU mode on the Wasm hart. This is KVM's model with the hypervisor in TypeScript.
 *
 * Guest-physical map (as a KVM guest on QEMU's virt board sees it):
 *
 *   0x0010_0000  test finisher / syscon    MMIO, emulated
 *   0x0c00_0000  PLIC (context 0 = the guest's S context -> hvip.VSEIP)
 *   0x1000_0000  UART 16550 (PLIC source 10)
 *   0x1000_1000  virtio-mmio slots 0..7 (IRQ 1..8): blk, net, console, rng in slots 0..3 when
 *                configured, the rest empty (devices/virtio/slots.ts, as on the bare machine)
 *   0x8000_0000  RAM, memSize bytes: pages populated on first touch; kernel at its ELF
 *                addresses (or 0x8020_0000 raw), DTB near the top (as QEMU places it)
 *
 * Nothing but RAM is ever mapped in the G-stage, so every device access exits as a guest-page
 * fault and is decoded and emulated (mmio.ts). Host RAM (the bare machine's physical memory)
 * only holds the frames the frame allocator hands out: G-stage tables and populated pages.
 */
import { checkInitrdClear, chosenExtra, placeInitrd, userDtb, type BootOptions, type InitrdPlacement } from '../machine/boot-data';
import * as A from '../../assembly/abi';
import { UserError } from '../errors';
import { Plic, PLIC_SIZE } from '../devices/plic';
import { TestFinisher } from '../devices/test-finisher';
import { Uart16550 } from '../devices/uart16550';
import type { VirtioMmio } from '../devices/virtio/mmio';
import { VirtioSlots, type VirtioDevicesConfig } from '../devices/virtio/slots';
import type { GuestMemory } from '../devices/device';
import { Bus } from '../machine/bus';
import { instantiateCore, type CoreExports } from '../machine/core';
import { fdtLoadAddress, virtBoardFdt, VIRT_PLIC_BASE, VIRT_TEST_BASE, VIRT_UART0_BASE, VIRT_UART0_IRQ, VIRT_VIRTIO_BASE, VIRT_VIRTIO_COUNT, VIRT_VIRTIO_IRQ } from '../machine/fdt';
import { applyJitConfig, jitInBackground } from '../machine/jit';
import { HartState } from '../machine/hart';
import { HART_ISA, Ram } from '../machine/machine';
import { checkSegmentsClear } from '../machine/loader';
import { allocateMemory, memSizeLimit, sizeText } from '../machine/mem-size';
import type { JitConfig, LoadedImage, MachineStats, RunLimits, RunResult } from '../machine/types';
import { FrameAllocator, FRAME_SIZE } from './frames';
import { GStage, HGATP_MODE_SV39X4 } from './gstage';
import type { Fdt } from '../machine/fdt';
import type { SbiExtension, SuspendWake } from './sbi';
import { ExitStats, type WalkCounters } from './stats';
import { Vcpu } from './vcpu';
import { Vmcs } from './vmcs';
import { MAX_SHADOW_FRAMES } from './paging/shadow';
import { CorePopulate } from './populate';
import { oneWasmCompileTask } from './compile-tasks';
import { PageNotHere, type MissingPages } from '../machine/missing-pages';
export { PageNotHere, type MissingPages };
import type { PagingMode, VirtMode } from './virt/technique';

/** Guest RAM starts here, as on the virt board. */
export const GUEST_RAM_BASE = 0x80000000n;
/** Where a raw kernel image is loaded (after the 2 MiB an SBI firmware would occupy). */
export const KERNEL_RAW_BASE = 0x80200000n;
/** hvip.VSEIP: the virtual supervisor external interrupt. */
export const HVIP_VSEIP = 1n << 10n;

/** The core's exports in VM mode. */
export type VmCore = CoreExports & {
  /** Enter the guest of the VMCS at abi.ts VMCS; returns EXIT_*. */
  vmRun(): number;
  /** Enter a deprivileged guest kernel (trap-and-emulate); returns EXIT_*. */
  trapRun(): number;
};

/** How a VM is built. */
export interface VmConfig extends JitConfig, VirtioDevicesConfig {
  /** Guest RAM in bytes (a multiple of 4 KiB, 1 MiB..RAM_SIZE_MAX, machine.ts checkMemSize). */
  memSize: number;
  /** The S-mode kernel: ELF, or raw (loaded at 0x80200000). */
  kernel: LoadedImage;
  /** Time follows retired guest instructions only. */
  deterministic?: boolean;
  /** Bytes the guest writes to its console (UART or SBI). */
  onConsoleOutput?: (bytes: Uint8Array) => void;
  /** With --trace exits: called with one line per VM exit. */
  onTraceExit?: (line: string) => void;
  /**
   * Let the core answer the simplest SBI calls itself (assembly/sbi.ts: BASE's ids, set_timer),
   * as KVM answers SBI in the kernel; they are counted in the exit statistics all the same, but
   * not timed. On by default with --virt hw; false sends every call to sbi.ts (benchmarks).
   */
  sbiInCore?: boolean;
  /** hgatp mode of the G-stage table (Sv39x4 by default). */
  gstageMode?: bigint;
  /** How the CPU is virtualized (--virt): 'hw' (the H extension, the default), 'trap' (trap-and-emulate) or 'bt' (trap-and-emulate with the kernel's sensitive instructions translated; docs/techniques.md). */
  virt?: VirtMode;
  /** How guest memory is virtualized (--paging): nested by default with --virt hw; shadow otherwise. */
  paging?: PagingMode;
  /** Adds nodes to the guest's device tree before it is built (host/xen: /hypervisor). */
  fdtExtra?: (fdt: Fdt) => void;
  /** --append, --initrd, --dtb (issue 12); a user DTB replaces the generated tree and fdtExtra. */
  boot?: BootOptions;
}

/** Sources of the guest's virtual external interrupt (hvip.VSEIP is their OR): the PLIC... */
export const EIP_SOURCE_PLIC = 0;
/** ... and the hypervisor's event-channel upcall (host/xen). */
export const EIP_SOURCE_UPCALL = 1;

/** The result of `Vm.run`: a RunResult, plus the report line when the VMM stopped the guest. */
export interface VmRunResult extends RunResult {
  /** One line saying why the guest was stopped (an exit the VMM cannot handle), when it was. */
  failure?: string;
}

/**
 * Host RAM for a guest of `memSize`: the guest's pages plus room for the G-stage tables (one
 * leaf table per 2 MiB, the 16 KiB root and the tables between, with slack), and the shadow
 * tables with --virt trap. Every frame the VM can ever need fits in it, so a guest that touches
 * all its RAM never runs out of frames; the sizes where this does not fit the machine are
 * refused up front (checkVmMemSize).
 */
export function hostRamSize(memSize: number, virt: VirtMode = 'hw', paging?: PagingMode): number {
  const shadows = virt !== 'hw' || paging === 'shadow' ? MAX_SHADOW_FRAMES * 4096 : 0;
  const tables = Math.ceil(memSize / (512 * 4096)) * 4096 + 64 * 1024 + shadows;
  const size = memSize + tables + 2 ** 20;
  return Math.ceil(size / 4096) * 4096;
}

/** The most RAM a VM (or DomU) can have, in whole MiB: its host RAM must fit memSizeLimit(). */
export function vmMemSizeLimit(virt: VirtMode = 'hw'): number {
  const limit = memSizeLimit();
  let m = Math.floor(limit / 2 ** 20) * 2 ** 20;
  while (m > 0 && hostRamSize(m, virt) > limit) m -= 2 ** 20;
  return m;
}

/** Check the RAM size of a VM (`what` names where it came from: "--mem"). One-line UserError. */
export function checkVmMemSize(memSize: number, what = '--mem', virt: VirtMode = 'hw'): void {
  const max = vmMemSizeLimit(virt);
  if (!Number.isInteger(memSize) || memSize < 2 ** 20 || memSize > max || memSize % 4096 !== 0) {
    throw new UserError(`wasmvisor: ${what}: bad size ${memSize} (a VM needs a multiple of 4 KiB from 1M to ${sizeText(max)})`);
  }
}

/** The VMM's plain-data state in a snapshot (Vm.vmmState). */
export interface VmmState {
  /** Bit i: external-interrupt source i (EIP_SOURCE_*) asserted. */
  eipSources: number;
  /** Ballooned-out guest pages (decimal gpa strings). */
  holes: string[];
  exitCode: number | null;
  rebootRequested: boolean;
  /** An SBI HSM suspend in progress (bigints as decimal strings), or null. */
  suspended: { retentive: boolean; resumeAddr: string; opaque: string } | null;
}

/** One virtual machine with one vCPU. */
export class Vm {
  readonly core: VmCore;
  readonly memory: WebAssembly.Memory;
  /** The machine's physical RAM: the host frames. */
  readonly hostRam: Ram;
  readonly hart: HartState;
  readonly vmcs: Vmcs;
  readonly frames: FrameAllocator;
  readonly gstage: GStage;
  /** The guest's devices, at guest-physical addresses. */
  readonly bus = new Bus();
  readonly uart: Uart16550;
  readonly plic: Plic;
  /** The virtio devices (devices/virtio/slots.ts), reached through MMIO exits. */
  readonly virtio: VirtioSlots;
  /** The virtio-blk transport in virtio slot 0, when the config has a disk. */
  get blk(): VirtioMmio | undefined {
    return this.virtio.blk;
  }
  /** Typed input goes to the virtio console rather than the UART. */
  private inputToVirtio: boolean;
  /** Guest-physical address of the DTB (a1 at entry). */
  readonly dtbAddress: bigint;
  readonly vcpu: Vcpu;
  /** VM exits by reason. */
  readonly exits = new ExitStats();
  /** Set when the guest ended itself (SBI SRST, test finisher). */
  exitCode: number | undefined;
  /** Set when the guest asked for a reset (SBI SRST reboot, syscon 0x7777). */
  rebootRequested = false;
  private readonly dtb: Uint8Array;
  /** Where --initrd goes in guest RAM (undefined without one). */
  readonly initrd: InitrdPlacement | undefined;
  private readonly guestPages = new Map<number, bigint>(); // guest page number (gpa >> 12) -> host frame (number keys hash faster than bigint)
  /** In-core population (populate.ts): the pool the core maps first touches from, and its log. */
  readonly pop: CorePopulate;
  private readonly popInCore: boolean;
  // ---- hooks for host/xen (a VM without Xen never uses them) ----
  /** Vendor SBI extensions by EID, dispatched by sbi.ts (Xen's hypercalls). */
  readonly sbiExtensions = new Map<number, SbiExtension>();
  /** Bit i: external-interrupt source i (EIP_SOURCE_*) is asserted. */
  private eipSources = 0;
  /** Guest RAM pages given back to the host (ballooned out): not RAM until given back again. */
  private readonly holes = new Set<bigint>();
  // ---- end of hooks for host/xen ----

  /** Build a VM and load its kernel. Throws UserError for images that do not fit. */
  static async create(cfg: VmConfig): Promise<Vm> {
    return new Vm(cfg);
  }

  private constructor(readonly cfg: VmConfig) {
    checkVmMemSize(cfg.memSize, `${cfg.kernel.name}: memory`, cfg.virt);
    const hostSize = hostRamSize(cfg.memSize, cfg.virt, cfg.paging);
    this.memory = allocateMemory(hostSize, cfg.kernel.name);
    const core = instantiateCore(this.memory, jitInBackground(cfg)) as VmCore;
    oneWasmCompileTask(); // (host RSS: compile-tasks.ts)
    if (typeof core.vmRun !== 'function') {
      throw new UserError('wasmvisor: this build of the core has no H extension (no vmRun export); rebuild with `npm run build` or use --bare', 70);
    }
    this.core = core;
    core.init(BigInt(hostSize));
    this.hart = new HartState(this.memory);
    applyJitConfig(this.hart, cfg);
    this.hostRam = new Ram(this.memory, hostSize, core);
    // Host RAM is a new Memory and is never filled: nothing but the frames handed out is ever
    // written, so a fresh frame is zero as it is (frames.ts `zeroed`; a reused one is zeroed), and
    // the operating system gives RAM pages only to the frames the guest (or the VMM) writes: a VM
    // costs what its guest touches, and creation does not grow with --mem.
    this.vmcs = new Vmcs(this.memory);
    this.frames = new FrameAllocator(this.hostRam, cfg.kernel.name, undefined, true);
    this.gstage = new GStage(this.hostRam, this.frames, cfg.gstageMode ?? HGATP_MODE_SV39X4, 1n);
    this.pop = new CorePopulate(this.memory, this.frames);
    // First touches are handled in the core with nested paging (--virt hw, the G-stage); the
    // other techniques never walk a G-stage.
    this.popInCore = (cfg.virt ?? 'hw') === 'hw' && cfg.paging !== 'shadow';

    const out = cfg.onConsoleOutput ?? (() => {});
    // The guest's DT names only the S context of the PLIC, which makes it context 0.
    this.plic = new Plic((ctx, level) => {
      if (ctx === 0) this.setExternalInterrupt(EIP_SOURCE_PLIC, level);
    });
    this.uart = new Uart16550((b) => out(Uint8Array.of(b)), this.plic.source(VIRT_UART0_IRQ));
    this.bus.map(BigInt(VIRT_TEST_BASE), 0x1000n, new TestFinisher({
      onExit: (code) => { this.exitCode = code; },
      onReset: () => { this.rebootRequested = true; },
    }));
    this.bus.map(BigInt(VIRT_PLIC_BASE), BigInt(PLIC_SIZE), this.plic);
    this.bus.map(BigInt(VIRT_UART0_BASE), 0x100n, this.uart);
    // --- virtio devices (issue 6, issue 12): the same slots as the bare machine's (devices/virtio/slots.ts). ---
    this.virtio = new VirtioSlots(cfg, this.guestMemory(), VIRT_VIRTIO_BASE, VIRT_VIRTIO_COUNT, (slot) => this.plic.source(VIRT_VIRTIO_IRQ + slot), out, () => this.vcpu.wake());
    this.virtio.slots.forEach((dev, i) => this.bus.map(BigInt(VIRT_VIRTIO_BASE + i * 0x1000), 0x1000n, dev));
    this.inputToVirtio = cfg.consoleInput === 'virtio' && this.virtio.console !== undefined;

    // Boot data (issue 12): --initrd at QEMU's place, /chosen from --append/--initrd, or --dtb.
    this.initrd = placeInitrd(cfg.boot, cfg.kernel, GUEST_RAM_BASE, cfg.memSize);
    this.dtb = cfg.boot?.dtb
      ? userDtb(cfg.boot.dtb, cfg.boot, this.initrd)
      : virtBoardFdt({ memSize: cfg.memSize, hartIsa: HART_ISA, virtualMachine: true, extra: chosenExtra(cfg.boot, this.initrd, cfg.fdtExtra) });
    this.dtbAddress = fdtLoadAddress(GUEST_RAM_BASE, cfg.memSize, this.dtb.length);
    this.vcpu = new Vcpu(this);
    this.load();
    this.updatePopulateRange();
  }

  /** Load the kernel and the DTB into guest RAM and put the vCPU at the kernel's entry. */
  private load(): void {
    const { kernel } = this.cfg;
    // The device tree goes where QEMU puts it (2 MiB-aligned near the top of RAM); in a very
    // small VM that can fall on the kernel: refuse rather than run a corrupted kernel.
    const dtbRegion = { start: this.dtbAddress, end: this.dtbAddress + BigInt(this.dtb.length), what: 'the device tree' };
    checkSegmentsClear(kernel, dtbRegion, { kind: 'VM', memSize: this.cfg.memSize });
    checkInitrdClear(this.cfg.boot, this.initrd, dtbRegion);
    for (const seg of kernel.segments) {
      const size = Math.max(seg.memSize, seg.data.length);
      if (!this.isGuestRam(seg.paddr, size)) {
        throw new UserError(`${kernel.name}: segment at 0x${seg.paddr.toString(16)} (size 0x${size.toString(16)}) is outside guest RAM 0x80000000-0x${(GUEST_RAM_BASE + BigInt(this.cfg.memSize) - 1n).toString(16)}`);
      }
      this.writeGuest(seg.paddr, seg.data);
    }
    if (this.initrd) this.writeGuest(this.initrd.start, this.initrd.data);
    this.writeGuest(this.dtbAddress, this.dtb);
    this.vcpu.reset(kernel.entry, this.dtbAddress);
  }

  /** Reset the VM (guest reboot): fresh RAM, devices and vCPU, the kernel loaded again. */
  reboot(): void {
    this.rebootRequested = false;
    this.syncPopulated();
    for (const [pfn, hpa] of this.guestPages) {
      this.gstage.unmap(BigInt(pfn) << 12n);
      this.frames.release(hpa);
    }
    this.guestPages.clear();
    this.holes.clear();
    this.updatePopulateRange();
    this.eipSources = 0;
    this.core.flushAll();
    this.uart.reset();
    this.plic.reset();
    this.virtio.reset();
    this.load();
  }

  // ---- guest-physical memory ----

  /**
   * Guest RAM as devices see it (GuestMemory): reads and writes outside RAM throw a RangeError,
   * which the virtio transport turns into an error for the guest.
   */
  guestMemory(): GuestMemory {
    return {
      base: GUEST_RAM_BASE,
      size: this.cfg.memSize,
      read: (addr, length) => {
        const b = this.readGuest(addr, length);
        if (!b) throw new RangeError(`guest read 0x${addr.toString(16)}+${length} outside RAM`);
        return b;
      },
      write: (addr, bytes) => {
        if (!this.writeGuest(addr, bytes)) throw new RangeError(`guest write 0x${addr.toString(16)}+${bytes.length} outside RAM`);
      },
      access: (addr, length, write, use) => this.accessGuest(addr, length, write, use),
    };
  }

  /**
   * Zero-copy access to guest-physical [gpa, gpa + len) inside one page (GuestMemory.access):
   * `use` gets a view of the host frame behind it, valid only while it runs; with `write`, stale
   * decoded code of that range is dropped afterwards. Throws outside RAM or across a page.
   */
  accessGuest(gpa: bigint, len: number, write: boolean, use: (view: Uint8Array) => void): void {
    // A backend's data path (a segment per call): page numbers and offsets as numbers, no
    // bigint arithmetic unless the page must be populated or has holes around.
    const pfn = pfnOf(gpa);
    const off = Number(gpa & (FRAME_SIZE - 1n));
    const ramPfn = pfn - RAM_BASE_PFN;
    if (!(len >= 0 && off + len <= 4096 && ramPfn >= 0 && ramPfn < this.cfg.memSize / 4096) ||
        (this.holes.size !== 0 && this.holes.has(gpa - BigInt(off)))) {
      throw new RangeError(`guest access 0x${gpa.toString(16)}+${len} outside RAM or across a page`);
    }
    // One guest page is one host frame (populated on first use), so the view is contiguous.
    const hpa = this.guestPages.get(pfn) ?? this.populate(gpa);
    this.hostRam.accessAt(Number(hpa - this.hostRam.base) + off, len, write, use);
  }

  /** Whether [gpa, gpa + len) lies in guest RAM (and no page of it is ballooned out). */
  isGuestRam(gpa: bigint, len = 1): boolean {
    const inside = gpa >= GUEST_RAM_BASE && gpa + BigInt(len) <= GUEST_RAM_BASE + BigInt(this.cfg.memSize) && len >= 0;
    return inside && (this.holes.size === 0 || !this.hitsHole(gpa, len));
  }

  // ---- hooks for host/xen: the virtual external interrupt's sources, ballooning ----

  /**
   * Assert or deassert one source of the guest's external interrupt (EIP_SOURCE_*):
   * hvip.VSEIP is set while any source is, so the PLIC and the Xen upcall do not undo each other.
   */
  setExternalInterrupt(source: number, level: boolean): void {
    this.eipSources = level ? this.eipSources | (1 << source) : this.eipSources & ~(1 << source);
    this.vmcs.hvip = this.eipSources !== 0 ? this.vmcs.hvip | HVIP_VSEIP : this.vmcs.hvip & ~HVIP_VSEIP;
  }

  /** Whether a page of [gpa, gpa + len) is ballooned out (bounded by len / 4 KiB pages). */
  private hitsHole(gpa: bigint, len: number): boolean {
    const last = (gpa + BigInt(Math.max(len, 1)) - 1n) & ~(FRAME_SIZE - 1n);
    for (let p = gpa & ~(FRAME_SIZE - 1n); p <= last; p += FRAME_SIZE) if (this.holes.has(p)) return true;
    return false;
  }

  /** Whether the page holding `gpa` is ballooned out. */
  isBallooned(gpa: bigint): boolean {
    return this.holes.has(gpa & ~(FRAME_SIZE - 1n));
  }

  /** Pages ballooned out. */
  get balloonedPages(): number {
    return this.holes.size;
  }

  /**
   * Balloon out the RAM page holding `gpa` (XENMEM_decrease_reservation): unmap it from the
   * G-stage, give its frame back to the allocator, flush the hart's translations. From now on
   * the page is not RAM: a guest access to it is an access fault, as to a hole in the map.
   * False if it is not guest RAM (or is already out).
   */
  balloonOut(gpa: bigint): boolean {
    const page = gpa & ~(FRAME_SIZE - 1n);
    if (!this.isGuestRam(page, Number(FRAME_SIZE))) return false;
    this.syncPopulated();
    const hpa = this.guestPages.get(pfnOf(page));
    if (hpa !== undefined) {
      this.gstage.unmap(page);
      this.frames.release(hpa);
      this.guestPages.delete(pfnOf(page));
      this.vcpu.technique.guestPageRemoved?.(page);
      this.core.flushTlb();
    }
    this.holes.add(page);
    this.updatePopulateRange();
    return true;
  }

  /**
   * Give a ballooned-out page back (XENMEM_populate_physmap): a fresh zeroed frame, mapped.
   * False if the page is not ballooned out. Throws UserError when the host has no frame left.
   */
  balloonIn(gpa: bigint): boolean {
    const page = gpa & ~(FRAME_SIZE - 1n);
    if (!this.holes.has(page)) return false;
    this.populate(page);
    this.holes.delete(page);
    this.updatePopulateRange();
    return true;
  }
  // ---- end of hooks for host/xen ----

  /** Whether the guest page holding `gpa` has a host frame. */
  isPopulated(gpa: bigint): boolean {
    const pfn = pfnOf(gpa);
    return this.guestPages.has(pfn) || this.syncPopulated(pfn) !== undefined;
  }

  /**
   * Back the guest RAM page holding `gpa` with a fresh zeroed frame and map it (first touch).
   * Returns the frame. The caller flushes the hart's translations.
   */
  populate(gpa: bigint): bigint {
    const pfn = pfnOf(gpa);
    const have = this.guestPages.get(pfn) ?? this.syncPopulated(pfn);
    if (have !== undefined) return have;
    // Post-copy: a page still on the source is left unmapped in the G-stage, so the guest's first
    // touch is a guest-page fault that lands here, as does any host access (SBI, the VMM).
    if (this._missingPages !== undefined && this._missingPages.has(pfn)) throw new PageNotHere(pfn);
    const hpa = this.pop.take() ?? this.frames.alloc();
    this.gstage.map(gpa & ~(FRAME_SIZE - 1n), hpa);
    this.guestPages.set(pfn, hpa);
    this.pop.refill();
    return hpa;
  }

  /**
   * Read the pages the core populated itself (populate.ts) into the map of guest pages; returns
   * the frame of page `pfn` if it is one of them. Every reader of the map calls it first, unless
   * it found what it looked for (the core only ever adds pages).
   */
  syncPopulated(pfn?: number): bigint | undefined {
    if (this.pop.logged === 0) return undefined;
    const n = this.pop.drain((p, hpa) => this.guestPages.set(p, hpa));
    this.gstage.countMapped(n);
    return pfn === undefined ? undefined : this.guestPages.get(pfn);
  }

  /**
   * Let the core populate guest RAM while every page of it may be (no page still on a post-copy
   * source, none ballooned out), and top its pool up.
   */
  private updatePopulateRange(): void {
    if (this.popInCore && !this.popHeld && this._missingPages === undefined && this.holes.size === 0) {
      this.pop.setRange(RAM_BASE_PFN, RAM_BASE_PFN + this.cfg.memSize / 4096);
      this.pop.refill();
    } else {
      this.pop.setRange(0, 0);
    }
  }

  /**
   * While `held`, every first touch exits to the VMM, as every SBI call does (vcpu.ts: when exits
   * are traced or a debugger holds the vCPU, each exit must be seen).
   */
  holdPopulate(held: boolean): void {
    if (held === this.popHeld) return;
    this.popHeld = held;
    this.updatePopulateRange();
  }
  private popHeld = false;

  /** Guest pages backed by host frames. */
  get populatedPages(): number {
    this.syncPopulated();
    return this.guestPages.size;
  }

  /** The host address of guest RAM byte `gpa` (populating its page), or undefined if not RAM. */
  gpaToHpa(gpa: bigint): bigint | undefined {
    if (!this.isGuestRam(gpa)) return undefined;
    return this.populate(gpa) | (gpa & (FRAME_SIZE - 1n));
  }

  /** Copy guest-physical RAM out; undefined unless the whole range is guest RAM. */
  readGuest(gpa: bigint, len: number): Uint8Array | undefined {
    if (!this.isGuestRam(gpa, len)) return undefined;
    const out = new Uint8Array(len);
    this.eachPage(gpa, len, (hpa, off, n) => out.set(this.hostRam.read(hpa, n), off));
    return out;
  }

  /** Copy bytes into guest-physical RAM; false unless the whole range is guest RAM. */
  writeGuest(gpa: bigint, bytes: Uint8Array): boolean {
    if (!this.isGuestRam(gpa, bytes.length)) return false;
    this.eachPage(gpa, bytes.length, (hpa, off, n) => this.hostRam.write(hpa, bytes.subarray(off, off + n)));
    return true;
  }

  private eachPage(gpa: bigint, len: number, f: (hpa: bigint, off: number, n: number) => void): void {
    let off = 0;
    while (off < len) {
      const a = gpa + BigInt(off);
      const n = Math.min(len - off, Number(FRAME_SIZE - (a & (FRAME_SIZE - 1n))));
      f(this.gpaToHpa(a) as bigint, off, n);
      off += n;
    }
  }

  // ---- hooks for host/snapshot (docs/snapshot.md) ----

  /** Each populated guest page (gpa >> 12) with its host frame's address, unordered (live migration's dirty log). */
  populatedFrames(): IterableIterator<[number, bigint]> {
    this.syncPopulated();
    return this.guestPages.entries();
  }

  /** Guest page numbers (gpa >> 12) backed by host frames, ascending. */
  populatedPfns(): number[] {
    this.syncPopulated();
    return [...this.guestPages.keys()].sort((a, b) => a - b);
  }

  /**
   * Post-copy (host/migrate/postcopy-target.ts): pages still arriving, or undefined (then
   * populate() is as before: the check is on the first-touch path only, never on a mapped page).
   * While it is set, the core populates nothing: each first touch exits to populate().
   */
  get missingPages(): MissingPages | undefined {
    return this._missingPages;
  }
  set missingPages(m: MissingPages | undefined) {
    this._missingPages = m;
    this.updatePopulateRange();
  }
  private _missingPages: MissingPages | undefined;

  /** Unmap one populated guest page and give its frame back (post-copy: a stale pre-copied page). */
  unpopulate(gpa: bigint): void {
    const pfn = pfnOf(gpa);
    this.syncPopulated();
    const hpa = this.guestPages.get(pfn);
    if (hpa === undefined) return;
    this.gstage.unmap(gpa & ~(FRAME_SIZE - 1n));
    this.frames.release(hpa);
    this.guestPages.delete(pfn);
    this.core.flushTlb();
  }

  /** Unmap every populated guest page and give its frame back (a restore refills RAM). */
  releaseGuestRam(): void {
    this.syncPopulated();
    for (const [pfn, hpa] of this.guestPages) {
      this.gstage.unmap(BigInt(pfn) << 12n);
      this.frames.release(hpa);
    }
    this.guestPages.clear();
    this.core.flushTlb();
  }

  /** The VMM's own state besides RAM, the vCPU registers and the devices (plain data). */
  vmmState(vendorWake = false): VmmState {
    return {
      eipSources: this.eipSources,
      holes: [...this.holes].map((h) => h.toString()),
      exitCode: this.exitCode ?? null,
      rebootRequested: this.rebootRequested,
      suspended: this.vcpu.suspendState(vendorWake),
    };
  }

  loadVmmState(s: VmmState, wake?: SuspendWake): void {
    this.eipSources = s.eipSources;
    this.holes.clear();
    for (const h of s.holes) this.holes.add(BigInt(h));
    this.updatePopulateRange();
    this.exitCode = s.exitCode ?? undefined;
    this.rebootRequested = s.rebootRequested;
    this.vcpu.loadSuspendState(s.suspended, wake);
  }
  // ---- end of hooks for host/snapshot ----

  // ---- running ----

  /** Keys typed by the user: into the UART or the virtio console (and wake a halted vCPU). */
  consoleInput(bytes: Uint8Array): void {
    const hvc = this.inputToVirtio ? this.virtio.consoleDevice : undefined;
    if (hvc) hvc.receive(bytes);
    else this.uart.receive(bytes);
    this.vcpu.wake();
  }

  /** Move typed input to the other console (UART <-> virtio console); returns where it goes now. */
  switchConsoleInput(): 'uart' | 'virtio' {
    this.inputToVirtio = !this.inputToVirtio && this.virtio.console !== undefined;
    return this.inputToVirtio ? 'virtio' : 'uart';
  }

  /** Make a running run() return with reason 'stopped'. */
  stop(): void {
    this.vcpu.stop();
  }

  /** Run until the guest exits, a limit is reached, the VMM stops the guest, or stop(). */
  run(limits: RunLimits = {}): Promise<VmRunResult> {
    return this.vcpu.run(limits);
  }

  /** The hart's walk counters: one-dimensional and two-dimensional walks are counted apart. */
  walkCounters(): WalkCounters {
    const h = this.hart;
    // Shadow paging under the H extension runs with hgatp Bare: the core's V=1 walker counts its
    // walks as two-dimensional, but the G-stage adds no step, so they are one-dimensional walks
    // (of the shadow in vsatp), as under --virt trap.
    if (this.cfg.virt !== 'trap' && this.cfg.virt !== 'bt' && this.cfg.virt !== 'pv' && this.cfg.paging === 'shadow') {
      return { walks1d: h.statWalks + h.statWalks2d, refs1d: h.statWalkRefs + h.statWalkRefs2d, walks2d: 0n, refs2d: 0n };
    }
    return { walks1d: h.statWalks, refs1d: h.statWalkRefs, walks2d: h.statWalks2d, refs2d: h.statWalkRefs2d };
  }

  /** The machine counters (as the bare machine's --stats), for the guest. */
  stats(): MachineStats {
    const h = this.hart;
    const v = this.vcpu;
    return {
      instructions: v.instructions,
      wallMs: v.wallMs,
      mips: v.wallMs > 0 ? Number(v.instructions) / v.wallMs / 1000 : 0,
      ...h.counters(),
      mmioExits: v.mmioExits,
      haltExits: v.haltExits,
    };
  }
}

/** The page number of GUEST_RAM_BASE. */
const RAM_BASE_PFN = Number(GUEST_RAM_BASE >> 12n);

/** The guest page number of `gpa` (gpa >> 12, exact: guest RAM ends below 2^53). */
function pfnOf(gpa: bigint): number {
  return Number(gpa >> 12n);
}
