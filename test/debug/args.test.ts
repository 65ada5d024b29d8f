/** The debugging options of `wasmvisor run`: -s, -S, --gdb, --monitor, --trace*. */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../host/cli/args';
import { UserError } from '../../host/errors';

const opts = (argv: string[]) => {
  const c = parseArgs(['run', ...argv]);
  if (c.kind !== 'run') throw new Error('not run');
  return c.options;
};
const error = (argv: string[]) => {
  try {
    parseArgs(['run', ...argv]);
  } catch (e) {
    if (e instanceof UserError) return e.message;
    throw e;
  }
  return 'no error';
};

describe('debugging options', () => {
  it('-s is --gdb tcp::1234, -S starts stopped, --gdb/--monitor take QEMU chardevs', () => {
    expect(opts(['-s', '-S', 'k'])).toMatchObject({ gdb: 'tcp::1234', startStopped: true });
    expect(opts(['--gdb', 'tcp:0.0.0.0:9000', '--monitor', 'stdio', 'k'])).toMatchObject({ gdb: 'tcp:0.0.0.0:9000', monitor: 'stdio' });
    expect(opts(['--monitor=tcp::4444', 'k']).monitor).toBe('tcp::4444');
    expect(error(['--gdb', '1234', 'k'])).toBe("wasmvisor: --gdb: bad value '1234' (expected tcp:HOST:PORT or tcp::PORT)");
    expect(error(['--gdb', 'stdio', 'k'])).toBe("wasmvisor: --gdb: bad value 'stdio' (expected tcp:HOST:PORT or tcp::PORT)");
    expect(error(['--monitor', 'tcp::99999', 'k'])).toBe("wasmvisor: --monitor: bad value 'tcp::99999' (expected stdio, tcp:HOST:PORT or tcp::PORT)");
  });
  it('--trace takes a list; --trace-range LO-HI in hex; exits keeps its old meaning', () => {
    const o = opts(['--trace', 'insn,mmu,exits', '--trace-range', '0x80000000-80000fff', '--trace-file', 't.txt', 'k']);
    expect([...(o.trace ?? [])]).toEqual(['insn', 'mmu', 'exits']);
    expect(o.traceExits).toBe(true);
    expect(o.traceRange).toEqual({ lo: 0x80000000n, hi: 0x80000fffn });
    expect(o.traceFile).toBe('t.txt');
    expect(error(['--bare', '--trace', 'sbi', 'k'])).toBe('wasmvisor: --trace sbi applies to VM mode only (on the bare machine, --trace int shows the ecalls)');
  });
});
