import type { Tlp } from '@soc/schema';

/** TLP 2.0 labels from least to most restrictive. */
export const TLP_ORDER: readonly Tlp[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
export const tlpRank = (t: Tlp): number => TLP_ORDER.indexOf(t);
export const mostRestrictive = (a: Tlp, b: Tlp): Tlp => (tlpRank(a) >= tlpRank(b) ? a : b);
