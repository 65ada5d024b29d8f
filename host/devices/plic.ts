/**
 * The PLIC of the `virt` board (compatible "sifive,plic-1.0.0", at 0x0c00_0000, size
 * 0x600000), following the RISC-V PLIC specification 1.0.0 with QEMU `virt`'s parameters:
 * 96 interrupt ids (0 means "none", so sources 1..95), 3 priority bits, 2 contexts
 * (0 = hart 0 M-mode -> MIP.MEIP, 1 = hart 0 S-mode -> MIP.SEIP).
 *
 *   +0x000000 + 4*src            priority of source src (src 0 reads 0)
 *   +0x001000 + 4*w              pending bits, sources 32w..32w+31 (read-only)
 *   +0x002000 + 0x80*ctx + 4*w   enable bits of context ctx
 *   +0x200000 + 0x1000*ctx       priority threshold of context ctx
 *   +0x200004 + 0x1000*ctx       claim (read) / complete (write) of context ctx
 *
 * Sources are level-triggered. Each has a gateway (spec §"Interrupt Gateways"): the first
 * assertion of its level sets the pending bit, and no further request is forwarded until the
 * handler completes the claimed interrupt. A pending bit stays set if the device drops its
 * level before the claim (spec: the handler then finds nothing to do). Completion re-pends a
 * source only if the device re-asserted it (called `set(true)`) while it was in service and
 * its level is still high: as QEMU's sifive_plic, which pends on each request the device makes
 * and never on complete. A device that keeps its line high without a new request (a 16550
 * whose THRE interrupt the guest never acknowledges through IIR) is not taken again and again
 * (docs/board.md, "PLIC: completion does not re-pend a level by itself").
 *
 * Registers are 32 bits wide. An 8-byte access is served as two 32-bit ones (low word first);
 * narrower accesses see their bytes of the word.
 */

import type { IrqLine, MmioDevice } from './device';
import type { SectionReader, SectionWriter } from '../snapshot/format';

/** Interrupt ids including the reserved 0: sources are 1..PLIC_NUM_SOURCES-1. */
export const PLIC_NUM_SOURCES = 96;
/** Contexts: 0 = hart 0 M-mode, 1 = hart 0 S-mode. */
export const PLIC_NUM_CONTEXTS = 2;
/** Largest priority (3 priority bits, as QEMU's virt). */
export const PLIC_MAX_PRIORITY = 7;
/** Size of the PLIC window on `virt`. */
export const PLIC_SIZE = 0x600000;

const PRIORITY_BASE = 0x0;
const PENDING_BASE = 0x1000;
const ENABLE_BASE = 0x2000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x200000;
const CONTEXT_STRIDE = 0x1000;
/** 32-bit words in a bitmap of all sources. */
const WORDS = PLIC_NUM_SOURCES / 32;

/** A PLIC's complete state as plain data (sources listed by id). */
export interface PlicState {
  /** priority[src] for src 0..95. */
  priority: number[];
  /** Sources whose pending bit is set. */
  pending: number[];
  /** Sources claimed and not yet completed. */
  inService: number[];
  /** Sources whose input level is high. */
  level: number[];
  /** Sources re-asserted while in service (pended on completion); absent in older snapshots. */
  requested?: number[];
  /** enable[ctx]: the sources enabled for context ctx. */
  enable: number[][];
  /** threshold[ctx]. */
  threshold: number[];
}

/** The PLIC model. */
export class Plic implements MmioDevice {
  readonly name: string;
  private readonly priority = new Uint32Array(PLIC_NUM_SOURCES);
  private readonly pending = new Uint8Array(PLIC_NUM_SOURCES);
  private readonly inService = new Uint8Array(PLIC_NUM_SOURCES);
  private readonly level = new Uint8Array(PLIC_NUM_SOURCES);
  /** requested[n]: source n was asserted again while in service. */
  private readonly requested = new Uint8Array(PLIC_NUM_SOURCES);
  /** enable[ctx * WORDS + w]: bit i = source 32w + i. */
  private readonly enable = new Uint32Array(PLIC_NUM_CONTEXTS * WORDS);
  private readonly threshold = new Uint32Array(PLIC_NUM_CONTEXTS);
  /** Current level of each context's external-interrupt output. */
  private readonly lines: boolean[] = new Array<boolean>(PLIC_NUM_CONTEXTS).fill(false);

  /**
   * @param output called when a context's interrupt output changes level (the machine maps
   *   context 0 to MIP.MEIP and context 1 to MIP.SEIP)
   */
  constructor(
    private readonly output: (context: number, level: boolean) => void,
    name = 'plic',
  ) {
    this.name = name;
  }

  /** The input line of source `n` (1..95), for a device to drive. */
  source(n: number): IrqLine {
    if (!Number.isInteger(n) || n < 1 || n >= PLIC_NUM_SOURCES) {
      throw new RangeError(`plic: source ${n} does not exist (valid: 1..${PLIC_NUM_SOURCES - 1})`);
    }
    return { set: (level: boolean) => this.setLevel(n, level) };
  }

  read(offset: number, size: number): bigint {
    if (size === 8) {
      const lo = BigInt(this.readWord(offset));
      return lo | (BigInt(this.readWord(offset + 4)) << 32n);
    }
    const shift = (offset & 3) * 8;
    const word = this.readWord(offset & ~3);
    return BigInt(((word >>> shift) & (size >= 4 ? 0xffffffff : (1 << (size * 8)) - 1)) >>> 0);
  }

  write(offset: number, size: number, value: bigint): void {
    if (size === 8) {
      this.writeWord(offset, Number(value & 0xffffffffn));
      this.writeWord(offset + 4, Number((value >> 32n) & 0xffffffffn));
      return;
    }
    if (size >= 4) {
      this.writeWord(offset, Number(value & 0xffffffffn));
      return;
    }
    // A narrow write changes its bytes of the word and keeps the others.
    const aligned = offset & ~3;
    const shift = (offset & 3) * 8;
    const mask = (((1 << (size * 8)) - 1) << shift) >>> 0;
    const old = this.peekWord(aligned);
    this.writeWord(aligned, ((old & ~mask) | ((Number(value) << shift) & mask)) >>> 0);
  }

  /** Reset: every register 0, nothing pending or in service; input levels are kept. */
  reset(): void {
    this.priority.fill(0);
    this.pending.fill(0);
    this.inService.fill(0);
    this.requested.fill(0);
    this.enable.fill(0);
    this.threshold.fill(0);
    for (let n = 1; n < PLIC_NUM_SOURCES; n++) if (this.level[n]) this.pending[n] = 1;
    this.update();
  }

  /** The state as plain data. */
  snapshot(): PlicState {
    const ids = (a: Uint8Array) => [...a.keys()].filter((n) => a[n] !== 0);
    const enable: number[][] = [];
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      enable.push([...Array(PLIC_NUM_SOURCES).keys()].filter((n) => this.isEnabled(ctx, n)));
    }
    return {
      priority: [...this.priority],
      pending: ids(this.pending),
      inService: ids(this.inService),
      level: ids(this.level),
      requested: ids(this.requested),
      enable,
      threshold: [...this.threshold],
    };
  }

  /** Snapshots (host/snapshot): the plain-data state as JSON. */
  saveState(w: SectionWriter): void {
    w.json(this.snapshot());
  }
  loadState(r: SectionReader): void {
    this.restore(r.json<PlicState>());
  }

  /** Load a state from `snapshot()`; calls the output callback for every context. */
  restore(s: PlicState): void {
    const valid = (n: number) => Number.isInteger(n) && n >= 1 && n < PLIC_NUM_SOURCES;
    this.priority.fill(0);
    s.priority.forEach((p, n) => {
      if (valid(n)) this.priority[n] = p & PLIC_MAX_PRIORITY;
    });
    for (const [arr, list] of [
      [this.pending, s.pending],
      [this.inService, s.inService],
      [this.level, s.level],
      [this.requested, s.requested ?? []],
    ] as const) {
      arr.fill(0);
      for (const n of list) if (valid(n)) arr[n] = 1;
    }
    this.enable.fill(0);
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      for (const n of s.enable[ctx] ?? []) {
        if (valid(n)) this.enable[ctx * WORDS + (n >> 5)] |= 1 << (n & 31);
      }
      this.threshold[ctx] = Math.min(s.threshold[ctx] ?? 0, PLIC_MAX_PRIORITY);
    }
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      this.lines[ctx] = this.best(ctx) !== 0;
      this.output(ctx, this.lines[ctx]);
    }
  }

  // ---- gateways and the core ----

  private setLevel(n: number, level: boolean): void {
    this.level[n] = level ? 1 : 0;
    if (!level) {
      this.requested[n] = 0;
    } else if (this.inService[n]) {
      this.requested[n] = 1; // forwarded when the handler completes
    } else if (!this.pending[n]) {
      this.pending[n] = 1;
      this.update();
    }
  }

  private isEnabled(ctx: number, n: number): boolean {
    return ((this.enable[ctx * WORDS + (n >> 5)] >>> (n & 31)) & 1) !== 0;
  }

  /**
   * The interrupt a claim by `ctx` would return: the pending, enabled source with the highest
   * priority above the context's threshold, the lowest id among equals; 0 if none.
   */
  private best(ctx: number): number {
    let id = 0;
    let max = this.threshold[ctx];
    for (let n = 1; n < PLIC_NUM_SOURCES; n++) {
      if (this.pending[n] && this.priority[n] > max && this.isEnabled(ctx, n)) {
        id = n;
        max = this.priority[n];
      }
    }
    return id;
  }

  /** Recompute each context's output and report the ones that changed. */
  private update(): void {
    for (let ctx = 0; ctx < PLIC_NUM_CONTEXTS; ctx++) {
      const level = this.best(ctx) !== 0;
      if (level !== this.lines[ctx]) {
        this.lines[ctx] = level;
        this.output(ctx, level);
      }
    }
  }

  private claim(ctx: number): number {
    const id = this.best(ctx);
    if (id !== 0) {
      this.pending[id] = 0;
      this.inService[id] = 1;
      this.update();
    }
    return id;
  }

  private complete(ctx: number, id: number): void {
    // Spec §"Interrupt Completion": an id not enabled for the context is silently ignored.
    if (id <= 0 || id >= PLIC_NUM_SOURCES || !this.isEnabled(ctx, id)) return;
    this.inService[id] = 0;
    if (this.level[id] && this.requested[id]) this.pending[id] = 1;
    this.requested[id] = 0;
    this.update();
  }

  // ---- register file ----

  /** A register's value without the side effect of a claim. */
  private peekWord(offset: number): number {
    const c = this.contextReg(offset);
    if (c && c.reg === 4) return 0;
    return this.readWord(offset);
  }

  private readWord(offset: number): number {
    if (offset < PENDING_BASE) {
      const n = (offset - PRIORITY_BASE) >> 2;
      return n < PLIC_NUM_SOURCES ? this.priority[n] : 0;
    }
    if (offset < ENABLE_BASE) {
      const w = (offset - PENDING_BASE) >> 2;
      if (w >= WORDS) return 0;
      let bits = 0;
      for (let i = 0; i < 32; i++) if (this.pending[w * 32 + i]) bits |= 1 << i;
      return bits >>> 0;
    }
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      return ctx < PLIC_NUM_CONTEXTS && w < WORDS ? this.enable[ctx * WORDS + w] : 0;
    }
    const c = this.contextReg(offset);
    if (!c) return 0;
    return c.reg === 0 ? this.threshold[c.ctx] : this.claim(c.ctx);
  }

  private writeWord(offset: number, v: number): void {
    if (offset < PENDING_BASE) {
      const n = (offset - PRIORITY_BASE) >> 2;
      if (n === 0 || n >= PLIC_NUM_SOURCES) return;
      // As QEMU with a power-of-two number of levels: the priority bits are kept, others dropped.
      this.priority[n] = v & PLIC_MAX_PRIORITY;
      this.update();
      return;
    }
    if (offset < ENABLE_BASE) return; // pending bits are read-only
    if (offset < CONTEXT_BASE) {
      const ctx = Math.floor((offset - ENABLE_BASE) / ENABLE_STRIDE);
      const w = ((offset - ENABLE_BASE) % ENABLE_STRIDE) >> 2;
      if (ctx >= PLIC_NUM_CONTEXTS || w >= WORDS) return;
      this.enable[ctx * WORDS + w] = (w === 0 ? v & ~1 : v) >>> 0; // id 0 is not a source
      this.update();
      return;
    }
    const c = this.contextReg(offset);
    if (!c) return;
    if (c.reg === 0) {
      // As QEMU: a threshold above the largest priority is ignored.
      if (v <= PLIC_MAX_PRIORITY) {
        this.threshold[c.ctx] = v;
        this.update();
      }
    } else {
      this.complete(c.ctx, v);
    }
  }

  /** Decode a per-context register: reg 0 = threshold, 4 = claim/complete. */
  private contextReg(offset: number): { ctx: number; reg: number } | undefined {
    if (offset < CONTEXT_BASE) return undefined;
    const ctx = Math.floor((offset - CONTEXT_BASE) / CONTEXT_STRIDE);
    const reg = (offset - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (ctx >= PLIC_NUM_CONTEXTS || (reg !== 0 && reg !== 4)) return undefined;
    return { ctx, reg };
  }
}
