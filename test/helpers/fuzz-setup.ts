import fc from 'fast-check';

/**
 * One knob for every property-based test (`*.fuzz.test.ts`): `pnpm test` runs a small bounded
 * number of cases per property, `pnpm fuzz` many (FUZZ_RUNS, default 10,000). A property that is
 * expensive per case may scale this with `fuzzRuns(factor)` below, never hard-code a count.
 * FUZZ_SEED replays a failing run (fast-check prints the seed and path on failure).
 */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100);

fc.configureGlobal({
  numRuns: FUZZ_RUNS,
  // An async property case that takes this long is a hang, not a slow machine.
  timeout: 10_000,
  ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
});
