/**
 * The child process of the RSS section (bench/rss.ts): one guest in a fresh Node process,
 * bundled apart from the bench (dist/rss-probe.mjs) so that the process holds what an
 * embedder's would, the host library and the guest, and not the bench's own code (its 690 KB
 * bundle was 1.5-2 MiB of the peak: docs/performance.md "Memory").
 *
 * Usage: node dist/rss-probe.mjs CASE [off]   ('off': the guest runs with --jit off)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssProbe } from './rss';

try {
  await rssProbe(join(dirname(fileURLToPath(import.meta.url)), '..'), process.argv[2] ?? '', process.argv[3]);
} catch (e) {
  process.stderr.write(`rss-probe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
}
