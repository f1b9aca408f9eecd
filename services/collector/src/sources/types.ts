/**
 * The ingest port the sources feed. The lead's `BusIngest` (../ingest.ts) implements it; the
 * sources depend only on `submit`, so tests drive them with a recording implementation.
 */
export type { Ingest, IngestContext, IngestResult, RawLine } from '../ingest.ts';
