/**
 * XenHypervisor: building and destroying domains, configuration errors, the shared external
 * interrupt line, snapshots.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../host/errors';
import { parseImage } from '../../host/machine/loader';
import { EIP_SOURCE_PLIC, EIP_SOURCE_UPCALL } from '../../host/vmm/vm';
import { XenHypervisor } from '../../host/xen/hypervisor';

const LOOP = new Uint8Array([0x6f, 0, 0, 0]); // j .
const kernel = (at = 0x80200000n, bytes = LOOP) => parseImage(bytes, 'k.bin', at);
const cfg = (name: string) => ({ name, memSize: 16 << 20, kernel: kernel(), deterministic: true });

describe('XenHypervisor', () => {
  it('gives out the lowest free domain ids and refuses bad configurations with one line', async () => {
    const hv = new XenHypervisor();
    expect((await hv.createDomain(cfg('a'))).domid).toBe(1);
    expect((await hv.createDomain(cfg('b'))).domid).toBe(2);
    await expect(hv.createDomain({ ...cfg('c'), domid: 2 })).rejects.toThrow(new UserError('c: domain id 2 is in use by b'));
    await expect(hv.createDomain({ ...cfg('c'), domid: 0x7ff0 })).rejects.toThrow('c: domain id 32752 is out of range (1..32751)');
    await expect(hv.createDomain({ ...cfg('c'), memSize: (16 << 20) + 1 })).rejects.toThrow('c: memory 16777217 bytes; a DomU needs a multiple of 4 KiB, at least 4 MiB');
    await expect(hv.createDomain({ ...cfg('c'), kernel: kernel(0x80ff8000n, new Uint8Array(0x2000)) }))
      .rejects.toThrow('k.bin: segment at 0x80ff8000 reaches the hypervisor pages at 0x80ff9000; give the domain more memory');
    // A failed build leaves nothing behind.
    expect(hv.evtchn.hasDomain(3)).toBe(false);
    expect(hv.list().map((d) => d.name)).toEqual(['a', 'b']);
  });

  it('destroyDomain releases everything; the id is reused', async () => {
    const hv = new XenHypervisor();
    await hv.createDomain(cfg('a'));
    hv.destroyDomain(1);
    expect([hv.domain(1), hv.evtchn.hasDomain(1), hv.grants.hasDomain(1), hv.xenstore.isIntroduced(1)]).toEqual([undefined, false, false, false]);
    expect(hv.xs.tryRead('/local/domain/1/name')).toBeUndefined();
    expect((await hv.createDomain(cfg('b'))).domid).toBe(1);
  });

  it('hvip.VSEIP is the OR of the PLIC and the upcall', async () => {
    const hv = new XenHypervisor();
    const { vm } = await hv.createDomain(cfg('a'));
    const vseip = () => (vm.vmcs.hvip >> 10n) & 1n;
    vm.setExternalInterrupt(EIP_SOURCE_UPCALL, true);
    vm.setExternalInterrupt(EIP_SOURCE_PLIC, false);
    expect(vseip()).toBe(1n);
    vm.setExternalInterrupt(EIP_SOURCE_PLIC, true);
    vm.setExternalInterrupt(EIP_SOURCE_UPCALL, false);
    expect(vseip()).toBe(1n);
    vm.setExternalInterrupt(EIP_SOURCE_PLIC, false);
    expect(vseip()).toBe(0n);
  });

  it('snapshot() is plain JSON data', async () => {
    const hv = new XenHypervisor();
    const d = await hv.createDomain(cfg('a'));
    d.setTimer(123_456_700n);
    const s = JSON.parse(JSON.stringify(hv.snapshot()));
    expect(s.domains).toEqual([{ domid: 1, name: 'a', xenstoreEvtchn: 1, consoleEvtchn: 2, timerDeadline: '1234567', poll: null, shutdown: null }]);
    expect(s.evtchn.domains.find((t: { domid: number }) => t.domid === 1).ports.map((p: { port: number; state: number }) => [p.port, p.state])).toEqual([[1, 3], [2, 2]]);
  });
});
