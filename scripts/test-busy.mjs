#!/usr/bin/env node
// `npm run test:busy`: the test suite with every core busy, as on a loaded machine (issue 11).
// Starts one busy loop per core (BUSY_LOOPS=n to choose; worker threads spinning, so they end
// with this process whatever happens: a failure, Ctrl-C, SIGTERM, even SIGKILL), then runs
// `npm test` with the arguments given (e.g. `npm run test:busy -- test/cli`), and exits with
// its status.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const loops = Number(process.env.BUSY_LOOPS ?? availableParallelism());
const workers = Array.from({ length: loops }, () => new Worker('for (;;) {}', { eval: true }));
console.log(`test:busy: ${loops} busy loops running; npm test ${process.argv.slice(2).join(' ')}`);

const child = spawn('npm', ['test', '--', ...process.argv.slice(2)], { stdio: 'inherit' });
const stop = (code) => {
  for (const w of workers) void w.terminate();
  process.exit(code);
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    child.kill(sig);
    stop(130);
  });
}
child.on('error', (e) => {
  console.error(`test:busy: ${e.message}`);
  stop(2);
});
child.on('exit', (code, signal) => {
  console.log(`test:busy: npm test ended (${signal ?? `exit ${code}`}); busy loops stopped`);
  stop(code ?? 1);
});
