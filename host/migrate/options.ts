/**
 * The live-migration flags of `wasmvisor run` (docs/migration.md): --incoming on the target,
 * --migrate-to and its policy knobs on the source.
 */
import { UserError } from '../errors';

/**
 * Exit status of either side when a post-copy migration fails after the switch: the VM is lost
 * (sysexits.h EX_UNAVAILABLE). Before the switch a failure keeps the VM on the source.
 */
export const EXIT_VM_LOST = 69;

export type MigrateMode = 'precopy' | 'postcopy' | 'hybrid';

export interface MigrateOptions {
  /** --incoming tcp:HOST:PORT (target). */
  incoming?: { host: string; port: number; text: string };
  /** --migrate-to tcp:HOST:PORT (source). */
  to?: { host: string; port: number; text: string };
  /** --migrate-after SECONDS: when the source starts migrating (default 0: at once). */
  afterMs: number;
  mode: MigrateMode;
  /** --migrate-precopy-rounds N: hybrid's pre-copy rounds before it switches to post-copy (default 2). */
  precopyRounds?: number;
  /** --migrate-max-rounds N: pre-copy rounds before stop-and-copy regardless (default 30). */
  maxRounds: number;
  /** --migrate-downtime MS: stop-and-copy once the estimated downtime is this small (default 5). */
  downtimeMs: number;
  /** --migrate-bandwidth MBPS: a cap in megabytes (10^6) per second (undefined: none). */
  bandwidthMBps?: number;
  /** --plot FILE.svg: pages per round and dirty rate. */
  plot?: string;
}

export const MIGRATE_OPTIONS = ['--incoming', '--migrate-to', '--migrate-after', '--migrate-mode', '--migrate-precopy-rounds', '--migrate-max-rounds', '--migrate-downtime', '--migrate-bandwidth', '--plot'];

export const MIGRATE_HELP = `  --incoming tcp:HOST:PORT wait for a live migration on HOST:PORT, then run the
                           migrated VM (same IMAGE and options as the source's)
  --migrate-to tcp:HOST:PORT  run, then migrate live to a wasmvisor --incoming there
                           and exit 0 once it has taken over (docs/migration.md)
  --migrate-after SECONDS  start migrating this long after the start (default 0);
                           SIGUSR2 to the process starts it at once
  --migrate-mode MODE      precopy (default), postcopy (resume on the target at once,
                           pages follow, fetched on first touch) or hybrid (pre-copy
                           rounds, then post-copy); a bare machine or --virt hw
  --migrate-precopy-rounds N  hybrid: pre-copy rounds before post-copy (default 2)
  --migrate-max-rounds N   pre-copy rounds at most before stop-and-copy (default 30)
  --migrate-downtime MS    stop-and-copy once the estimated downtime is <= MS (default 5)
  --migrate-bandwidth MBPS limit the stream to MBPS megabytes per second
  --plot FILE.svg          draw the pages sent per round and the dirty rate
`;

export function defaultMigrateOptions(): MigrateOptions {
  return { afterMs: 0, mode: 'precopy', maxRounds: 30, downtimeMs: 5 };
}

function parseTcp(name: string, v: string): { host: string; port: number; text: string } {
  const m = /^tcp:(.*):(\d+)$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || m[1] === '' || !(port > 0 && port < 65536)) throw new UserError(`wasmvisor: ${name}: '${v}' is not tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)`);
  return { host: m[1], port, text: v };
}

function num(name: string, v: string, min: number, max: number, integer: boolean): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UserError(`wasmvisor: ${name}: '${v}' is not ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}

/** Apply one migration flag to `m`. */
export function parseMigrateOption(m: MigrateOptions, name: string, v: string): void {
  switch (name) {
    case '--incoming': m.incoming = parseTcp(name, v); break;
    case '--migrate-to': m.to = parseTcp(name, v); break;
    case '--migrate-after': m.afterMs = num(name, v, 0, 86400, false) * 1000; break;
    case '--migrate-mode':
      if (v !== 'precopy' && v !== 'postcopy' && v !== 'hybrid') throw new UserError(`wasmvisor: --migrate-mode: '${v}' is not precopy, postcopy or hybrid`);
      m.mode = v;
      break;
    case '--migrate-precopy-rounds': m.precopyRounds = num(name, v, 1, 10000, true); break;
    case '--migrate-max-rounds': m.maxRounds = num(name, v, 1, 10000, true); break;
    case '--migrate-downtime': m.downtimeMs = num(name, v, 0, 60000, false); break;
    case '--migrate-bandwidth': m.bandwidthMBps = num(name, v, 0.001, 1e6, false); break;
    case '--plot': m.plot = v; break;
  }
}

/** Checks across flags, after parsing. */
export function checkMigrateOptions(m: MigrateOptions, restore: string | undefined): void {
  if (m.incoming && m.to) throw new UserError('wasmvisor: --incoming and --migrate-to together (a process is either the target or the source)');
  if (m.incoming && restore !== undefined) throw new UserError('wasmvisor: --incoming and --restore together (the state comes from the stream)');
  if (m.precopyRounds !== undefined && m.mode !== 'hybrid') throw new UserError(`wasmvisor: --migrate-precopy-rounds is for --migrate-mode hybrid (this is ${m.mode})`);
  if (m.incoming && m.mode !== 'precopy') throw new UserError(`wasmvisor: --migrate-mode is the source's choice (the target takes the mode the stream names)`);
}
