/**
 * The Xen state across an in-process save and restore (host/snapshot/xen.ts): the diskloop DomU
 * (guests/xen/diskloop.c) runs under a Toolstack with the real backends; after round 20 it is
 * saved and destroyed (d1) and restored (d2) between two slices, and the restored domain's
 * XenStore directories, event channels and grant mappings are checked against what d1 had,
 * renamed: then it runs to its end, and its console and disk equal an unsaved run's.
 * A vif still in its handshake comes back offered again, under its old MAC (vif-save.test.ts
 * restores a connected one).
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as devices from '../../host/xen/devices';
import { ECS_INTERDOMAIN } from '../../host/xen/event-channel';
import { XenHypervisor } from '../../host/xen/hypervisor';
import type { DomainCfg } from '../../host/xen/toolstack/cfg';
import { Toolstack, type DeviceOps } from '../../host/xen/toolstack/xl';
import { readXenSave } from '../../host/snapshot/xen';
import { MemoryBackend } from '../../host/devices/virtio/backend';
import { DISKLOOP, ROOT } from './save-helpers';

const cfg = (name: string, over: Partial<DomainCfg> = {}): DomainCfg => ({
  file: `${name}.cfg`, name, kernel: DISKLOOP, memoryMiB: 16, vcpus: 1,
  disks: [{ target: { memoryBytes: 1 << 20 }, format: 'raw', vdev: 'xvda', devid: 51712, readOnly: false }], vifs: [],
  onPoweroff: 'destroy', onReboot: 'destroy', onCrash: 'destroy', weight: 256, cap: 0, ...over,
});

function toolstack() {
  const hv = new XenHypervisor();
  const out: string[] = [];
  const notices: string[] = [];
  const xl = new Toolstack(hv, {
    devices: devices as DeviceOps, deterministic: true,
    onConsole: (_rec, b) => out.push(new TextDecoder().decode(b)),
    onNotice: (l) => notices.push(l),
  });
  return { hv, xl, out, notices, lines: () => out.join('').replace(/\r/g, '').split('\n').filter((l) => l.startsWith('diskloop')) };
}

/** The memory disk of the toolstack's newest record (it stays readable after the domain is gone). */
const diskOf = (xl: Toolstack): MemoryBackend => {
  const d = (xl as unknown as { disks: Map<unknown, MemoryBackend[]> }).disks;
  return [...d.values()].at(-1)![0];
};
const bytesOf = (b: MemoryBackend) => {
  const bytes = new Uint8Array(b.size);
  b.read(0, bytes);
  return bytes;
};

describe.skipIf(!existsSync(DISKLOOP))('Xen state across xl save / xl restore (in process)', () => {
  it('XenStore, event channels and grant mappings come back renamed to the new domid; the run ends as an unsaved one', async () => {
    const ref = toolstack();
    await ref.xl.create(cfg('dl'));
    const refDisk = diskOf(ref.xl);
    expect(await ref.xl.run()).toBe('done');
    expect(ref.lines().length).toBe(1202);

    const t = toolstack();
    await t.xl.create(cfg('dl'));
    const { hv, xl } = t;
    let checked = false;
    let disk: MemoryBackend | undefined;
    let save: Uint8Array | undefined;
    const before: { ports: string[]; maps: number } = { ports: [], maps: 0 };
    const hook = setInterval(() => {
      if (save !== undefined || !t.lines().some((l) => l.startsWith('diskloop: round 20 '))) return;
      save = new Uint8Array(0);
      xl.defer(async () => {
        before.ports = hv.evtchn.domainPorts(1)!.map((p) => `${p.port}:${p.state}:${p.remoteDom}:${p.vcpu}`);
        before.maps = hv.grants.activeMappings(1);
        save = xl.saveBytes(1);
        xl.saved(1, 'saved', 'memory');
        expect(hv.xs.tryRead('/local/domain/1')).toBeUndefined();
        expect(hv.xs.tryRead('/local/domain/0/backend/vbd/1/51712')).toBeUndefined();
        const rec = await xl.restore(readXenSave('memory', save));
        expect(rec.domid).toBe(2);
        disk = diskOf(xl);
        // XenStore: the home and the backend directory renamed, links and ids with them.
        expect(hv.xs.read('/local/domain/2/domid')).toBe('2');
        expect(hv.xs.read('/local/domain/2/name')).toBe('dl');
        expect(hv.xs.getPerms('/local/domain/2')).toEqual(['n0', 'r2']);
        expect(hv.xs.read('/local/domain/2/device/vbd/51712/backend')).toBe('/local/domain/0/backend/vbd/2/51712');
        expect(hv.xs.getPerms('/local/domain/2/device/vbd/51712')).toEqual(['n2', 'r0']);
        expect(hv.xs.read('/local/domain/2/device/vbd/51712/state')).toBe('4');
        expect(hv.xs.read('/local/domain/0/backend/vbd/2/51712/frontend')).toBe('/local/domain/2/device/vbd/51712');
        expect(hv.xs.read('/local/domain/0/backend/vbd/2/51712/frontend-id')).toBe('2');
        expect(hv.xs.read('/local/domain/0/backend/vbd/2/51712/state')).toBe('4');
        expect(hv.xs.tryRead('/local/domain/1')).toBeUndefined();
        // Event channels: the same ports, those to Dom0 bound again (to new host ports).
        const after = hv.evtchn.domainPorts(2)!;
        expect(after.map((p) => `${p.port}:${p.state}:${p.remoteDom}:${p.vcpu}`)).toEqual(before.ports);
        const blkPort = Number(hv.xs.read('/local/domain/2/device/vbd/51712/event-channel'));
        for (const port of [1, 2, blkPort]) expect(after.find((p) => p.port === port)?.state).toBe(ECS_INTERDOMAIN);
        // Grants: blkback mapped its ring again (one mapping, as before).
        expect(before.maps).toBe(1);
        expect(hv.grants.activeMappings(2)).toBe(1);
        checked = true;
      });
    }, 2);
    try {
      expect(await xl.run()).toBe('done');
    } finally {
      clearInterval(hook);
    }
    expect(checked).toBe(true);
    expect(t.notices).toEqual(['dl (d1): saved to memory: destroyed', 'dl (d2): poweroff, exit code 0: destroyed']);
    expect(t.lines()).toEqual(ref.lines());
    // The memory disk travelled in the save (XDSK) and ends as the unsaved run's did.
    expect(readXenSave('memory', save!).sections.has('XDSK:vbd51712')).toBe(true);
    expect(bytesOf(disk!)).toEqual(bytesOf(refDisk));
    expect(bytesOf(refDisk).some((b) => b !== 0)).toBe(true);
  }, 120_000);

  it('a domain blocked in SCHEDOP_block on its console is restored blocked, wakes on typing and echoes it', async () => {
    const t = toolstack();
    await t.xl.create(cfg('ce', { kernel: join(ROOT, 'guests/bin/xen/conecho.elf'), disks: [] }));
    const text = () => t.out.join('').replace(/\r/g, '');
    let step = 0;
    const hook = setInterval(() => {
      if (step === 0 && text().includes('echoing the PV console\n')) {
        step = 1;
        t.xl.defer(async () => {
          // Blocked: its vCPU waits in SCHEDOP_block for the console's event.
          expect(t.hv.domain(1)!.vm.vmmState(true).suspended).toEqual({ retentive: true, resumeAddr: '0', opaque: '0' });
          const save = t.xl.saveBytes(1);
          t.xl.saved(1, 'saved', 'memory');
          const rec = await t.xl.restore(readXenSave('memory', save));
          expect(rec.domid).toBe(2);
          expect(t.hv.domain(2)!.vm.vmmState(true).suspended).toEqual({ retentive: true, resumeAddr: '0', opaque: '0' });
          t.xl.console(2)(new TextEncoder().encode('after restore\rpoweroff\r'));
          step = 2;
        });
      }
    }, 2);
    try {
      expect(await t.xl.run()).toBe('done');
    } finally {
      clearInterval(hook);
    }
    expect(step).toBe(2);
    expect(text()).toBe('conecho: domain 1, echoing the PV console\nafter restore\nconecho: got \'after restore\'\npoweroff\nconecho: got \'poweroff\'\n');
    expect(t.notices).toEqual(['ce (d1): saved to memory: destroyed', 'ce (d2): poweroff, exit code 0: destroyed']);
  }, 120_000);

  it('a domain whose vif its guest never connected is saved and restored: the backend offers the vif again, under the MAC it had', async () => {
    const t = toolstack();
    // conecho runs no netfront: the vif stays in the handshake (backend InitWait, frontend Initialising).
    await t.xl.create(cfg('nv', { kernel: join(ROOT, 'guests/bin/xen/conecho.elf'), disks: [], vifs: [{ bridge: 'xenbr0' }] as DomainCfg['vifs'] }));
    const mac = '00:16:3e:00:01:00'; // attachVif's default for d1, vif 0
    expect(t.hv.xs.read('/local/domain/0/backend/vif/1/0/mac')).toBe(mac);
    const save = readXenSave('memory', t.xl.saveBytes(1));
    expect(save.sections.has('XBKD:vif0')).toBe(true);
    t.xl.saved(1, 'saved', 'memory');
    const rec = await t.xl.restore(save);
    expect(rec.domid).toBe(2);
    for (const p of ['/local/domain/0/backend/vif/2/0/mac', '/local/domain/2/device/vif/0/mac']) expect(t.hv.xs.read(p)).toBe(mac);
    expect([t.hv.xs.read('/local/domain/0/backend/vif/2/0/state'), t.hv.xs.read('/local/domain/2/device/vif/0/state')]).toEqual(['2', '1']);
    expect(t.hv.xs.read('/local/domain/0/backend/vif/2/0/frontend-id')).toBe('2');
    t.xl.destroy(2);

    // A Dom0 without the vif's bridge refuses it in one line and keeps nothing of it.
    const hv = new XenHypervisor();
    const other = new Toolstack(hv, { devices: devices as DeviceOps, deterministic: true, bridges: ['br0'] });
    await expect(other.restore(save)).rejects.toThrow("toolstack: no bridge 'xenbr0' (have br0)");
    expect([hv.hasDomain(1), hv.xs.tryRead('/local/domain/1'), hv.xs.tryRead('/local/domain/0/backend/vif/1'), other.records()]).toEqual([false, undefined, undefined, []]);
  });
});
