/**
 * The terminal's cursor blink, done by toggling a class twice a second instead of by xterm.js.
 *
 * xterm.js's DOM renderer blinks the cursor with a CSS animation of its background colour
 * (`animation: blink_block 1s step-end infinite`), which Chromium runs on the page's main thread
 * at the display's frame rate, step timing or not: a focused demo page with an exited guest
 * spent ~50 ms of main thread, ~27 ms of compositor and ~22 ms of the GPU process's CPU per
 * second on it (docs/performance.md, "The demo page, fifth round"), on a run as much as while
 * idle. Here the terminal is created with `cursorBlink: false` (xterm.js draws a steady cursor)
 * and demo.css hides that cursor while the terminal's element has the class `cursor-off`: two
 * style changes a second, each repainting one cell.
 *
 * As xterm.js's own: the cursor blinks only while the terminal has focus, with a period of one
 * second, and shows at once (the period starting again) when output arrives or a key is typed.
 */
import type { Terminal } from '@xterm/xterm';

/** Half the blink's period: the cursor is shown, then hidden, this long each (xterm.js's animation: 1 s). */
const HALF_PERIOD_MS = 500;

/** The class demo.css hides the cursor under. */
export const CURSOR_OFF_CLASS = 'cursor-off';

/** Blink `term`'s cursor while it has focus (call after term.open). */
export function blinkCursor(term: Terminal): void {
  const el = term.element;
  const input = term.textarea;
  if (!el || !input) return;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    el.classList.remove(CURSOR_OFF_CLASS);
  };
  const start = (): void => {
    stop();
    timer = setInterval(() => el.classList.toggle(CURSOR_OFF_CLASS), HALF_PERIOD_MS);
  };
  const restart = (): void => {
    if (timer !== undefined) start();
  };
  input.addEventListener('focus', start);
  input.addEventListener('blur', stop);
  term.onWriteParsed(restart);
  term.onData(restart);
  if (document.activeElement === input) start();
}
