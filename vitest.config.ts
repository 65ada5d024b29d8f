// vitest's configuration: only the timeouts. The suite must pass on a loaded machine (issue 11:
// `npm run test:busy` runs it with both cores busy), where vitest's 5 s default failed tests
// that spawn the CLI or run thousands of property cases. Tests that spawn several processes or
// run long properties set their own, larger timeouts; a hang still fails, 30 s later.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
