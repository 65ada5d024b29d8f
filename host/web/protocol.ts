/**
 * The messages between a page (host/web/api.ts) and the Worker that runs one VM
 * (host/web/worker.ts), and the layout of the shared statistics block.
 *
 * Control always travels as messages. Statistics travel one of two ways:
 *   - cross-origin isolated pages: the worker keeps a SharedArrayBuffer of float64 counters
 *     (STAT_FIELDS order) up to date and the page reads it whenever it likes;
 *   - otherwise: the worker posts a `stats` message about ten times a second.
 */
import type { PageWalk } from './walk';

/** The counters of one VM, as plain numbers (exact below 2^53, which a browser run never reaches). */
export interface VmCounters {
  /** Instructions retired since the guest was loaded. */
  instructions: number;
  /** Wall time the guest has run, in milliseconds (pauses excluded). */
  wallMs: number;
  tlbAccesses: number;
  tlbMisses: number;
  pageWalks: number;
  /** Memory references made by page walks (PTE reads). */
  pageWalkRefs: number;
  blockHits: number;
  blockMisses: number;
  blockChains: number;
  btFlushes: number;
  codeInvalidations: number;
  traps: number;
  interrupts: number;
  /** Exits of the hart to the host because of an MMIO access. */
  mmioExits: number;
  /** Exits because of WFI with nothing pending. */
  haltExits: number;
  /** Exits because the instruction slice ran out (the host's scheduling tick). */
  budgetExits: number;
  /** Exits for an HTIF tohost write. */
  htifExits: number;
  /** Guest program counter and privilege (0 U, 1 S, 3 M) when the sample was taken. */
  pc: number;
  priv: number;
  /** Decoded blocks currently in the BT cache (misses since the last flush). */
  btBlocks: number;
}

/** Field order of the shared statistics block (one float64 each). */
export const STAT_FIELDS: readonly (keyof VmCounters)[] = [
  'instructions', 'wallMs', 'tlbAccesses', 'tlbMisses', 'pageWalks', 'pageWalkRefs',
  'blockHits', 'blockMisses', 'blockChains', 'btFlushes', 'codeInvalidations', 'traps',
  'interrupts', 'mmioExits', 'haltExits', 'budgetExits', 'htifExits', 'pc', 'priv', 'btBlocks',
];

/** Index of the sequence word (odd while the worker writes: a seqlock) in the shared block. */
export const STAT_SEQ = STAT_FIELDS.length;
/** Size in bytes of the shared statistics block. */
export const STAT_BLOCK_BYTES = (STAT_FIELDS.length + 1) * 8;

/** Run state of a VM. */
export type VmState = 'loading' | 'running' | 'paused' | 'exited' | 'error';

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
  | { type: 'load'; id: number; name: string; bytes: ArrayBuffer; autostart: boolean }
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
  | { type: 'stats'; counters?: VmCounters; walk?: PageWalk };
