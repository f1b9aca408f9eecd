/** Alert link type for a local alert raised because a partner reported the address first. */
export const SEEN_BY_PARTNER_FIRST = 'seen_by_partner_first';
