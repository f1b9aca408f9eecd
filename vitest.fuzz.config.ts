import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * `pnpm fuzz`: only the property-based tests, with many cases (FUZZ_RUNS, default 10,000).
 * The same files also run in `pnpm test` with the small default of test/helpers/fuzz-setup.ts.
 */
process.env.FUZZ_RUNS ??= '10000';

export default defineConfig({
  test: {
    ...base.test,
    include: ['packages/*/src/**/*.fuzz.test.ts', 'services/*/src/**/*.fuzz.test.ts', 'test/**/*.fuzz.test.ts'],
    testTimeout: 3_600_000,
  },
});
