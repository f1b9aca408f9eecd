import { parseArgs } from 'node:util';
import { ConfigError } from '@soc/errors';
import { FORMATS, ZeekTsvReader, isEmptyLine, parseLine, readLines, zeekPathFromFileName, type Format } from '@soc/parsers';

/**
 * `soc parse --format F FILE`: normalised events as NDJSON on stdout, each rejected line with
 * its reason on stderr, and a one-line JSON summary on stderr at the end.
 */
export async function parseFile(file: string, format: Format, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<{ parsed: number; rejected: number }> {
  const reader = new ZeekTsvReader();
  const zeekPath = zeekPathFromFileName(file);
  const source = `file:${file}`;
  let parsed = 0;
  let rejected = 0;
  let lineNo = 0;
  const tsvCapable = format === 'zeek' || format === 'auto';
  for await (const line of readLines(file)) {
    lineNo++;
    // Every other line is counted: a whitespace-only line is rejected with its reason, not skipped.
    if (isEmptyLine(line) || (tsvCapable && line.startsWith('#') && reader.accept(line) === 'directive')) continue;
    const r = parseLine(line, { format, source, zeekTsv: reader.header, zeekPath });
    if (r.ok) {
      parsed++;
      if (!out.write(JSON.stringify(r.event) + '\n')) await new Promise((res) => out.once('drain', res));
    } else {
      rejected++;
      err.write(JSON.stringify({ line: lineNo, reason: r.reason, raw: line.slice(0, 2000) }) + '\n');
    }
  }
  return { parsed, rejected };
}

export async function parseCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string', default: 'auto' } } });
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new ConfigError(`--format must be one of ${FORMATS.join(', ')}`, 'format');
  if (!positionals[0]) throw new ConfigError('parse needs a FILE', 'file');
  const summary = await parseFile(positionals[0], values.format as Format, process.stdout, process.stderr);
  process.stderr.write(JSON.stringify(summary) + '\n');
  return 0;
}
