export { SqliteReplayCache } from './replay-cache.ts';
export { loadFederationContext, type FederationContext, type FederationFiles } from './context.ts';
export { planOutbound, outboundMessageId, type OutboundPlan } from './outbound.ts';
export { planInbound, storableAlert, type InboundPlan, type InboundRecord } from './inbound.ts';
export { indicatorsOf, learn, partnerIndicatorAnalyzer, startIndicatorFeed, type IndicatorFeedOptions } from './indicators.ts';
export { countOutcomes, type Outcome } from './outcome.ts';
export { startFederation, inboundGroup, OUTBOUND_GROUP, REPLAY_DB, type FederationServiceOptions } from './service.ts';
export { learnIntel, partnerIntelAnalyzer } from './intel.ts';
