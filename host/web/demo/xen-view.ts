/**
 * The Xen panel of the demo page: the domain table as `xl list` shows it (name, id, memory,
 * vCPUs, the six state flags, CPU time) with a status column saying how each domain is doing or
 * how it ended. Clicking a DomU's row shows its console in the terminal (`xl console`).
 */
import { stateLetters } from '../../xen/toolstack/list-format';
import type { XenDomainInfo, XlListRow } from '../api';
import { si } from './charts';

/**
 * The status column: running / paused, or how the domain ended and what became of it, in the
 * words of the toolstack's notice ("poweroff, exit code 0: destroyed", "destroyed").
 */
export function domainStatus(d: XenDomainInfo): string {
  if (d.life === 'running') return d.paused ? 'paused' : 'running';
  const end = d.end?.text ?? 'shut down';
  if (d.end?.reason === 'destroyed') return end;
  return `${end}: ${d.life === 'preserved' ? 'preserved' : 'destroyed'}`;
}

/** Fill `table`'s body: Domain-0, then every DomU; the row of `shown` is marked. */
export function drawDomains(
  table: HTMLTableElement, dom0: XlListRow | undefined, domains: XenDomainInfo[], shown: string | undefined,
  pick: (name: string) => void,
): void {
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren();
  const row = (r: XlListRow, status: string): HTMLTableRowElement => {
    const tr = body.insertRow();
    const cells = [r.name, String(r.domid), String(r.memMiB), String(r.vcpus), stateLetters(r.state), r.timeS.toFixed(1), status];
    for (const text of cells) tr.insertCell().textContent = text;
    return tr;
  };
  if (dom0) row(dom0, 'toolstack, backends').className = 'dom0';
  for (const d of domains) {
    const tr = row(d, domainStatus(d));
    tr.dataset.domain = d.name;
    const result = d.life === 'running' ? '' : d.succeeded ? ' ok' : ' failed';
    tr.className = `domu ${d.life}${result}${d.name === shown ? ' shown' : ''}`;
    tr.title = `${d.file}: kernel ${d.kernel}. Click to show its console.`;
    tr.onclick = () => pick(d.name);
  }
}

/** Fill the per-domain figures table: each DomU's instructions, rate, slices and exits. */
export function drawFigures(table: HTMLTableElement, domains: XenDomainInfo[]): void {
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren();
  for (const d of domains) {
    const tr = body.insertRow();
    tr.dataset.domain = d.name;
    const ips = d.hostMs > 0 ? `${si((d.instructions * 1000) / d.hostMs)}/s` : '–';
    const top = d.topExit ? `${d.topExit.reason} (${d.topExit.count.toLocaleString('en')})` : '–';
    for (const text of [d.name, d.instructions.toLocaleString('en'), ips, String(d.slices), d.exits.toLocaleString('en'), top]) tr.insertCell().textContent = text;
  }
}
