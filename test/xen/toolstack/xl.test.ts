/**
 * The toolstack over real DomUs (tiny assembled guests, deterministic time) with stub devices:
 * create and device wiring, lifecycle actions (destroy, restart, preserve), pause, unpause,
 * destroy, console routing, the time limit, and cleanup after a failed build.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../host/errors';
import { parseImage } from '../../../host/machine/loader';
import { HYPERVISOR_console_io, HYPERVISOR_sched_op } from '../../../host/xen/hypercall-abi';
import { XenHypervisor } from '../../../host/xen/hypervisor';
import { CONSOLEIO_write, SCHEDOP_shutdown, SHUTDOWN_crash, SHUTDOWN_reboot } from '../../../host/xen/ops-abi';
import type { DomainCfg } from '../../../host/xen/toolstack/cfg';
import { formatXlList } from '../../../host/xen/toolstack/list-format';
import { MAX_RESTARTS, succeeded, Toolstack, type AttachedDevice, type DeviceOps } from '../../../host/xen/toolstack/xl';
import { BASE, buildGuest, DATA, hc, struct } from '../guest-asm';

const SPIN = new Uint8Array([0x6f, 0, 0, 0]); // j .
const HELLO = new TextEncoder().encode('hi\n');
/** console_io "hi", then SBI SRST shutdown (exit code 0). */
const POWEROFF = buildGuest([hc(HYPERVISOR_console_io, CONSOLEIO_write, HELLO.length, DATA)], [{ at: DATA, bytes: HELLO }]);
const shutdownGuest = (reason: number) => buildGuest([hc(HYPERVISOR_sched_op, SCHEDOP_shutdown, DATA)], [{ at: DATA, bytes: struct(4, [[0, 4, reason]]) }]);

const images: Record<string, Uint8Array> = { spin: SPIN, poweroff: POWEROFF, reboot: shutdownGuest(SHUTDOWN_reboot), crash: shutdownGuest(SHUTDOWN_crash) };

function cfg(name: string, kernel: string, over: Partial<DomainCfg> = {}): DomainCfg {
  return {
    file: `${name}.cfg`, name, kernel, memoryMiB: 16, vcpus: 1, disks: [], vifs: [],
    onPoweroff: 'destroy', onReboot: 'restart', onCrash: 'destroy', weight: 256, cap: 0, ...over,
  };
}

/** Stub devices that log what happens to them. */
function stubDevices(log: string[], failOn?: 'vif'): DeviceOps {
  const dev = (kind: AttachedDevice['kind'], domid: number, devid: number): AttachedDevice => {
    log.push(`attach ${kind} d${domid} ${devid}`);
    return { kind, devid, close: () => log.push(`close ${kind} d${domid} ${devid}`), stats: () => ({}) };
  };
  return {
    attachDisk: (_hv, d, devid, spec) => dev('vbd', d.domid, devid + spec.backend.size * 0),
    attachVif: (_hv, d, devid) => {
      if (failOn === 'vif') throw new Error('vif backend failed');
      return dev('vif', d.domid, devid);
    },
    attachConsole: (_hv, d) => ({ ...dev('console', d.domid, 0), input: (b: Uint8Array) => log.push(`input d${d.domid} ${String.fromCharCode(...b)}`) }),
  };
}

function toolstack(log: string[] = [], failOn?: 'vif') {
  const hv = new XenHypervisor();
  const out: string[] = [];
  const notices: string[] = [];
  const xl = new Toolstack(hv, {
    devices: stubDevices(log, failOn), deterministic: true, jit: 'off',
    scheduler: { sliceInstructions: 10_000 },
    loadKernel: (p) => parseImage(images[p], p, BASE),
    onConsole: (rec, b) => out.push(`${rec.cfg.name}:${String.fromCharCode(...b)}`),
    onNotice: (l) => notices.push(l),
  });
  return { hv, xl, out, notices, log };
}

describe('Toolstack', () => {
  it('creates domains with their devices, runs them to poweroff and destroys them', async () => {
    const { hv, xl, out, notices, log } = toolstack();
    const disk = { target: { memoryBytes: 8192 }, format: 'raw' as const, vdev: 'xvda', devid: 51712, readOnly: false };
    await xl.create(cfg('a', 'poweroff', { disks: [disk], vifs: [{ bridge: 'xenbr0' }, { bridge: 'xenbr1' }] }));
    await xl.create(cfg('b', 'poweroff'));
    expect(log).toEqual(['attach console d1 0', 'attach vbd d1 51712', 'attach vif d1 0', 'attach vif d1 1', 'attach console d2 0']);
    expect(await xl.run()).toBe('done');
    expect(out).toEqual(['a:(d1) hi\r\n', 'b:(d2) hi\r\n']);
    expect(notices).toEqual(['a (d1): poweroff, exit code 0: destroyed', 'b (d2): poweroff, exit code 0: destroyed']);
    expect(log.slice(5)).toEqual(['close vif d1 1', 'close vif d1 0', 'close vbd d1 51712', 'close console d1 0', 'close console d2 0']);
    expect(hv.list()).toEqual([]);
    expect(xl.records().map(succeeded)).toEqual([true, true]);
    expect(xl.list().map((r) => r.name)).toEqual(['Domain-0']);
    expect(formatXlList(xl.records().map((r) => ({ ...xl.row(r), timeS: 0 })))).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
      'a                                            1    16     1     ---s--       0.0\n' +
      'b                                            2    16     1     ---s--       0.0\n');
  });

  it(`on_reboot=restart builds the domain again with a new id, at most ${MAX_RESTARTS} times, keeping its disks`, async () => {
    const { xl, notices, log } = toolstack();
    const disk = { target: { memoryBytes: 4096 }, format: 'raw' as const, vdev: 'xvda', devid: 51712, readOnly: false };
    const rec = await xl.create(cfg('r', 'reboot', { disks: [disk] }));
    expect(await xl.run()).toBe('done');
    expect(notices.slice(0, 2)).toEqual(['r (d1): reboot, exit code 0: restarted as d1 (restart 1 of at most 8)', 'r (d1): reboot, exit code 0: restarted as d1 (restart 2 of at most 8)']);
    expect(notices.length).toBe(MAX_RESTARTS + 1);
    expect(notices[MAX_RESTARTS]).toBe('r (d1): reboot, exit code 0: destroyed');
    expect([rec.restarts, rec.state, succeeded(rec)]).toEqual([MAX_RESTARTS, 'gone', false]);
    expect(log.filter((l) => l.startsWith('attach vbd')).length).toBe(MAX_RESTARTS + 1);
    expect(xl.totals(rec).slices).toBe(MAX_RESTARTS + 1);
  });

  it('on_crash: destroy reports the crash; preserve keeps the domain in xl list as crashed until xl destroy', async () => {
    const { xl, notices } = toolstack();
    const a = await xl.create(cfg('a', 'crash'));
    const b = await xl.create(cfg('b', 'crash', { onCrash: 'preserve' }));
    expect(await xl.run()).toBe('done');
    expect(notices).toEqual(['a (d1): crash, exit code 1: destroyed', 'b (d2): crash, exit code 1: preserved']);
    expect([succeeded(a), succeeded(b), b.state]).toEqual([false, false, 'preserved']);
    const rows = xl.list();
    expect(rows.map((r) => [r.name, r.domid])).toEqual([['Domain-0', 0], ['b', 2]]);
    expect(formatXlList(rows.map((r) => ({ ...r, timeS: 0 }))).split('\n')[2]).toBe('b                                            2    16     1     ----c-       0.0');
    xl.destroy(2);
    expect(xl.list().length).toBe(1);
    expect(() => xl.destroy(2)).toThrow('xl: no domain 2');
  });

  it('pause, unpause, console input, destroy, and the time limit', async () => {
    const { xl, notices, log } = toolstack();
    await xl.create(cfg('a', 'spin', { weight: 1 }));
    await xl.create(cfg('b', 'spin'));
    xl.pause(1);
    expect(() => xl.pause(3)).toThrow('xl: no domain 3');
    expect(await xl.run({ timeoutMs: 30 })).toBe('timeout');
    const [, a, b] = xl.list();
    expect([a.state, b.state]).toEqual([{ running: false, blocked: false, paused: true }, { running: true, blocked: false, paused: false }]);
    expect(xl.totals(xl.record(1)).instructions).toBe(0n);
    expect(xl.totals(xl.record(2)).instructions).toBeGreaterThan(0n);
    expect(xl.records().map((r) => r.end?.reason)).toEqual(['timeout', 'timeout']);
    xl.unpause(1);
    xl.defer(() => xl.destroy(2));
    expect(await xl.run({ timeoutMs: 30 })).toBe('timeout');
    expect(notices).toEqual(['b (d2): destroyed']);
    expect(xl.totals(xl.record(1)).instructions).toBeGreaterThan(0n);
    xl.console(1)(new TextEncoder().encode('x'));
    expect(log.at(-1)).toBe('input d1 x');
    xl.defer(() => xl.quit());
    expect(await xl.run()).toBe('quit');
  });

  it('live migration (host/migrate/domain-*.ts): hold keeps a domain paused, lost ends it (69), watchEnd fires once, incoming domains get new ids and drop cleanly', async () => {
    const { hv, xl, notices } = toolstack();
    await xl.create(cfg('a', 'spin'));
    let ended = 0;
    xl.watchEnd(1, () => ended++);
    xl.pause(1);
    xl.hold(1, true);
    expect(() => xl.unpause(1)).toThrow('xl: domain 1 (a) is stopped for its migration');
    xl.hold(1, false);
    xl.unpause(1);
    xl.lost(1, 'post-copy to h:1');
    expect(ended).toBe(1);
    expect(xl.records()[0].end).toEqual({ reason: 'lost', exitCode: 69, to: 'post-copy to h:1' });
    expect(succeeded(xl.records()[0])).toBe(false);
    expect(notices).toEqual(['a (d1): lost in its migration (post-copy to h:1): destroyed']);
    expect(hv.hasDomain(1)).toBe(false);
    // The target's side: built empty and unscheduled, each under an id of its own; dropped, nothing is left.
    xl.opts.devices.resumeConsole = () => { throw new Error('not loaded here'); };
    xl.opts.devices.resumeDisk = () => { throw new Error('not loaded here'); };
    await xl.create(cfg('c', 'spin')); // (d1 again: create takes the lowest free id)
    expect(xl.record(1).cfg.name).toBe('c');
    const b = await xl.incoming(cfg('b', 'spin'), 'migration from x');
    const b2 = await xl.incoming(cfg('b2', 'spin'), 'migration from y');
    expect([b.dom.domid, b2.dom.domid]).toEqual([2, 3]);
    expect(xl.records().map((r) => r.cfg.name)).toEqual(['a', 'c']);
    expect(xl.scheduler.has(2)).toBe(false);
    await expect(xl.incoming(cfg('c', 'spin'), 'migration from z')).rejects.toThrow("migration from z: a domain named 'c' already exists here");
    expect([hv.hasDomain(2), hv.hasDomain(3)]).toEqual([true, true]);
    b.discard();
    b2.discard();
    expect([hv.hasDomain(2), hv.hasDomain(3), hv.hasDomain(1)]).toEqual([false, false, true]);
  });

  it("a live migration's incoming domain is NAME--incoming until COMMIT (xl's migrate_receive); NAME may be the Dom0's own outgoing domain (migrating to itself)", async () => {
    const { hv, xl } = toolstack();
    await xl.create(cfg('a', 'spin'));
    await xl.create(cfg('b--incoming', 'spin'));
    xl.opts.devices.resumeConsole = () => { throw new Error('not loaded here'); };
    xl.opts.devices.resumeDisk = () => { throw new Error('not loaded here'); };
    // NAME is taken by a domain that is not migrating out: refused, as before.
    await expect(xl.incoming(cfg('a', 'spin'), 'migration from x', true)).rejects.toThrow("migration from x: a domain named 'a' already exists here");
    // NAME--incoming taken: refused (libxl's domain create refuses a name in use).
    await expect(xl.incoming(cfg('b', 'spin'), 'migration from y', true)).rejects.toThrow("migration from y: a domain named 'b--incoming' already exists here");
    // a migrating out of this Dom0 (domain-source.ts): a domain named a may come in, as a--incoming.
    xl.outgoing.add(1);
    const inc = await xl.incoming(cfg('a', 'spin'), 'migration from 127.0.0.1:1', true);
    // (XenStore's name is written at load, over the source's home: domain-target.ts)
    expect([inc.dom.domid, inc.dom.name]).toEqual([3, 'a--incoming']);
    // An xl restore (not a migration) of a is refused while a exists.
    await expect(xl.incoming(cfg('a', 'spin'), 'a.save')).rejects.toThrow("a.save: a domain named 'a' already exists here");
    inc.discard();
    expect(hv.hasDomain(3)).toBe(false);
    xl.outgoing.delete(1);
    await expect(xl.incoming(cfg('a', 'spin'), 'migration from x', true)).rejects.toThrow("migration from x: a domain named 'a' already exists here");
  });

  it("rename as libxl_domain_rename: XenStore's name and xl list follow; the old name is free again, the new one taken", async () => {
    const { hv, xl, notices } = toolstack();
    await xl.create(cfg('a', 'spin'));
    await xl.create(cfg('b', 'spin'));
    const xsName = (domid: number) => hv.xs.read(`/local/domain/${domid}/name`);
    expect([xsName(1), hv.domain(1)!.name]).toEqual(['a', 'a']);
    // From a name it does not have (a race, libxl says): refused, nothing changed.
    expect(() => xl.rename(1, 'x', 'a--migratedaway')).toThrow(new UserError("xl: domain 1 is named 'a', not 'x'"));
    // To a name another domain has: refused; to its own name: fine.
    expect(() => xl.rename(1, 'a', 'b')).toThrow(new UserError("xl: a domain named 'b' already exists"));
    xl.rename(1, 'a', 'a');
    xl.rename(1, 'a', 'a--migratedaway');
    expect([xsName(1), hv.domain(1)!.name, xl.record(1).name, xl.record(1).cfg.name]).toEqual(['a--migratedaway', 'a--migratedaway', 'a--migratedaway', 'a']);
    expect(formatXlList(xl.list()).split('\n').slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['Domain-0', 'a--migratedaway', 'b']);
    // Its old name is free: a new domain takes it (and the renamed one's name stays taken).
    await xl.create(cfg('a', 'spin'));
    expect([xsName(3), xl.record(3).name]).toEqual(['a', 'a']);
    expect(() => xl.rename(1, 'a--migratedaway', 'a')).toThrow(new UserError("xl: a domain named 'a' already exists"));
    expect(() => xl.rename(3, 'a', 'a--migratedaway')).toThrow(new UserError("xl: a domain named 'a--migratedaway' already exists"));
    // Lifecycle lines name it as it is named now.
    xl.destroy(1);
    expect(notices).toEqual(['a--migratedaway (d1): destroyed']);
    expect(xl.list().map((r) => r.name)).toEqual(['Domain-0', 'b', 'a']);
  });

  it('a domain stopped by the time limit and then destroyed keeps its ending: timeout', async () => {
    const { xl, notices } = toolstack();
    await xl.create(cfg('a', 'spin'));
    expect(await xl.run({ timeoutMs: 30 })).toBe('timeout');
    xl.destroy(1);
    expect(xl.records().map((r) => r.end)).toEqual([{ reason: 'timeout', exitCode: 1 }]);
    expect(notices).toEqual(['a (d1): destroyed']);
  });

  it('a failed build leaves nothing behind; a name is used once', async () => {
    const { hv, xl, log } = toolstack([], 'vif');
    await expect(xl.create(cfg('a', 'spin', { vifs: [{ bridge: 'xenbr0' }] }))).rejects.toThrow('vif backend failed');
    expect(log).toEqual(['attach console d1 0', 'close console d1 0']);
    expect([hv.list().length, xl.records().length]).toEqual([0, 0]);
    await xl.create(cfg('a', 'spin'));
    await expect(xl.create(cfg('a', 'spin'))).rejects.toThrow("a.cfg: a domain named 'a' already exists");
  });

  it('opens file disks (read-only as asked) and closes them; a missing image fails the create cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xl-disk-'));
    try {
      writeFileSync(join(dir, 'a.img'), new Uint8Array(8192));
      const sizes: string[] = [];
      const { hv, xl } = toolstack();
      (xl.opts.devices as { attachDisk: unknown }).attachDisk = (_hv: unknown, d: { domid: number }, devid: number, spec: { backend: { size: number; readOnly: boolean }; readOnly: boolean }) => {
        sizes.push(`d${d.domid} ${devid} ${spec.backend.size} ${spec.backend.readOnly} ${spec.readOnly}`);
        return { kind: 'vbd', devid, close: () => {}, stats: () => ({}) };
      };
      const disk = (target: string, vdev: string, devid: number) => ({ target: { path: join(dir, target) }, format: 'raw' as const, vdev, devid, readOnly: true });
      await xl.create(cfg('a', 'poweroff', { disks: [disk('a.img', 'xvda', 51712)] }));
      expect(sizes).toEqual(['d1 51712 8192 true true']);
      await expect(xl.create(cfg('b', 'poweroff', { disks: [disk('a.img', 'xvda', 51712), disk('none.img', 'xvdb', 51728)] })))
        .rejects.toThrow(`${join(dir, 'none.img')}: cannot open disk image: ENOENT`);
      expect(hv.list().map((d) => d.name)).toEqual(['a']);
      expect(await xl.run()).toBe('done');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // issue 11: an error thrown from a domain's run (its vCPU, the VMM, a backend running inside
  // its hypercalls) used to reject Toolstack.run and so end Dom0 and every other domain.
  it('a domain whose run throws crashes alone: on_crash applies, one notice names it, the others go on', async () => {
    const { hv, xl, out, notices } = toolstack();
    const bad = await xl.create(cfg('bad', 'spin'));
    const good = await xl.create(cfg('good', 'poweroff'));
    const kept = await xl.create(cfg('kept', 'spin', { onCrash: 'preserve' }));
    hv.domain(bad.domid)!.vm.run = async () => {
      throw new Error('backend exploded');
    };
    hv.domain(kept.domid)!.vm.run = async () => {
      throw new UserError('kept.elf: out of host memory (522 frames of 4 KiB in use); give the VM less --mem', 1);
    };
    expect(await xl.run()).toBe('done');
    expect([...notices].sort()).toEqual([
      'bad (d1): crash: internal error: backend exploded: destroyed',
      'good (d2): poweroff, exit code 0: destroyed',
      'kept (d3): crash: kept.elf: out of host memory (522 frames of 4 KiB in use); give the VM less --mem: preserved',
    ]);
    expect(out).toEqual(['good:(d2) hi\r\n']);
    expect([succeeded(bad), succeeded(good), bad.state, kept.state]).toEqual([false, true, 'gone', 'preserved']);
    expect(hv.list().map((d) => d.name)).toEqual(['kept']);
    const rows = xl.list();
    expect(rows.map((r) => r.name)).toEqual(['Domain-0', 'kept']);
    expect(formatXlList(rows.map((r) => ({ ...r, timeS: 0 }))).split('\n')[2]).toBe('kept                                         3    16     1     ----c-       0.0');
  });
});
