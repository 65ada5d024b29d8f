/**
 * The "last page walk" view: the walk the hart really did last, from its walk log
 * (host/machine/hart.ts lastWalk(), abi.ts S_WALK_LOG), drawn step by step.
 *
 * Bare machine (one dimension): the virtual address's VPN fields, then one row per level of
 * the satp walk (the PTE's address and value), then the physical address.
 *
 * Virtual machine (two dimensions, privileged spec §8.5): the guest virtual address goes
 * through the VS-stage levels; the address of each VS-stage PTE is a guest-physical address,
 * so before it is read it goes through its own G-stage walk (the 'g-for-vs' steps logged just
 * before each 'vs' step); the guest-physical address the VS-stage leaf gives goes through a
 * last G-stage walk ('g-final') to the host physical address. Each row: the VS level, its
 * G-stage boxes, then the VS PTE read. G-stage translations the core's cache served made no
 * reads: the worker fills in the levels they stand for (walk-fill.ts), drawn dashed.
 */
import type { ViewStep, WalkSample } from '../protocol';
import { RAM_BASE, RAM_OFFSET } from '../../../assembly/abi';
import { CAUSE_NAMES } from '../../vmm/stats';
import { svgEl } from './charts';

const VPN_COLORS = ['#a3be8c', '#ebcb8b', '#d08770', '#b48ead'];
const G_COLOR = '#5e81ac';
const ACCESS = { read: 'load', write: 'store', fetch: 'fetch' } as const;
const PPN_MASK = (1n << 44n) - 1n;

const hex = (v: bigint | number): string => '0x' + v.toString(16);
const hex16 = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
/** "DAGUXWRV" with '-' for clear bits, D first as in the spec's PTE figure. */
const flags = (pte: bigint): string => [...'DAGUXWRV'].map((c, i) => ((pte >> BigInt(7 - i)) & 1n ? c : '-')).join('');
const ppnAddr = (pte: bigint): bigint => ((pte >> 10n) & PPN_MASK) << 12n;
const isLeaf = (pte: bigint): boolean => (pte & 0xan) !== 0n; // R or X
const sizeText = (bits: number): string => (bits >= 30 ? `${2 ** (bits - 30)} GiB` : bits >= 20 ? `${2 ** (bits - 20)} MiB` : `${2 ** (bits - 10)} KiB`);

/** The physical address a leaf PTE at `level` gives for `addr` (superpages keep the low VPNs). */
function leafTarget(pte: bigint, level: number, addr: bigint): bigint {
  const low = (1n << BigInt(12 + 9 * level)) - 1n;
  return (ppnAddr(pte) & ~low) | (addr & low);
}

/** The index into the level-`level` table of `addr` (the top level of an x4 G-stage root has 11 bits). */
function index(addr: bigint, level: number, top: boolean, g: boolean): number {
  const bits = top && g ? 0x7ffn : 0x1ffn;
  return Number((addr >> BigInt(12 + 9 * level)) & bits);
}

/** One VS level of a two-dimensional walk: the G-stage steps for its PTE address, then the PTE. */
interface VsRow {
  g: ViewStep[];
  vs?: ViewStep;
  /** Guest-physical address of the VS PTE (computed from vsatp and the PTEs above it). */
  gpa?: bigint;
}

/** Split a 2D walk's steps into VS rows and the final G-stage walk. */
function splitSteps(steps: ViewStep[]): { rows: VsRow[]; final: ViewStep[] } {
  const rows: VsRow[] = [];
  const final: ViewStep[] = [];
  let pending: ViewStep[] = [];
  for (const s of steps) {
    if (s.kind === 'g-for-vs') pending.push(s);
    else if (s.kind === 'vs') { rows.push({ g: pending, vs: s }); pending = []; }
    else if (s.kind === 'g-final') final.push(s);
  }
  if (pending.length > 0) rows.push({ g: pending }); // the walk failed translating a PTE address
  return { rows, final };
}

/** Draws into one SVG, top to bottom. */
class Canvas {
  y = 0;
  constructor(readonly svg: SVGSVGElement, readonly width: number) {}

  text(x: number, y: number, s: string, cls?: string): SVGElement {
    const t = svgEl('text', cls ? { x, y, class: cls } : { x, y }, s);
    this.svg.append(t);
    return t;
  }

  /** A box of up to three lines at (x, this.y), tagged with the walk-step kind for tests and styles. */
  box(x: number, w: number, color: string, lines: string[], kind: string, dashed = false): void {
    const g = svgEl('g', { 'data-kind': kind, class: `step ${kind}`, ...(dashed ? { 'data-cached': 'true' } : {}) });
    g.append(svgEl('rect', {
      x, y: this.y, width: w, height: 46, rx: 3, fill: color, 'fill-opacity': 0.22, stroke: color,
      'stroke-opacity': 0.7, ...(dashed ? { 'stroke-dasharray': '4 3' } : {}),
    }));
    lines.forEach((l, i) => g.append(svgEl('text', { x: x + 5, y: this.y + 13 + i * 14, ...(i > 0 ? { class: 'dim' } : {}) }, l)));
    this.svg.append(g);
  }

  arrow(x0: number, x1: number): void {
    const y = this.y + 23;
    this.svg.append(svgEl('path', { d: `M${x0} ${y}H${x1 - 2}m-5 -4l5 4l-5 4`, stroke: '#7b8594', fill: 'none' }));
  }
}

/** The VA's fields as coloured cells: sign extension, VPN[levels-1..0], page offset. */
function drawFields(c: Canvas, va: bigint, levels: number, label: string): void {
  const vaBits = 12 + 9 * levels;
  const fields: { name: string; bits: string; value: string; color: string }[] = [
    { name: 'sign', bits: `63:${vaBits}`, value: (va >> BigInt(vaBits - 1)) & 1n ? 'ones' : 'zeros', color: '#4c566a' },
  ];
  for (let i = levels - 1; i >= 0; i--) {
    const lo = 12 + 9 * i;
    fields.push({ name: `VPN[${i}]`, bits: `${lo + 8}:${lo}`, value: String(index(va, i, false, false)), color: VPN_COLORS[i] });
  }
  fields.push({ name: 'offset', bits: '11:0', value: hex(va & 0xfffn), color: G_COLOR });
  c.text(0, c.y + 26, label, 'dim');
  const x0 = 140;
  const fw = Math.min(110, (c.width - x0) / fields.length);
  fields.forEach((f, k) => {
    const x = x0 + k * fw;
    c.text(x + 3, c.y + 10, f.bits, 'dim');
    c.svg.append(svgEl('rect', { x: x + 1, y: c.y + 14, width: fw - 2, height: 30, fill: f.color, opacity: 0.35, rx: 3 }));
    c.text(x + 5, c.y + 26, f.name);
    c.text(x + 5, c.y + 40, f.value);
  });
  c.y += 54;
}

const LABEL_W = 130;
const G_W = 150;
const GAP = 16;

/** One G-stage walk as a row of boxes from x; returns the x after the last box. */
function drawGSteps(c: Canvas, x: number, steps: ViewStep[], gpa: bigint | undefined, kind: 'g-for-vs' | 'g-final'): number {
  steps.forEach((s, k) => {
    const top = k === 0;
    const idx = gpa !== undefined ? `[${index(gpa, s.level, top, true)}]` : '';
    const what = `${flags(s.pte)}${isLeaf(s.pte) ? ' leaf' : ''}${s.cached ? ' cached' : ''}`;
    c.box(x, G_W, G_COLOR, [`G L${s.level}${idx}${top ? ' root' : ''}`, `@${hex(s.pteAddress)}`, what], kind, s.cached === true);
    x += G_W;
    c.arrow(x, x + GAP);
    x += GAP;
  });
  return x;
}

/** Draw `walk` (or a note that none has been seen yet) into `svg`. */
export function drawWalk(svg: SVGSVGElement, walk: WalkSample | undefined): void {
  // A sample carries the last walk until the worker sends another (Vm keeps the object): the
  // same walk is not drawn again (ten samples a second rebuilt the SVG and laid the page out).
  if (drawn.has(svg) && drawn.get(svg) === walk) return;
  drawn.set(svg, walk);
  svg.replaceChildren();
  const width = Number(svg.getAttribute('width'));
  const c = new Canvas(svg, width);
  if (!walk || walk.steps.length === 0) {
    c.text(0, 16, 'no page walk yet');
    c.text(0, 34, 'M-mode and satp.MODE = Bare use physical addresses: pick a kernel that pages', 'dim');
    c.text(0, 48, '(minikernel, vmbench as VMs; priv/paging_sv39, bench/tlbstress on the bare board).', 'dim');
    svg.setAttribute('height', '56');
    return;
  }
  const result = walk.pa !== undefined ? `${walk.machine === 'vm' ? 'HPA' : 'PA'} ${hex(walk.pa)}`
    : `fault: ${CAUSE_NAMES[walk.faultCause ?? -1] ?? `cause ${walk.faultCause}`}`;
  if (walk.machine === 'vm') drawWalk2d(c, walk, result);
  else drawWalk1d(c, walk, result);
  svg.setAttribute('height', String(c.y + 4));
}

/** The walk each SVG shows now. */
const drawn = new WeakMap<SVGSVGElement, WalkSample | undefined>();

function drawWalk1d(c: Canvas, walk: WalkSample, result: string): void {
  const levels = walk.steps[0].level + 1;
  c.text(0, c.y + 12, `1D walk (satp Sv${12 + 9 * levels})  ${ACCESS[walk.access]}  VA ${hex(walk.va)} -> ${result}`, 'title');
  c.y += 22;
  drawFields(c, walk.va, levels, 'virtual address');
  let last: ViewStep | undefined;
  for (const s of walk.steps) {
    const vpn = index(walk.va, s.level, false, false);
    c.box(0, LABEL_W, VPN_COLORS[s.level], [`L${s.level}  VPN[${s.level}] = ${vpn}`, `table ${hex(s.pteAddress - BigInt(vpn * 8))}`], 'level');
    c.arrow(LABEL_W, LABEL_W + GAP);
    c.box(LABEL_W + GAP, 330, VPN_COLORS[s.level], [`PTE @${hex(s.pteAddress)}`, `${hex16(s.pte)}  ${flags(s.pte)}`,
      isLeaf(s.pte) ? 'leaf' : `-> next table ${hex(ppnAddr(s.pte))}`], 'satp');
    c.y += 54;
    last = s;
  }
  drawResult(c, walk, result, last);
}

function drawWalk2d(c: Canvas, walk: WalkSample, result: string): void {
  const { rows, final } = splitSteps(walk.steps);
  const vsLevels = rows.length > 0 ? Math.max(...rows.map((r) => r.vs?.level ?? 0)) + 1 : 0;
  const vsMode = walk.vsatp >> 60n;
  const gMode = walk.hgatp >> 60n;
  const vsName = rows.length === 0 ? 'vsatp Bare' : `vsatp Sv${12 + 9 * vsLevels}`;
  const gName = gMode === 8n ? 'hgatp Sv39x4' : gMode === 9n ? 'hgatp Sv48x4' : gMode === 10n ? 'hgatp Sv57x4' : 'hgatp Bare';
  c.text(0, c.y + 12, `2D walk (${vsName}, ${gName})  ${ACCESS[walk.access]}  GVA ${hex(walk.va)} -> ${result}`, 'title');
  c.y += 22;
  if (rows.length > 0) drawFields(c, walk.va, vsLevels, 'guest virtual address');

  // The GPAs of the VS PTEs: root from vsatp, then each non-leaf PTE's PPN (spec §4.3.2 step 4).
  let table: bigint | undefined = vsMode !== 0n ? (walk.vsatp & PPN_MASK) << 12n : undefined;
  let gpaFinal: bigint | undefined = rows.length === 0 ? walk.va : undefined;
  const gx0 = LABEL_W + GAP;
  let maxGx = gx0;
  for (const r of rows) {
    const level = r.vs?.level ?? vsLevels - 1 - rows.indexOf(r);
    const vpn = index(walk.va, level, false, false);
    const gpa = table !== undefined ? table + BigInt(vpn * 8) : undefined;
    // The PTE's host address must have the same page offset as its GPA; if not, vsatp changed since.
    r.gpa = gpa !== undefined && r.vs && (gpa & 0xfffn) !== (r.vs.pteAddress & 0xfffn) ? undefined : gpa;
    c.box(0, LABEL_W, VPN_COLORS[level], [`VS L${level}  VPN[${level}] = ${vpn}`, r.gpa !== undefined ? `PTE GPA ${hex(r.gpa)}` : 'PTE GPA ?'], 'vs-level');
    c.arrow(LABEL_W, gx0);
    let x = gx0;
    if (r.g.length > 0) x = drawGSteps(c, x, r.g, r.gpa, 'g-for-vs');
    else if (r.vs) {
      // No G-stage steps at all (hgatp Bare, or tables unreadable): the PTE's GPA is used as is.
      c.box(x, G_W, G_COLOR, ['G-stage', 'no levels', '(hgatp Bare?)'], 'g-none', true);
      x += G_W;
      c.arrow(x, x + GAP);
      x += GAP;
    }
    maxGx = Math.max(maxGx, x);
    if (r.vs) {
      const s = r.vs;
      c.box(x, 300, VPN_COLORS[level], [`VS PTE @HPA ${hex(s.pteAddress)}`, `${hex16(s.pte)}  ${flags(s.pte)}`,
        isLeaf(s.pte) ? `leaf -> GPA ${hex(leafTarget(s.pte, level, walk.va))}` : `-> next table GPA ${hex(ppnAddr(s.pte))}`], 'vs');
      if (isLeaf(s.pte)) gpaFinal = leafTarget(s.pte, level, walk.va);
      table = ppnAddr(s.pte);
    }
    c.y += 54;
  }
  if (final.length > 0) {
    c.box(0, LABEL_W, G_COLOR, ['final G-stage', gpaFinal !== undefined ? `GPA ${hex(gpaFinal)}` : 'GPA ?'], 'g-final-level');
    c.arrow(LABEL_W, gx0);
    const x = drawGSteps(c, gx0, final, gpaFinal, 'g-final');
    if (walk.pa !== undefined) {
      // Host RAM is a window of the core's WebAssembly.Memory: HPA 0x80000000 is RAM_OFFSET.
      const offset = walk.pa - BigInt(RAM_BASE) + BigInt(RAM_OFFSET);
      c.box(x, 300, G_COLOR, [`HPA ${hex(walk.pa)}`, 'host offset in the Wasm memory', hex(offset)], 'hpa');
    }
    c.y += 54;
  }
  // The mapping is as large as the smaller of the VS-stage and G-stage leaves.
  const leaves = [final.at(-1), rows.at(-1)?.vs].filter((s): s is ViewStep => s !== undefined && isLeaf(s.pte));
  drawResult(c, walk, result, leaves.sort((a, b) => a.level - b.level)[0]);
  if (walk.steps.some((s) => s.cached)) {
    c.text(0, c.y + 12, 'dashed: a G-stage translation the core took from its G-stage translation cache (no memory reads); its levels are read from the tables for this view', 'dim');
    c.y += 18;
  }
}

/** The result bar: the (host) physical address and the page size, or the fault. */
function drawResult(c: Canvas, walk: WalkSample, result: string, leaf: ViewStep | undefined): void {
  const ok = walk.pa !== undefined;
  const size = ok && leaf && isLeaf(leaf.pte) ? `  (${sizeText(12 + 9 * leaf.level)} page)` : '';
  const g = svgEl('g', { 'data-kind': ok ? 'result' : 'fault' });
  g.append(
    svgEl('rect', { x: 0, y: c.y, width: c.width, height: 22, fill: ok ? G_COLOR : '#bf616a', opacity: 0.35, rx: 3 }),
    svgEl('text', { x: 6, y: c.y + 15 }, `${result}${size}`),
  );
  c.svg.append(g);
  c.y += 26;
}
