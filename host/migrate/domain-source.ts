/**
 * The source of a live `xl migrate DOM HOST[:PORT]` (docs/xen/xl.md "Save, restore, migrate",
 * docs/migration.md "Xen domains"): the VM's migration (source.ts: the dirty log, the rounds, the
 * stream, post-copy's push and FETCHes, the progress line and the summary) on the domain's VM,
 * while it and the other domains of this Dom0 keep running, with what a domain adds:
 *
 *   - the stream starts with one line of JSON naming the domain (its xl.cfg), so that the target
 *     Dom0 can build it before the pages come (host/cli/xl-migrate.ts, domain-target.ts);
 *   - the execution state is the domain's save without RAM (host/snapshot/xen.ts: the VM's
 *     sections, the X* sections, and XPGS, the hypervisor frames as they are at the stop);
 *   - "stop the guest" is: pause the domain in the scheduler, between two slices (the other
 *     domains run on), then stop-and-copy (or post-copy's switch) runs while they do;
 *   - post-copy sends the hypervisor frames (shared-info, grant frames, XenStore and console
 *     pages) at the switch: Dom0 writes them by itself (events, watch events, typed input), so
 *     the target has them before it runs anything, and they are never fetched;
 *   - the end: migrated, the domain is destroyed here (xl.saved); a failure before COMMIT (or a
 *     REFUSE) unpauses it (unless it was paused before), and it runs on unharmed, its vifs
 *     announcing its MACs again (one RARP each, as QEMU's announce_self: the bridges point back
 *     here); a failure after the post-copy switch loses it (KVM's documented behaviour):
 *     destroyed here, lost there;
 *   - COMMIT written and then no answer (pre-copy's DONE lost, the connection cut): COMMIT is
 *     the point of no return, as Xen's xl migrate "permission to go" (xl_migrate.c: after it the
 *     sender never resumes the domain) and KVM's post-copy switch. The target runs the domain
 *     once COMMIT arrives, whether or not its DONE gets back; so the domain is the target's, and
 *     this Dom0 leaves its copy paused, never resumed by itself (two copies running would write
 *     the same disk). If the cut came before COMMIT arrived, the target dropped its copy and
 *     the paused one here is the only one: as with Xen, `xl unpause` is the administrator's
 *     decision after looking at the target.
 *
 * The name, as Xen's xl migrate (tools/xl/xl_migrate.c, migrate_domain): once the target's READY
 * is here ("Target has acknowledged transfer") and before COMMIT ("Giving target permission to
 * start"), the domain is renamed NAME--migratedaway (XenStore's /local/domain/ID/name, `xl
 * list`), so that a domain named NAME may exist again beside it (the one that came back from
 * the target, a new `xl create`). A failure before COMMIT, or the target's REFUSE of it ("Target
 * reports startup failure"), renames it back to NAME before it is resumed; if the rename itself
 * fails (a domain of that name exists), the migration fails before COMMIT and the domain is
 * resumed. After COMMIT with no answer, it stays paused under NAME--migratedaway ("We leave the
 * domain renamed to %s--migratedaway in case that's helpful"), and the lines say so; migrated,
 * it is destroyed, its record named NAME again (it lives on under NAME at the target), and so
 * is one lost after the post-copy switch (Toolstack.saved, lost).
 */
import { connect } from 'node:net';
import * as A from '../../assembly/abi';
import { UserError } from '../errors';
import { hypervisorGfns, saveXenDomain, whyNotSaveableDomain } from '../snapshot/xen';
import type { Toolstack } from '../xen/toolstack/xl';
import { EXIT_VM_LOST, type MigrateOptions } from './options';
import type { Summary } from './progress';
import { MigrationSource } from './source';
import { StreamError } from './stream';
import type { Dialer, Transport } from './transport';

/** The first line of a live xl migration's stream (host/cli/xl-migrate.ts reads it). */
export const XL_MIGRATE_HEADER = 'xl-migrate';
/** Version 2: the live stream (stream.ts) follows the line; version 1 was the whole save file. */
export const XL_MIGRATE_VERSION = 2;

const RAM_PFN = Number(BigInt(A.RAM_BASE) >> 12n);

/** Where the Dom0 prints (its stderr) and whether the progress line may be drawn there. */
export interface DomainSourceIo {
  stderr(text: string): void;
  isTTY: boolean;
}

/** Dial host:port and send the header line naming the domain; the migration stream follows. */
function domainDialer(host: string, port: number, header: object): Dialer {
  return {
    text: `tcp:${host}:${port}`,
    connect: (what) => new Promise<Transport>((resolve, reject) => {
      const s = connect({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.write(JSON.stringify(header) + '\n');
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => reject(new StreamError(`${what}: cannot connect (${e.code ?? e.message})`)));
    }),
  };
}

/**
 * Migrate domain `domid` live to the Dom0 listening on host:port, with the policy of `opts`
 * (mode, rounds, downtime, bandwidth; `to` and `afterMs` are ignored). Call between slices
 * (Toolstack.defer). Resolves with the summary once the target runs the domain (and, after
 * post-copy, has every page); rejects with a one-line UserError: exit 1 when the domain runs
 * on here, EXIT_VM_LOST when it was lost after the post-copy switch.
 */
export function migrateDomainLive(xl: Toolstack, domid: number, host: string, port: number, opts: MigrateOptions, io: DomainSourceIo): Promise<Summary> {
  const rec = xl.record(domid);
  const input = xl.saveInput(domid);
  const name = `${rec.name} (d${domid})`;
  /** Its name, and the one it has from the target's READY on (xl_migrate.c's common_domname, away_domname). */
  const common = rec.name;
  const away = `${common}--migratedaway`;
  const to = `${host}:${port}`;
  const why = whyNotSaveableDomain(input);
  if (why) return Promise.reject(new UserError(`cannot migrate ${name} to ${to}: ${why}; it runs on here`, 1));
  const mopts: MigrateOptions = { ...opts, afterMs: 0, incoming: undefined, to: { host, port, text: `tcp:${to}` } };
  // (while it migrates, a domain of its name may come in, as NAME--incoming: to this Dom0 itself)
  xl.outgoing.add(domid);
  const out = () => void xl.outgoing.delete(domid);
  return new Promise<Summary>((resolve, reject) => {
    let summary: Summary | undefined;
    let error: string | undefined;
    let wasPaused = rec.paused;
    let settled = false;
    /** Paused for stop-and-copy (or the switch): its outcome comes from stopAndCopy(). */
    let stopping = false;
    /** The target answered REFUSE (it runs nothing). */
    let refused = false;
    /** Renamed to `away` (before COMMIT). */
    let renamed = false;
    const between = (f: () => void) => xl.defer(() => {
      try {
        f();
      } catch {
        // the domain went meanwhile (xl destroy): nothing is left to do to it
      }
    });
    const fail = (line: string, code = 1) => {
      if (settled) return;
      settled = true;
      xl.watchEnd(domid, undefined);
      reject(new UserError(line, code));
    };
    const src = new MigrationSource(input.dom.vm, {
      // The source wants the guest stopped: pause the domain between two slices, then hand over.
      stop: () => xl.defer(() => {
        if (settled || rec.state !== 'running' || rec.domid !== domid) return;
        wasPaused = rec.paused;
        if (!rec.paused) xl.pause(domid);
        xl.hold(domid, true); // (xl unpause would run it here while the target has it)
        stopping = true;
        src.stopAndCopy().then((ok) => {
          if (ok) {
            between(() => {
              xl.watchEnd(domid, undefined);
              xl.saved(domid, 'migrated', to);
            });
            settled = true;
            resolve(summary!);
            return;
          }
          if (src.commitSent && !refused) {
            // COMMIT went and no answer came: the domain is the target's (see the header); it
            // stays paused here, never run again by this Dom0 (xl unpause is the admin's call).
            between(() => xl.hold(domid, false));
            fail(`${name}: migration to ${to}: ${error ?? 'it failed'} after COMMIT, before the target's answer; the domain is the target's: paused here as ${away}, not resumed`);
            return;
          }
          between(() => {
            xl.hold(domid, false);
            if (renamed) renameBack();
            if (!wasPaused && rec.state === 'running' && rec.domid === domid) xl.unpause(domid);
            // Resumed after the stop: tell the bridges its MACs are here (QEMU's announce_self).
            if (rec.state === 'running' && rec.domid === domid) xl.announce(rec);
          });
          fail(`cannot migrate ${name} to ${to}: ${error ?? 'it failed'}; it runs on here`);
        }, (e: unknown) => {
          // Only a failure after post-copy's switch (source.ts lost()) gets here.
          const line = e instanceof Error ? e.message : String(e);
          between(() => xl.lost(domid, `post-copy to ${to}`));
          fail(`${name}: ${line.replace(/^wasmvisor: /, '')}`, e instanceof UserError ? e.exitCode : EXIT_VM_LOST);
        });
      }),
    }, mopts, {
      stderr: (t) => io.stderr(t),
      isTTY: io.isTTY,
      failLine: (why, wasRefused) => {
        refused = wasRefused;
        if (src.commitSent && !wasRefused) {
          return `wasmvisor: xl migrate: domain '${common}' is the target's: migration to tcp:${to}: ${why} after COMMIT, before the target's answer; it stays paused here as '${away}' (xl unpause it only if the target does not run it)\n`;
        }
        return `wasmvisor: xl migrate: domain '${common}' keeps running here: migration to tcp:${to}: ${why}\n`;
      },
      onEnd: (end) => {
        if ('summary' in end) summary = end.summary;
        else {
          error = end.error;
          // A failure before the stop (pre-copy rounds): the domain never stopped; it runs on.
          if (!stopping) fail(`cannot migrate ${name} to ${to}: ${end.error}; it runs on here`);
        }
      },
    }, domainDialer(host, port, { wasmvisor: XL_MIGRATE_HEADER, version: XL_MIGRATE_VERSION, cfg: rec.cfg }), {
      whyNot: () => whyNotSaveableDomain(xl.saveInput(domid)),
      state: () => {
        const save = () => saveXenDomain({ ...xl.saveInput(domid), withoutRam: true });
        if (stopping) return save();
        // source.ts warms the encoder up once while the domain runs (V8's first pass is slow);
        // a domain's save can be refused then (a XenStore transaction open): no matter.
        try {
          save();
        } catch {
          // refused now; the stop's save says why if it still is
        }
        return new Uint8Array(0);
      },
      presentAtSwitch: () => hypervisorGfns(input.dom).map((g) => Number(g) - RAM_PFN),
      // The target has everything (READY): rename the domain away before COMMIT, as xl_migrate.c
      // does before its "permission to go". Here, not in a deferred action: the domain is paused
      // and held, the stop's clock runs, and a rename is one XenStore write (as the state's save
      // above runs here too). A refusal (a domain named `away` exists) fails before COMMIT.
      beforeCommit: () => {
        if (settled || rec.state !== 'running' || rec.domid !== domid) return;
        try {
          xl.rename(domid, common, away);
        } catch (e) {
          // (xl_migrate.c: "if (rc) goto failed_resume")
          throw new StreamError(`cannot rename the domain to '${away}' before COMMIT: ${e instanceof Error ? e.message.replace(/^xl: /, '') : String(e)}`);
        }
        renamed = true;
      },
    });
    /**
     * A failure before COMMIT or the target's REFUSE of it: the name back before the domain runs
     * again (xl_migrate.c's rename on "Target reports startup failure"). Refused (a domain named
     * `common` was created meanwhile), it runs on as `away`, and one notice says so.
     */
    const renameBack = () => {
      renamed = false;
      try {
        xl.rename(domid, away, common);
      } catch (e) {
        xl.opts.onNotice?.(`${away} (d${domid}): not renamed back to '${common}' after its failed migration: ${e instanceof Error ? e.message.replace(/^xl: /, '') : String(e)}`);
      }
    };
    // The domain shuts down (or is destroyed) before the stop: the migration is abandoned.
    xl.watchEnd(domid, () => {
      fail(`cannot migrate ${name} to ${to}: the domain went (it shut down or was destroyed) during the migration`);
      src.abandon('the domain went');
    });
    src.start();
  }).finally(out);
}
