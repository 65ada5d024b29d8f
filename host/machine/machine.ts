/**
 * The bare machine: one RV64 hart (the Wasm core) on a QEMU `virt`-compatible board.
 *
 * The run loop is the host half of the KVM_RUN model: call core.run(), handle the exit it
 * returns (MMIO to a device, HTIF, WFI, budget), repeat. The core never calls the host.
 */
import { checkInitrdClear, chosenExtra, placeInitrd, userDtb, type InitrdPlacement } from './boot-data';
import * as A from '../../assembly/abi';
import { UserError } from '../errors';
import type { GuestMemory, HartTimer } from '../devices/device';
import { Clint, CLINT_SIZE } from '../devices/clint';
import { Plic, PLIC_SIZE } from '../devices/plic';
import { TestFinisher } from '../devices/test-finisher';
import { Uart16550 } from '../devices/uart16550';
import type { VirtioMmio } from '../devices/virtio/mmio';
import { VirtioSlots } from '../devices/virtio/slots';
import { Bus } from './bus';
import { instantiateCore, type CoreExports } from './core';
import { fdtLoadAddress, virtBoardFdt, VIRT_CLINT_BASE, VIRT_PLIC_BASE, VIRT_TEST_BASE, VIRT_UART0_BASE, VIRT_UART0_IRQ, VIRT_VIRTIO_BASE, VIRT_VIRTIO_COUNT, VIRT_VIRTIO_IRQ } from './fdt';
import { buildFwDynamicInfo, fwDynamicInfoAddress } from './fw-dynamic';
import { applyJitConfig, jitInBackground } from './jit';
import { checkSegmentsClear, checkTohostFits } from './loader';
import { allocateMemory, memSizeLimit, sizeText } from './mem-size';
import { HartState } from './hart';
import { PageNotHere, startsDma, type MissingPages } from './missing-pages';
import { HaltSleeper, NEVER } from './halt';
import { GuestClock } from './guest-clock';
import type { LoadedImage, MachineConfig, MachineStats, RunGate, RunLimits, RunResult } from './types';

/** The hart's ISA as the device tree advertises it. */
export const HART_ISA = 'rv64imafdc_zicsr_zifencei_zicntr_sstc';
/** Instructions per run() call: small enough to keep the event loop and the clock responsive. */
const SLICE = 1_000_000n;
const MIP_MSIP = 1n << 3n;
const MIP_SEIP = 1n << 9n;
const MIP_MEIP = 1n << 11n;
const STCE = 1n << 63n;
const MIP_STIP = 1n << 5n;
const MIP_MTIP = 1n << 7n;

/** Guest RAM as devices and loaders see it; host writes drop stale decoded code. */
export class Ram implements GuestMemory {
  readonly base = BigInt(A.RAM_BASE);
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(readonly memory: WebAssembly.Memory, readonly size: number, private readonly core: CoreExports) {
    this.bytes = new Uint8Array(memory.buffer, A.RAM_OFFSET, size);
    this.view = new DataView(memory.buffer, A.RAM_OFFSET, size);
  }
  /**
   * Post-copy (host/migrate/postcopy-target.ts): RAM pages still arriving. A host access to one
   * (a device's DMA) throws PageNotHere rather than read or write it. A device is started only by
   * an access that waited for every page (run(), startsDma), so this is a guard, not a path.
   */
  missing: MissingPages | undefined;
  private offset(addr: bigint, length: number): number {
    const off = addr - this.base;
    if (off < 0n || off + BigInt(length) > BigInt(this.size)) {
      throw new RangeError(`guest RAM: 0x${addr.toString(16)}+${length} is outside RAM`);
    }
    if (this.missing !== undefined) this.present(Number(off), length);
    return Number(off);
  }
  private present(off: number, length: number): void {
    for (let p = off >> 12; p <= (off + Math.max(length, 1) - 1) >> 12; p++) if (this.missing!.has(p)) throw new PageNotHere(p);
  }
  write(addr: bigint, data: Uint8Array): void {
    this.bytes.set(data, this.offset(addr, data.length));
    this.core.invalidateRam(addr, BigInt(data.length));
  }
  /**
   * write() of one whole page by RAM page number (`data`: 4096 bytes): the migration's path for
   * every page it receives, with numbers where write() takes and makes BigInts.
   */
  writePage(page: number, data: Uint8Array): void {
    if (!(page >= 0 && (page + 1) * 4096 <= this.size && data.length === 4096)) throw new RangeError(`guest RAM: page ${page} (${data.length} bytes) is outside RAM or not a page`);
    if (this.missing !== undefined && this.missing.has(page)) throw new PageNotHere(page);
    this.bytes.set(data, page * 4096);
    this.core.invalidateRamPages(page, 1);
  }
  read(addr: bigint, length: number): Uint8Array {
    const off = this.offset(addr, length);
    return this.bytes.slice(off, off + length);
  }
  fill(addr: bigint, length: number, value: number): void {
    const off = this.offset(addr, length);
    this.bytes.fill(value, off, off + length);
    this.core.invalidateRam(addr, BigInt(length));
  }
  access(addr: bigint, length: number, write: boolean, use: (view: Uint8Array) => void): void {
    this.accessAt(this.offset(addr, length), length, write, use);
  }
  /** access() at byte `off` of RAM (a number: the callers' fast path). */
  accessAt(off: number, length: number, write: boolean, use: (view: Uint8Array) => void): void {
    if (!(off >= 0 && length >= 0 && (off & 0xfff) + length <= 0x1000 && off + length <= this.size)) {
      throw new RangeError(`guest RAM: offset 0x${off.toString(16)}+${length} is outside RAM or crosses a page`);
    }
    if (this.missing !== undefined) this.present(off, length);
    use(this.bytes.subarray(off, off + length));
    if (write) this.core.invalidateRam(this.base + BigInt(off), BigInt(length));
  }
  read64(addr: bigint): bigint {
    return this.view.getBigUint64(this.offset(addr, 8), true);
  }
  write64(addr: bigint, value: bigint): void {
    this.view.setBigUint64(this.offset(addr, 8), BigInt.asUintN(64, value), true);
    this.core.invalidateRam(addr, 8n);
  }
}

/** The machine's parts as host/snapshot sees them (Machine.snapshotInternals). */
export interface MachineInternals {
  cfg: MachineConfig;
  core: CoreExports;
  hart: HartState;
  clock: GuestClock;
  bus: Bus;
  ram: Ram;
  dtbAddress: bigint;
  quiesce(): void;
  flags(): { exitCode: number | null; resetRequested: boolean };
  setFlags(f: { exitCode: number | null; resetRequested: boolean }): void;
}

/** Check a RAM size: a multiple of 4 KiB, from 1 MiB to memSizeLimit(). */
export function checkMemSize(memSize: number, what = '--mem'): void {
  if (!Number.isInteger(memSize) || memSize < 2 ** 20 || memSize > memSizeLimit() || memSize % 4096 !== 0) {
    throw new UserError(`wasmvisor: ${what}: bad size ${memSize} (need a multiple of 4 KiB from 1M to ${sizeText(memSizeLimit())})`);
  }
}

/** A bare-metal RV64 machine. */
export class Machine {
  /** Guest-physical RAM. */
  readonly memory: GuestMemory;
  /** The hart's registers and CSRs (read-only use outside the machine). */
  readonly hart: HartState;
  /** Physical address of the device tree handed to the guest in a1. */
  readonly dtbAddress: bigint;
  readonly uart: Uart16550;
  /** The virtio devices (devices/virtio/slots.ts: blk, net, console, rng in fixed slots). */
  readonly virtio: VirtioSlots;
  /** The virtio-blk transport in virtio slot 0, when the config has a disk. */
  get blk(): VirtioMmio | undefined {
    return this.virtio.blk;
  }

  /** The core instance (the debugger sets breakpoints and single-step mode through it). */
  readonly core: CoreExports;
  private readonly bus = new Bus();
  private readonly ram: Ram;
  private readonly plic: Plic;
  private exitCode: number | undefined;
  private stopRequested = false;
  /**
   * Milliseconds of guest running between two turns of the host's event loop (stdin, timers,
   * stop()). Live migration's pre-copy lowers it while it sends (host/migrate/source.ts).
   */
  yieldMs = 20;
  private resetRequested = false;
  private readonly sleeper = new HaltSleeper();
  /** mtime (guest-clock.ts): wall time, or instruction time with --deterministic. */
  private readonly clock: GuestClock;
  private counters = { mmioExits: 0n, haltExits: 0n, wallMs: 0 };

  /** Build a machine and load its images. Throws UserError for images that do not fit. */
  static async create(cfg: MachineConfig): Promise<Machine> {
    return new Machine(cfg);
  }

  private constructor(private readonly cfg: MachineConfig) {
    checkMemSize(cfg.memSize);
    const memory = allocateMemory(cfg.memSize, cfg.kernel.name);
    this.core = instantiateCore(memory, jitInBackground(cfg));
    this.core.init(BigInt(cfg.memSize));
    this.hart = new HartState(memory);
    this.clock = new GuestClock(this.hart, this.core, cfg.deterministic === true);
    applyJitConfig(this.hart, cfg);
    this.ram = new Ram(memory, cfg.memSize, this.core);
    this.memory = this.ram;

    const out = cfg.onConsoleOutput ?? (() => {});
    this.plic = new Plic((ctx, level) => this.setLine(ctx === 0 ? MIP_MEIP : MIP_SEIP, level));
    this.uart = new Uart16550((b) => out(Uint8Array.of(b)), this.plic.source(VIRT_UART0_IRQ));
    const timer: HartTimer = {
      mtime: () => this.clock.mtime(),
      getMtimecmp: () => this.hart.mtimecmp,
      setMtimecmp: (v) => { this.hart.mtimecmp = v; },
      getMsip: () => (this.hart.irqLines & MIP_MSIP) !== 0n,
      setMsip: (level) => this.setLine(MIP_MSIP, level),
      setMtime: (v) => this.clock.set(v),
    };
    this.bus.map(BigInt(VIRT_TEST_BASE), 0x1000n, new TestFinisher({
      onExit: (code) => { this.exitCode = code; },
      onReset: () => { this.resetRequested = true; },
    }));
    this.bus.map(BigInt(VIRT_CLINT_BASE), BigInt(CLINT_SIZE), new Clint(timer));
    this.bus.map(BigInt(VIRT_PLIC_BASE), BigInt(PLIC_SIZE), this.plic);
    this.bus.map(BigInt(VIRT_UART0_BASE), 0x100n, this.uart);
    // --- virtio devices (issue 6, issue 12): the same slots as a VM's (devices/virtio/slots.ts). ---
    this.virtio = new VirtioSlots(cfg, this.ram, VIRT_VIRTIO_BASE, VIRT_VIRTIO_COUNT, (slot) => this.plic.source(VIRT_VIRTIO_IRQ + slot), out, () => this.sleeper.wake());
    this.virtio.slots.forEach((dev, i) => this.bus.map(BigInt(VIRT_VIRTIO_BASE + i * 0x1000), 0x1000n, dev));
    this.inputToVirtio = cfg.consoleInput === 'virtio' && this.virtio.console !== undefined;

    // Boot data (issue 12): --initrd at QEMU's place, /chosen from --append/--initrd, or --dtb.
    this.initrd = placeInitrd(cfg.boot, cfg.kernel, BigInt(A.RAM_BASE), cfg.memSize);
    const dtb = cfg.boot?.dtb ? userDtb(cfg.boot.dtb, cfg.boot, this.initrd) : virtBoardFdt({ memSize: cfg.memSize, hartIsa: HART_ISA, extra: chosenExtra(cfg.boot, this.initrd) });
    this.dtbAddress = fdtLoadAddress(BigInt(A.RAM_BASE), cfg.memSize, dtb.length);
    this.dtb = dtb;
    this.checkBootData();
    this.load();
  }
  private readonly dtb: Uint8Array;
  /** Where --initrd goes in RAM (undefined without one). */
  readonly initrd: InitrdPlacement | undefined;

  /**
   * Refuse images that the boot data would overwrite (the DTB near the top of RAM, with --bios
   * also fw_dynamic_info below it; the VMM makes the same check) and a tohost outside RAM.
   */
  private checkBootData(): void {
    const { kernel, bios, memSize } = this.cfg;
    const start = bios ? fwDynamicInfoAddress(this.dtbAddress) : this.dtbAddress;
    const region = { start, end: this.dtbAddress + BigInt(this.dtb.length), what: bios ? 'the device tree and fw_dynamic_info' : 'the device tree' };
    if (start < this.ram.base) {
      throw new UserError(`${(bios ?? kernel).name}: no room below the device tree for fw_dynamic_info in a ${memSize / 2 ** 20} MiB machine; give the machine more memory (--mem)`);
    }
    for (const image of bios ? [bios, kernel] : [kernel]) checkSegmentsClear(image, region, { kind: 'machine', memSize });
    checkInitrdClear(this.cfg.boot, this.initrd, region);
    if (!bios) checkTohostFits(kernel, this.ram.base, memSize);
  }

  /**
   * Copy the images and the DTB into RAM and reset the hart (also on a guest-requested reset,
   * after the core zeroed the pages written since creation: a new machine's RAM is zero).
   */
  private load(): void {
    const { kernel, bios } = this.cfg;
    this.virtio.reset(); // a machine reset resets the devices (issue 6)
    for (const image of bios ? [bios, kernel] : [kernel]) this.loadImage(image);
    if (this.initrd) this.ram.write(this.initrd.start, this.initrd.data);
    this.ram.write(this.dtbAddress, this.dtb);
    let entry = kernel.entry;
    let a2 = 0n;
    if (bios) {
      // OpenSBI fw_dynamic: a2 points at struct fw_dynamic_info naming the payload.
      a2 = fwDynamicInfoAddress(this.dtbAddress);
      this.ram.write(a2, buildFwDynamicInfo({ nextAddr: kernel.entry }));
      entry = bios.entry;
    }
    this.hart.tohost = bios ? 0n : (kernel.tohost ?? 0n);
    this.hart.irqLines = 0n;
    this.core.reset(entry, 0n, this.dtbAddress, a2);
    this.clock.reset();
  }

  private loadImage(image: LoadedImage): void {
    for (const seg of image.segments) {
      const size = Math.max(seg.memSize, seg.data.length);
      const end = seg.paddr + BigInt(size);
      if (seg.paddr < this.ram.base || end > this.ram.base + BigInt(this.ram.size)) {
        throw new UserError(`${image.name}: segment at 0x${seg.paddr.toString(16)} (size 0x${size.toString(16)}) is outside RAM 0x80000000-0x${(this.ram.base + BigInt(this.ram.size) - 1n).toString(16)}`);
      }
      this.ram.write(seg.paddr, seg.data);
    }
  }

  private setLine(bit: bigint, level: boolean): void {
    this.hart.irqLines = level ? this.hart.irqLines | bit : this.hart.irqLines & ~bit;
  }

  /** Typed input goes to the virtio console rather than the UART (cfg.consoleInput, switchConsoleInput). */
  private inputToVirtio: boolean;

  /** Keys typed by the user: into the UART's receive queue or the virtio console (and wake a sleeping hart). */
  consoleInput(bytes: Uint8Array): void {
    const hvc = this.inputToVirtio ? this.virtio.consoleDevice : undefined;
    if (hvc) hvc.receive(bytes);
    else this.uart.receive(bytes);
    this.sleeper.wake();
  }

  /** Move typed input to the other console (UART <-> virtio console); returns where it goes now. */
  switchConsoleInput(): 'uart' | 'virtio' {
    this.inputToVirtio = !this.inputToVirtio && this.virtio.console !== undefined;
    return this.inputToVirtio ? 'virtio' : 'uart';
  }

  /** Make a running run() return with reason 'stopped'. */
  stop(): void {
    this.stopRequested = true;
    this.sleeper.wake();
  }

  /** A debugger's hold on the run loop (host/debug/), undefined when none is attached. */
  gate: RunGate | undefined;
  /** --trace io (host/debug/trace.ts): called after each MMIO access with what it moved. */
  traceIo: ((addr: bigint, size: number, write: boolean, value: bigint) => void) | undefined;
  /** End a WFI sleep early (a debugger's interrupt request). */
  wake(): void {
    this.sleeper.wake();
  }
  /** Reset the machine as the guest's syscon reset does, at the next entry (monitor system_reset). */
  requestReset(): void {
    this.resetRequested = true;
    this.sleeper.wake();
  }

  /** Traps and interrupts the hart has taken (what a trap storm does instead of retiring). */
  private trapsTaken(): bigint {
    return this.hart.statTraps + this.hart.statInterrupts;
  }

  /** Run until the guest exits, a limit is reached, or stop() is called. */
  async run(limits: RunLimits = {}): Promise<RunResult> {
    const t0 = performance.now();
    const i0 = this.hart.instret;
    const deadline = limits.timeoutMs !== undefined ? t0 + limits.timeoutMs : Infinity;
    const maxI = limits.maxInstructions;
    const e0 = this.trapsTaken();
    let lastYield = t0;
    const result = (reason: RunResult['reason'], exitCode: number): RunResult => {
      const wallMs = performance.now() - t0;
      this.counters.wallMs += wallMs;
      return { reason, exitCode, instructions: this.hart.instret - i0, traps: this.trapsTaken() - e0, wallMs };
    };
    for (;;) {
      if (this.exitCode !== undefined) return result('exit', this.exitCode);
      if (this.stopRequested) {
        // Consumed here, not cleared at run()'s start: a stop() that lands between two run()
        // calls (a caller running the guest in slices, a timer between them) stops the next one.
        this.stopRequested = false;
        return result('stopped', 0);
      }
      if (this.resetRequested) {
        this.resetRequested = false;
        this.core.zeroRam();
        this.core.init(BigInt(this.cfg.memSize));
        applyJitConfig(this.hart, this.cfg); // (init cleared the state, the JIT settings with it)
        this.load();
      }
      let budget = SLICE;
      if (maxI !== undefined) {
        const left = i0 + maxI - this.hart.instret;
        // A trap storm retires nothing: as many traps as the limit allows instructions end it too.
        if (left <= 0n || this.trapsTaken() - e0 >= maxI) return result('max-instructions', 0);
        if (left < budget) budget = left;
      }
      const gate = this.gate;
      if (gate !== undefined) {
        budget = await gate.enter(budget);
        if (this.exitCode !== undefined || this.stopRequested || this.resetRequested) continue;
      }
      this.clock.sync();
      const reason = this.core.run(budget);
      if (reason === A.EXIT_MMIO) {
        // Post-copy: a device that may start DMA is reached only once every page is in.
        if (this.ram.missing !== undefined && startsDma(this.bus, this.hart.mmioAddr)) await this.ram.missing.all();
        this.mmio();
      }
      else if (reason === A.EXIT_HTIF) this.htif();
      else if (reason === A.EXIT_ABSENT) {
        // Post-copy: the hart stopped before touching a page still on the source (assembly/phys.ts);
        // fetch it and re-enter, which repeats the access.
        const page = Number((this.core.absentAddress() - BigInt(A.RAM_BASE)) >> 12n);
        await this.ram.missing!.fetch(page);
        continue;
      }
      // (a debugger that now holds the hart takes over a WFI's wait)
      if (gate !== undefined && gate.exited(reason)) continue;
      if (reason === A.EXIT_HALT) {
        this.counters.haltExits++;
        await this.halt(deadline);
      }
      const now = performance.now();
      if (now >= deadline) return result('timeout', 0);
      if (now - lastYield > this.yieldMs) {
        // Let stdin, timers and stop() in.
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
  }

  /** Perform the access the core exited for, on the device that owns the address. */
  private mmio(): void {
    this.counters.mmioExits++;
    const h = this.hart;
    const addr = h.mmioAddr;
    const size = h.mmioSize;
    const w = this.bus.find(addr, size);
    if (!w) {
      h.mmioStatus = A.MMIO_FAULT;
      return;
    }
    const off = Number(addr - w.base);
    if (h.mmioWrite) w.device.write(off, size, h.mmioData & ((1n << BigInt(size * 8)) - 1n));
    else h.mmioData = w.device.read(off, size);
    h.mmioStatus = A.MMIO_OK;
    this.traceIo?.(addr, size, h.mmioWrite, h.mmioData & ((1n << BigInt(size * 8)) - 1n));
  }

  /**
   * HTIF (Spike's host-target interface): tohost = device << 56 | command << 48 | payload.
   * Device 0 command 0 with payload bit 0 set: exit with code payload >> 1. Device 1 command 1:
   * console putchar. The host then clears tohost, as Spike's front end does.
   */
  private htif(): void {
    const v = this.hart.htifValue;
    const dev = v >> 56n;
    const cmd = (v >> 48n) & 0xffn;
    const payload = v & 0xffff_ffff_ffffn;
    const tohost = this.hart.tohost;
    if (dev === 0n && cmd === 0n && (payload & 1n) === 1n) {
      this.exitCode = Number((payload >> 1n) & 0xffn);
    } else if (dev === 1n && cmd === 1n) {
      this.cfg.onConsoleOutput?.(Uint8Array.of(Number(payload & 0xffn)));
    } else {
      throw new UserError(`${this.cfg.kernel.name}: unsupported HTIF request 0x${v.toString(16)} (device ${dev}, command ${cmd})`, 1);
    }
    this.ram.write(tohost, new Uint8Array(8));
  }

  /** WFI with nothing pending: sleep until the next timer deadline, input, or stop(). */
  private async halt(deadline: number): Promise<void> {
    const h = this.hart;
    const now = this.clock.mtime();
    // Only a timer whose interrupt is enabled in mie can end this WFI.
    let due = NEVER;
    if ((h.mie & MIP_MTIP) !== 0n && h.mtimecmp > now) due = h.mtimecmp;
    if ((h.mie & MIP_STIP) !== 0n && (h.menvcfg & STCE) !== 0n && h.stimecmp > now && h.stimecmp < due) due = h.stimecmp;
    await this.sleeper.wait({
      now, due, deterministic: this.cfg.deterministic === true, deadline,
      advance: (ticks) => this.clock.advance(ticks),
      inputPending: this.uart.pendingInput() > 0,
    });
    this.clock.idle();
  }

  /**
   * What host/snapshot saves and restores of this machine (docs/snapshot.md). `quiesce`
   * finishes an MMIO access the core exited for (run(0) completes it and retires nothing more),
   * so no exit is outstanding in the core's globals when its state is copied.
   */
  snapshotInternals(): MachineInternals {
    return {
      cfg: this.cfg, core: this.core, hart: this.hart, clock: this.clock, bus: this.bus, ram: this.ram,
      dtbAddress: this.dtbAddress,
      quiesce: () => void this.core.run(0n),
      flags: () => ({ exitCode: this.exitCode ?? null, resetRequested: this.resetRequested }),
      setFlags: (f) => {
        this.exitCode = f.exitCode ?? undefined;
        this.resetRequested = f.resetRequested;
      },
    };
  }

  /** Counters for --stats. */
  stats(): MachineStats {
    const h = this.hart;
    const wallMs = this.counters.wallMs;
    return {
      instructions: h.instret,
      wallMs,
      mips: wallMs > 0 ? Number(h.instret) / wallMs / 1000 : 0,
      ...h.counters(),
      mmioExits: this.counters.mmioExits,
      haltExits: this.counters.haltExits,
    };
  }
}
