/**
 * A Dom0's monitor (`wasmvisor up HOST.cfg --monitor tcp::0`, host/cli/xl-monitor.ts): the xl
 * commands typed into it over TCP act on the running domains as `wasmvisor xl ...` does from
 * another terminal (the same parser and the same code, xl-control.ts's answerXl): list, pause,
 * unpause, destroy, save and restore (a restored blocked domain lists as blocked again), their
 * one-line errors, and quit. Two conecho DomUs (guests/xen/conecho.c),
 * which print a line and wait for console input. Needs dist/cli.mjs (`npm run build`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MONITOR_HELP_NO_HART } from '../../../host/debug/monitor';
import { XL_MONITOR_HELP } from '../../../host/cli/xl-monitor';
import { monitorCommand as command, openMonitor, requireBuild, startWasmvisor } from '../../debug/session';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/wasmvisor.mjs');
const CONECHO = join(ROOT, 'guests/bin/xen/conecho.elf');
const HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n';
const DOM0_ROW = 'Domain-0                                     0     0     1     r-----  T\n';
/** An `xl list` row of a 16 MiB conecho domain, time left out. */
const row = (name: string, id: number, state: string) => `${name.padEnd(40)} ${String(id).padStart(5)}    16     1     ${state}  T\n`;
const haveScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const noTimes = (s: string) => s.replace(/ {2} *\d+\.\d$/gm, '  T');

const dir = mkdtempSync(join(tmpdir(), 'wasmvisor-xlmon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(requireBuild);

describe("a Dom0's monitor (wasmvisor up --monitor)", () => {
  it.skipIf(!existsSync(CONECHO))('xl list, pause, unpause, destroy and their errors over TCP; quit ends the Dom0', async () => {
    for (const n of ['echo1', 'echo2']) writeFileSync(join(dir, `${n}.cfg`), `name = '${n}'\nkernel = '${CONECHO}'\nmemory = 16\n`);
    const host = join(dir, 'host.cfg');
    writeFileSync(host, `domains = [ 'echo1.cfg', 'echo2.cfg' ]\n`);
    // (startWasmvisor runs `wasmvisor run ARGS`: a Dom0 is `wasmvisor up`, so it is started here)
    const child = spawn(process.execPath, [BIN, 'up', host, '--timeout', '300', '--monitor', 'tcp::0'], {
      cwd: ROOT, env: { ...process.env, WASMVISOR_DEBUG: '', XDG_RUNTIME_DIR: dir },
    });
    const w = wrap(child);
    const c = await openMonitor(w);
    expect(await command(c, 'help')).toBe(MONITOR_HELP_NO_HART + XL_MONITOR_HELP);

    // Both domains print their line, then wait for input (blocked).
    const both = HEADER + DOM0_ROW + row('echo1', 1, '-b----') + row('echo2', 2, '-b----');
    let list = '';
    for (let i = 0; i < 600 && list !== both; i++) {
      list = noTimes(await command(c, 'xl list'));
      if (list !== both) await new Promise((r) => setTimeout(r, 50));
    }
    expect(list).toBe(both);
    // pause by id prints nothing; list shows p; list DOM shows that one.
    expect(await command(c, 'xl pause 1')).toBe('');
    expect(noTimes(await command(c, 'xl list'))).toBe(HEADER + DOM0_ROW + row('echo1', 1, '--p---') + row('echo2', 2, '-b----'));
    expect(noTimes(await command(c, 'xl list echo1 0'))).toBe(HEADER + row('echo1', 1, '--p---') + DOM0_ROW);
    expect(await command(c, 'xl unpause echo1')).toBe('');
    expect(noTimes(await command(c, 'xl list echo1'))).toBe(HEADER + row('echo1', 1, '-b----'));
    // Errors: one line each, as the xl client's (without its program name); nothing changes.
    expect(await command(c, 'xl pause 0')).toBe('xl pause: Domain-0 cannot be paused\n');
    expect(await command(c, 'xl pause nosuch')).toBe("xl pause: no domain 'nosuch' (see wasmvisor xl list)\n");
    expect(await command(c, 'xl pause')).toBe('xl pause: missing the domain (usage: xl pause DOM, a name or id)\n');
    expect(await command(c, 'xl unpause 1 2')).toBe("xl unpause: unexpected argument '2' (one domain only)\n");
    expect(await command(c, 'xl frob 1')).toBe("xl: unknown subcommand 'frob'\n");
    expect(await command(c, 'xl')).toBe('xl: expected list, pause, unpause, destroy, rename, save, restore or migrate\n');
    expect(await command(c, 'xl console 1')).toBe("xl console: not in the monitor (run wasmvisor xl console DOM in another terminal, or use Ctrl-A 1..9 on the Dom0's)\n");
    expect(await command(c, 'info registers')).toBe('info: no topics in this monitor (help lists its commands)\n');
    expect(await command(c, 'stop')).toBe("unknown command: 'stop' (help lists them)\n");
    // save and restore (xl-control.ts's answerXlSave, as from another terminal): echo2 comes back as d3, blocked.
    const file = join(dir, 'echo2.save');
    expect(await command(c, `xl save echo2 ${file}`)).toMatch(new RegExp(`^xl save: echo2 \\(d2\\) saved to ${file} \\(\\d+ bytes\\) and destroyed\n$`));
    expect(noTimes(await command(c, 'xl list'))).toBe(HEADER + DOM0_ROW + row('echo1', 1, '-b----'));
    expect(await command(c, `xl restore ${file}`)).toBe(`xl restore: echo2 restored from ${file} as d3\n`);
    // (runnable until it has run again and waits for input: blocked, as before the save)
    const back = HEADER + DOM0_ROW + row('echo1', 1, '-b----') + row('echo2', 3, '-b----');
    for (let i = 0; i < 600 && list !== back; i++) {
      list = noTimes(await command(c, 'xl list'));
      if (list !== back) await new Promise((r) => setTimeout(r, 50));
    }
    expect(list).toBe(back);
    expect(await command(c, `xl restore ${join(dir, 'nosuch.save')}`)).toMatch(/^xl restore: .*nosuch\.save.*\n$/);
    // migrate takes run's --migrate-* flags; one that cannot happen leaves the domain running here.
    expect(await command(c, 'xl migrate --migrate-mode fast echo2 127.0.0.1:1')).toBe("xl migrate: --migrate-mode: 'fast' is not precopy, postcopy or hybrid\n");
    const free = await new Promise<number>((res) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => res(port));
      });
    });
    expect(await command(c, `xl migrate --migrate-mode postcopy echo2 127.0.0.1:${free}`)).toBe(`xl migrate: cannot migrate echo2 (d3) to 127.0.0.1:${free}: cannot connect (ECONNREFUSED); it runs on here\n`);
    expect(noTimes(await command(c, 'xl list'))).toBe(back);
    // destroy prints nothing; the domain is gone from the list at once.
    expect(await command(c, 'xl destroy echo2')).toBe('');
    expect(noTimes(await command(c, 'xl list'))).toBe(HEADER + DOM0_ROW + row('echo1', 1, '-b----'));
    // quit: the Dom0 ends, destroying what runs; echo2 had not powered off cleanly (exit 1).
    c.send('quit\r\n');
    expect(await w.exit).toBe(1);
    expect(w.stderr().split('\n').filter((l) => !l.includes('listening on'))).toEqual([
      `wasmvisor: echo2 (d2): saved to ${file}: destroyed`,
      `wasmvisor: echo2 (d3): restored from ${file}`,
      `wasmvisor: xl migrate: domain 'echo2' keeps running here: migration to tcp:127.0.0.1:${free}: cannot connect (ECONNREFUSED)`,
      'wasmvisor: echo2 (d3): destroyed',
      "wasmvisor: terminated by the monitor's quit",
      'wasmvisor: echo1 (d1): destroyed',
      'wasmvisor: echo1 (d1) did not power off cleanly: destroyed',
      '',
    ]);
  }, 120_000);

  it.skipIf(!existsSync(CONECHO) || !haveScript)("on a terminal, Ctrl-A C switches typed input to the Dom0's monitor and back", async () => {
    writeFileSync(join(dir, 'solo.cfg'), `name = 'solo'\nkernel = '${CONECHO}'\nmemory = 16\n`);
    const cmd = `XDG_RUNTIME_DIR=${dir} node bin/wasmvisor.mjs xl create ${join(dir, 'solo.cfg')} --timeout 300; echo "EXIT=$?"`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
    // (the terminal turns LF into CR LF on output: lines end in CR+ LF, read here as LF)
    const text = () => out.replace(/\r+\n/g, '\n');
    const seen = async (what: string, from = 0) => {
      for (let i = 0; i < 600 && !text().includes(what, from); i++) await new Promise((r) => setTimeout(r, 50));
      expect(text().slice(from), `waiting for ${JSON.stringify(what)}`).toContain(what);
    };
    const done = new Promise<number | null>((res) => child.on('close', res));
    try {
      await seen('conecho: domain 1, echoing the PV console');
      child.stdin.write('\x01c');
      await seen('\n(wasmvisor) ');
      let from = text().length;
      child.stdin.write('xl pause solo\r'); // (echoed: the line editor on a raw terminal)
      await seen('xl pause solo\n(wasmvisor) ', from);
      from = text().length;
      child.stdin.write('xl list 1\r');
      await seen('(wasmvisor) ', from + 12);
      expect(noTimes(text().slice(from))).toBe('xl list 1\n' + HEADER + row('solo', 1, '--p---') + '(wasmvisor) ');
      child.stdin.write('xl unpause 1\r');
      await seen('xl unpause 1\n(wasmvisor) ', from);
      // Back to the console: typing goes to the domain, which answers.
      child.stdin.write('\x01c');
      from = text().length;
      child.stdin.write('hi\r');
      await seen("conecho: got 'hi'", from);
      child.stdin.write('\x01cquit\r');
      await seen('EXIT=');
    } finally {
      child.stdin.end();
    }
    expect(await done).toBe(0);
    expect(out).toContain("wasmvisor: terminated by the monitor's quit");
    expect(out).toContain('EXIT=1'); // (solo did not power off: destroyed at the Dom0's end)
  }, 120_000);
});

/** The Running shape of session.ts around a child (port(), stdout, stderr, exit). */
function wrap(child: ReturnType<typeof spawn>): ReturnType<typeof startWasmvisor> {
  let out = '';
  let err = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('latin1').on('data', (d: string) => (err += d));
  const watchdog = setTimeout(() => child.kill(), 100_000);
  const exit = new Promise<number | null>((r) => child.on('close', (code) => { clearTimeout(watchdog); r(code); }));
  return {
    child, stdout: () => out, stderr: () => err, exit,
    async port(what) {
      const re = new RegExp(`wasmvisor: ${what} listening on [^\\n]*:(\\d+)\\n`);
      for (let i = 0; i < 1200; i++) {
        const m = re.exec(err);
        if (m) return Number(m[1]);
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${what} port: ${err}`);
    },
  };
}
