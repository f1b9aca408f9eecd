/**
 * The project's error vocabulary (after kafkajs): every failure that crosses a port is a
 * SocError carrying `retriable`, and `retry` is the one helper that acts on that flag.
 */
export class SocError extends Error {
  readonly retriable: boolean;
  constructor(message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retriable = opts.retriable ?? false;
  }
}

/** Input that can never become valid by retrying: goes to a dead-letter topic with its reason. */
export class ValidationError extends SocError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { ...opts, retriable: false });
  }
}

/** Configuration that stops start-up; `field` names the offending setting. */
export class ConfigError extends SocError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message, { retriable: false });
  }
}

/** A backend (bus, store, model runtime) could not take the request now; try again later. */
export class BackendUnavailableError extends SocError {
  constructor(message: string, opts: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, { retriable: opts.retriable ?? true, cause: opts.cause });
  }
}

/** The caller sent more than a configured limit allows (size, rate, batch length). */
export class LimitExceededError extends SocError {
  constructor(message: string) {
    super(message, { retriable: false });
  }
}

/** Authentication or authorisation failed. `status` is the HTTP status it maps to. */
export class AuthError extends SocError {
  constructor(
    message: string,
    readonly status: 401 | 403,
  ) {
    super(message, { retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  if (err instanceof SocError) return err.retriable;
  // Errors from foreign libraries that declare the same flag (kafkajs does) are honoured.
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/** SQLite's SQLITE_BUSY family, as better-sqlite3 reports it (`code`): another connection holds the file. */
export function isSqliteBusy(err: unknown): boolean {
  return /^SQLITE_BUSY/.test(String((err as { code?: unknown } | null)?.code ?? ''));
}

export interface RetryOptions {
  /** Attempts in all, including the first. */
  retries?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Randomises each delay by ±jitter (0..1) so that many clients do not retry in step. */
  jitter?: number;
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Defaults to `isRetriable`. */
  shouldRetry?: (err: unknown) => boolean;
}

export function backoffDelay(attempt: number, o: RetryOptions = {}, random: () => number = Math.random): number {
  const initial = o.initialDelayMs ?? 100;
  const max = o.maxDelayMs ?? 10_000;
  const factor = o.factor ?? 2;
  const jitter = o.jitter ?? 0.2;
  const base = Math.min(max, initial * factor ** attempt);
  return Math.max(0, Math.round(base * (1 + jitter * (2 * random() - 1))));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn` until it succeeds, a non-retriable error occurs, or the attempts run out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, o.retries ?? 5);
  const shouldRetry = o.shouldRetry ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= attempts || !shouldRetry(err) || o.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, o);
      o.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, o.signal);
    }
  }
}

/**
 * Opening a SQLite file that other processes open at the same moment: SQLite refuses the losers
 * of the WAL conversion SQLITE_BUSY without waiting in its busy handler, so that step is retried.
 */
export const SQLITE_OPEN_RETRY: Omit<RetryOptions, 'signal'> = { retries: 12, initialDelayMs: 10, maxDelayMs: 500, shouldRetry: isSqliteBusy };

/**
 * `retry` for synchronous work that cannot yield, such as opening a database: the thread sleeps
 * between attempts (Atomics.wait), so keep it to start-up paths with short delays.
 */
export function retrySync<T>(fn: (attempt: number) => T, o: Omit<RetryOptions, 'signal'> = {}): T {
  const attempts = Math.max(1, o.retries ?? 5);
  const shouldRetry = o.shouldRetry ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn(attempt);
    } catch (err) {
      if (attempt + 1 >= attempts || !shouldRetry(err)) throw err;
      const delay = backoffDelay(attempt, o);
      o.onRetry?.(err, attempt + 1, delay);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
    }
  }
}
