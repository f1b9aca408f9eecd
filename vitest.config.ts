import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'models/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    // Native addons (better-sqlite3, onnxruntime-node) are safest in child processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Property-based tests (*.fuzz.test.ts) read their case count from here: small in `pnpm test`.
    setupFiles: ['test/helpers/fuzz-setup.ts'],
  },
});
