/**
 * When the demo's panels draw: at most once per animation frame, from the latest statistics
 * sample, and only the panels on screen. The worker samples ten times a second and each draw
 * rewrites text, SVG and uPlot canvases, which the browser then styles, lays out and paints
 * (docs/performance.md, "The demo page, fifth round": 120-180 ms of the main thread a second
 * during a run). Samples arriving within one frame draw once; a panel scrolled out of view (or
 * hidden: the bare board's exits-over-time chart, the VM panels in Xen mode) draws nothing until
 * it comes into view, then the latest sample at once; a background tab gets no animation frames,
 * so it draws nothing until shown.
 *
 * What must not be lost between two draws (chart points, the lab's row of a combination whose run
 * ended, the exits' rates) is kept by the caller at each sample; a panel only shows state.
 */

/** One panel: the element whose visibility counts, and how to draw it from a sample. */
export interface Panel<S> {
  el: Element;
  draw(s: S): void;
}

export class Panels<S> {
  private latest: S | undefined;
  private readonly drawn = new Map<Panel<S>, S | undefined>();
  private readonly onScreen = new Set<Element>();
  private frame = 0;
  /** Draws made (one panel, one sample each), for tests. */
  draws = 0;

  constructor(private readonly panels: Panel<S>[]) {
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) this.onScreen.add(e.target); else this.onScreen.delete(e.target);
      }
      this.schedule();
    });
    for (const p of panels) io.observe(p.el);
  }

  /** A new sample: the panels on screen show it by the next frame. */
  sample(s: S): void {
    this.latest = s;
    this.schedule();
  }

  /** A new guest (or a reset): forget the latest sample; nothing is drawn until the next. */
  forget(): void {
    this.latest = undefined;
    this.drawn.clear();
  }

  /** Is this panel's element on screen (as the IntersectionObserver last reported)? */
  visible(p: Panel<S>): boolean {
    return this.onScreen.has(p.el);
  }

  /** Draw every panel, on screen or not, up to the latest sample (tests, the devtools). */
  flush(): void {
    this.drawAll(true);
  }

  private schedule(): void {
    if (this.frame === 0) this.frame = requestAnimationFrame(() => { this.frame = 0; this.drawAll(false); });
  }

  private drawAll(all: boolean): void {
    const s = this.latest;
    if (s === undefined) return;
    for (const p of this.panels) {
      if (this.drawn.get(p) === s || (!all && !this.onScreen.has(p.el))) continue;
      this.drawn.set(p, s);
      this.draws++;
      p.draw(s);
    }
  }
}
