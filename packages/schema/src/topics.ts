/**
 * The bus topic layout, in one place. Keys are chosen so per-entity order holds:
 * events are keyed by destination address (the detector's host windows need every flow to a
 * destination in order, on one partition); alerts by alert id; dead letters by source.
 */
export const TOPICS = {
  events: 'soc.events.v1',
  alerts: 'soc.alerts.v1',
  deadLetter: 'soc.deadletter.v1',
  federationOut: 'soc.federation.v1',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];
