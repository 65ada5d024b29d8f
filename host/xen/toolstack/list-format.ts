/**
 * `xl list` output, laid out as xl's list_domains (tools/xl/xl_list.c) prints it: a header
 * "Name ... ID Mem VCPUs<TAB>State<TAB>Time(s)", then per domain the name in 40 columns, the id,
 * memory in MiB and vCPUs in 5 each, six state flags and the CPU time in seconds (%8.1f).
 *
 * The six flags, in order (a '-' when not set):
 *   r running (here: runnable: the host thread gives it slices)   b blocked (waits for an event)
 *   p paused (xl pause)   s shut down   c crashed   d dying (being destroyed)
 */

/** The state flags of one domain. */
export interface XlStateFlags {
  running?: boolean;
  blocked?: boolean;
  paused?: boolean;
  shutdown?: boolean;
  crashed?: boolean;
  dying?: boolean;
}

/** One row of `xl list`. */
export interface XlListRow {
  name: string;
  domid: number;
  memMiB: number;
  vcpus: number;
  state: XlStateFlags;
  /** CPU time in seconds. */
  timeS: number;
}

/** xl's header line. */
export const XL_LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';

/** The six flag letters of a state ("r-----", "-b----", ...). */
export function stateLetters(s: XlStateFlags): string {
  return (s.running ? 'r' : '-') + (s.blocked ? 'b' : '-') + (s.paused ? 'p' : '-') +
    (s.shutdown ? 's' : '-') + (s.crashed ? 'c' : '-') + (s.dying ? 'd' : '-');
}

/** Format rows as `xl list` does (header included; each line ends with a newline). */
export function formatXlList(rows: XlListRow[]): string {
  const lines = [XL_LIST_HEADER];
  for (const r of rows) {
    lines.push(
      `${r.name.padEnd(40)} ${String(r.domid).padStart(5)} ${String(r.memMiB).padStart(5)} ${String(r.vcpus).padStart(5)}     ` +
      `${stateLetters(r.state)}  ${r.timeS.toFixed(1).padStart(8)}`,
    );
  }
  return lines.join('\n') + '\n';
}
