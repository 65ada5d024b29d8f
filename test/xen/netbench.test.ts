/**
 * guests/xen/netbench.c (issue 6's network benchmark guest) in a small configuration: two DomUs
 * on one Bridge, built by bench/xen.ts's netbenchSetup, run in alternating instruction slices
 * with deterministic time, so every line and counter is exact. The client pings 5 times and
 * sends 50,000 bytes in 41 frames (40 of 1240 payload bytes and one of 400: more than the
 * window of 24 frames); the server checksums the stream, whose FNV-1a the host computes too.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatXenBench, netbenchFnv, netbenchSetup, runNet, type NetbenchSetup } from '../../bench/xen';
import type { VmRunResult } from '../../host/vmm/vm';
import { xenSchedVcpu } from '../../host/xen/toolstack/xen-vcpu';

const ROOT = join(__dirname, '../..');

/**
 * Run both domains in turns of `slice` instructions until both have shut down, through the
 * toolstack's SchedVcpu (xenSchedVcpu): a slice ends at once when its domain blocks
 * (SCHEDOP_block, SCHEDOP_poll), and a blocked domain is passed over until an event is pending
 * for it, or until both are blocked and it is the one waiting with a timeout.
 */
async function runInTurns(s: NetbenchSetup, slice = 200_000n, maxRounds = 2000): Promise<VmRunResult[]> {
  const vcpus = s.domains.map((d) => xenSchedVcpu(s.hv, d));
  const last: (VmRunResult | undefined)[] = [undefined, undefined];
  const blocked = [false, false];
  for (let round = 0; round < maxRounds; round++) {
    let ran = 0;
    for (const [i, v] of vcpus.entries()) {
      if (last[i]?.reason === 'exit' || (blocked[i] && !v.wakeable())) continue;
      ran++;
      const r = await v.runSlice({ maxInstructions: slice });
      last[i] = r.result;
      blocked[i] = r.blocked;
    }
    if (last.every((r) => r?.reason === 'exit')) return last as VmRunResult[];
    if (ran === 0) {
      // Both blocked: as the credit scheduler's idle poll, run one that waits with a timeout
      // (SCHEDOP_poll's), whose clock then jumps to it (deterministic time).
      const i = vcpus.findIndex((v, k) => last[k]?.reason !== 'exit' && v.hasTimer());
      if (i < 0) throw new Error(`netbench: both domains blocked (output: ${JSON.stringify(s.text)})`);
      const r = await vcpus[i].runSlice({ maxInstructions: slice });
      last[i] = r.result;
      blocked[i] = r.blocked;
    }
  }
  throw new Error(`netbench still running after ${maxRounds} rounds`);
}

const BYTES = 50_000;
const FRAME = 1240;
const FRAMES = 41;

describe('guests/xen/netbench.elf', () => {
  it('pings, sends a stream the server checksums, and both power off (deterministic time)', async () => {
    const s = await netbenchSetup(ROOT, { pings: 5, bytes: BYTES, frame: FRAME, deterministic: true });
    const rs = await runInTurns(s);
    const fnv = netbenchFnv(BYTES).toString(16).padStart(8, '0');
    expect(fnv).toBe('1b358a72');
    expect(s.text[0]).toBe([
      'netbench: domain 1, client, mac 00:16:3e:00:01:00, ip 10.0.0.1, peer 10.0.0.2',
      'netbench: peer 10.0.0.2 at 00:16:3e:00:02:00',
      'netbench: ping: 5 round trips',
      'netbench: ping: 5 replies',
      `netbench: bulk: ${BYTES} bytes in ${FRAMES} frames of ${FRAME}, fnv1a 0x${fnv}`,
      `netbench: bulk: ${FRAMES} frames acked (6 acks, 0 resent), receiver fnv1a 0x${fnv} ok`,
      '',
    ].join('\r\n'));
    expect(s.text[1]).toBe([
      'netbench: domain 2, server, mac 00:16:3e:00:02:00, ip 10.0.0.2, peer 10.0.0.1',
      'netbench: answered 5 echo requests',
      `netbench: received ${FRAMES} frames, ${BYTES} bytes, fnv1a 0x${fnv}, pattern ok (0 out of order, 6 acks)`,
      '',
    ].join('\r\n'));
    for (const [i, r] of rs.entries()) {
      expect(r).toMatchObject({ reason: 'exit', exitCode: 0 });
      expect(s.domains[i].shutdownReason).toBe('poweroff');
    }

    // Frames on the wire. Client: its ARP request, its reply to the server's, 5 echo requests
    // (98 bytes), 41 DATA; server: its ARP request, 5 echo replies, 6 ACKs (60 bytes, padded).
    const [c, v] = [s.vifs[0].driver.stats, s.vifs[1].driver.stats];
    const dataBytes = FRAMES * (14 + 16) + BYTES;
    expect({ tx: c.txPackets, bytes: c.txBytes }).toEqual({ tx: 1 + 1 + 5 + FRAMES, bytes: 60 + 60 + 5 * 98 + dataBytes });
    expect({ tx: v.txPackets, bytes: v.txBytes }).toEqual({ tx: 1 + 5 + 6, bytes: 60 + 5 * 98 + 6 * 60 });
    // The client's ARP request went out before the server's vif was connected: dropped there.
    expect({ rx: v.rxPackets, noBuf: v.rxNoBuffer, bytes: v.rxBytes }).toEqual({ rx: 1 + 5 + FRAMES, noBuf: 1, bytes: 60 + 5 * 98 + dataBytes });
    expect({ rx: c.rxPackets, noBuf: c.rxNoBuffer, bytes: c.rxBytes }).toEqual({ rx: 1 + 5 + 6, noBuf: 0, bytes: 60 + 5 * 98 + 6 * 60 });
    for (const x of [c, v]) expect(x.txErrors + x.spoofed + x.rxOversize + x.rxErrors + x.internalErrors).toBe(0);
    expect(s.bridge.stats).toMatchObject({ flooded: 2, forwarded: 1 + 5 + FRAMES + 5 + 6, filtered: 0, invalid: 0 });
    expect(s.hv.xenstore.stats.internalErrors).toBe(0);
  }, 10_000);

  it('goes back to the first unacknowledged frame after a loss (go-back-N)', async () => {
    const s = await netbenchSetup(ROOT, { pings: 1, bytes: BYTES, frame: FRAME, deterministic: true });
    // Lose DATA frame 10 once on its way into the server's vif.
    const port = s.vifs[1].driver;
    const deliver = port.deliver.bind(port);
    let lost = 0;
    port.deliver = (f) => {
      const d = f.data;
      const seq = d.length >= 30 ? new DataView(d.buffer, d.byteOffset).getUint32(18) : -1;
      if (!lost && d[12] === 0x88 && d[13] === 0xb5 && d[14] === 1 && seq === 10) {
        lost++;
        return;
      }
      deliver(f);
    };
    await runInTurns(s);
    const fnv = netbenchFnv(BYTES).toString(16).padStart(8, '0');
    expect(lost).toBe(1);
    const line = (t: string, re: RegExp) => t.split('\r\n').find((l) => re.test(l));
    expect(line(s.text[0], /frames acked/)).toBe(`netbench: bulk: ${FRAMES} frames acked (7 acks, 14 resent), receiver fnv1a 0x${fnv} ok`);
    expect(line(s.text[1], /received/)).toBe(`netbench: received ${FRAMES} frames, ${BYTES} bytes, fnv1a 0x${fnv}, pattern ok (13 out of order, 7 acks)`);
    // Every frame sent was one of the 41, or one of the 14 sent again.
    expect(s.vifs[0].driver.stats.txPackets).toBe(1 + 1 + 1 + FRAMES + 14);
  }, 10_000);

  /** Drop, once each, the frames into vif `to` (0 client, 1 server) that `pick` selects. */
  function lose(s: NetbenchSetup, to: number, pick: (d: Uint8Array) => boolean): { lost: number } {
    const port = s.vifs[to].driver;
    const deliver = port.deliver.bind(port);
    const state = { lost: 0 };
    port.deliver = (f) => {
      if (state.lost === 0 && pick(f.data)) {
        state.lost++;
        return;
      }
      deliver(f);
    };
    return state;
  }
  const bench = (d: Uint8Array, type: number) => d.length >= 30 && d[12] === 0x88 && d[13] === 0xb5 && d[14] === type;
  const u32 = (d: Uint8Array, at: number) => new DataView(d.buffer, d.byteOffset).getUint32(at);

  it('a lost last frame and a lost echo reply are sent again after the timeout (SCHEDOP_poll)', async () => {
    const s = await netbenchSetup(ROOT, { pings: 2, bytes: BYTES, frame: FRAME, deterministic: true });
    const data = lose(s, 1, (d) => bench(d, 1) && u32(d, 18) === FRAMES - 1);
    const reply = lose(s, 0, (d) => d.length >= 42 && d[12] === 0x08 && d[13] === 0 && d[23] === 1 && d[34] === 0); // ICMP echo reply
    const rs = await runInTurns(s);
    expect([data.lost, reply.lost]).toEqual([1, 1]);
    expect(rs.map((r) => [r.reason, r.exitCode])).toEqual([['exit', 0], ['exit', 0]]);
    const fnv = netbenchFnv(BYTES).toString(16).padStart(8, '0');
    const line = (t: string, re: RegExp) => t.split('\r\n').find((l) => re.test(l));
    expect(line(s.text[0], /ping: \d+ replies/)).toBe('netbench: ping: 2 replies');
    expect(line(s.text[0], /frames acked/)).toBe(`netbench: bulk: ${FRAMES} frames acked (6 acks, 1 resent), receiver fnv1a 0x${fnv} ok`);
    expect(line(s.text[1], /echo requests/)).toBe('netbench: answered 3 echo requests'); // one asked twice
    expect(line(s.text[1], /received/)).toBe(`netbench: received ${FRAMES} frames, ${BYTES} bytes, fnv1a 0x${fnv}, pattern ok (0 out of order, 6 acks)`);
    // ARP request and reply, 3 echo requests, the 41 frames and the one sent again.
    expect(s.vifs[0].driver.stats.txPackets).toBe(1 + 1 + 3 + FRAMES + 1);
  }, 10_000);

  it('a lost final ACK: the client sends the end again, the lingering server acknowledges it once more', async () => {
    const s = await netbenchSetup(ROOT, { pings: 1, bytes: BYTES, frame: FRAME, deterministic: true });
    const ack = lose(s, 0, (d) => bench(d, 2) && u32(d, 18) === FRAMES);
    await runInTurns(s);
    expect(ack.lost).toBe(1);
    const fnv = netbenchFnv(BYTES).toString(16).padStart(8, '0');
    const line = (t: string, re: RegExp) => t.split('\r\n').find((l) => re.test(l));
    expect(line(s.text[0], /frames acked/)).toBe(`netbench: bulk: ${FRAMES} frames acked (6 acks, 1 resent), receiver fnv1a 0x${fnv} ok`);
    expect(line(s.text[1], /received/)).toBe(`netbench: received ${FRAMES} frames, ${BYTES} bytes, fnv1a 0x${fnv}, pattern ok (0 out of order, 7 acks)`);
  }, 10_000);

  it('runNet (the benchmark: real time, both vCPUs at once) reports a matching checksum and sane figures', async () => {
    const n = await runNet(ROOT, { pings: 10, bytes: BYTES, frame: FRAME, deterministic: false }, 10_000);
    expect(n).toMatchObject({ pings: 10, bytes: BYTES, frames: FRAMES, frameBytes: FRAME, checksumOk: true, resent: 0, rxNoBuffer: 0 });
    for (const x of [n.rttUs, n.mbPerS, n.exitsPerMb, n.notificationsPerMb]) expect(x).toBeGreaterThan(0);
    expect(n.lines[1]).toMatch(/^netbench: received 41 frames, 50000 bytes, fnv1a 0x1b358a72, pattern ok \(0 out of order, 6 acks\)$/);
    const text = formatXenBench({ disk: null, net: n });
    expect(text).toContain(`  ICMP echo round trip   ${n.rttUs.toFixed(1).padStart(8)} µs  (10 pings, one at a time)`);
    expect(text).toContain(`for ${BYTES} bytes in ${FRAMES} frames of ${FRAME}`);
    expect(text).toContain('0 resent, 0 dropped  checksum matched');
  }, 10_000);
});
