/**
 * The demo page: an xterm.js terminal on a VM's console, a guest picker, and live panels
 * (instructions per second, exits by reason, TLB, BT cache, the last page walk).
 * Served by `npm run demo` (scripts/demo.mjs), which also lists the guests at guests/index.json.
 *
 * The "Xen demo" button (or ?xen=xen/demo.cfg) switches the page to a Xen host instead:
 * `wasmvisor up guests/xen/demo.cfg` in a worker (createXenHost). The terminal is then one
 * domain's PV console, output and keystrokes (`xl console`; the console picker or a click on a
 * row switches domain), and the panels give way to the domain table (`xl list`), xl pause and
 * xl destroy, and the toolstack's notices.
 */
import { Terminal } from '@xterm/xterm';
import { createVm, createXenHost, type Vm, type VmMode, type VmStats, type XenHost } from '../api';
import { drawBars, exitColor, si, type Bar } from './charts';
import { Panels } from './panels';
import { TimeCharts } from './time-charts';
import { LabView } from './lab-view';
import { MigrateView } from './migrate-view';
import { OwnGuest } from './own-guest';
import { drawWalk } from './walk-view';
import type { DemoBoot } from './boot';
import { blinkCursor } from './cursor-blink';
import { DEFAULT_GUEST, LINUX_GUEST, firstGuest, guestMode } from './guest-mode';
import { drawDomains, drawFigures } from './xen-view';

/** What the page exposes on window for tests and for poking at from the devtools console. */
export interface DemoHandle {
  vm: Vm;
  term: Terminal;
  /** The terminal's whole buffer (scrollback included) as text, one line per row. */
  terminalText(): string;
  /** Statistics samples received so far. */
  samples: number;
  /**
   * The latest statistics sample. Reading it draws every panel up to it (they draw at most once a
   * frame, off-screen ones when scrolled into view: panels.ts), so the page then agrees with it.
   */
  readonly last?: VmStats;
  /** When the panels draw (for tests). */
  panels?: Panels<Sample>;
  /**
   * Load another guest (a path under guests/), in the given mode or the one guestMode picks; a VM
   * under the technique combination `combo` (the technique picker's, by default).
   */
  select(path: string, mode?: VmMode, combo?: string): Promise<void>;
  /** The techniques lab's table (rows by combination) and picker. */
  lab: LabView;
  /** Run the current VM guest under every supported combination in turn, each to its end (or 120 s). */
  runLab(): Promise<void>;
  /** What the page runs: a guest from the picker ('vm') or a Xen host ('xen'). */
  mode: 'vm' | 'xen';
  /** The Xen host while mode is 'xen'. */
  xen?: XenHost;
  /** The domain whose console the terminal shows (Xen mode). */
  shown?: string;
  /**
   * Start a Xen host from a HOST.cfg under guests/ (default the demo). autostart false: built,
   * not started (the Start button runs it); deterministic: time from retired instructions.
   */
  startXen(path?: string, opts?: { autostart?: boolean; deterministic?: boolean; slow?: number }): Promise<void>;
  /** Show a domain's console in the terminal: what it printed so far, then live (xl console). */
  showDomain(name: string): void;
  /** Your own guest (file, URL, drop) and Save state / Restore. */
  own: OwnGuest;
  /** The charts over time (uPlot). */
  charts: TimeCharts;
  /** Live migration to a new Worker (the Migrate button) and its rounds. */
  migration: MigrateView;
}

const $ = <T extends Element = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo page: #${id} missing`);
  return el as unknown as T;
};
/** Set an element's text, unless it already says that (a write lays the page out again). */
const text = (id: string, t: string): void => {
  const el = $(id);
  if (el.textContent !== t) el.textContent = t;
};
const jitShare = (s: VmStats): string => (s.counters.instructions > 0 ? pct(s.counters.jitInstructions / s.counters.instructions) : '–');
/** A statistics sample as the panels draw it. */
interface Sample {
  s: VmStats;
  /** The VM's state was 'running' when it came (the panel shows the current rate, else the mean). */
  running: boolean;
  /** The exits' bars, their rates since the previous sample. */
  bars: Bar[];
}
const pct = (r: number): string => (Number.isFinite(r) ? (r * 100).toFixed(2) + ' %' : '–');
const LINUX_BOOT = { initrd: 'guests/linux/initramfs.cpio.gz', append: 'console=ttyS0' };
const guestLabel = (path: string): string => (path === LINUX_GUEST ? 'Linux (busybox)' : path);
/**
 * The Xen demo: a HOST.cfg under guests/, the one `wasmvisor up guests/xen/demo.cfg` runs. The
 * DomUs' kernels are whatever its xl.cfg files name (fetched relative to them).
 */
const XEN_DEMO = 'xen/demo.cfg';
/** The "slow" checkbox: the domains at 1/20 of full speed (createXenHost's slow). */
const XEN_SLOW = 20;

export { guestMode };

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  // index.html's bootstrap (boot.ts) started the Worker, sent it the first guest, and fetched the
  // guest list and that guest's image before this bundle loaded (bench/browser.ts measured
  // these one after the other on a page load). Without it (a page of one's own), the same here.
  const g = globalThis as { wasmvisorBoot?: DemoBoot };
  const boot = g.wasmvisorBoot;
  g.wasmvisorBoot = undefined;
  const guestList: Promise<string[]> = (boot?.list ?? fetch('guests/index.json')).then((r) => (r.ok ? r.json() : []), () => []);
  const prefetched = new Map<string, Promise<ArrayBuffer | undefined>>();
  const first = firstGuest(params);
  if (first) {
    const image = boot?.guest === first.path ? boot.image : undefined;
    prefetched.set(first.path, image ?? fetch(`guests/${first.path}`).then((r) => (r.ok ? r.arrayBuffer() : undefined), () => undefined));
  }
  // (the cursor blinks by blinkCursor, not by xterm.js's frame-rate CSS animation: cursor-blink.ts)
  const term = new Terminal({ convertEol: true, rows: 32, cols: 80, fontSize: 13, scrollback: 5000, cursorBlink: false });
  term.open($('terminal'));
  blinkCursor(term);
  // Fit the terminal to narrow screens: fewer columns (80 at most), the same font size.
  const charWidth = (term.element?.querySelector('.xterm-screen')?.getBoundingClientRect().width ?? 0) / term.cols || 7.8;
  const fitTerminal = (): void => {
    const avail = document.querySelector('main')!.clientWidth - 32 - 12;
    const cols = Math.max(20, Math.min(80, Math.floor(avail / charWidth)));
    if (cols !== term.cols) term.resize(cols, term.rows);
  };
  fitTerminal();
  new ResizeObserver(fitTerminal).observe(document.querySelector('main')!);

  // ?stats=messages forces the message path even when the page could share memory (the
  // bootstrap's worker was started so).
  const vm = await createVm({ shared: params.get('stats') === 'messages' ? false : undefined, started: boot?.started });
  $('mode').textContent = vm.shared ? 'stats: SharedArrayBuffer' : 'stats: messages';

  // Console: guest output into the terminal, keys into the guest (in Xen mode: the shown domain).
  void vm.console.readable.pipeTo(new WritableStream({ write: (bytes) => { if (handle.mode === 'vm') term.write(bytes); } }));
  term.onData((s) => {
    if (handle.mode === 'vm') vm.console.write(s);
    else if (handle.xen && handle.shown !== undefined) handle.xen.write(handle.shown, s);
  });
  // A note on a line of its own (the guest's output may or may not end with a newline),
  // written once the terminal has parsed everything before it (xterm.js writes are queued).
  const note = (text: string): void => term.write('', () => {
    term.write(`${term.buffer.active.cursorX > 0 ? '\r\n' : ''}${text}\r\n`);
  });

  // The exits over time are a VM's (the bare board's exits are MMIO and WFI: the bars say it):
  // hidden from the start for a bare-board first guest, so its chart is never built.
  $('exits-time').hidden = (first?.mode ?? 'vm') !== 'vm';
  const ipsChart = new TimeCharts($('ips-chart'), $('exits-time'), $('tlb-time'));
  const picker = $<HTMLSelectElement>('guest');
  let prevExits: { counts: Map<string, number>; t: number } | undefined;
  let latest: VmStats | undefined;
  /** A new guest, a restore, a reset: no rates against the old counters, no old sample drawn. */
  const forgetSamples = (): void => { prevExits = undefined; handle.panels?.forget(); };
  const stateEl = $('state');
  const pauseBtn = $<HTMLButtonElement>('pause');
  const showState = (state: string, exitCode?: number): void => {
    stateEl.textContent = state === 'exited' ? `exited (${exitCode})` : state;
    stateEl.className = `state ${state}`;
  };
  const techniquePicker = $<HTMLSelectElement>('technique');
  const lab = new LabView($<HTMLTableElement>('lab-table'), techniquePicker);
  lab.setCombos(vm.combos, vm.combo);
  let labPath: string | undefined;
  const own = new OwnGuest(vm, {
    beforeLoad(label, mode) {
      leaveXen();
      term.reset();
      ipsChart.clear();
      forgetSamples();
      drawWalk($<SVGSVGElement>('walk'), undefined);
      lab.clear();
      labPath = undefined;
      techniquePicker.disabled = true;
      $('vm-mode').textContent = `${label}: ${mode === 'vm' ? 'VM, VS-mode under the VMM' : 'bare board, M-mode'}`;
    },
    beforeRestore() {
      if (handle.mode === 'xen') leaveXen();
      term.reset();
      ipsChart.clear();
      forgetSamples();
    },
    afterLoad: () => term.focus(),
  });
  const migration = new MigrateView(vm, {
    button: $<HTMLButtonElement>('migrate'), table: $<HTMLTableElement>('migrate-table'), note: $('migrate-note'), worker: $('migrate-worker'),
    chart: $('migrate-chart'),
  });
  const handle: DemoHandle = {
    own,
    migration,
    charts: ipsChart,
    vm,
    lab,
    term,
    mode: 'vm',
    samples: 0,
    get last() {
      panels.flush();
      return latest;
    },
    terminalText() {
      const buf = term.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
    async select(path, mode = guestMode(path), combo = techniquePicker.value || vm.combo) {
      leaveXen();
      term.reset();
      ipsChart.clear();
      forgetSamples();
      drawWalk($<SVGSVGElement>('walk'), undefined);
      const q = new URLSearchParams(location.search);
      q.set('guest', path);
      q.delete('xen');
      if (mode !== guestMode(path)) q.set('mode', mode); else q.delete('mode');
      history.replaceState(null, '', `?${q}`);
      picker.value = path;
      own.current = path;
      own.showError('');
      // The lab compares one guest under several techniques: a new guest starts a new table.
      if (path !== labPath) lab.clear();
      labPath = path;
      techniquePicker.disabled = mode !== 'vm';
      if (mode === 'vm') techniquePicker.value = combo;
      try {
        $('vm-mode').textContent = mode === 'vm' ? 'VM: VS-mode under the VMM' : 'bare board: entered in M-mode';
        // (under the default, hw+nested, the guest runs in VS-mode; the others say what they are)
        if (mode === 'vm' && combo !== 'hw+nested') $('vm-mode').textContent = `VM: ${vm.combos.find((c) => c.id === combo)?.title ?? combo}`;
        const early = await prefetched.get(path);
        prefetched.delete(path); // only the first load uses it (a reload fetches afresh)
        // The bootstrap's load of this guest, already running in the worker: take it over (its
        // image the page fetched too; a fetch that failed here loads again, for the same error).
        const e = vm.earlyLoad;
        if (early && e && e.name === path && e.mode === mode && (mode !== 'vm' || e.combo === combo)) await vm.adopt(early);
        else await vm.load(early ?? `guests/${path}`, { name: path, mode, ...(mode === 'vm' ? { combo } : {}), ...(path === LINUX_GUEST ? LINUX_BOOT : {}) });
      } catch (e) {
        term.write(`\r\n\x1b[31m${e instanceof Error ? e.message : String(e)}\x1b[0m\r\n`);
      }
      term.focus();
    },
    async runLab() {
      const path = labPath;
      if (path === undefined || guestMode(path) !== 'vm') return;
      const runBtn = $<HTMLButtonElement>('lab-run');
      runBtn.disabled = true;
      try {
        for (const c of vm.combos.filter((x) => x.supported)) {
          $('lab-note').textContent = `running ${path} under ${c.id}…`;
          await handle.select(path, 'vm', c.id);
          let timer: ReturnType<typeof setTimeout> | undefined;
          const limit = new Promise<void>((resolve) => { timer = setTimeout(() => { vm.pause(); resolve(); }, 120_000); });
          await Promise.race([vm.until((st) => st === 'exited' || st === 'error'), limit]);
          clearTimeout(timer);
        }
        $('lab-note').textContent = `${path} under every technique of this build`;
      } finally {
        runBtn.disabled = false;
      }
    },
    startXen: (path = XEN_DEMO, opts = {}) => startXen(path, opts),
    showDomain: (name) => showDomain(name),
  };
  (window as unknown as { wasmvisorDemo: DemoHandle }).wasmvisorDemo = handle;

  // ---- Xen mode ----
  const consolePicker = $<HTMLSelectElement>('xen-console');
  const notices = $('xen-notices');
  const setXenMode = (on: boolean): void => {
    handle.mode = on ? 'xen' : 'vm';
    $('xen-panels').hidden = !on;
    $('xen-console-label').hidden = !on;
    $('vm-panels').hidden = on;
    $('walk-panel').hidden = on;
    // A VM's tools: snapshots, your own guest and the lab are not the Xen host's.
    $('save').hidden = $('restore').hidden = $('migrate').hidden = $('own-panel').hidden = $('lab-panel').hidden = on;
  };
  /** Bumped by every start and leave: a host that finishes starting after either is dropped. */
  let xenGeneration = 0;
  /** End the Xen host (if any) and give the page back to the VM. */
  function leaveXen(): void {
    xenGeneration++;
    handle.xen?.terminate();
    handle.xen = undefined;
    handle.shown = undefined;
    if (handle.mode === 'xen') {
      pauseBtn.textContent = vm.state === 'paused' ? 'Resume' : 'Pause';
      pauseBtn.disabled = false;
    }
    setXenMode(false);
  }
  const drawTable = (): void => {
    const x = handle.xen;
    if (!x) return;
    drawDomains($<HTMLTableElement>('xen-domains'), x.dom0, x.domains, handle.shown, showDomain);
    drawFigures($<HTMLTableElement>('xen-figures'), x.domains);
    const names = x.domains.map((d) => d.name);
    if ([...consolePicker.options].map((o) => o.value).join() !== names.join()) {
      consolePicker.replaceChildren(...names.map((n) => new Option(n, n, false, n === handle.shown)));
    }
    const shown = handle.shown !== undefined ? x.domain(handle.shown) : undefined;
    $<HTMLButtonElement>('xen-pause').textContent = shown?.paused ? 'xl unpause' : 'xl pause';
    $<HTMLButtonElement>('xen-pause').disabled = $<HTMLButtonElement>('xen-destroy').disabled = shown?.life !== 'running';
  };
  /** A toolstack notice about the shown domain, as a note in its console. */
  const noticeNote = (line: string): void => note(`\x1b[2m[${line}]\x1b[0m`);
  function showDomain(name: string): void {
    const x = handle.xen;
    if (!x) return;
    handle.shown = name;
    consolePicker.value = name;
    term.reset();
    term.write(x.output(name));
    for (const line of x.notices) if (line.startsWith(`${name} (d`)) noticeNote(line);
    drawTable();
    term.focus();
  }
  async function startXen(path: string, opts: { autostart?: boolean; deterministic?: boolean; slow?: number }): Promise<void> {
    leaveXen();
    const generation = ++xenGeneration;
    if (vm.state === 'running') vm.pause();
    setXenMode(true);
    term.reset();
    notices.textContent = '';
    showState('loading');
    const q = new URLSearchParams(location.search);
    q.delete('guest');
    q.delete('mode');
    q.set('xen', path);
    history.replaceState(null, '', `?${q}`);
    $('vm-mode').textContent = `Xen: Dom0 in a worker (wasmvisor up guests/${path})`;
    let x: XenHost;
    try {
      const slow = opts.slow ?? ($<HTMLInputElement>('xen-slow').checked ? XEN_SLOW : undefined);
      x = await createXenHost({ config: `guests/${path}`, autostart: opts.autostart, deterministic: opts.deterministic, slow });
    } catch (e) {
      if (generation !== xenGeneration) return;
      showState('error');
      note(`\x1b[31m${e instanceof Error ? e.message : String(e)}\x1b[0m`);
      return;
    }
    if (generation !== xenGeneration) { x.terminate(); return; } // left (or restarted) meanwhile
    handle.xen = x;
    x.addEventListener('output', (ev) => {
      const { domain, bytes } = (ev as CustomEvent<{ domain: string; bytes: Uint8Array }>).detail;
      if (handle.xen === x && domain === handle.shown) term.write(bytes);
    });
    x.addEventListener('domains', () => { if (handle.xen === x) drawTable(); });
    x.addEventListener('notice', (ev) => {
      const { domain, line } = (ev as CustomEvent<{ domain: string; line: string }>).detail;
      if (handle.xen !== x) return;
      notices.textContent += `${line}\n`;
      if (domain === handle.shown) noticeNote(line);
    });
    x.addEventListener('state', (ev) => {
      const { state, exitCode, message } = (ev as CustomEvent<{ state: string; exitCode?: number; message?: string }>).detail;
      if (handle.xen !== x) return;
      showState(state, exitCode);
      pauseBtn.textContent = 'Start';
      pauseBtn.disabled = state !== 'paused';
      if (state === 'exited') notices.textContent += `host: exit status ${exitCode}${message ? `: ${message}` : ''}\n`;
      if (message) note(`\x1b[31m${message}\x1b[0m`);
    });
    showState(x.state, x.exitCode);
    pauseBtn.textContent = 'Start';
    pauseBtn.disabled = x.state !== 'paused';
    showDomain(x.domains[0]?.name ?? '');
  }
  consolePicker.onchange = () => showDomain(consolePicker.value);
  $('xen-demo').onclick = () => void startXen(XEN_DEMO, {});
  const xlCommand = (what: 'pause' | 'destroy'): void => {
    const x = handle.xen;
    const d = handle.shown !== undefined ? x?.domain(handle.shown) : undefined;
    if (!x || !d) return;
    const op = what === 'destroy' ? x.destroy(d.name) : d.paused ? x.unpause(d.name) : x.pause(d.name);
    op.catch((e: Error) => { notices.textContent += `${e.message}\n`; });
  };
  $('xen-pause').onclick = () => xlCommand('pause');
  $('xen-destroy').onclick = () => xlCommand('destroy');

  // The panels draw from the latest sample, at most once a frame and only those on screen
  // (panels.ts); what a draw must not lose (chart points, lab rows, the exits' rates since the
  // previous sample) is taken here at every sample.
  const panels = new Panels<Sample>([
    { el: $('ips').parentElement!, draw: ({ s, running }) => {
      const c = s.counters;
      // While running: the current rate; otherwise the mean over the whole run (short guests
      // like hello.elf end between two samples).
      text('ips', running ? si(s.instructionsPerSecond)
        : c.wallMs > 0 ? `${si((c.instructions * 1000) / c.wallMs)} mean` : '0');
      text('instructions', `${c.instructions.toLocaleString('en')} instructions retired in ${(c.wallMs / 1000).toFixed(2)} s`);
      text('jit-share-top', jitShare(s));
      ipsChart.ips.draw();
    } },
    { el: $('exits-chart').parentElement!, draw: ({ s, bars }) => {
      // (first: drawBars measures the panel, which is cheap before this draw's writes have
      // invalidated the layout)
      drawBars($<SVGSVGElement>('exits-chart'), bars);
      const c = s.counters;
      text('exits-tier', s.mode === 'vm' ? 'VMM' : 'host (bare board)');
      $('exits-time').hidden = s.mode !== 'vm'; // (the bare board's exits are MMIO and WFI: the bars say it)
      const total = s.mode === 'vm' ? c.vmExits : c.mmioExits + c.haltExits;
      text('exits-note', s.mode === 'vm'
        ? `${total.toLocaleString('en')} VM exits; ${total > 0 ? (c.instructions / total).toFixed(0) : '–'} guest instructions per exit; count, share, mean host time, rate`
        : `${total.toLocaleString('en')} exits to the host (bare board: traps are taken inside the guest)`);
    } },
    // (hidden on the bare board: not on screen, so never drawn there)
    { el: $('exits-time'), draw: () => ipsChart.exits.draw() },
    { el: $('tlb-time'), draw: () => ipsChart.tlb.draw() },
    { el: $('tlb-hit').closest('.panel')!, draw: ({ s }) => {
      const c = s.counters;
      text('tlb-hit', pct(s.tlbHitRate));
      text('tlb-access', si(c.tlbAccesses));
      text('walks1d', c.pageWalks > 0 ? `${si(c.pageWalks)} × ${s.refsPerWalk1d.toFixed(2)}` : '0');
      text('walks2d', c.walks2d > 0 ? `${si(c.walks2d)} × ${s.refsPerWalk2d.toFixed(2)}` : '0');
      text('pwc-hits', si(c.pwcHits));
      text('bt-hit', pct(s.blockHitRate));
      text('bt-blocks', si(c.btBlocks));
      text('bt-chains', si(c.blockChains));
      text('bt-flushes', String(c.btFlushes));
      text('jit-share', jitShare(s));
      text('jit-share-note', jitShare(s));
      text('jit-regions', si(c.jitRegions));
    } },
    { el: $('walk-panel'), draw: ({ s }) => drawWalk($<SVGSVGElement>('walk'), s.walk) },
    { el: $('lab-panel'), draw: () => lab.draw() },
  ]);
  handle.panels = panels;
  vm.addEventListener('stats', (ev) => {
    const s = (ev as CustomEvent<VmStats>).detail;
    handle.samples++;
    latest = s;
    // Exits by reason, with their rate since the previous sample.
    const now = performance.now();
    const rate = (reason: string, count: number): number => {
      const before = prevExits?.counts.get(reason);
      return prevExits && before !== undefined && now > prevExits.t ? Math.max(0, ((count - before) * 1000) / (now - prevExits.t)) : 0;
    };
    const bars = s.exits.slice(0, 12).map((r) => ({
      label: r.reason, total: r.count, rate: rate(r.reason, r.count), share: r.share, meanNs: r.meanNs, color: exitColor(r.reason),
    }));
    prevExits = { counts: new Map(s.exits.map((r) => [r.reason, r.count])), t: now };
    ipsChart.push(s);
    lab.update(s);
    panels.sample({ s, running: vm.state === 'running', bars });
  });

  vm.addEventListener('state', (ev) => {
    const { state, exitCode, message } = (ev as CustomEvent<{ state: string; exitCode?: number; message?: string }>).detail;
    migration.update();
    if (handle.mode !== 'vm') return;
    showState(state, exitCode);
    pauseBtn.textContent = state === 'paused' ? 'Resume' : 'Pause';
    pauseBtn.disabled = false;
    // (the VMM's report when it stopped the guest comes with 'exited', a load error with 'error')
    if (message) note(`\x1b[31m${message}\x1b[0m`);
    if (state === 'exited') note(`\x1b[2m[guest exited with code ${exitCode}]\x1b[0m`);
  });
  pauseBtn.onclick = () => {
    if (handle.mode === 'xen') handle.xen?.start();
    else if (vm.state === 'paused') vm.resume();
    else vm.pause();
  };
  $('reset').onclick = () => {
    const xen = new URLSearchParams(location.search).get('xen');
    if (handle.mode === 'xen' && xen) return void startXen(xen, {});
    term.reset(); ipsChart.clear(); forgetSamples(); vm.reset(); term.focus();
  };

  // The guest picker: every image the server lists.
  const guests: string[] = await guestList;
  const wanted = params.get('guest') ?? DEFAULT_GUEST;
  for (const g of guests) picker.append(new Option(`${guestLabel(g)}  [${guestMode(g) === 'vm' ? 'VM' : 'bare'}]`, g, false, g === wanted));
  picker.onchange = () => void handle.select(picker.value);
  techniquePicker.onchange = () => void handle.select(picker.value, 'vm', techniquePicker.value);
  $('lab-run').onclick = () => void handle.runLab();
  $<HTMLInputElement>('xen-slow').checked = params.get('slow') === '1';
  $<HTMLInputElement>('xen-slow').onchange = () => {
    const q = new URLSearchParams(location.search);
    if ($<HTMLInputElement>('xen-slow').checked) q.set('slow', '1'); else q.delete('slow');
    history.replaceState(null, '', `?${q}`);
  };
  const xen = params.get('xen');
  if (xen !== null) return startXen(xen || XEN_DEMO, {});
  const m = params.get('mode');
  await handle.select(wanted, m === 'vm' || m === 'bare' ? m : undefined);
}

main().catch((e) => {
  document.body.insertAdjacentHTML('afterbegin', `<pre style="color:#f66;padding:8px">wasmvisor demo: ${String(e instanceof Error ? e.message : e)}</pre>`);
});
