import type { EcsEvent, EcsEventInput } from '@soc/schema';
import type { CidrSet } from '@soc/netaddr';

export type Format = 'zeek' | 'suricata' | 'syslog' | 'ecs' | 'auto';
export const FORMATS: readonly Format[] = ['zeek', 'suricata', 'syslog', 'ecs', 'auto'];

export type ParseOutcome = { ok: true; event: EcsEvent } | { ok: false; reason: string };

/** An accepted line as the bus stores it: the event's JSON text and its key (`eventKey`). */
export interface EncodedEvent {
  ok: true;
  json: string;
  key: string | null;
}
export type EncodeOutcome = EncodedEvent | { ok: false; reason: string };

/** What a Zeek TSV file declares in its `#` header lines. */
export interface ZeekTsvHeader {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  path: string;
  fields: string[];
  types: string[];
}

export interface ParseContext {
  format: Format;
  /** Where the line came from (`syslog:udp`, `file:/var/log/zeek/conn.log`); for messages only. */
  source: string;
  observer?: { ip?: string; hostname?: string; name?: string };
  /** Header of the Zeek TSV file the line belongs to; needed for TSV rows. */
  zeekTsv?: ZeekTsvHeader;
  /** Zeek log type when the JSON lines carry no `_path` (from the file name, e.g. `conn.log`). */
  zeekPath?: string;
  /** When the line arrived; default now. Also the year of RFC 3164 timestamps. */
  receivedAt?: Date;
  /** This SOC's internal networks: `network.direction` where the sensor does not state it. */
  internal?: CidrSet;
  /**
   * Keep the line as `event.original` (default true). Off, as Elastic's integrations without
   * `preserve_original_event`: every field is still mapped or kept under the sensor's namespace and
   * `event.id` is still the hash of the line; only the verbatim copy (about a third of a Zeek conn
   * record's bytes) is not carried.
   */
  preserveOriginal?: boolean;
}

/** A mapper's result before the common fields (id, original, ingested, observer) are added. */
export type Draft = Omit<EcsEventInput, 'event'> & { event: Omit<EcsEventInput['event'], 'id'> & { id?: string } };

export type DraftOutcome = { ok: true; draft: Draft } | { ok: false; reason: string };

export const reject = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
