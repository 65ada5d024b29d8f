/**
 * process.stdout and process.stderr, created only when something uses them. Node creates each
 * stream the first time its getter runs, and that costs start-up time: 5-10 ms of CPU on this
 * project's machine for a pipe (node:net is loaded for it), a few for a file (docs/performance.md
 * "Start-up"). A guest that prints nothing and exits needs neither; the CLI drains at exit only
 * the streams that exist, and the stdout error handler is set on the stream when it is created.
 */

type StdioName = 'stdout' | 'stderr';

const created = new Set<StdioName>();
const hooks: { [K in StdioName]: ((s: NodeJS.WriteStream) => void)[] } = { stdout: [], stderr: [] };

for (const name of ['stdout', 'stderr'] as const) {
  const d = Object.getOwnPropertyDescriptor(process, name);
  const get = d?.get;
  if (get === undefined || d?.configurable !== true) {
    created.add(name); // not Node's lazy getter: take it as there
    continue;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d?.enumerable,
    get() {
      const s = get.call(process) as NodeJS.WriteStream;
      if (!created.has(name)) {
        created.add(name);
        for (const h of hooks[name]) h(s);
      }
      return s;
    },
  });
}

/** Run `hook` on the stream when it is created (at once if it is already). */
export function onStdioCreated(name: StdioName, hook: (s: NodeJS.WriteStream) => void): void {
  if (created.has(name)) hook(process[name]);
  else hooks[name].push(hook);
}

/** Wait until what was written to the streams that exist has been handed to the OS. */
export async function drainStdio(skip: { stdout?: boolean } = {}): Promise<void> {
  if (created.has('stdout') && skip.stdout !== true) await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  if (created.has('stderr')) await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
}
