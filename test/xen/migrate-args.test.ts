/**
 * The arguments and requests of xl save / restore / migrate and `up --incoming` / `--wait`:
 * values, defaults and one-line refusals (exit 2), and the Dom0's checks of a request line.
 */
import { describe, expect, it } from 'vitest';
import { parseXlClientArgs } from '../../host/cli/xl-client';
import { parseIncoming, parseMigrateTarget, XL_MIGRATE_DEFAULT_PORT } from '../../host/cli/xl-migrate';
import { parseRequest } from '../../host/cli/xl-protocol';
import { parseXlArgs } from '../../host/cli/xl';
import { UserError } from '../../host/errors';

const refusal = (f: () => unknown): [string, number] => {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return [e.message, e.exitCode];
    throw e;
  }
  throw new Error('no error');
};

describe('xl save / restore / migrate arguments', () => {
  it('save and restore send absolute paths; migrate a host and port (default 8002)', () => {
    expect(parseXlClientArgs('save', ['dl', '/tmp/a.wvsave'])).toEqual({ cmd: 'save', dom: 'dl', file: '/tmp/a.wvsave' });
    expect(parseXlClientArgs('save', ['2', 'b.wvsave'])).toEqual({ cmd: 'save', dom: '2', file: `${process.cwd()}/b.wvsave` });
    expect(parseXlClientArgs('restore', ['x/c.wvsave'])).toEqual({ cmd: 'restore', file: `${process.cwd()}/x/c.wvsave` });
    expect(parseXlClientArgs('migrate', ['dl', '10.0.0.2:4444'])).toEqual({ cmd: 'migrate', dom: 'dl', host: '10.0.0.2', port: 4444 });
    expect(parseXlClientArgs('migrate', ['dl', 'otherhost'])).toEqual({ cmd: 'migrate', dom: 'dl', host: 'otherhost', port: 8002 });
    expect(XL_MIGRATE_DEFAULT_PORT).toBe(8002);
    expect(parseMigrateTarget('[::1]:7')).toEqual({ host: '::1', port: 7 });
  });

  it('bad usage is one line, exit 2', () => {
    expect(refusal(() => parseXlClientArgs('save', ['dl']))).toEqual(['wasmvisor: xl save: missing arguments (usage: wasmvisor xl save DOM FILE)', 2]);
    expect(refusal(() => parseXlClientArgs('restore', ['a', 'b']))).toEqual(["wasmvisor: xl restore: unexpected argument 'b' (usage: wasmvisor xl restore [-p] FILE)", 2]);
    expect(refusal(() => parseXlClientArgs('migrate', ['dl', 'h:99999']))).toEqual(["wasmvisor: xl migrate: 'h:99999' is not HOST[:PORT] (e.g. 127.0.0.1:4444)", 2]);
    expect(refusal(() => parseXlClientArgs('migrate', ['dl', 'a:b:c']))).toEqual(["wasmvisor: xl migrate: 'a:b:c' is not HOST[:PORT] (e.g. 127.0.0.1:4444)", 2]);
    expect(refusal(() => parseIncoming('127.0.0.1:4444'))).toEqual(["wasmvisor: up: --incoming: '127.0.0.1:4444' is not tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)", 2]);
  });

  it('up --incoming and --wait may start without a HOST.cfg; xl create may not use them', () => {
    expect(parseXlArgs('up', ['--incoming', 'tcp:0.0.0.0:0'])).toMatchObject({ file: '', incoming: { host: '0.0.0.0', port: 0 } });
    expect(parseXlArgs('up', ['h.cfg', '--wait'])).toMatchObject({ file: 'h.cfg', wait: true });
    expect(refusal(() => parseXlArgs('up', []))).toEqual(['wasmvisor: up: missing the configuration file (usage: wasmvisor up FILE.cfg)', 2]);
    expect(refusal(() => parseXlArgs('xl create', ['d.cfg', '--wait']))).toEqual(["wasmvisor: xl create: unknown option '--wait' (see wasmvisor --help)", 2]);
  });

  it('the Dom0 accepts only well-formed save, restore and migrate requests', () => {
    expect(parseRequest('{"cmd":"restore","file":"/a"}')).toEqual({ cmd: 'restore', file: '/a' });
    expect(parseRequest('{"cmd":"migrate","dom":"d","host":"h","port":1}')).toEqual({ cmd: 'migrate', dom: 'd', host: 'h', port: 1 });
    expect(() => parseRequest('{"cmd":"restore","file":"relative"}')).toThrow('bad request: file');
    expect(() => parseRequest('{"cmd":"save","file":"/a"}')).toThrow('bad request: dom');
    expect(() => parseRequest('{"cmd":"migrate","dom":"d","host":"h","port":70000}')).toThrow('bad request: port');
    expect(() => parseRequest('{"cmd":"migrate","dom":"d","host":"","port":1}')).toThrow('bad request: host');
  });

  it("xl migrate takes run's --migrate-* policy flags before DOM, checked on both sides", () => {
    expect(parseXlClientArgs('migrate', ['--migrate-mode', 'hybrid', '--migrate-precopy-rounds=3', '--migrate-downtime', '2.5', 'dl', 'h:9'])).toEqual({
      cmd: 'migrate', dom: 'dl', host: 'h', port: 9, flags: { '--migrate-mode': 'hybrid', '--migrate-precopy-rounds': '3', '--migrate-downtime': '2.5' },
    });
    expect(parseXlClientArgs('migrate', ['--plot', 'p.svg', 'dl', 'h'])).toEqual({ cmd: 'migrate', dom: 'dl', host: 'h', port: 8002, flags: { '--plot': `${process.cwd()}/p.svg` } });
    expect(refusal(() => parseXlClientArgs('migrate', ['--migrate-mode', 'fast', 'dl', 'h']))).toEqual(["wasmvisor: xl migrate: --migrate-mode: 'fast' is not precopy, postcopy or hybrid", 2]);
    expect(refusal(() => parseXlClientArgs('migrate', ['--migrate-precopy-rounds', '2', 'dl', 'h']))).toEqual(['wasmvisor: xl migrate: --migrate-precopy-rounds is for --migrate-mode hybrid (this is precopy)', 2]);
    expect(refusal(() => parseXlClientArgs('migrate', ['--incoming', 'tcp:h:1', 'dl', 'h']))).toEqual(["wasmvisor: xl migrate: unknown option '--incoming' (see wasmvisor --help)", 2]);
    expect(refusal(() => parseXlClientArgs('migrate', ['dl', 'h', '--migrate-max-rounds']))).toEqual(['wasmvisor: xl migrate: --migrate-max-rounds needs a value', 2]);
    expect(parseRequest('{"cmd":"migrate","dom":"d","host":"h","port":1,"flags":{"--migrate-mode":"postcopy"}}')).toEqual({ cmd: 'migrate', dom: 'd', host: 'h', port: 1, flags: { '--migrate-mode': 'postcopy' } });
    expect(() => parseRequest('{"cmd":"migrate","dom":"d","host":"h","port":1,"flags":{"--migrate-mode":7}}')).toThrow('bad request: flags');
    expect(() => parseRequest('{"cmd":"migrate","dom":"d","host":"h","port":1,"flags":["--plot"]}')).toThrow('bad request: flags');
  });
});
