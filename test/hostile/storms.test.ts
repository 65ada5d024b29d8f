/**
 * Trap storms through the built CLI (issue 11, defect 1): a guest whose trap handler traps again
 * retires nothing. run() used to check its budget only when the instruction count moved, so
 * such a guest never gave the host its thread back: --timeout, --max-instructions, Ctrl-A X and
 * the signals were all ignored and the process spun for good. Each case here asserts the bounded
 * outcome instead:
 *
 *   --timeout 1            exit 124 and one line, within 2 s of the limit (timed from the
 *                          guest's first output, or less the command's start-up measured here)
 *   --max-instructions N   exit 125 and one line; the guest retires (almost) nothing, so it is
 *                          N traps that end it (at most one run's worth more)
 *   on a terminal          Ctrl-A X (exit 0) and SIGTERM (143) within 2 s, and the terminal
 *                          back in cooked mode (both need the host's event loop; SIGINT, which
 *                          the command leaves to Node's default, ends it in any case)
 *
 * and that the storm does not make the host grow (peak RSS bound). The guests: M-mode with
 * mtvec at an ebreak or an illegal instruction, 64 KiB of random bytes as a raw image, the
 * S-mode minikernel run bare without --bios (about 30 traps for every instruction it retires),
 * and in VS-mode stvec at an ebreak, at an unmapped page (Sv39) or at an illegal instruction
 * (that one exits to the VMM on every trap).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finisherGuest, sbiHelloPayload } from '../cli/guests';
import { haveBuild, haveScript, ROOT, startCli, startupMs, TTY_MARK, type CliRun } from './cli';
import { STORM_MARK, mtvecEbreak, mtvecIllegal, randomBytes, stvecEbreak, stvecIllegal, stvecUnmapped } from './storms-guests';

const MINIKERNEL = join(ROOT, 'guests/bin/minikernel/minikernel.elf');
/** Slack the issue allows past a limit: 2 s. */
const SLACK_MS = 2000;
/** Peak RSS bound of a storm run with --mem 16M (an idle run of the same guest: about 75 MB). */
const RSS_BOUND_KIB = 256 * 1024;
/** The --max-instructions limit of the tests. */
const LIMIT = 200_000;
/** How far the traps may overshoot it: one run() of the core's (TRAP_FLOOR + budget / 32). */
const TRAP_OVERSHOOT = 64 + LIMIT / 32;

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-storms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

interface StormCase {
  name: string;
  image: () => string;
  /** bare: M-mode at 0x80000000; vm: VS-mode at 0x80200000. */
  mode: 'bare' | 'vm';
  /** It prints STORM_MARK before its storm. */
  marks: boolean;
  /** Its handler retires a little between traps, so --max-instructions ends it by instructions. */
  retires?: boolean;
}

const CASES: StormCase[] = [
  { name: 'M-mode, mtvec at an ebreak', image: () => file('mtvec-ebreak.bin', mtvecEbreak()), mode: 'bare', marks: true },
  { name: 'M-mode, mtvec at an illegal instruction', image: () => file('mtvec-illegal.bin', mtvecIllegal()), mode: 'bare', marks: true },
  { name: 'random bytes as a raw image', image: () => file('random.bin', randomBytes(1n, 65536)), mode: 'bare', marks: false },
  { name: 'run --bare on the S-mode minikernel without --bios', image: () => MINIKERNEL, mode: 'bare', marks: false, retires: true },
  { name: 'VS-mode, stvec at an ebreak', image: () => file('stvec-ebreak.bin', stvecEbreak()), mode: 'vm', marks: true },
  { name: 'VS-mode, stvec at an unmapped page (Sv39)', image: () => file('stvec-unmapped.bin', stvecUnmapped()), mode: 'vm', marks: true },
  { name: 'VS-mode, stvec at an illegal instruction (a VM exit per trap)', image: () => file('stvec-illegal.bin', stvecIllegal()), mode: 'vm', marks: true },
];

const modeArgs = (mode: 'bare' | 'vm') => (mode === 'bare' ? ['--bare', '--mem', '16M'] : ['--mem', '16M']);

describe.skipIf(!haveBuild)('trap storms end at the limits (built CLI)', () => {
  /** Start-up and shut-down of the command with a guest that exits at once, per mode. */
  const startup = { bare: 0, vm: 0 };
  beforeAll(async () => {
    startup.bare = await startupMs(file('exit0.bin', finisherGuest(0x5555)), modeArgs('bare'));
    startup.vm = await startupMs(file('sbi-exit.bin', sbiHelloPayload('')), modeArgs('vm'));
  }, 120_000);

  /**
   * Run the case to its end. `since`: milliseconds from the storm's start (its mark on stdout)
   * to the exit; for a guest without a mark, from spawn, less the command's start-up measured
   * above (doubled: a loaded machine's start-up varies run to run).
   */
  async function runFromMark(c: StormCase, args: string[]): Promise<{ r: CliRun; since: number }> {
    const p = startCli(args, { input: '', guardMs: 30_000 });
    let from = p.t0 + 2 * startup[c.mode];
    if (c.marks) {
      await p.waitFor(STORM_MARK.trim(), 30_000).catch(() => {});
      from = performance.now();
    }
    const r = await p.done;
    return { r, since: p.exitedAt - from };
  }

  for (const c of CASES) {
    it(`${c.name}: --timeout 1 ends it with 124 and one line, within 2 s`, async () => {
      const image = c.image();
      const { r, since } = await runFromMark(c, ['run', ...modeArgs(c.mode), '--timeout', '1', image]);
      expect(r.guardKilled).toBe(false);
      expect(r.stderr).toMatch(new RegExp(`^wasmvisor: ${escape(image)}: timeout after 1 s \\(\\d+ instructions\\)\\n$`));
      expect(r.status).toBe(124);
      if (c.marks) expect(r.stdout).toBe(STORM_MARK);
      expect(since).toBeLessThan(1000 + SLACK_MS);
      expect(r.peakRssKiB).toBeGreaterThan(0);
      expect(r.peakRssKiB).toBeLessThan(RSS_BOUND_KIB);
    }, 60_000);

    it(`${c.name}: --max-instructions ${LIMIT} ends it with 125 and one line (the limit counts traps too), within 2 s`, async () => {
      const image = c.image();
      const { r, since } = await runFromMark(c, ['run', ...modeArgs(c.mode), '--max-instructions', String(LIMIT), image]);
      expect(r.guardKilled).toBe(false);
      const m = new RegExp(`^wasmvisor: ${escape(image)}: stopped after (\\d+) instructions(?: and (\\d+) traps)? \\(--max-instructions ${LIMIT}\\)\\n$`).exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      const [instructions, traps] = [Number(m![1]), Number(m![2] ?? NaN)];
      if (c.retires) {
        expect(instructions).toBeGreaterThanOrEqual(LIMIT);
      } else {
        expect(instructions).toBeLessThan(100); // the set-up before the storm
        expect(traps).toBeGreaterThanOrEqual(LIMIT);
        expect(traps).toBeLessThanOrEqual(LIMIT + TRAP_OVERSHOOT);
      }
      expect(r.status).toBe(125);
      expect(since).toBeLessThan(SLACK_MS);
      expect(r.peakRssKiB).toBeLessThan(RSS_BOUND_KIB);
    }, 60_000);
  }

  // On a terminal the command handles SIGTERM itself (to restore the terminal) and reads
  // Ctrl-A X from raw stdin: both need the host's event loop, which a storm starved.
  const ttyCases = CASES.filter((c) => c.name.includes('ebreak'));
  const actions: { what: string; act: (p: ReturnType<typeof startCli>) => number; status: number; notice: string[] }[] = [
    { what: 'Ctrl-A X quits with 0', act: (p) => (p.write('\x01x'), performance.now()), status: 0, notice: ['wasmvisor: terminated by Ctrl-A X'] },
    { what: 'SIGTERM ends it with 143', act: (p) => p.kill('SIGTERM'), status: 143, notice: [] },
  ];
  for (const c of ttyCases) {
    for (const a of actions) {
      it.skipIf(!haveScript)(`${c.name}, on a terminal: ${a.what} within 2 s, and the terminal is restored`, async () => {
        const p = startCli(['run', ...modeArgs(c.mode), c.image()], { tty: true, guardMs: 30_000 });
        await p.waitFor(STORM_MARK.trim(), 20_000);
        await new Promise((r) => setTimeout(r, 300)); // well into the storm
        const sent = a.act(p);
        const r = await p.done;
        expect(r.guardKilled).toBe(false);
        expect(r.status).toBe(a.status);
        expect(p.exitedAt - sent).toBeLessThan(SLACK_MS);
        // script(1) merges the terminal's output: the mark, the quit notice if any, the tty flag
        expect(r.stdout.split(/\r?\n/).filter((l) => l.startsWith('wasmvisor:'))).toEqual(a.notice);
        expect(TTY_MARK.exec(r.stdout)?.[1]).toBe('icanon');
      }, 60_000);
    }
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
