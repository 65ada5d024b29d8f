/**
 * The messages between a page (host/web/api.ts, xen-host.ts) and the Worker that runs one VM or
 * one Xen host (host/web/worker.ts, xen-dom0.ts), and the layout of the shared statistics block.
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
import type { TechniqueCounters } from '../vmm/virt/technique';
import type { XlListRow } from '../xen/toolstack/list-format';
import type { DomainEnd } from '../xen/toolstack/xl';
import type { ViewStep } from './walk-fill';

export type { ExitRow } from '../vmm/stats';
export type { TechniqueCounters } from '../vmm/virt/technique';
export type { PageWalk, WalkStep, WalkStepKind } from '../machine/hart';
export type { ViewStep } from './walk-fill';
export type { XlListRow, XlStateFlags } from '../xen/toolstack/list-format';
export type { DomainEnd } from '../xen/toolstack/xl';

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

/** A combination of the techniques lab (host/lab/combos.ts) as the worker reports it. */
export interface ComboInfo {
  /** "hw+nested", "trap+shadow", ... */
  id: string;
  title: string;
  /** Whether this build runs it (its run options pass the CLI's parser). */
  supported: boolean;
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

/**
 * One DomU of a Xen host, as the page sees it: its `xl list` row (name, id, memory, vCPUs, the
 * six state flags, CPU time) and how its life is going. A domain keeps its entry after it is
 * gone, as the table `wasmvisor up` prints at exit keeps it.
 */
export interface XenDomainInfo extends XlListRow {
  /** running: scheduled (or paused); preserved: shut down and kept; gone: destroyed (xl.ts DomainRecord.state). */
  life: 'running' | 'preserved' | 'gone';
  /** Paused by `xl pause`. */
  paused: boolean;
  /** How it (last) ended, with the words `wasmvisor up` uses: "poweroff, exit code 0", "destroyed". */
  end?: DomainEnd & { text: string };
  /** Powered off with exit code 0: what `wasmvisor up` counts as success. */
  succeeded: boolean;
  /** Times on_reboot / on_crash = 'restart' built it again. */
  restarts: number;
  /** Its xl.cfg and the kernel that names (paths of URLs, "/guests/xen/domu1.cfg"). */
  file: string;
  kernel: string;
  /** Instructions it retired, over all its incarnations (the scheduler's account). */
  instructions: number;
  /** Host milliseconds it ran. */
  hostMs: number;
  /** Scheduler slices it was given. */
  slices: number;
  /** VM exits, all reasons, and the most frequent reason (if any). */
  exits: number;
  topExit?: { reason: string; count: number };
}

/**
 * A DomU's PV console page as Dom0 sees it (xen/include/public/io/console.h): the four ring
 * indices and the typed bytes the guest has not read yet.
 */
export interface XenConsoleRing {
  domain: string;
  domid: number;
  /** Free-running indices: in (Dom0 -> guest: typed input) and out (guest -> Dom0: its log). */
  inCons: number;
  inProd: number;
  outCons: number;
  outProd: number;
  /** in[in_cons .. in_prod): input in the ring that the guest has not consumed. */
  unread: Uint8Array;
  /** The console backend's counters (outBytes, inBytes, inputDropped, notifications, kicks, ...). */
  stats: Record<string, number>;
}

/** An xl command of the page for one domain (by name, or by id while it lives). */
export type XenCommand = 'pause' | 'unpause' | 'destroy' | 'ring';

/** Boot options of a `load` (issue 12): kernel command line, initial ramdisk, a user DTB. */
export interface BootMessage {
  append?: string;
  initrd?: { name: string; bytes: ArrayBuffer };
  dtb?: { name: string; bytes: ArrayBuffer };
}

/** Virtio devices of a `load` (issue 12): the CLI's --virtio-console and --virtio-rng. */
export interface DeviceMessage {
  virtioConsole: boolean;
  virtioRng: boolean;
  /** Where `input` goes: the UART or the virtio console. */
  consoleInput: 'uart' | 'virtio';
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
  /** combo (VM mode): the technique combination (ComboInfo.id) to run it under; default hw+nested. */
  /** memSize: guest RAM in bytes for this guest (default: init's). */
  /**
   * `bytes` is the image, or an absolute URL the worker fetches it from (the demo page's
   * bootstrap, demo/boot.ts, loads its first guest so, before the page has the image).
   */
  | { type: 'load'; id: number; name: string; bytes: ArrayBuffer | string; autostart: boolean; mode: VmMode; boot?: BootMessage; combo?: string; devices?: DeviceMessage; memSize?: number }
  | { type: 'input'; bytes: Uint8Array }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' }
  /** Save the guest's state (host/snapshot): paused for the save, running again after if it was. Answered by `saved`. */
  | { type: 'save'; id: number }
  /**
   * Restore a snapshot into a fresh guest of the current image (and boot options, mode and
   * technique: the snapshot checks they match). Answered by `restored`; runs if `autostart`.
   */
  | { type: 'restore'; id: number; name: string; bytes: ArrayBuffer; autostart: boolean }
  /**
   * Build a Xen host from HOST.cfg at `config` (an absolute URL), as `wasmvisor up`: its DomU
   * files and kernels are fetched relative to it, except those named in `files` (by URL path).
   * Answered by `xen-ready` with the same id; runs at once when autostart, else on `xen-run`.
   */
  | {
      type: 'xen-up'; id: number; config: string; files: Record<string, string | Uint8Array>; autostart: boolean;
      timeoutMs?: number; jit?: 'off' | 'on' | 'always'; updateIntervalMs: number; slow?: number;
    }
  /**
   * Live migration between two Workers of the page (host/migrate over a MessagePort): this
   * worker's guest is the source and streams to `port` (pre-copy rounds while it runs, then
   * stop-and-copy); `migration` messages report each round and the end. Knobs as the CLI's
   * --migrate-downtime, --migrate-max-rounds and --migrate-bandwidth.
   */
  | { type: 'migrate-out'; id: number; port: MessagePort; downtimeMs?: number; maxRounds?: number; bandwidthMBps?: number }
  /**
   * The target: this worker's guest (loaded, not started, with the source's image and options)
   * takes the state arriving on `port`, answers `migrated-in`, and then runs it if `run`.
   * wallMs: the guest's run time in the source when the page asked (Date.now() `at`); the
   * target's counters go on from it plus the time since, so the page's time axis does not go back.
   */
  | { type: 'migrate-in'; id: number; port: MessagePort; run: boolean; wallMs: number; at: number }
  | { type: 'xen-run' }
  /** Typed bytes for a domain's console (`xl console`). */
  | { type: 'xen-input'; domain: string | number; bytes: Uint8Array }
  /** An xl command; answered by `xen-reply` with the same id. */
  | { type: 'xen-xl'; id: number; command: XenCommand; domain: string | number };

/** Worker -> page. */
export type FromWorker =
  /** The worker is up; combos: the lab's combinations and which of them this build runs. */
  | { type: 'ready'; combos?: ComboInfo[] }
  /** Answer to `load` with the same id: the machine is built (or error says why not). */
  | { type: 'loaded'; id: number; error?: string }
  /** Answer to `save`: the snapshot file's bytes, or the one-line reason it cannot be saved. */
  | { type: 'saved'; id: number; bytes?: ArrayBuffer; error?: string }
  /** Answer to `restore`. */
  | { type: 'restored'; id: number; error?: string }
  | { type: 'output'; bytes: Uint8Array }
  /** `at`: when the worker entered the state, ms since the epoch (its timeOrigin + now(): the page's clock is another). */
  | { type: 'state'; state: VmState; exitCode?: number; message?: string; at?: number }
  /**
   * counters: without shared memory; exits: the VMM's rows when they changed; walk: a new walk;
   * technique: the VM's combination and its technique's counters (sent with exits).
   */
  | { type: 'stats'; counters?: VmCounters; exits?: ExitRow[]; walk?: WalkSample; technique?: { combo: string; counters: TechniqueCounters } }
  /**
   * Answer to `xen-up`: the domains are built (or error says why not). A Xen host's run state
   * travels as `state`: running, paused (built, not started), exited (exitCode as `wasmvisor
   * up`'s: 0 when every DomU powered off with code 0, 1 otherwise, 124 at the time limit;
   * message names the first that did not), error.
   */
  | { type: 'xen-ready'; id: number; error?: string }
  /** Console output of a domain (PV console, console_io, UART or SBI console), in order. */
  | { type: 'xen-output'; domain: string; domid: number; bytes: Uint8Array }
  /** The domain table: Domain-0's row and every DomU of the host (sent a few times a second while it runs). */
  | { type: 'xen-domains'; dom0: XlListRow; domains: XenDomainInfo[] }
  /** A lifecycle event ("domu1 (d1): poweroff, exit code 0: destroyed"). */
  | { type: 'xen-notice'; domain: string; line: string }
  | { type: 'xen-reply'; id: number; error?: string; ring?: XenConsoleRing }
  /** The source of a migrate-out: after each pre-copy round (`round`), and once at the end (`end`). */
  | { type: 'migration'; id: number; round?: MigrationRound; end?: { summary: MigrationSummary } | { error: string } }
  /** Answer to migrate-in: the guest is the source's now (or error says why not; nothing ran). */
  | { type: 'migrated-in'; id: number; error?: string; pages?: number; bytes?: number };

/** One pre-copy round as the source measured it (host/migrate/progress.ts RoundStats). */
export interface MigrationRound {
  round: number;
  /** Pages sent in this round, and different pages sent in all rounds so far (live rounds only). */
  pages: number;
  pagesSent?: number;
  bytes: number;
  ms: number;
  /** Pages the guest dirtied per second during the round. */
  dirtyRate: number;
  /** What stopping now would cost: the dirty pages over the measured bandwidth, plus the hand-over. */
  estDowntimeMs: number;
  /** The last round, sent with the guest stopped. */
  stopAndCopy?: boolean;
}

/** The end of a migration (progress.ts Summary): total time, downtime, bytes, every round. */
export interface MigrationSummary {
  totalMs: number;
  downtimeMs: number;
  bytes: number;
  rounds: MigrationRound[];
}
