import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '@soc/http';
import { TAXII_MEDIA } from '@soc/federation';

export { TAXII_MEDIA, STIX_MEDIA } from '@soc/federation';

export function sendTaxii(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': TAXII_MEDIA, 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

/** A TAXII error message resource (§3.6.1), raised as an HttpError so the status is right. */
export class TaxiiError extends HttpError {
  constructor(status: number, readonly title: string, description?: string) {
    super(status, description ?? title);
  }
}

export function sendTaxiiError(res: ServerResponse, err: unknown): void {
  const status = err instanceof HttpError ? err.status : 500;
  const title = err instanceof TaxiiError ? err.title : status === 500 ? 'internal error' : (err as Error).message;
  const description = status === 500 ? undefined : (err as Error).message;
  sendTaxii(res, status, { title, ...(description && description !== title ? { description } : {}), http_status: String(status) });
}

const mediaOk = (value: string): boolean => {
  const [type, ...params] = value.split(';').map((x) => x.trim().toLowerCase());
  if (type !== 'application/taxii+json') return false;
  const version = params.find((p) => p.startsWith('version='));
  return version === undefined || version === 'version=2.1';
};

/** 406 unless the client accepts TAXII 2.1 (or anything). */
export function checkAccept(req: IncomingMessage): void {
  const accept = req.headers.accept;
  if (!accept) return;
  const ok = accept.split(',').some((a) => a.trim().startsWith('*/*') || mediaOk(a));
  if (!ok) throw new TaxiiError(406, 'not acceptable', `Accept must allow ${TAXII_MEDIA}`);
}

/** 415 unless the body is TAXII 2.1 JSON. */
export function checkContentType(req: IncomingMessage): void {
  const ct = req.headers['content-type'];
  if (!ct || !mediaOk(ct)) throw new TaxiiError(415, 'unsupported media type', `Content-Type must be ${TAXII_MEDIA}`);
}
