/**
 * Post-copy and hybrid live migration between two wasmvisor processes on loopback (issue 14,
 * docs/migration.md "Post-copy"), run as a user runs it (`node bin/wasmvisor.mjs`; needs the
 * build). minikernel under --deterministic, a VM and a bare machine behind OpenSBI, is migrated
 * mid-run: the source's console output followed by the target's is the unmigrated run's, both
 * exit 0, and the target fetched pages on demand. A proxy that reads the stream's frames faults
 * it at a chosen message: a cut before the switch (in STATE) leaves the source running to the
 * same output and the target refusing, having run nothing; a cut or a corruption after the switch
 * (in a PAGES message after COMMIT) loses the VM: both sides say so in one line and exit 69, and
 * the guest's output on the two sides stays a strict prefix of the unmigrated run's.
 */
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPENSBI, oracle } from '../oracles';
import { BIN, ROOT, start, type Done } from './process';

const KERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
const BLK = join(ROOT, 'guests/bin/vmvirtio/blk.elf');
const haveOpensbi = oracle('opensbi', 'test/migrate/postcopy.test.ts');
let nextPort = 21000 + ((process.pid * 7) % 20000);
const EXIT_VM_LOST = 69;

const MSG = { STATE: 0x53, COMMIT: 0x43, PAGES: 0x50 };

/**
 * Where a fault hits: inside the STATE message (before the switch), or inside the payload of the
 * n-th PAGES message after COMMIT (after it); `frac` places it within that message.
 */
type Fault = { kind: 'cut' | 'corrupt'; when: 'before-switch' } | { kind: 'cut' | 'corrupt'; when: 'after-switch'; n: number };

/**
 * A TCP proxy on `port` to `to` that follows the source-to-target stream's frames (u8 type, u32
 * length, u32 CRC, payload, u32 CRC) and faults it once, where `fault` says.
 */
function proxy(port: number, to: number, fault: Fault, frac: number): Promise<{ reached: () => boolean; close: () => void }> {
  let reached = false;
  let server: net.Server;
  return new Promise((ready) => {
    server = net.createServer((src) => {
      const dst = net.connect({ port: to, host: '127.0.0.1' });
      let seen = 0;
      let next = 0; // offset of the next frame
      let hdr: number[] = [];
      let committed = false;
      let pagesAfter = 0;
      let faultAt = -1;
      const onFrame = (type: number, at: number, size: number) => {
        if (type === MSG.COMMIT) committed = true;
        if (faultAt >= 0) return;
        if (fault.when === 'before-switch' && type === MSG.STATE) faultAt = at + Math.floor(frac * size);
        if (fault.when === 'after-switch' && committed && type === MSG.PAGES && ++pagesAfter === fault.n) faultAt = at + 9 + Math.floor(frac * (size - 13));
      };
      const scan = (d: Buffer, base: number) => {
        for (let i = Math.max(0, next - base); i < d.length; ) {
          hdr.push(d[i++]);
          if (hdr.length < 9) continue;
          const size = 13 + (hdr[1] | (hdr[2] << 8) | (hdr[3] << 16) | (hdr[4] << 24)) >>> 0;
          onFrame(hdr[0], next, size);
          next += size;
          hdr = [];
          i = Math.max(i, next - base);
        }
      };
      const kill = () => { src.destroy(); dst.destroy(); };
      dst.on('data', (d) => src.write(d));
      dst.on('error', kill).on('close', kill);
      src.on('error', kill).on('close', () => dst.end());
      src.on('data', (d: Buffer) => {
        const base = seen;
        seen += d.length;
        scan(d, base);
        if (reached || faultAt < base || faultAt >= seen) return void dst.write(d);
        reached = true;
        const at = faultAt - base;
        if (fault.kind === 'cut') {
          dst.write(d.subarray(0, at), kill);
        } else {
          const c = Buffer.from(d);
          c[at] ^= 0x5a;
          dst.write(c);
        }
      });
    });
    server.listen(port, '127.0.0.1', () => ready({ reached: () => reached, close: () => server.close() }));
  });
}

const VM = ['run', KERNEL, '--deterministic'];
const BARE = ['run', '--bare', '--bios', OPENSBI, KERNEL, '--deterministic'];
const reference = new Map<string[], string>();

function unmigrated(args: string[], end = 'minikernel: shutdown'): string {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(end);
  return r.stdout;
}

beforeAll(() => {
  reference.set(VM, unmigrated(VM));
  if (haveOpensbi) reference.set(BARE, unmigrated(BARE));
}, 120_000);

/** Target on one port, (a proxy,) the source; both outcomes. */
async function migrate(args: string[], source: string[], fault?: Fault, frac = 0.5) {
  const port = nextPort++;
  const target = start([...args, '--incoming', `tcp:127.0.0.1:${port}`]);
  await target.stderrHas(`wasmvisor: waiting for a migration on tcp:127.0.0.1:${port}\n`);
  let via = port;
  let px: Awaited<ReturnType<typeof proxy>> | undefined;
  if (fault) {
    via = nextPort++;
    px = await proxy(via, port, fault, frac);
  }
  const src = start([...args, ...source, '--migrate-to', `tcp:127.0.0.1:${via}`]);
  const watchdog = setTimeout(() => { src.child.kill(); target.child.kill(); }, 50_000);
  // A source that never handed over (its guest ended before --migrate-after, or during the
  // rounds) leaves the target waiting: end it soon after the source is gone.
  let handedOver = false;
  target.stderrHas('wasmvisor: migrated in from').then(() => (handedOver = true), () => undefined);
  void src.done.then(() => setTimeout(() => { if (!handedOver) target.child.kill(); }, 3_000).unref());
  const [s, t] = await Promise.all([src.done, target.done]);
  clearTimeout(watchdog);
  px?.close();
  return { s, t, reached: px?.reached() ?? false };
}

/**
 * migrate(), again with half the --migrate-after when the guest ended before the hand-over (the
 * source finished the run and the target ran nothing): minikernel runs for a few hundred ms, and
 * a migration can lose that race, on an idle machine by its delay, on a loaded one while the
 * target prepares before its OK. Any other outcome counts.
 */
async function migrateInTime(args: string[], source: string[]) {
  let after = Number(source[source.indexOf('--migrate-after') + 1]);
  for (let attempt = 1; ; attempt++) {
    const r = await migrate(args, source.map((v, i) => (source[i - 1] === '--migrate-after' ? String(after) : v)));
    if (!lostRace(r) || attempt === RACE_TRIES) return r;
    after /= 2;
  }
}

/**
 * How many times a case is run while the guest outruns its migration (lostRace): minikernel as a
 * VM ends in ~150 ms, so on a loaded machine the switch can come after its end a few times running.
 */
const RACE_TRIES = 6;

/** The source's guest ended before the hand-over: it says "abandoned", or nothing if the timer had not fired. */
function lostRace(r: Awaited<ReturnType<typeof migrate>>): boolean {
  return r.s.code === 0 && r.t.stdout === '' && r.t.code !== 0 && (r.s.stderr === '' || /abandoned: the run ended first/.test(r.s.stderr));
}

const targetLines = (t: Done) => t.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('wasmvisor: waiting for a migration'));

/** Migrated exactly; returns the pages fetched on demand (the source's and the target's count agree). */
function expectMigrated(r: Awaited<ReturnType<typeof migrate>>, expected: string, mode: 'postcopy' | 'hybrid', deviceWaits?: (n: number) => void, precopyRounds = 2): number {
  expect([r.s.code, r.t.code], r.s.stderr + r.t.stderr).toEqual([0, 0]);
  expect(r.s.stdout + r.t.stdout).toBe(expected);
  expect(r.t.stdout.length).toBeGreaterThan(0);
  const n = mode === 'postcopy' ? 0 : precopyRounds;
  const rounds = '[\\d,]+, '.repeat(n) + 'post-copy [\\d,]+';
  const summary = new RegExp(`^wasmvisor: migrated to tcp:127\\.0\\.0\\.1:\\d+ \\(${mode}\\): total [\\d.]+ ms, downtime [\\d.]+ ms, ${n + 1} rounds \\(pages ${rounds}\\), (\\d+) pages fetched on demand, [\\d,]+ bytes sent\\n$`);
  expect(r.s.stderr).toMatch(summary);
  const lines = targetLines(r.t);
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^wasmvisor: migrated in from 127\\.0\\.0\\.1:\\d+ \\(${mode}: (\\d+) pages here, (\\d+) to come, \\d+ bytes\\); running$`));
  const [, here, toCome] = /\((?:\w+): (\d+) pages here, (\d+) to come/.exec(lines[0])!;
  if (mode === 'postcopy') expect(Number(here)).toBe(0);
  const done = /^wasmvisor: post-copy complete: (\d+) pages in \d+ ms, (\d+) fetched on demand, (\d+) device accesses waited for every page$/.exec(lines[1]);
  expect(done, lines[1]).not.toBeNull();
  expect(done![1]).toBe(toCome);
  const fetched = Number(summary.exec(r.s.stderr)![1]);
  expect(Number(done![2])).toBe(fetched);
  if (deviceWaits) deviceWaits(Number(done![3]));
  else expect(done![3]).toBe('0'); // (no virtio device)
  // The post-copy "round" sent exactly the pages the target was missing.
  expect(r.s.stderr).toContain(`post-copy ${Number(toCome).toLocaleString('en-US')})`);
  return fetched;
}

describe('post-copy and hybrid (minikernel, --deterministic)', () => {
  it('VM, post-copy: identical output, pages fetched on first touch', async () => {
    const fetched = expectMigrated(await migrateInTime(VM, ['--migrate-mode', 'postcopy', '--migrate-after', '0.1']), reference.get(VM)!, 'postcopy');
    expect(fetched).toBeGreaterThan(0);
  }, 60_000);

  it('VM, hybrid: a pre-copy round, then post-copy of the pages dirtied since', async () => {
    // (No bandwidth cap, one round: minikernel as a VM runs for about 150 ms now, and a pre-copy
    // round of its ~800 pages takes 60-70 ms, so two rounds lose the race with its end. The
    // target resumes before the push starts, and the guest's first touches are of dirtied pages.
    // Two rounds are tested on the bare machine below and on a DomU: test/xen/migrate-live.)
    const r = await migrateInTime(VM, ['--migrate-mode', 'hybrid', '--migrate-precopy-rounds', '1', '--migrate-after', '0.02']);
    expect(expectMigrated(r, reference.get(VM)!, 'hybrid', undefined, 1)).toBeGreaterThan(0);
  }, 60_000);

  it.skipIf(!haveOpensbi)('bare machine behind OpenSBI, post-copy and hybrid', async () => {
    const ref = reference.get(BARE)!;
    expect(expectMigrated(await migrateInTime(BARE, ['--migrate-mode', 'postcopy', '--migrate-after', '0.2']), ref, 'postcopy')).toBeGreaterThan(0);
    const r = await migrateInTime(BARE, ['--migrate-mode', 'hybrid', '--migrate-after', '0.1']);
    expect(expectMigrated(r, ref, 'hybrid')).toBeGreaterThan(0);
  }, 120_000);

  it('a VM with a virtio disk (guests/vmvirtio): its device accesses wait for every page; output and disk as unmigrated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wv-postcopy-'));
    const disk = (name: string) => {
      writeFileSync(join(dir, name), new Uint8Array(1 << 20));
      return join(dir, name);
    };
    const refDisk = disk('ref.img');
    const expected = unmigrated(['run', '--disk', refDisk, BLK, '--deterministic'], 'PASS virtio-blk');
    const shared = disk('shared.img'); // (both sides name the same file, as shared storage)
    // Migrated at once, the push capped: the guest probes its device while pages are on the way.
    let r = await migrate(['run', '--disk', shared, BLK, '--deterministic'], ['--migrate-mode', 'postcopy', '--migrate-bandwidth', '0.05']);
    // Again (on a fresh disk) only if the guest ended before the hand-over, as migrateInTime, or
    // made its last request before it (its UNSUPP line, printed after that request, came from the
    // source): the guest runs ~100 ms, and on a loaded machine the source's wait for OK can outlast that.
    const ioBefore = (x: typeof r) => x.s.code === 0 && x.s.stdout.includes('request type 0x7f');
    for (let attempt = 2; attempt <= RACE_TRIES && (lostRace(r) || ioBefore(r)); attempt++) {
      disk('shared.img');
      r = await migrate(['run', '--disk', shared, BLK, '--deterministic'], ['--migrate-mode', 'postcopy', '--migrate-bandwidth', '0.05']);
    }
    expectMigrated(r, expected, 'postcopy', (waits) => expect(waits).toBeGreaterThan(0));
    expect(readFileSync(shared)).toEqual(readFileSync(refDisk));
  }, 90_000);

  it('a --virt trap VM is not migrated by post-copy: one line before connecting, the guest runs on here', () => {
    const port = nextPort++; // (nothing listens: the check comes first)
    const r = spawnSync(process.execPath, [BIN, ...VM, '--virt', 'trap', '--migrate-mode', 'postcopy', '--migrate-to', `tcp:127.0.0.1:${port}`], { cwd: ROOT, encoding: 'latin1', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('minikernel: shutdown');
    expect(r.stderr).toBe(`wasmvisor: migration to tcp:127.0.0.1:${port}: cannot migrate: post-copy needs --virt hw, where a page not arrived yet is a G-stage fault (this VM is --virt trap); the VM keeps running here\n`);
  }, 60_000);
});

describe('post-copy failures through a frame-aware proxy', () => {
  /** Before the switch: the source keeps the VM and runs it to the same output; the target ran nothing. */
  function expectKept(r: Awaited<ReturnType<typeof migrate>>, expected: string): void {
    expect(r.reached, r.s.stderr + r.t.stderr).toBe(true);
    expect([r.s.code, r.t.code], r.s.stderr + r.t.stderr).toEqual([0, 2]);
    expect(r.s.stdout).toBe(expected);
    expect(r.t.stdout).toBe('');
    expect(r.s.stderr).toMatch(/^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: .+; the VM keeps running here\n$/);
    expect(targetLines(r.t)).toHaveLength(1);
    expect(targetLines(r.t)[0]).toMatch(/^wasmvisor: incoming migration on tcp:127\.0\.0\.1:\d+: .*(truncated stream|corrupt stream|connection error).*; nothing was run$/);
  }

  /** After the switch: both sides say the VM is lost and exit 69; no output beyond a prefix. */
  function expectLost(r: Awaited<ReturnType<typeof migrate>>, expected: string, target: RegExp): void {
    expect(r.reached, r.s.stderr + r.t.stderr).toBe(true);
    expect([r.s.code, r.t.code], r.s.stderr + r.t.stderr).toEqual([EXIT_VM_LOST, EXIT_VM_LOST]);
    const out = r.s.stdout + r.t.stdout;
    expect(expected.startsWith(out), out).toBe(true);
    expect(out.length).toBeLessThan(expected.length); // it did not go on to the end
    expect(r.s.stderr).toMatch(/^wasmvisor: migration to tcp:127\.0\.0\.1:\d+: .+ after the switch to post-copy; the VM is lost: this side gave it up at the switch and cannot resume it\n$/);
    const lines = targetLines(r.t);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^wasmvisor: migrated in from 127\.0\.0\.1:\d+ \(postcopy: 0 pages here, \d+ to come, \d+ bytes\); running$/);
    expect(lines[1]).toMatch(target);
    const missing = Number(/the VM is lost: (\d+) of its pages never arrived/.exec(lines[1])?.[1]);
    expect(missing).toBeGreaterThan(0);
  }

  it('cuts and corruptions before and after the switch (counted)', async () => {
    const ref = reference.get(VM)!;
    // The post-copy push is capped (2 MB/s) so that the guest still needs pages when the fault hits.
    // Migrated at once: minikernel runs for a few hundred ms, and the source must reach the switch first.
    const pc = ['--migrate-mode', 'postcopy', '--migrate-bandwidth', '2'];
    const cases: { name: string; args: string[]; src: string[]; fault: Fault; frac: number; check: (r: Awaited<ReturnType<typeof migrate>>) => void }[] = [
      { name: 'cut in STATE (post-copy)', args: VM, src: pc, fault: { kind: 'cut', when: 'before-switch' }, frac: 0.5, check: (r) => expectKept(r, ref) },
      { name: 'corrupt STATE (post-copy)', args: VM, src: pc, fault: { kind: 'corrupt', when: 'before-switch' }, frac: 0.3, check: (r) => expectKept(r, ref) },
      { name: 'cut in STATE (hybrid)', args: VM, src: ['--migrate-mode', 'hybrid', '--migrate-precopy-rounds', '1'], fault: { kind: 'cut', when: 'before-switch' }, frac: 0.7, check: (r) => expectKept(r, ref) },
      ...[1, 2, 3].map((n) => ({
        name: `cut in PAGES ${n} after COMMIT`, args: VM, src: pc, fault: { kind: 'cut', when: 'after-switch', n } as Fault, frac: 0.4,
        check: (r: Awaited<ReturnType<typeof migrate>>) => expectLost(r, ref, /^wasmvisor: incoming migration on tcp:127\.0\.0\.1:\d+: (the connection closed in the middle of message \d+ \(truncated stream\)|connection error E[A-Z]+ after message \d+) during post-copy; the VM is lost: \d+ of its pages never arrived, and it cannot run without them$/),
      })),
      ...[2, 3].map((n) => ({
        name: `corrupt PAGES ${n} after COMMIT`, args: VM, src: pc, fault: { kind: 'corrupt', when: 'after-switch', n } as Fault, frac: 0.6,
        check: (r: Awaited<ReturnType<typeof migrate>>) => expectLost(r, ref, /^wasmvisor: incoming migration on tcp:127\.0\.0\.1:\d+: checksum mismatch in message \d+ \(PAGES, corrupt stream\) during post-copy; the VM is lost: \d+ of its pages never arrived, and it cannot run without them$/),
      })),
    ];
    if (haveOpensbi) {
      const bare = reference.get(BARE)!;
      const pcb = ['--migrate-mode', 'postcopy', '--migrate-bandwidth', '0.5'];
      cases.push(
        { name: 'bare: cut in STATE', args: BARE, src: pcb, fault: { kind: 'cut', when: 'before-switch' }, frac: 0.5, check: (r) => expectKept(r, bare) },
        { name: 'bare: cut in PAGES 2 after COMMIT', args: BARE, src: pcb, fault: { kind: 'cut', when: 'after-switch', n: 2 }, frac: 0.5, check: (r) => expectLost(r, bare, /(the connection closed in the middle of message \d+ \(truncated stream\)|connection error E[A-Z]+ after message \d+) during post-copy; the VM is lost/) },
        { name: 'bare: corrupt PAGES 2 after COMMIT', args: BARE, src: pcb, fault: { kind: 'corrupt', when: 'after-switch', n: 2 }, frac: 0.5, check: (r) => expectLost(r, bare, /checksum mismatch in message \d+ \(PAGES, corrupt stream\) during post-copy; the VM is lost/) },
      );
    }
    const counts: Record<string, number> = {};
    for (const c of cases) {
      let r = await migrate(c.args, c.src, c.fault, c.frac);
      // As migrateInTime: on a quiet machine the guest can end before the switch (it exits to the
      // VMM rarely: its first touches of RAM and simplest SBI calls are handled in the core).
      for (let attempt = 2; attempt <= RACE_TRIES && lostRace(r); attempt++) r = await migrate(c.args, c.src, c.fault, c.frac);
      c.check(r);
      const key = `${c.fault.kind} ${c.fault.when}: ${r.s.code === 0 ? 'kept by the source' : 'lost'}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    console.log(`post-copy fault cases: ${JSON.stringify(counts)}`);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(cases.length);
  }, 300_000);
});
