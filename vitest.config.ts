import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The long suites (docs/testing.md): Linux sessions, live migration between processes, and the
 * npm package's consumers (npm pack, tsc, bundlers). `npm test` leaves them out to stay under
 * 10 minutes on an idle 2-core machine; `npm run test:long` runs exactly them, and .ci/run runs
 * both.
 */
const LONG = ['test/linux/**/*.test.ts', 'test/browser/linux.test.ts', 'test/migrate/live.test.ts', 'test/migrate/postcopy.test.ts', 'test/migrate/handover.test.ts', 'test/xen/save-restore.test.ts', 'test/xen/save-state.test.ts', 'test/xen/migrate.test.ts', 'test/xen/migrate-live.test.ts', 'test/xen/migrate-live-faults.test.ts', 'test/xen/migrate-live-handover.test.ts', 'test/xen/migrate-postcopy-others.test.ts', 'test/xen/vif-save.test.ts', 'test/xen/vif-migrate.test.ts', 'test/lib/**/*.test.ts', 'test/browser/lib-embed.test.ts'];
const long = process.env.WASMVISOR_SUITE === 'long';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: long ? LONG : configDefaults.include,
    exclude: long ? configDefaults.exclude : [...configDefaults.exclude, ...LONG],
  },
});
