/**
 * The messages between a page (host/web/api.ts) and the Worker that runs one VM
 * (host/web/worker.ts), and the layout of the shared statistics block.
 *
 * Control always travels as messages. Statistics travel one of two ways:
 *   - cross-origin isolated pages: the worker keeps a SharedArrayBuffer of float64 counters
 *     (STAT_FIELDS order) up to date and the page reads it whenever it likes;
 *   - otherwise: the worker posts a `stats` message about ten times a second.
 * What does not fit a fixed block of numbers (the VMM's exit rows, the last page walk) is
 * always a message, sent only when it changed.
 */
import type { PageWalk } from '../machine/hart';
import type { ExitRow } from '../vmm/stats';
import type { ViewStep } from './walk-fill';

export type { ExitRow } from '../vmm/stats';
export type { PageWalk, WalkStep, WalkStepKind } from '../machine/hart';
export type { ViewStep } from './walk-fill';

/**
 * How a guest runs. 'vm': an S-mode kernel in VS-mode under the TypeScript VMM (SBI answered by
 * the VMM, no firmware), as `wasmvisor run IMAGE`; 'bare': the bare virt board, the image
 * entered in M-mode, as `wasmvisor run --bare IMAGE`.
 */
export type VmMode = 'vm' | 'bare';

/** The counters of one VM, as plain numbers (exact below 2^53, which a browser run never reaches). */
export interface VmCounters {
  /** Instructions retired since the guest was loaded. */
  instructions: number;
  /** Wall time the guest has run, in milliseconds (pauses excluded). */
  wallMs: number;
  tlbAccesses: number;
  tlbMisses: number;
  /** TLB misses walked in one dimension (satp, or V = 1 with one stage Bare). */
  pageWalks: number;
  /** Memory references (PTE reads) of those walks. */
  pageWalkRefs: number;
  /** TLB misses walked in two dimensions (VS-stage and G-stage). */
  walks2d: number;
  /** PTE reads of the two-dimensional walks, both stages. */
  walkRefs2d: number;
  /** G-stage translations of VS-stage PTE addresses served by the page-walk cache. */
  pwcHits: number;
  blockHits: number;
  blockMisses: number;
  blockChains: number;
  btFlushes: number;
  codeInvalidations: number;
  traps: number;
  interrupts: number;
  /** Exits of the hart to the host because of an MMIO access (both modes). */
  mmioExits: number;
  /** Exits because of WFI with nothing pending. */
  haltExits: number;
  /** VM exits of every reason (VM mode; 0 on the bare machine). */
  vmExits: number;
  /** Guest program counter and privilege (0 U, 1 S, 3 M) when the sample was taken. */
  pc: number;
  priv: number;
  /** Decoded blocks currently in the BT cache (misses since the last flush). */
  btBlocks: number;
  /** Instructions retired in compiled code (tier 2), and the regions compiled so far. */
  jitInstructions: number;
  jitRegions: number;
  /** 1 when the guest runs as a VM (VS-mode under the VMM), 0 on the bare machine. */
  vm: number;
}

/** Field order of the shared statistics block (one float64 each). */
export const STAT_FIELDS: readonly (keyof VmCounters)[] = [
  'instructions', 'wallMs', 'tlbAccesses', 'tlbMisses', 'pageWalks', 'pageWalkRefs', 'walks2d',
  'walkRefs2d', 'pwcHits', 'blockHits', 'blockMisses', 'blockChains', 'btFlushes',
  'codeInvalidations', 'traps', 'interrupts', 'mmioExits', 'haltExits', 'vmExits', 'pc', 'priv',
  'btBlocks', 'vm', 'jitInstructions', 'jitRegions',
];

/** Index of the sequence word (odd while the worker writes: a seqlock) in the shared block. */
export const STAT_SEQ = STAT_FIELDS.length;
/** Size in bytes of the shared statistics block. */
export const STAT_BLOCK_BYTES = (STAT_FIELDS.length + 1) * 8;

/** Run state of a VM. */
export type VmState = 'loading' | 'running' | 'paused' | 'exited' | 'error';

/**
 * The last page walk the hart made (its walk log, host/machine/hart.ts), with the translation
 * registers read when it was sampled, which a viewer needs to name guest-physical addresses.
 */
export interface WalkSample extends PageWalk {
  /** Where the walk happened: the bare machine's satp walk, or a VM's two-stage walk. */
  machine: VmMode;
  /** satp (bare), vsatp and hgatp (VM) at the time of the sample. */
  satp: bigint;
  vsatp: bigint;
  hgatp: bigint;
  /** The logged steps; in a VM also the G-stage translations the cache served, marked cached (walk-fill.ts). */
  steps: ViewStep[];
}

/** Page -> worker. */
export type ToWorker =
  | {
      type: 'init';
      /** The core: a compiled module (or bytes, or a URL to fetch). */
      core: WebAssembly.Module | ArrayBuffer | string;
      memSize: number;
      deterministic: boolean;
      /** Present when the page is cross-origin isolated. */
      statsBuffer?: SharedArrayBuffer;
      /** Milliseconds between statistics samples. */
      statsIntervalMs: number;
    }
  | { type: 'load'; id: number; name: string; bytes: ArrayBuffer; autostart: boolean; mode: VmMode }
  | { type: 'input'; bytes: Uint8Array }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' };

/** Worker -> page. */
export type FromWorker =
  | { type: 'ready' }
  /** Answer to `load` with the same id: the machine is built (or error says why not). */
  | { type: 'loaded'; id: number; error?: string }
  | { type: 'output'; bytes: Uint8Array }
  | { type: 'state'; state: VmState; exitCode?: number; message?: string }
  /** counters: without shared memory; exits: the VMM's rows when they changed; walk: a new walk. */
  | { type: 'stats'; counters?: VmCounters; exits?: ExitRow[]; walk?: WalkSample };
