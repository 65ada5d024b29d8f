/**
 * `xl save DOM FILE` and `xl restore FILE` (host/snapshot/xen.ts, host/cli/xl-save.ts) from
 * another terminal, against a Dom0 (`wasmvisor up`, the built CLI in a child process) that runs
 * the diskloop DomU (guests/xen/diskloop.c: 1200 rounds of a 16 KiB write and read-back through
 * blkfront/blkback, one console line each). The domain is saved in the middle of its disk I/O
 * (after round 100 is on the console), destroyed, restored under a new domid, and must go on
 * exactly as a run that was never saved: the same console lines, byte for byte, and the same
 * disk image (--deterministic). Then the refusals: a corrupt, truncated or foreign file, a disk
 * that changed size, a name already in use: one line, exit 2, nothing restored.
 * In the long suite (vitest.config.ts): it runs the guest three times, ~30 s on an idle machine.
 */
import { copyFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DISKLOOP, diskloopDir, diskloopLines, killAll, lastRound, ROOT, run, start, until } from './save-helpers';

afterEach(killAll);

const ref = diskloopDir('wasmvisor-xlsave-ref-');
const dirs = [ref.dir];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The unsaved run's console lines and disk, computed once. */
let reference: { lines: string[]; disk: Buffer } | undefined;
async function unsaved(): Promise<{ lines: string[]; disk: Buffer }> {
  if (reference) return reference;
  const r = await run(ref.dir, ['xl', 'create', ref.cfg, '--deterministic']);
  expect(r.status).toBe(0);
  const lines = diskloopLines(r.stdout);
  expect(lines.length).toBe(1202); // the banner, 1200 rounds, done
  expect(lines[0]).toBe('diskloop: 2048 sectors, 1200 rounds');
  expect(lines[1201]).toBe('diskloop: done, 2400 requests');
  reference = { lines, disk: readFileSync(ref.disk) };
  return reference;
}

/** The save file the first test writes, for the refusals. */
let saveFile: string | undefined;
let saveDir: ReturnType<typeof diskloopDir> | undefined;

describe('xl save / xl restore of a Xen DomU (built CLI)', () => {
  it('a DomU saved in the middle of its disk I/O and restored under a new domid prints the same lines and leaves the same disk as an unsaved run', async () => {
    const want = await unsaved();
    const t = diskloopDir('wasmvisor-xlsave-');
    dirs.push(t.dir);
    saveDir = t;
    const file = join(t.dir, 'dl.wvsave');
    const dom0 = start(t.dir, ['up', t.host, '--deterministic', '--wait', '--timeout', '300']);
    await until('round 100', () => lastRound(dom0.out) >= 100, () => dom0.out + dom0.err);
    // Paused first, so that a loaded machine cannot let it finish before the command arrives
    // (xl save and migrate take a paused domain; the restored one runs).
    expect((await run(t.dir, ['xl', 'pause', 'dl'])).status).toBe(0);

    const saved = await run(t.dir, ['xl', 'save', 'dl', file]);
    expect(saved.status).toBe(0);
    const size = readFileSync(file).length;
    expect(saved.stderr).toBe(`wasmvisor: xl save: dl (d1) saved to ${file} (${size} bytes) and destroyed\n`);
    await until('the save notice', () => dom0.err.includes('destroyed\n'), () => dom0.err);
    expect(dom0.err).toBe(`wasmvisor: dl (d1): saved to ${file}: destroyed\n`);
    const atSave = lastRound(dom0.out);
    expect(atSave).toBeGreaterThanOrEqual(100);
    expect(atSave).toBeLessThan(1199); // saved mid-run: rounds were left
    const list = await run(t.dir, ['xl', 'list']);
    expect(list.stdout.split('\n').slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(['Domain-0']);
    // The domain is gone: nothing more appears while it is on disk.
    const before = dom0.out;
    await new Promise((r) => setTimeout(r, 500));
    expect(dom0.out).toBe(before);

    const restored = await run(t.dir, ['xl', 'restore', file]);
    expect([restored.stderr, restored.status]).toEqual([`wasmvisor: xl restore: dl restored from ${file} as d2\n`, 0]);
    await until('the end of the restored run', () => dom0.err.includes('(d2): poweroff'), () => dom0.out.slice(-300) + dom0.err);
    expect(dom0.err).toBe(
      `wasmvisor: dl (d1): saved to ${file}: destroyed\n` +
      `wasmvisor: dl (d2): restored from ${file}\n` +
      'wasmvisor: dl (d2): poweroff, exit code 0: destroyed\n');
    expect(diskloopLines(dom0.out)).toEqual(want.lines);
    expect(readFileSync(t.disk).equals(want.disk)).toBe(true);
    saveFile = file;
    dom0.child.kill('SIGTERM'); // --wait: Dom0 runs on with no domain until told
    expect((await dom0.exited).status).toBe(143);
  }, 300_000);

  it('refuses a corrupt, truncated or foreign file, a disk that changed size and a name in use: one line, exit 2, nothing restored', async () => {
    if (!saveFile || !saveDir) throw new Error('needs the save of the first test');
    const t = saveDir;
    const bytes = readFileSync(saveFile);
    const dom0 = start(t.dir, ['up', '--wait', '--deterministic', '--timeout', '300']);
    const restore = async (f: string) => {
      // The Dom0 may not listen yet on a loaded machine: retry "no Dom0".
      for (;;) {
        const r = await run(t.dir, ['xl', 'restore', f]);
        if (!r.stderr.includes('no Dom0 is running')) return r;
        await new Promise((res) => setTimeout(res, 200));
      }
    };

    const corrupt = join(t.dir, 'corrupt.wvsave');
    const c = Buffer.from(bytes);
    c[5000] ^= 0x40;
    writeFileSync(corrupt, c);
    let r = await restore(corrupt);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^wasmvisor: xl restore: ${corrupt}: checksum mismatch in section [A-Z ]+(:\\S+)? at byte \\d+ \\(corrupt snapshot\\)\\n$`));

    const truncated = join(t.dir, 'truncated.wvsave');
    writeFileSync(truncated, bytes.subarray(0, 60_000));
    r = await restore(truncated);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^wasmvisor: xl restore: ${truncated}: truncated at byte 60000 \\(.*\\)\\n$`));

    // A VM's snapshot is not a domain's save, and a domain's save is not a VM's snapshot.
    const vmSnap = join(t.dir, 'vm.wvsnap');
    const vm = await run(t.dir, ['run', join(ROOT, 'guests/bin/minikernel/minikernel.elf'), '--deterministic', '--max-instructions', '2000000', '--save-on-exit', vmSnap]);
    expect(vm.stderr).toContain(`saved snapshot ${vmSnap}`);
    r = await restore(vmSnap);
    expect([r.stderr, r.status]).toEqual([`wasmvisor: xl restore: ${vmSnap}: not a Xen domain's save file (no XDOM section: a snapshot of a machine or VM is restored with wasmvisor run --restore)\n`, 2]);
    const asVm = await run(t.dir, ['run', DISKLOOP, '--restore', saveFile]);
    expect([asVm.stderr, asVm.status]).toEqual([`${saveFile}: this is a Xen domain's save file (restore it with wasmvisor xl restore)\n`, 2]);

    // Its disk image grew: not the disk the domain was saved with.
    const disk2 = join(t.dir, 'disk.img');
    copyFileSync(disk2, join(t.dir, 'disk.keep'));
    truncateSync(disk2, 2 << 20);
    r = await restore(saveFile);
    expect([r.stderr, r.status]).toEqual([`wasmvisor: xl restore: ${saveFile}: disk xvda (${disk2}) has 2097152 bytes, the saved domain had 1048576\n`, 2]);
    copyFileSync(join(t.dir, 'disk.keep'), disk2);

    // Nothing was restored by any of these.
    const list = await run(t.dir, ['xl', 'list']);
    expect(list.stdout.split('\n').slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(['Domain-0']);
    expect(dom0.err).toBe('');

    // Restored once, then again under the same name: refused while the first one lives.
    // (-p: restored paused, so that it still lives at the next restore however fast it would
    // finish its rounds under --deterministic)
    r = await run(t.dir, ['xl', 'restore', '-p', saveFile]);
    expect([r.stderr, r.status]).toEqual([`wasmvisor: xl restore: dl restored from ${saveFile} as d1 (paused)\n`, 0]);
    const paused = await run(t.dir, ['xl', 'list', 'dl']);
    expect(paused.stdout.split('\n')[1]).toMatch(/^dl +1 +\d+ +1 +--p---/);
    r = await restore(saveFile);
    expect([r.stderr, r.status]).toEqual([`wasmvisor: xl restore: ${saveFile}: a domain named 'dl' already exists here\n`, 2]);
    const bad = await run(t.dir, ['xl', 'save', 'nosuch', join(t.dir, 'x.wvsave')]);
    expect([bad.stderr, bad.status]).toEqual(["wasmvisor: xl save: no domain 'nosuch' (see wasmvisor xl list)\n", 1]);
    dom0.child.kill('SIGTERM');
    await dom0.exited;
  }, 300_000);
});
