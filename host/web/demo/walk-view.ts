/**
 * The "last page walk" view: a virtual address split into its fields, then one row per level
 * of the walk (table address, the VPN index into it, the PTE found and its flags), ending at
 * the physical address. Each VPN field and the level that uses it share a colour.
 *
 * The bare machine has one-dimensional Sv39/Sv48 walks; when the VMM's two-stage walks exist,
 * each row grows the G-stage walk of its table address.
 */
import type { PageWalk } from '../walk';
import { svgEl } from './charts';

const COLORS = ['#a3be8c', '#ebcb8b', '#d08770', '#b48ead'];
const PRIV = ['U', 'S', '?', 'M'];

const hex = (v: bigint | number, digits = 0): string => '0x' + v.toString(16).padStart(digits, '0');

/** Draw `walk` (or a note that no translated access has been seen) into `svg`. */
export function drawWalk(svg: SVGSVGElement, walk: PageWalk | undefined): void {
  svg.replaceChildren();
  const width = Number(svg.getAttribute('width'));
  if (!walk || walk.mode === 'bare') {
    svg.append(
      svgEl('text', { x: 0, y: 16 }, 'no translated access yet'),
      svgEl('text', { x: 0, y: 34, class: 'dim' }, 'M-mode and satp.MODE = Bare use physical'),
      svgEl('text', { x: 0, y: 48, class: 'dim' }, 'addresses: pick a paging guest (priv/paging_sv39,'),
      svgEl('text', { x: 0, y: 62, class: 'dim' }, 'bench/tlbstress) to watch Sv39/Sv48 walks.'),
    );
    svg.setAttribute('height', '70');
    return;
  }
  const levels = walk.mode === 'sv39' ? 3 : 4;
  const vaBits = 12 + 9 * levels;
  svg.append(svgEl('text', { x: 0, y: 12 },
    `${walk.mode.toUpperCase()} pc ${hex(walk.va)}  ${PRIV[walk.priv]}-mode  ASID ${walk.asid}`));

  // The VA's fields: sign extension, VPN[levels-1..0], page offset.
  const fields: { name: string; bits: string; value: string; color: string }[] = [
    { name: 'sign', bits: `63:${vaBits}`, value: (walk.va >> BigInt(vaBits - 1)) & 1n ? '1s' : '0s', color: '#4c566a' },
  ];
  for (let i = levels - 1; i >= 0; i--) {
    const lo = 12 + 9 * i;
    fields.push({ name: `VPN[${i}]`, bits: `${lo + 8}:${lo}`, value: String(Number((walk.va >> BigInt(lo)) & 0x1ffn)), color: COLORS[i] });
  }
  fields.push({ name: 'offset', bits: '11:0', value: hex(walk.va & 0xfffn), color: '#5e81ac' });
  const fw = width / fields.length;
  fields.forEach((f, k) => {
    const x = k * fw;
    svg.append(
      svgEl('text', { x: x + 3, y: 30, class: 'dim' }, f.bits),
      svgEl('rect', { x: x + 1, y: 34, width: fw - 2, height: 30, fill: f.color, opacity: 0.35, rx: 3 }),
      svgEl('text', { x: x + 4, y: 46 }, f.name),
      svgEl('text', { x: x + 4, y: 60 }, f.value),
    );
  });

  // One row per level read.
  let y = 72;
  svg.append(svgEl('text', { x: 0, y: y + 10, class: 'dim' }, `satp.PPN -> root table ${hex(walk.levels[0]?.table ?? 0n)}`));
  y += 16;
  for (const lvl of walk.levels) {
    const pte = lvl.pte === undefined ? 'unreadable' : hex(lvl.pte, 16);
    svg.append(
      svgEl('rect', { x: 0, y, width: 6, height: 30, fill: COLORS[lvl.level] }),
      svgEl('text', { x: 12, y: y + 12 }, `L${lvl.level} ${hex(lvl.table)}[${lvl.vpn}]  PTE @${hex(lvl.pteAddr)}`),
      svgEl('text', { x: 12, y: y + 26, class: 'dim' },
        `${pte}  ${lvl.flags}  ${lvl.leaf ? 'leaf' : lvl.pte !== undefined ? '-> next table' : ''}`),
    );
    y += 36;
  }
  // The result: the physical address, or the fault the hart would take.
  if (walk.pa !== undefined) {
    const size = walk.pageSize ?? 4096;
    const sizeText = size >= 1 << 30 ? `${size / (1 << 30)} GiB` : size >= 1 << 20 ? `${size / (1 << 20)} MiB` : `${size / 1024} KiB`;
    svg.append(
      svgEl('rect', { x: 0, y, width, height: 22, fill: '#5e81ac', opacity: 0.35, rx: 3 }),
      svgEl('text', { x: 6, y: y + 15 }, `PA ${hex(walk.pa)}  (${sizeText} page)`),
    );
  } else {
    svg.append(
      svgEl('rect', { x: 0, y, width, height: 22, fill: '#bf616a', opacity: 0.35, rx: 3 }),
      svgEl('text', { x: 6, y: y + 15 }, walk.fault ?? 'fault'),
    );
  }
  svg.setAttribute('height', String(y + 26));
}
