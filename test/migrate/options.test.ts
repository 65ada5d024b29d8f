/**
 * The live-migration flags of `wasmvisor run` (host/migrate/options.ts): their values, defaults
 * and the one-line errors for a bad address, a bad number, a mode knob without its mode, and flags that
 * cannot go together.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs, type RunOptions } from '../../host/cli/args';

function run(...argv: string[]): RunOptions {
  const c = parseArgs(['run', 'k.elf', ...argv]);
  if (c.kind !== 'run') throw new Error('not run');
  return c.options;
}

const fails = (argv: string[], line: string) => expect(() => run(...argv)).toThrow(line);

describe('migration flags', () => {
  it('--migrate-to with its knobs', () => {
    const o = run('--migrate-to', 'tcp:127.0.0.1:4444', '--migrate-after', '1.5', '--migrate-max-rounds', '7', '--migrate-downtime', '2', '--migrate-bandwidth', '100', '--plot', 'p.svg');
    expect(o.migrate).toEqual({ to: { host: '127.0.0.1', port: 4444, text: 'tcp:127.0.0.1:4444' }, afterMs: 1500, mode: 'precopy', maxRounds: 7, downtimeMs: 2, bandwidthMBps: 100, plot: 'p.svg' });
  });

  it('--incoming alone: the defaults', () => {
    expect(run('--incoming=tcp:localhost:5000').migrate).toEqual({ incoming: { host: 'localhost', port: 5000, text: 'tcp:localhost:5000' }, afterMs: 0, mode: 'precopy', maxRounds: 30, downtimeMs: 5 });
    expect(run().migrate).toBeUndefined();
  });

  it('post-copy and hybrid', () => {
    expect(run('--migrate-to', 'tcp:h:1', '--migrate-mode', 'postcopy').migrate?.mode).toBe('postcopy');
    const o = run('--migrate-to', 'tcp:h:1', '--migrate-mode', 'hybrid', '--migrate-precopy-rounds', '3');
    expect([o.migrate?.mode, o.migrate?.precopyRounds]).toEqual(['hybrid', 3]);
  });

  it('one-line errors', () => {
    fails(['--incoming', '127.0.0.1:4444'], "wasmvisor: --incoming: '127.0.0.1:4444' is not tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)");
    fails(['--migrate-to', 'tcp:h:70000'], "wasmvisor: --migrate-to: 'tcp:h:70000' is not tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)");
    fails(['--migrate-to', 'tcp:h:1', '--migrate-max-rounds', '0'], "wasmvisor: --migrate-max-rounds: '0' is not an integer from 1 to 10000");
    fails(['--migrate-to', 'tcp:h:1', '--migrate-mode', 'fast'], "wasmvisor: --migrate-mode: 'fast' is not precopy, postcopy or hybrid");
    fails(['--migrate-to', 'tcp:h:1', '--migrate-precopy-rounds', '3'], 'wasmvisor: --migrate-precopy-rounds is for --migrate-mode hybrid (this is precopy)');
    fails(['--incoming', 'tcp:h:1', '--migrate-mode', 'postcopy'], "wasmvisor: --migrate-mode is the source's choice (the target takes the mode the stream names)");
    fails(['--migrate-to', 'tcp:h:1', '--incoming', 'tcp:h:2'], 'wasmvisor: --incoming and --migrate-to together (a process is either the target or the source)');
    fails(['--incoming', 'tcp:h:2', '--restore', 's.wvsnap'], 'wasmvisor: --incoming and --restore together (the state comes from the stream)');
  });
});
