#!/usr/bin/env node
// The `wasmvisor` command: a shim over the bundle that `npm run build` writes (host/cli/main.ts).
const cli = await import('../dist/cli.mjs').catch((e) => {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli.mjs')) throw e;
  process.stderr.write('wasmvisor: not built: run `npm run build`\n');
  process.exit(2);
});
await cli.main(process.argv.slice(2));
