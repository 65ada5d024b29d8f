/**
 * The demo page: an xterm.js terminal on a VM's console, a guest picker, and live panels
 * (instructions per second, exits by reason, TLB, BT cache, the last page walk).
 * Served by `npm run demo` (scripts/demo.mjs), which also lists the guests at guests/index.json.
 */
import { Terminal } from '@xterm/xterm';
import { createVm, type Vm, type VmStats } from '../api';
import { drawBars, si, Sparkline } from './charts';
import { drawWalk } from './walk-view';

/** What the page exposes on window for tests and for poking at from the devtools console. */
export interface DemoHandle {
  vm: Vm;
  term: Terminal;
  /** The terminal's whole buffer (scrollback included) as text, one line per row. */
  terminalText(): string;
  /** Statistics samples received so far. */
  samples: number;
  /** The latest statistics sample. */
  last?: VmStats;
  /** Load another guest (a path under guests/). */
  select(path: string): Promise<void>;
}

const $ = <T extends Element = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: #${id} missing`);
  return el as unknown as T;
};
const pct = (r: number): string => (Number.isFinite(r) ? (r * 100).toFixed(2) + ' %' : '–');
const DEFAULT_GUEST = 'demo/hello.elf';

async function main(): Promise<void> {
  const term = new Terminal({ convertEol: true, rows: 32, cols: 80, fontSize: 13, scrollback: 5000, cursorBlink: true });
  term.open($('terminal'));

  const params = new URLSearchParams(location.search);
  // ?stats=messages forces the message path even when the page could share memory.
  const vm = await createVm({ shared: params.get('stats') === 'messages' ? false : undefined });
  $('mode').textContent = vm.shared ? 'stats: SharedArrayBuffer' : 'stats: messages';

  // Console: guest output into the terminal, keys into the guest.
  void vm.console.readable.pipeTo(new WritableStream({ write: (bytes) => term.write(bytes) }));
  term.onData((s) => vm.console.write(s));

  const ipsChart = new Sparkline($<HTMLCanvasElement>('ips-chart'));
  const picker = $<HTMLSelectElement>('guest');
  let prevExits: { mmio: number; halt: number; traps: number; interrupts: number; t: number } | undefined;
  const handle: DemoHandle = {
    vm,
    term,
    samples: 0,
    terminalText() {
      const buf = term.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
    async select(path) {
      term.reset();
      ipsChart.clear();
      prevExits = undefined;
      drawWalk($<SVGSVGElement>('walk'), undefined);
      const q = new URLSearchParams(location.search);
      q.set('guest', path);
      history.replaceState(null, '', `?${q}`);
      picker.value = path;
      try {
        await vm.load(`guests/${path}`, { name: path });
      } catch (e) {
        term.write(`\r\n\x1b[31m${e instanceof Error ? e.message : String(e)}\x1b[0m\r\n`);
      }
      term.focus();
    },
  };
  (window as unknown as { wasmvisorDemo: DemoHandle }).wasmvisorDemo = handle;

  vm.addEventListener('stats', (ev) => {
    const s = (ev as CustomEvent<VmStats>).detail;
    const c = s.counters;
    handle.samples++;
    handle.last = s;
    const running = vm.state === 'running';
    // While running: the current rate; otherwise the mean over the whole run (short guests
    // like hello.elf end between two samples).
    $('ips').textContent = running ? si(s.instructionsPerSecond)
      : c.wallMs > 0 ? `${si((c.instructions * 1000) / c.wallMs)} mean` : '0';
    ipsChart.push(running ? s.instructionsPerSecond : 0);
    $('instructions').textContent = `${c.instructions.toLocaleString('en')} instructions retired in ${(c.wallMs / 1000).toFixed(2)} s`;
    $('tlb-hit').textContent = pct(s.tlbHitRate);
    $('tlb-access').textContent = si(c.tlbAccesses);
    $('walks').textContent = si(c.pageWalks);
    $('walk-refs').textContent = c.pageWalks > 0 ? (c.pageWalkRefs / c.pageWalks).toFixed(2) : '–';
    $('bt-hit').textContent = pct(s.blockHitRate);
    $('bt-blocks').textContent = si(c.btBlocks);
    $('bt-chains').textContent = si(c.blockChains);
    $('bt-flushes').textContent = String(c.btFlushes);
    const now = performance.now();
    const rate = (k: 'mmio' | 'halt' | 'traps' | 'interrupts', v: number): number =>
      prevExits && now > prevExits.t ? Math.max(0, ((v - prevExits[k]) * 1000) / (now - prevExits.t)) : 0;
    drawBars($<SVGSVGElement>('exits-chart'), [
      { label: 'MMIO', total: c.mmioExits, rate: rate('mmio', c.mmioExits), color: '#88c0d0' },
      { label: 'WFI/halt', total: c.haltExits, rate: rate('halt', c.haltExits), color: '#a3be8c' },
      { label: 'traps*', total: c.traps, rate: rate('traps', c.traps), color: '#ebcb8b' },
      { label: 'interrupts*', total: c.interrupts, rate: rate('interrupts', c.interrupts), color: '#d08770' },
    ]);
    prevExits = { mmio: c.mmioExits, halt: c.haltExits, traps: c.traps, interrupts: c.interrupts, t: now };
    drawWalk($<SVGSVGElement>('walk'), s.walk);
  });

  const stateEl = $('state');
  const pauseBtn = $<HTMLButtonElement>('pause');
  vm.addEventListener('state', (ev) => {
    const { state, exitCode, message } = (ev as CustomEvent<{ state: string; exitCode?: number; message?: string }>).detail;
    stateEl.textContent = state === 'exited' ? `exited (${exitCode})` : state;
    stateEl.className = `state ${state}`;
    pauseBtn.textContent = state === 'paused' ? 'Resume' : 'Pause';
    // A note on a line of its own (the guest's output may or may not end with a newline),
    // written once the terminal has parsed everything before it (xterm.js writes are queued).
    const note = (text: string): void => term.write('', () => {
      term.write(`${term.buffer.active.cursorX > 0 ? '\r\n' : ''}${text}\r\n`);
    });
    if (state === 'exited') note(`\x1b[2m[guest exited with code ${exitCode}]\x1b[0m`);
    if (state === 'error' && message) note(`\x1b[31m${message}\x1b[0m`);
  });
  pauseBtn.onclick = () => (vm.state === 'paused' ? vm.resume() : vm.pause());
  $('reset').onclick = () => { term.reset(); ipsChart.clear(); vm.reset(); term.focus(); };

  // The guest picker: every image the server lists.
  const guests: string[] = await fetch('guests/index.json').then((r) => (r.ok ? r.json() : []), () => []);
  const wanted = params.get('guest') ?? DEFAULT_GUEST;
  for (const g of guests) picker.append(new Option(g, g, false, g === wanted));
  picker.onchange = () => void handle.select(picker.value);
  await handle.select(wanted);
}

main().catch((e) => {
  document.body.insertAdjacentHTML('afterbegin', `<pre style="color:#f66;padding:8px">wasmvisor demo: ${String(e instanceof Error ? e.message : e)}</pre>`);
});
