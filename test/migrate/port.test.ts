/**
 * Live migration over a MessagePort (host/migrate/port-transport.ts), the transport of the demo
 * page's migration between two Workers, here between two in-process endpoints of Node's
 * MessageChannel: the source (source.ts) and target (incoming.ts receiveOver) are the CLI's,
 * unchanged. minikernel under --deterministic is migrated mid-run: the source's output followed
 * by the target's equals an unmigrated run's, with at least one live round before the
 * stop-and-copy. A target of another --mem refuses with the configuration's one line and the
 * source runs the guest on to the same output. The transport itself: bytes in order, flow
 * control at its window (write() false, then 'drain' once the peer took half of it), end().
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFile } from '../../host/machine/loader';
import { Vm } from '../../host/vmm/vm';
import { UserError } from '../../host/errors';
import { receiveOver } from '../../host/migrate/incoming';
import { defaultMigrateOptions } from '../../host/migrate/options';
import { PortTransport, WINDOW } from '../../host/migrate/port-transport';
import type { RoundStats, Summary } from '../../host/migrate/progress';
import { MigrationSource } from '../../host/migrate/source';

const KERNEL = join(__dirname, '../../guests/bin/minikernel/minikernel.elf');
const text = (out: Uint8Array[]) => Buffer.concat(out).toString('latin1');

function make(out: Uint8Array[], memSize = 128 << 20): Promise<Vm> {
  return Vm.create({ memSize, kernel: loadImageFile(KERNEL, 0x80200000n), deterministic: true, onConsoleOutput: (b) => out.push(Uint8Array.from(b)) });
}

/** Run `src` while it migrates to `tgt` over a MessageChannel, as the CLI's run loop does. */
async function migrate(src: Vm, tgt: Vm): Promise<{ rounds: RoundStats[]; end: { summary: Summary } | { error: string } | undefined; received: Promise<unknown>; handedOver: boolean; srcExit?: number }> {
  const ch = new MessageChannel();
  const rounds: RoundStats[] = [];
  let end: { summary: Summary } | { error: string } | undefined;
  const received = receiveOver(tgt, new PortTransport(ch.port2), 'target').catch((e: unknown) => e);
  const source = new MigrationSource(src, src, { ...defaultMigrateOptions(), maxRounds: 3 }, {
    stderr: () => undefined, isTTY: false, onRound: (r) => rounds.push(r), onEnd: (e) => (end = e),
  }, { text: 'port', connect: () => Promise.resolve(new PortTransport(ch.port1)) });
  source.start();
  for (;;) {
    // In slices of 10,000 instructions with a timer turn between them, so the migration's rounds
    // (timers and messages) keep pace with the guest however fast it runs: minikernel's whole run
    // is 14.5 M instructions, and a guest that exits rarely (its first touches of RAM are handled
    // in the core) yields to the event loop only at its 1 M-instruction time slices. (A slice this
    // short ends before the run loop's own yield, so the source's stop() lands between two run()
    // calls: the next one must return 'stopped'.)
    const r = await src.run({ timeoutMs: 60_000, maxInstructions: 10_000n });
    if (r.reason === 'max-instructions') {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    if (r.reason === 'stopped' && source.stopWanted) {
      if (await source.stopAndCopy()) return { rounds, end, received, handedOver: true };
      continue;
    }
    source.abandon('the run ended first');
    return { rounds, end, received, handedOver: false, srcExit: r.exitCode };
  }
}

describe('live migration over a MessagePort', () => {
  it('VM: minikernel moves mid-run; the output is the unmigrated run\'s', async () => {
    const refOut: Uint8Array[] = [];
    const ref = await (await make(refOut)).run({ timeoutMs: 60_000 });
    expect([ref.reason, ref.exitCode]).toEqual(['exit', 0]);
    const expected = text(refOut);
    expect(expected).toContain('minikernel: shutdown');

    const srcOut: Uint8Array[] = [];
    const tgtOut: Uint8Array[] = [];
    // minikernel as a VM ends in ~150 ms: on a loaded machine it can end before the hand-over (the
    // source abandons, the guest's whole output is here). Only that outcome is tried again.
    let m: Awaited<ReturnType<typeof migrate>> | undefined;
    let tgt: Vm | undefined;
    for (let attempt = 0; attempt < 4 && !m?.handedOver; attempt++) {
      if (m) {
        expect([m.srcExit, text(srcOut), text(tgtOut)]).toEqual([0, expected, '']);
        srcOut.length = 0;
        tgtOut.length = 0;
      }
      tgt = await make(tgtOut);
      m = await migrate(await make(srcOut), tgt);
    }
    m = m!;
    expect(m.handedOver, JSON.stringify({ end: m.end, rounds: m.rounds.length, exit: m.srcExit })).toBe(true);
    const got = (await m.received) as { pages: number; bytes: number };
    expect(m.rounds.length).toBeGreaterThanOrEqual(1);
    expect(m.rounds.map((r) => r.round)).toEqual(m.rounds.map((_, i) => i + 1));
    expect(m.rounds[0].pages).toBeGreaterThan(0);
    expect(m.end && 'summary' in m.end).toBe(true);
    const s = (m.end as { summary: Summary }).summary;
    expect(s.rounds.slice(0, -1)).toEqual(m.rounds);
    expect(s.rounds[s.rounds.length - 1].stopAndCopy).toBe(true);
    expect(s.downtimeMs).toBeLessThanOrEqual(s.totalMs);
    // Every page of round 1 reached the target; the stream is the payloads plus 13 bytes of framing a message.
    expect(got.pages).toBeGreaterThanOrEqual(m.rounds[0].pages);
    expect(got.bytes).toBeLessThan(s.bytes);
    const t = await tgt!.run({ timeoutMs: 60_000 });
    expect([t.reason, t.exitCode]).toEqual(['exit', 0]);
    expect(text(tgtOut).length).toBeGreaterThan(0);
    expect(text(srcOut) + text(tgtOut)).toBe(expected);
  }, 120_000);

  it('a target of another --mem refuses with one line; the source runs on to the same output', async () => {
    const refOut: Uint8Array[] = [];
    await (await make(refOut)).run({ timeoutMs: 60_000 });
    const srcOut: Uint8Array[] = [];
    const src = await make(srcOut);
    const tgt = await make([], 64 << 20);
    const m = await migrate(src, tgt);
    expect(m.handedOver).toBe(false);
    expect(m.srcExit).toBe(0);
    const err = await m.received;
    expect(err).toBeInstanceOf(UserError);
    const line = 'the source VM does not match this command line: --mem 128M there, --mem 64M here';
    expect((err as Error).message).toBe(`target: ${line}`);
    expect(m.end).toEqual({ error: `refused by the target: ${line}` });
    expect(text(srcOut)).toBe(text(refOut));
  }, 120_000);

  it('the transport: bytes in order, write() false at the window, drain after acks, end', async () => {
    const ch = new MessageChannel();
    const a = new PortTransport(ch.port1, 1000);
    const b = new PortTransport(ch.port2, 1000);
    const got: number[] = [];
    const ended = new Promise<void>((r) => b.on('end', () => r()));
    b.on('data', (d: Uint8Array) => got.push(...d));
    expect(a.write(new Uint8Array(400).fill(1))).toBe(true);
    expect(a.write(new Uint8Array(400).fill(2))).toBe(true);
    expect(a.write(new Uint8Array(400).fill(3))).toBe(false); // 1200 unacknowledged >= 1000
    expect(a.write(Uint8Array.of(4))).toBe(false); // still blocked until a drain
    await new Promise<void>((r) => a.on('drain', () => r()));
    expect(a.write(Uint8Array.of(5))).toBe(true);
    a.end(Uint8Array.of(6));
    await ended;
    expect(got).toEqual([...Array(400).fill(1), ...Array(400).fill(2), ...Array(400).fill(3), 4, 5, 6]);
    expect([a.sent, b.received, a.destroyed, b.destroyed]).toEqual([1203, 1203, true, true]);
    expect(a.write(Uint8Array.of(7))).toBe(false);
    expect(WINDOW).toBe(4 << 20);
  }, 30_000);
});
