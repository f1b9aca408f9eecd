/**
 * Syslog over a byte stream (RFC 6587): octet counting (`LEN SP MSG`) or non-transparent
 * framing (a message per LF, or NUL as some senders use), detected per frame from its first
 * byte — a syslog message starts with `<`, a length with a digit. Pure: bytes in, frames out.
 */

export interface Frame {
  raw: string;
  /** Set when the frame is unacceptable as such (oversize, cut off); `raw` is then a prefix. */
  rejectReason?: string;
}

const LF = 0x0a;
const NUL = 0x00;
const MAX_LEN_DIGITS = 10;

const isDigit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

function delimiterIndex(buf: Buffer): number {
  const lf = buf.indexOf(LF);
  const nul = buf.indexOf(NUL);
  if (lf < 0) return nul;
  if (nul < 0) return lf;
  return Math.min(lf, nul);
}

export class SyslogFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of an oversize octet-counted frame still to discard. */
  private skipBytes = 0;
  /** Discarding the rest of an oversize newline-framed message. */
  private skipLine = false;

  constructor(private readonly maxMessageBytes: number) {}

  private oversize(prefix: Buffer, size: number | undefined): Frame {
    const what = size === undefined ? `more than ${this.maxMessageBytes}` : String(size);
    return { raw: prefix.subarray(0, this.maxMessageBytes).toString('utf8'), rejectReason: `message exceeds ${this.maxMessageBytes} bytes (${what} bytes)` };
  }

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      if (this.skipBytes > 0) {
        const n = Math.min(this.skipBytes, this.buf.length);
        this.skipBytes -= n;
        this.buf = this.buf.subarray(n);
      }
      if (this.skipLine) {
        const d = delimiterIndex(this.buf);
        if (d < 0) {
          this.buf = Buffer.alloc(0);
          break;
        }
        this.buf = this.buf.subarray(d + 1);
        this.skipLine = false;
      }
      if (this.buf.length === 0) break;
      const frame = isDigit(this.buf[0]) ? this.octetFrame() : this.lineFrame();
      if (frame === 'wait') break;
      if (frame) frames.push(frame);
    }
    return frames;
  }

  /** `LEN SP MSG`; 'wait' until the whole frame is here. Non-digits before the space mean it was no length. */
  private octetFrame(): Frame | null | 'wait' {
    let i = 0;
    while (i < this.buf.length && isDigit(this.buf[i])) i++;
    if (i === this.buf.length) return i > MAX_LEN_DIGITS ? this.lineFrame() : 'wait';
    if (this.buf[i] !== 0x20 || i > MAX_LEN_DIGITS) return this.lineFrame();
    const len = Number(this.buf.subarray(0, i).toString('latin1'));
    const body = this.buf.subarray(i + 1);
    if (len > this.maxMessageBytes) {
      const frame = this.oversize(body, len);
      const have = Math.min(len, body.length);
      this.buf = body.subarray(have);
      this.skipBytes = len - have;
      return frame;
    }
    if (body.length < len) return 'wait';
    this.buf = body.subarray(len);
    return len === 0 ? null : { raw: body.subarray(0, len).toString('utf8') };
  }

  private lineFrame(): Frame | null | 'wait' {
    const d = delimiterIndex(this.buf);
    if (d < 0) {
      if (this.buf.length <= this.maxMessageBytes) return 'wait';
      const frame = this.oversize(this.buf, undefined);
      this.buf = Buffer.alloc(0);
      this.skipLine = true;
      return frame;
    }
    let line = this.buf.subarray(0, d);
    this.buf = this.buf.subarray(d + 1);
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    if (line.length === 0) return null; // blank keep-alive lines
    return line.length > this.maxMessageBytes ? this.oversize(line, line.length) : { raw: line.toString('utf8') };
  }

  /** The stream ended: a last message without delimiter is still a message. */
  end(): Frame[] {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    if (this.skipLine || this.skipBytes > 0 || rest.length === 0) return [];
    if (isDigit(rest[0]) && /^\d{1,10} /.test(rest.subarray(0, MAX_LEN_DIGITS + 1).toString('latin1'))) {
      return [{ raw: rest.toString('utf8'), rejectReason: 'connection closed inside an octet-counted frame' }];
    }
    let line = rest;
    if (line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
    return line.length ? [{ raw: line.toString('utf8') }] : [];
  }
}
