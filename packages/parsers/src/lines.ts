/**
 * Splitting input into lines and JSON arrays into elements, the same way for every source
 * (HTTP bodies, tailed files, `soc parse`), so that every non-empty line is counted: it becomes
 * an event or a rejection with a reason. Only a line with no characters at all (after a CR of
 * a CRLF ending) is empty; a line of whitespace (`\v`, `\f`, U+2028, spaces…) is a line, and
 * the parser rejects it with its reason.
 */

/** True for a line without any character, CRLF's CR aside. */
export const isEmptyLine = (line: string): boolean => line === '' || line === '\r';

/**
 * Calls `visit` with the index and code of each structural character (`[ ] { } ,`) of JSON
 * text outside strings. Iterative, so nesting depth costs no stack.
 */
function forEachStructural(text: string, visit: (i: number, c: number) => boolean | void): void {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x5d || c === 0x7b || c === 0x7d || c === 0x2c) {
      if (visit(i, c) === false) return;
    }
  }
}

/** How many times `c` occurs in `text`, up to `limit` (indexOf scans natively). */
function occurrences(text: string, c: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(c); i >= 0 && n <= limit; i = text.indexOf(c, i + 1)) n++;
  return n;
}

/** Whether JSON text nests arrays/objects deeper than `max` (checked before parsing or serialising). */
export function jsonDepthExceeds(text: string, max: number): boolean {
  // Nesting deeper than `max` needs more than `max` brackets: most lines have a few, and skip the scan.
  const braces = occurrences(text, '{', max);
  if (braces + occurrences(text, '[', max - braces) <= max) return false;
  let depth = 0;
  let exceeded = false;
  forEachStructural(text, (_, c) => {
    if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return !(exceeded = true);
    } else if (c === 0x7d || c === 0x5d) depth--;
  });
  return exceeded;
}

const JSON_WS = /^[ \t\n\r]+|[ \t\n\r]+$/g;

/**
 * The source text of each element of a JSON array, in order, without re-serialising anything
 * (re-serialising recurses and overflows the stack on deep nesting). `text` must be valid JSON
 * whose top level is an array; validate it with JSON.parse first.
 */
export function jsonArrayElements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  const push = (end: number) => {
    const el = text.slice(start, end).replace(JSON_WS, '');
    if (el !== '') out.push(el);
  };
  forEachStructural(text, (i, c) => {
    if (c === 0x5b || c === 0x7b) {
      if (depth++ === 0) start = i + 1;
    } else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) {
        push(i);
        return false;
      }
    } else if (depth === 1) push(i), (start = i + 1);
  });
  return out;
}
