/**
 * The target of a live `xl migrate` (docs/xen/xl.md "Save, restore, migrate", docs/migration.md
 * "Xen domains"): a Dom0 started with `wasmvisor up --incoming tcp:HOST:PORT` runs its domains
 * while a domain comes in. The header line (domain-source.ts) names the domain's xl.cfg; the
 * domain is built from it under a new domid, empty and unscheduled (Toolstack.incoming), and the
 * VM's migration stream (incoming.ts: HELLO and the configuration check, the rounds' pages, the
 * stop) fills it in. At the stop, the state is the domain's save without RAM: it is loaded
 * between two slices (loadXenDomain: the VM, the X* sections, the hypervisor frames of XPGS;
 * the console and the disks reconnected), the domain scheduled but paused, and unpaused at the
 * source's COMMIT, when its vifs announce its MACs (never before: a domain not committed moved
 * no bridge entry). Anything that fails before COMMIT drops the domain, which never ran, and the
 * source's runs on. Its name is NAME--incoming until COMMIT, as xl's migrate_receive names it,
 * and NAME from then on (so a Dom0 can migrate a domain to itself, xl migrate DOM localhost, as
 * Xen allows); a failure destroys it. Once COMMIT is here the domain is this Dom0's, even if DONE never reaches the
 * source: that source keeps its copy paused and never resumes it (domain-source.ts).
 *
 * Post-copy and hybrid: the domain runs from COMMIT with its absent pages left out of the
 * G-stage (postcopy-target.ts): its first touch of one fetches it; a hypercall waits for every
 * page (host/xen/hypercalls.ts), so that no Dom0 backend (blkback, the console) reads or writes
 * a page that has not arrived. The wait ends the domain's slice and blocks its vCPU until the
 * pages are in (host/xen/toolstack/xen-vcpu.ts): the other domains run meanwhile. If the stream breaks after COMMIT the domain is lost: it is
 * stopped at once (never run with a page missing) and destroyed; the other domains run on.
 */
import type { Socket } from 'node:net';
import { UserError } from '../errors';
import { SnapshotError } from '../snapshot/format';
import { readXenSave } from '../snapshot/xen';
import type { DomainCfg } from '../xen/toolstack/cfg';
import { incomingName, type DomainRecord, type IncomingDomain, type Toolstack } from '../xen/toolstack/xl';
import { receiveOver } from './incoming';
import { frame, MSG, Out } from './stream';

/** Run `f` between two slices; resolves with its result. */
function between<T>(xl: Toolstack, f: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => xl.defer(async () => {
    try {
      resolve(await f());
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  }));
}

/** Whether the header's cfg is a domain configuration this toolstack can build (checked again by the stream). */
function headerCfg(h: { cfg?: unknown }): DomainCfg | undefined {
  const c = h.cfg as DomainCfg | undefined;
  if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || c.name.length === 0 || c.name.length > 64) return undefined;
  if (typeof c.kernel !== 'string' || !Number.isInteger(c.memoryMiB) || c.memoryMiB <= 0 || !Array.isArray(c.disks) || !Array.isArray(c.vifs)) return undefined;
  return c;
}

/**
 * Receive one live migration on `s` (its header line read already: `header`; the socket paused
 * with the stream's first bytes put back). Resolves with the record of the domain once it runs
 * here; rejects with a one-line Error (printed by the caller) when nothing was run. `say` prints
 * one Dom0 line (the post-copy end or loss; `wasmvisor: ` included).
 */
export async function receiveDomain(xl: Toolstack, s: Socket, header: { cfg?: unknown }, who: string, say: (text: string) => void): Promise<DomainRecord> {
  const cfg = headerCfg(header);
  const what = `wasmvisor: incoming migration of ${cfg?.name ?? '?'} from ${who}`;
  const refuse = (line: string): never => {
    const o = new Out();
    o.str(line);
    s.end(frame(MSG.REFUSE, o.result()));
    s.resume();
    throw new Error(`${what}: refused: ${line}`);
  };
  if (!cfg) return refuse('the header names no domain configuration (corrupt stream)');
  let inc: IncomingDomain;
  try {
    inc = await between(xl, () => xl.incoming(cfg, `migration from ${who}`, true));
  } catch (e) {
    return refuse(e instanceof Error ? e.message : String(e));
  }
  let rec: DomainRecord | undefined;
  const receiving = receiveOver(inc.dom.vm, s, what, { stderr: say }, {
    // The state: loaded between two slices; scheduled, paused until COMMIT.
    restore: (state) => between(xl, () => {
      const save = readXenSave('the migrated state', state);
      if (save.dom.cfg.name !== cfg.name) throw new SnapshotError('the migrated state', `it is domain '${save.dom.cfg.name}', the stream began with '${cfg.name}' (corrupt stream)`);
      try {
        rec = inc.load(save, { ramInPlace: true, paused: true });
      } catch (e) {
        // (a disk file that cannot be opened here, ...: refused in one line like a bad state)
        if (e instanceof UserError && !(e instanceof SnapshotError)) throw new SnapshotError('the migrated state', e.message.replace(/^wasmvisor: /, ''));
        throw e;
      }
    }),
    // COMMIT: NAME--incoming takes its name, as xl's migrate_receive renames it once it has the
    // source's permission (the source is NAME--migratedaway by then). Refused (a domain named
    // NAME came meanwhile), Xen's target destroys it and reports the startup failure, and the
    // source resumes its copy: a REFUSE here does that. After post-copy's switch the source has
    // given its copy up, so the domain runs on under NAME--incoming and one line says so.
    committed: (postcopy) => {
      const r = rec!;
      try {
        xl.rename(r.domid, incomingName(cfg.name), cfg.name);
      } catch (e) {
        const why = `cannot rename it from '${incomingName(cfg.name)}' to '${cfg.name}': ${e instanceof Error ? e.message.replace(/^xl: /, '') : String(e)}`;
        if (!postcopy) throw new SnapshotError('the migrated domain', why);
        say(`wasmvisor: incoming migration of ${cfg.name} from ${who}: ${why}; it runs as '${incomingName(cfg.name)}' (xl rename it)\n`);
      }
    },
  });
  s.resume();
  let got;
  try {
    got = await receiving;
  } catch (e) {
    s.destroy();
    await between(xl, () => {
      if (rec) xl.dropIncoming(rec);
      else inc.discard();
    });
    throw e;
  }
  const r = rec!;
  if (got.profile !== undefined) say(`wasmvisor: ${got.postcopy ? 'post-copy switch' : 'stop-and-copy'} (target): ${got.profile}\n`);
  await between(xl, () => {
    if (r.state === 'running') {
      xl.unpause(r.domid);
      xl.announce(r);
    }
  });
  const pc = got.postcopy;
  if (pc) {
    // The loss is printed by postcopy-target.ts; here the domain goes (the others run on).
    void pc.target.settle().then((ok) => {
      if (!ok) void between(xl, () => {
        if (r.state === 'running') xl.lost(r.domid, `post-copy from ${who}`);
      });
    });
  }
  return r;
}
