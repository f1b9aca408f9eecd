/** Seeded training splits, initial weights, benchmark and test data share one generator. */
export { rng } from '@soc/prng';
