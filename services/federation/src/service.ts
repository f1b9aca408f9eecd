import { join } from 'node:path';
import type { Bus, ConsumedRecord } from '@soc/bus';
import { TOPICS, deadLetterRecord } from '@soc/schema';
import type { IndicatorIndex } from '@soc/federation';
import type { Logger, Metrics } from '@soc/telemetry';
import type { FederationContext } from './context.ts';
import { planInbound } from './inbound.ts';
import { learn } from './indicators.ts';
import { countOutcomes } from './outcome.ts';
import { planOutbound } from './outbound.ts';
import { SqliteReplayCache } from './replay-cache.ts';

export const OUTBOUND_GROUP = 'soc-federation-out';
/** Every SOC reads the shared topic in its own group, so each sees every envelope. */
export const inboundGroup = (socId: string): string => `federation-${socId}`;
export const REPLAY_DB = 'federation-replay.db';

export interface FederationServiceOptions {
  /** This SOC's bus: its alert and dead-letter topics. */
  local: Bus;
  /** The bus the member SOCs share, holding the federation topic (may be `local`). */
  shared: Bus;
  ctx: FederationContext;
  dataDir: string;
  logger: Logger;
  metrics: Metrics;
  /** In one process, the detector's index: accepted partner alerts feed it without delay. */
  index?: IndicatorIndex;
}

const where = (r: ConsumedRecord) => `${r.topic}/${r.partition}@${r.offset}`;

/**
 * Outbound: local alerts -> policy -> signed envelopes on the shared topic. Inbound: shared topic
 * -> verify -> local alerts, or quarantine as dead letters; relays back onto the shared topic.
 * Both are at-least-once: a batch's offsets are committed only after everything it produced is
 * durable, and the replay cache only after that (see SqliteReplayCache). A record either side
 * throws on is isolated by the bus's poison-record policy and dead-lettered (stage `federation`).
 */
export async function startFederation(o: FederationServiceOptions): Promise<{ stop(): Promise<void> }> {
  const { ctx, logger } = o;
  await o.shared.ensureTopics([{ name: TOPICS.federationOut, partitions: 1 }]);
  const replay = new SqliteReplayCache(join(o.dataDir, REPLAY_DB));
  const localProducer = await o.local.producer();
  const sharedProducer = o.shared === o.local ? localProducer : await o.shared.producer();

  // Both groups start at the end when new: enabling federation shares from now on, and a new
  // member does not quarantine the retained history (long past the freshness window) as stale.
  const outbound = await o.local.consumer({ groupId: OUTBOUND_GROUP, topics: [TOPICS.alerts], fromBeginning: false, maxBatchSize: 500, poison: { stage: 'federation', metrics: o.metrics } });
  const outRun = outbound.run(async (batch) => {
    const plan = planOutbound(batch.map((r) => r.value), ctx);
    if (plan.envelopes.length) await sharedProducer.send(TOPICS.federationOut, plan.envelopes.map((e) => ({ key: e.origin.id, value: JSON.stringify(e) })));
    countOutcomes(o.metrics, plan.outcomes);
  });

  const inbound = await o.shared.consumer({ groupId: inboundGroup(ctx.self.id), topics: [TOPICS.federationOut], fromBeginning: false, maxBatchSize: 200,
    // Poison envelopes are quarantined here, in this SOC's dead-letter topic, not on the shared bus.
    poison: { stage: 'federation', metrics: o.metrics, deadLetter: async (records) => void (await localProducer.send(TOPICS.deadLetter, records)) },
  });
  const inRun = inbound.run(async (batch) => {
    let plan: ReturnType<typeof planInbound>;
    try {
      // Inside the try: a throw mid-batch must also forget the ids staged so far, or the redelivered (or split) batch would drop them as replays.
      plan = planInbound(batch.map((r) => ({ source: where(r), value: r.value })), ctx, replay);
      if (plan.alerts.length) await localProducer.send(TOPICS.alerts, plan.alerts.map((a) => ({ key: a.id, value: JSON.stringify(a) })));
      if (plan.deadLetters.length) await localProducer.send(TOPICS.deadLetter, plan.deadLetters.map(deadLetterRecord));
      if (plan.relays.length) await sharedProducer.send(TOPICS.federationOut, plan.relays.map((e) => ({ key: e.origin.id, value: JSON.stringify(e) })));
      replay.commit();
    } catch (err) {
      replay.discard();
      throw err;
    }
    countOutcomes(o.metrics, plan.outcomes);
    for (const d of plan.deadLetters) logger.warn({ source: d.source, reason: d.reason }, 'federation envelope quarantined');
    if (o.index) for (const a of plan.alerts) learn(o.index, a, ctx.internal);
  });
  for (const [name, run] of [['outbound', outRun], ['inbound', inRun]] as const) run.catch((err: unknown) => logger.fatal({ err }, `federation ${name} consumer stopped`));
  logger.info({ soc: ctx.self.id, key_id: ctx.keyId, partners: ctx.trust.size, shared: o.shared !== o.local }, 'federation started');

  return {
    async stop() {
      await outbound.stop();
      await inbound.stop();
      await Promise.all([outRun.catch(() => undefined), inRun.catch(() => undefined)]);
      if (sharedProducer !== localProducer) await sharedProducer.close();
      await localProducer.close();
      replay.close();
    },
  };
}
