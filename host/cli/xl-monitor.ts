/**
 * A Dom0's monitor (`wasmvisor up HOST.cfg --monitor tcp:HOST:PORT`, docs/debug.md): the
 * monitor of host/debug/monitor.ts without a hart (help, quit), with the xl commands that act on
 * the running Dom0, as `wasmvisor xl SUB` does from another terminal:
 *
 *   xl list [DOM...]     xl pause DOM     xl unpause DOM     xl destroy DOM     xl rename DOM NEWNAME
 *
 * They are the socket's commands: parsed by xl-client.ts's parser, run between slices by
 * xl-control.ts's answerXl, printed as the client prints them (xl list's table; nothing when
 * the others succeed; one line when they fail). `xl console` needs a terminal of its own: it is
 * refused here with what to use instead.
 */
import { Monitor } from '../debug/monitor';
import { UserError } from '../errors';
import type { Toolstack } from '../xen/toolstack/xl';
import { formatXlList } from '../xen/toolstack/list-format';
import { parseXlClientArgs, xlSaveDone } from './xl-client';
import { answerXl, answerXlSave } from './xl-control';

export const XL_MONITOR_HELP = `xl list [DOM...]          the domains, as wasmvisor xl list
xl pause DOM              pause a domain (a name or an id)
xl unpause DOM            unpause a domain
xl destroy DOM            destroy a domain
xl rename DOM NEWNAME     rename a domain
xl save DOM FILE          save a domain to FILE and destroy it
xl restore [-p] FILE      run a saved domain on under a new domid (-p: paused)
xl migrate [--migrate-mode M ...] DOM HOST[:PORT]
                          move a domain live to a Dom0 started with up --incoming
`;

/** The Dom0's monitor: `quit` ends the session (`quit`, then as Ctrl-A x does). */
export function xlMonitor(xl: Toolstack, dom0Seconds: () => number, quit: () => void): Monitor {
  const monitor = new Monitor({ quit: () => xl.defer(() => { quit(); xl.quit(); }) });
  monitor.define('xl', {
    help: XL_MONITOR_HELP,
    run: (args) => {
      const [sub, ...rest] = args;
      if (sub === undefined) return 'xl: expected list, pause, unpause, destroy, rename, save, restore or migrate\n';
      if (sub === 'console') return 'xl console: not in the monitor (run wasmvisor xl console DOM in another terminal, or use Ctrl-A 1..9 on the Dom0\'s)\n';
      let req;
      try {
        req = parseXlClientArgs(sub, rest);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        return e.message.replace(/^wasmvisor: /, '').replace(' (see wasmvisor --help)', '').replace(/wasmvisor xl /g, 'xl ') + '\n';
      }
      if (req.cmd === 'console') return '';
      const r = req;
      if (r.cmd === 'save' || r.cmd === 'restore' || r.cmd === 'migrate') {
        // Between slices, as from another terminal (xl-control.ts); a migration's transfer is awaited.
        return new Promise<string>((resolve) => xl.defer(() => void answerXlSave(xl, r).then((res) =>
          resolve(res.ok ? `${xlSaveDone(r, res)}\n` : `xl ${sub}: ${res.error}\n`))));
      }
      return new Promise<string>((resolve) => xl.defer(() => {
        const res = answerXl({ xl, dom0Seconds }, r);
        if (!res.ok) resolve(`xl ${sub}: ${res.error}\n`);
        else resolve(r.cmd === 'list' ? formatXlList(res.rows ?? []) : '');
      }));
    },
  });
  return monitor;
}
