import { flowFromEvent, type Flow } from '@soc/features';
import { ZeekTsvReader, parseLine, readLines, zeekPathFromFileName } from '@soc/parsers';
import { flowState, type EcsEvent } from '@soc/schema';
import { contextFromEvent, type Context } from '@soc/signals';

/** Zeek logs that add context to flows; any other file is read as a conn log. */
const CONTEXT_LOGS = new Set(['dns', 'ssl', 'x509', 'http']);

/**
 * The events of Zeek logs (JSON or TSV, .gz too) that the detector uses — flows, and the dns, ssl,
 * x509 and http records that add context — in the order a live sensor writes them (availableAt). The log type comes from the file name
 * (`dns.log.gz` → dns); any other name is a conn log; lines that are neither are skipped.
 */
export async function readZeekEvents(files: readonly string[]): Promise<EcsEvent[]> {
  const events: EcsEvent[] = [];
  for (const file of files) {
    const reader = new ZeekTsvReader();
    const named = zeekPathFromFileName(file);
    const zeekPath = named && CONTEXT_LOGS.has(named) ? named : 'conn';
    for await (const line of readLines(file)) {
      if (line.trim() === '' || reader.accept(line) === 'directive') continue;
      const r = parseLine(line, { format: 'zeek', source: `file:${file}`, zeekTsv: reader.header, zeekPath });
      if (r.ok && (flowFromEvent(r.event) || contextFromEvent(r.event))) events.push(r.event);
    }
  }
  return events.sort((a, b) => availableAt(a) - availableAt(b));
}

/**
 * When a sensor can have written the record: a connection's end (Zeek writes conn records when
 * the connection closes), any other record's time. Replaying in this order is what the detector
 * sees from a live sensor, and it merges the separate logs of one capture.
 */
export function availableAt(e: EcsEvent): number {
  return Date.parse(e['@timestamp']) + (flowState(e) ? (e.event.duration ?? 0) / 1e6 : 0);
}

/** The protocol records (dns/ssl/http context) among events, in their order. */
export const contextsOf = (events: readonly EcsEvent[]): Context[] => events.flatMap((e) => contextFromEvent(e) ?? []);

/** The flows among events, in their order. */
export const flowsOf = (events: readonly EcsEvent[]): Flow[] => events.flatMap((e) => flowFromEvent(e) ?? []);
