/**
 * The demo page: an xterm.js terminal on a VM's console, a guest picker, and live panels
 * (instructions per second, exits by reason, TLB, BT cache, the last page walk).
 * Served by `npm run demo` (scripts/demo.mjs), which also lists the guests at guests/index.json.
 */
import { Terminal } from '@xterm/xterm';
import { createVm, type Vm, type VmMode, type VmStats } from '../api';
import { drawBars, exitColor, si, Sparkline } from './charts';
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
  /** Load another guest (a path under guests/), in the given mode or the one guestMode picks. */
  select(path: string, mode?: VmMode): Promise<void>;
}

const $ = <T extends Element = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: #${id} missing`);
  return el as unknown as T;
};
const pct = (r: number): string => (Number.isFinite(r) ? (r * 100).toFixed(2) + ' %' : '–');
const DEFAULT_GUEST = 'minikernel/minikernel.elf';

/**
 * How a bundled guest runs: the S-mode kernels (minikernel, vmbench) as virtual machines, the
 * M-mode programs (demo, isa, priv, bench) on the bare board.
 */
export function guestMode(path: string): VmMode {
  return /^(minikernel|vmbench)\//.test(path) ? 'vm' : 'bare';
}

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
  let prevExits: { counts: Map<string, number>; t: number } | undefined;
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
    async select(path, mode = guestMode(path)) {
      term.reset();
      ipsChart.clear();
      prevExits = undefined;
      drawWalk($<SVGSVGElement>('walk'), undefined);
      const q = new URLSearchParams(location.search);
      q.set('guest', path);
      if (mode !== guestMode(path)) q.set('mode', mode); else q.delete('mode');
      history.replaceState(null, '', `?${q}`);
      picker.value = path;
      try {
        $('vm-mode').textContent = mode === 'vm' ? 'VM: VS-mode under the VMM' : 'bare board: entered in M-mode';
        await vm.load(`guests/${path}`, { name: path, mode });
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
    $('walks1d').textContent = c.pageWalks > 0 ? `${si(c.pageWalks)} × ${s.refsPerWalk1d.toFixed(2)}` : '0';
    $('walks2d').textContent = c.walks2d > 0 ? `${si(c.walks2d)} × ${s.refsPerWalk2d.toFixed(2)}` : '0';
    $('pwc-hits').textContent = si(c.pwcHits);
    $('bt-hit').textContent = pct(s.blockHitRate);
    $('bt-blocks').textContent = si(c.btBlocks);
    $('bt-chains').textContent = si(c.blockChains);
    $('bt-flushes').textContent = String(c.btFlushes);
    $('jit-share').textContent = c.instructions > 0 ? pct(c.jitInstructions / c.instructions) : '–';
    $('jit-regions').textContent = si(c.jitRegions);
    // Exits by reason, with their rate since the previous sample.
    const now = performance.now();
    const rate = (reason: string, count: number): number => {
      const before = prevExits?.counts.get(reason);
      return prevExits && before !== undefined && now > prevExits.t ? Math.max(0, ((count - before) * 1000) / (now - prevExits.t)) : 0;
    };
    drawBars($<SVGSVGElement>('exits-chart'), s.exits.slice(0, 12).map((r) => ({
      label: r.reason, total: r.count, rate: rate(r.reason, r.count), share: r.share, meanNs: r.meanNs, color: exitColor(r.reason),
    })));
    prevExits = { counts: new Map(s.exits.map((r) => [r.reason, r.count])), t: now };
    const total = s.mode === 'vm' ? c.vmExits : c.mmioExits + c.haltExits;
    $('exits-note').textContent = s.mode === 'vm'
      ? `${total.toLocaleString('en')} VM exits; ${total > 0 ? (c.instructions / total).toFixed(0) : '–'} guest instructions per exit; count, share, mean host time, rate`
      : `${total.toLocaleString('en')} exits to the host (bare board: traps are taken inside the guest)`;
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
    // (the VMM's report when it stopped the guest comes with 'exited', a load error with 'error')
    if (message) note(`\x1b[31m${message}\x1b[0m`);
    if (state === 'exited') note(`\x1b[2m[guest exited with code ${exitCode}]\x1b[0m`);
  });
  pauseBtn.onclick = () => (vm.state === 'paused' ? vm.resume() : vm.pause());
  $('reset').onclick = () => { term.reset(); ipsChart.clear(); prevExits = undefined; vm.reset(); term.focus(); };

  // The guest picker: every image the server lists.
  const guests: string[] = await fetch('guests/index.json').then((r) => (r.ok ? r.json() : []), () => []);
  const wanted = params.get('guest') ?? DEFAULT_GUEST;
  for (const g of guests) picker.append(new Option(`${g}  [${guestMode(g) === 'vm' ? 'VM' : 'bare'}]`, g, false, g === wanted));
  picker.onchange = () => void handle.select(picker.value);
  const m = params.get('mode');
  await handle.select(wanted, m === 'vm' || m === 'bare' ? m : undefined);
}

main().catch((e) => {
  document.body.insertAdjacentHTML('afterbegin', `<pre style="color:#f66;padding:8px">wasmvisor demo: ${String(e instanceof Error ? e.message : e)}</pre>`);
});
