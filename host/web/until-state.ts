/**
 * `until(pred)` of the page's handles (WasmvisorVm in api.ts, XenHost in xen-host.ts): resolve
 * once the handle's state satisfies `pred`, at once if it already does; the handle dispatches
 * a 'state' event on every change.
 */
import type { VmState } from './protocol';

/** A handle with a state and 'state' events. */
export interface StateSource extends EventTarget {
  readonly state: VmState;
}

/** Resolves with the state when `pred` holds for it. */
export function untilState(source: StateSource, pred: (s: VmState) => boolean): Promise<VmState> {
  return new Promise((resolve) => {
    if (pred(source.state)) return resolve(source.state);
    const on = (): void => {
      if (!pred(source.state)) return;
      source.removeEventListener('state', on);
      resolve(source.state);
    };
    source.addEventListener('state', on);
  });
}
