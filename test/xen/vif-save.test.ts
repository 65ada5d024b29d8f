/**
 * xl save and xl restore of a DomU with a vif, in one Dom0 (built CLI, --deterministic): the
 * pingloop pair (guests/xen/pingloop.c) on one bridge; the pinger holds after 100 replies, the
 * answering domain is saved and restored meanwhile, and the pinger goes on to 400 requests.
 * Every line of both consoles is an unsaved run's, and what the lines say is what the guests'
 * parameters make them say: 400 requests, 400 replies, none lost; 401 echo requests answered
 * (the 400 and the stop). The save's XBKD vif0 section holds the backend's ring indices with
 * every tx request answered and every rx response published, and the vif's MAC.
 * In the long suite (vitest.config.ts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { decodeSnapshot, SectionReader } from '../../host/snapshot/format';
import { run, until } from './save-helpers';
import { dom0Dir, domainLines, killTyped, startTyped, tempDir } from './vif-helpers';

afterEach(killTyped);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PAIR = [
  { name: 'pinger', cmdline: 'ping count=400 hold=100', mac: '00:16:3e:00:00:02', ip: '10.0.0.2' },
  { name: 'ans', cmdline: 'answer', mac: '00:16:3e:00:00:01', ip: '10.0.0.1' },
];

/** The lines pingloop prints for these parameters (its file comment). */
const WANT_PINGER = [
  'pingloop: ping, mac 00:16:3e:00:00:02, ip 10.0.0.2, peer 10.0.0.1',
  'pingloop: peer 10.0.0.1 at 00:16:3e:00:00:01',
  'pingloop: 100 replies, 0 lost',
  'pingloop: holding at 100 replies',
  ...[200, 300, 400].map((n) => `pingloop: ${n} replies, 0 lost`),
  'pingloop: 400 requests, 400 replies, 0 lost, 0 late',
];
const WANT_ANS = ['pingloop: answer, mac 00:16:3e:00:00:01, ip 10.0.0.1, peer 10.0.0.2', 'pingloop: answered 401 echo requests'];

/** Run the pair; `atHold` runs while the pinger holds. Returns stdout, stderr, status. */
async function pair(name: string, atHold: (rt: string, dir: string) => Promise<void>): Promise<{ out: string; err: string; status: number | null }> {
  const tmp = tempDir(`wasmvisor-vifsave-${name}-`);
  dirs.push(tmp);
  const d = dom0Dir(tmp, 'dom0', PAIR);
  const p = startTyped(d.dir, d.rt, ['up', d.host, '--deterministic', '--timeout', '120']);
  await until('the pinger to hold', () => p.out.includes('pingloop: holding at 100 replies'), () => p.out + p.err);
  await atHold(d.rt, d.dir);
  p.type('c');
  const { status } = await p.exited;
  return { out: p.out, err: p.err, status };
}

describe('xl save / xl restore of a DomU with a vif (built CLI)', () => {
  it('the answering domain is saved and restored while the pinger holds; both consoles are an unsaved run\'s', async () => {
    const ref = await pair('ref', async () => {});
    expect(ref.status).toBe(0);
    expect(domainLines(ref.out, 'pinger')).toEqual(WANT_PINGER);
    expect(domainLines(ref.out, 'ans')).toEqual(WANT_ANS);

    let file = '';
    const saved = await pair('saved', async (rt, dir) => {
      file = join(dir, 'ans.save');
      const s = await run(rt, ['xl', 'save', 'ans', file]);
      expect(s.stderr).toMatch(/^wasmvisor: xl save: ans \(d2\) saved to .*ans\.save \(\d+ bytes\) and destroyed\n$/);
      expect(s.status).toBe(0);
      const vif = decodeSnapshot(file, new Uint8Array(readFileSync(file))).get('XBKD:vif0');
      const state = new SectionReader(file, 'XBKD:vif0', vif!.payload).json< { connected: boolean; mac: string; tx: Record<string, number>; rx: Record<string, number> }>();
      expect(state.connected).toBe(true);
      expect(state.mac).toBe('00:16:3e:00:00:01');
      // Every tx request answered and pushed; every rx response pushed (101+ frames: ARP, 100 echo requests).
      expect([state.tx.rspProdPvt, state.tx.rspPushed]).toEqual([state.tx.reqCons, state.tx.reqCons]);
      expect([state.rx.rspProdPvt, state.rx.rspPushed]).toEqual([state.rx.reqCons, state.rx.reqCons]);
      expect(state.rx.reqCons).toBeGreaterThanOrEqual(101);
      expect(state.tx.reqCons).toBeGreaterThanOrEqual(101);
      const r = await run(rt, ['xl', 'restore', file]);
      expect([r.stderr, r.status]).toEqual([`wasmvisor: xl restore: ans restored from ${file} as d3\n`, 0]);
    });
    expect(saved.status).toBe(0);
    expect(saved.err).toBe(`wasmvisor: ans (d2): saved to ${file}: destroyed\nwasmvisor: ans (d3): restored from ${file}\n` +
      'wasmvisor: ans (d3): poweroff, exit code 0: destroyed\nwasmvisor: pinger (d1): poweroff, exit code 0: destroyed\n');
    expect(domainLines(saved.out, 'pinger')).toEqual(domainLines(ref.out, 'pinger'));
    expect(domainLines(saved.out, 'ans')).toEqual(domainLines(ref.out, 'ans'));
  }, 120_000);
});
