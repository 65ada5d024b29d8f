/**
 * What a device model implements to be saved in a snapshot (docs/snapshot.md): it writes its
 * own section and reads it back. A device on the bus without it makes a save refuse, naming
 * the device, rather than write a snapshot that would restore a different machine.
 */
import type { SectionReader, SectionWriter } from './format';

export interface Snapshotable {
  /** Layout version of this device's section (bumped when its payload changes meaning). */
  readonly stateVersion?: number;
  /**
   * Write the device's state. Called between instructions, after quiesceState(): no request is
   * in flight.
   */
  saveState(w: SectionWriter): void;
  /** Read what saveState wrote (into a device built with the same configuration). */
  loadState(r: SectionReader, version: number): void;
  /** Finish work in progress (a virtio request half-served) so nothing in flight needs saving. */
  quiesceState?(): void;
  /**
   * Why this device cannot be saved although it has the methods (a virtio transport whose device
   * model has none), or undefined.
   */
  snapshotBlocker?(): string | undefined;
}

export function isSnapshotable(d: unknown): d is Snapshotable {
  return typeof d === 'object' && d !== null &&
    typeof (d as Snapshotable).saveState === 'function' && typeof (d as Snapshotable).loadState === 'function';
}

/** Why `d` (named `name`) cannot be saved, or undefined when it can. */
export function whyNotSnapshotable(d: unknown, name: string): string | undefined {
  if (!isSnapshotable(d)) return `${name} does not support snapshots`;
  const blocker = d.snapshotBlocker?.();
  return blocker !== undefined ? `${name}: ${blocker}` : undefined;
}
