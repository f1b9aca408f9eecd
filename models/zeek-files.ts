import { flowFromEvent, type Flow } from '@soc/features';
import { ZeekTsvReader, parseLine, readLines, zeekPathFromFileName } from '@soc/parsers';
import type { EcsEvent } from '@soc/schema';
import { contextFromEvent } from '@soc/signals';

/**
 * The events of Zeek logs (JSON or TSV, .gz too) that the detector uses — flows, and the dns, ssl,
 * x509 and http records that add context — in time order. The log type comes from the file name
 * (`dns.log.gz` → dns) and defaults to conn; lines that are neither are skipped.
 */
export async function readZeekEvents(files: readonly string[]): Promise<EcsEvent[]> {
  const events: EcsEvent[] = [];
  for (const file of files) {
    const reader = new ZeekTsvReader();
    const zeekPath = zeekPathFromFileName(file) ?? 'conn';
    for await (const line of readLines(file)) {
      if (line.trim() === '' || reader.accept(line) === 'directive') continue;
      const r = parseLine(line, { format: 'zeek', source: `file:${file}`, zeekTsv: reader.header, zeekPath });
      if (r.ok && (flowFromEvent(r.event) || contextFromEvent(r.event))) events.push(r.event);
    }
  }
  return events.sort((a, b) => Date.parse(a['@timestamp']) - Date.parse(b['@timestamp']));
}

/** The flows among events, in their order. */
export const flowsOf = (events: readonly EcsEvent[]): Flow[] => events.flatMap((e) => flowFromEvent(e) ?? []);
