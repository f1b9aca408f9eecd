import type { Alert, EcsEvent } from '@soc/schema';

export interface Group {
  alert: Alert;
  /** The highest score seen in the group; the alert shows that occurrence. */
  best: number;
}

/** Alert fields every grouped detection starts from. */
export type GroupSeed = Pick<Alert, 'id' | '@timestamp' | 'detector' | 'rule' | 'origin' | 'tlp'> & Partial<Pick<Alert, 'source' | 'destination'>>;

const RELATED_EVENTS_KEPT = 100;

/**
 * Groups repeated detections into one alert with a count instead of a flood. Groups are kept in
 * insertion order and capped: the oldest go first, and they were already emitted. Ids come from
 * the caller's seed, so re-delivered events update the same alert.
 */
export class AlertGroups {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly maxGroups = 100_000) {}

  /**
   * Counts one occurrence (event `e` with `score`) in the group `key`, creating it from `seed`
   * on first sight. Returns the group and whether this occurrence is its best so far, in which
   * case the caller describes it in the alert.
   */
  record(key: string, seed: () => GroupSeed, e: EcsEvent, score: number): { group: Group; best: boolean } {
    let g = this.groups.get(key);
    const ts = e['@timestamp'];
    if (!g) {
      const s = seed();
      g = {
        best: -Infinity,
        alert: { ...s, first_seen: ts, last_seen: ts, score: 0, severity: 'low', message: '', explanation: { summary: '' }, count: 0, related_events: [], status: 'new' },
      };
      this.groups.set(key, g);
      if (this.groups.size > this.maxGroups) this.groups.delete(this.groups.keys().next().value!);
    }
    const a = g.alert;
    a.count++;
    if (ts < a.first_seen) a.first_seen = ts;
    if (ts > a.last_seen) a.last_seen = ts;
    if (a.related_events.length < RELATED_EVENTS_KEPT) a.related_events.push(e.event.id);
    const best = score > g.best;
    if (best) g.best = score;
    return { group: g, best };
  }
}
